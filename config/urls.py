"""The hub's URLs: admin (steward UI), REST API v1, OpenAPI schema and docs, health."""

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from governance import views as steward
from mdm.publishing.metrics import metrics_view


def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and docker-compose."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    # The REST API first: integrating systems' lookups are most of the traffic, and URLs are tried in order.
    path("api/v1/steward/", include(("governance.urls", "steward"), namespace="steward")),
    path("api/v1/", include(("mdm.api.urls", "api"), namespace="v1")),
    path("admin/steward/", admin.site.admin_view(steward.queue), name="steward-queue"),
    path("admin/steward/dashboard/", admin.site.admin_view(steward.dashboard), name="steward-dashboard"),
    path("admin/steward/candidates/<int:pk>/", admin.site.admin_view(steward.candidate), name="steward-candidate"),
    path("admin/steward/merges/", admin.site.admin_view(steward.merges), name="steward-merges"),
    path("admin/steward/changes/", admin.site.admin_view(steward.changes), name="steward-changes"),
    path("admin/steward/audit.csv", admin.site.admin_view(steward.audit_export), name="steward-audit"),
    path("admin/steward/goldens/<str:golden_id>/", admin.site.admin_view(steward.golden), name="steward-golden"),
    path(
        "admin/steward/goldens/<str:golden_id>/propose/",
        admin.site.admin_view(steward.propose),
        name="steward-propose",
    ),
    path(
        "admin/steward/goldens/<str:golden_id>/hierarchy/",
        admin.site.admin_view(steward.hierarchy),
        name="steward-hierarchy",
    ),
    path("admin/steward/rules/", admin.site.admin_view(steward.rules), name="steward-rules"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("health/", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
]

handler404 = "mdm.api.errors.json_404"
handler500 = "mdm.api.errors.json_500"
