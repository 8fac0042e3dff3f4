"""URLs of the steward REST API, under /api/v1/steward/."""

from django.urls import path

from governance import api, services

urlpatterns = [
    path("candidates/", api.CandidateListView.as_view(), name="candidate-list"),
    path("candidates/bulk/", api.CandidateBulkView.as_view(), name="candidate-bulk"),
    path("candidates/<int:pk>/", api.CandidateDetailView.as_view(), name="candidate-detail"),
    *(
        path(
            f"candidates/<int:pk>/{name}/", api.CandidateActionView.as_view(action_name=name), name=f"candidate-{name}"
        )
        for name in services.CANDIDATE_ACTIONS
    ),
    path("candidates/<int:pk>/assign/", api.CandidateAssignView.as_view(), name="candidate-assign"),
    path("merges/", api.MergeListView.as_view(), name="merge-list"),
    path("merges/<int:pk>/undo/", api.MergeUndoView.as_view(), name="merge-undo"),
    path("changes/", api.ChangeListView.as_view(), name="change-list"),
    path("overrides/clear/", api.OverrideClearView.as_view(), name="override-clear"),
    *(
        path(f"changes/<int:pk>/{name}/", api.ChangeActionView.as_view(action_name=name), name=f"change-{name}")
        for name in services.CHANGE_ACTIONS
    ),
]
