"""The base of every REST view: what all endpoints check before anything touches the database. Kept apart from the
store's views so that every API (the store's, publishing's, matching's, the stewards') builds on it alone."""

from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView


def reject_nul_query_params(request: Request) -> None:
    """A NUL byte in a query parameter is bad input, not a database error."""
    bad = sorted(
        name for name, value in request.query_params.lists() if any("\x00" in item for item in value) or "\x00" in name
    )
    if bad:
        raise exceptions.ValidationError(
            {name.replace("\x00", "\\0"): ["must not contain NUL characters"] for name in bad}
        )


class HubAPIView(APIView):
    """Base of every view: checks query parameters before anything touches the database."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        reject_nul_query_params(request)
