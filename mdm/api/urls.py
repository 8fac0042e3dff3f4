"""URLs of the REST API v1."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from mdm.api import views
from mdm.api.matching import MatchView
from mdm.publishing import api as publishing

router = SimpleRouter(trailing_slash=True)
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("products", views.ProductViewSet, basename="product")

hierarchy_relations = [
    path(
        f"hierarchies/<slug:hierarchy>/<str:golden_id>/{relation}/",
        views.HierarchyView.as_view(relation=relation),
        name=f"hierarchy-{relation}",
    )
    for relation in ("parent", "children", "ancestors", "descendants")
]

urlpatterns = [
    # Golden-ID resolution first: the call integrating systems make most.
    path("resolve/", views.ResolveView.as_view(), name="resolve"),
    path("resolve/batch/", views.ResolveBatchView.as_view(), name="resolve-batch"),
    *router.urls,
    path("ingest/", views.IngestOneView.as_view(), name="ingest"),
    path("ingest/batch/", views.IngestBatchView.as_view(), name="ingest-batch"),
    path("hierarchies/", views.HierarchyTypeListView.as_view(), name="hierarchy-list"),
    *hierarchy_relations,
    path("systems/", views.SystemListView.as_view(), name="system-list"),
    path("match/", MatchView.as_view(), name="match"),
    path("publishing/targets/", publishing.TargetListView.as_view(), name="publishing-targets"),
    path("publishing/deliveries/", publishing.DeliveryListView.as_view(), name="publishing-deliveries"),
    path("publishing/replay/", publishing.ReplayView.as_view(), name="publishing-replay"),
    path("publishing/status/<str:golden_id>/", publishing.PublishStatusView.as_view(), name="publishing-status"),
]
