"""The base of every REST view: what all endpoints check before anything touches the database. Kept apart from the
store's views so that every API (the store's, publishing's, matching's, the stewards') builds on it alone."""

from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
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


def filter_parameters(filterset: type[django_filters.FilterSet]) -> list[OpenApiParameter]:
    """A FilterSet's filters as OpenAPI query parameters: the schema lists exactly what the list accepts."""
    parameters = []
    for name, declared in filterset.base_filters.items():
        choices = declared.extra.get("choices")
        number = isinstance(declared, django_filters.NumberFilter)
        parameters.append(
            OpenApiParameter(
                name,
                OpenApiTypes.NUMBER if number else OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description=str(declared.extra.get("help_text") or declared.label or ""),
                enum=[value for value, _ in choices] if choices else None,
                many=isinstance(declared, django_filters.MultipleChoiceFilter) or None,
            )
        )
    return parameters
