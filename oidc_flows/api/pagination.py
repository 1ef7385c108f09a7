"""Okta's cursor pagination: ``?limit=N`` (default 20, at most 200) and ``?after=<cursor>``, the next
page in a ``Link: <...?after=X&limit=N>; rel="next"`` header (RFC 8288), the body a plain JSON array.

The cursor is the last item's primary key (keyset pagination: stable while rows are added or deleted,
and no OFFSET scan). The list is ordered by primary key.
"""

from __future__ import annotations

from typing import Any, Final

from django.db.models import QuerySet
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 200


class AfterCursorPagination(BasePagination):
    """``limit`` and ``after`` (see the module); a limit above 200 is lowered to 200, as Okta does."""

    def _limit(self, request: Request) -> int:
        raw = request.query_params.get("limit", "")
        if raw == "":
            return DEFAULT_LIMIT
        if not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError({"limit": [f"A whole number from 1 to {MAX_LIMIT}."]})
        return min(int(raw), MAX_LIMIT)

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list:
        self.request = request
        self.limit = self._limit(request)
        after = request.query_params.get("after", "")
        field = queryset.model._meta.pk
        queryset = queryset.order_by("pk")
        if after:
            try:
                value = field.to_python(after)
            except Exception:  # noqa: BLE001 - any conversion error is a bad cursor
                value = None
            if value is None:
                raise exceptions.ValidationError({"after": ["Not a cursor of this list: use the Link header's."]})
            queryset = queryset.filter(pk__gt=value)
        page = list(queryset[: self.limit + 1])
        self.has_next = len(page) > self.limit
        page = page[: self.limit]
        self.next_cursor = str(page[-1].pk) if page and self.has_next else None
        return page

    def links(self) -> list[str]:
        url = self.request.build_absolute_uri()
        this = replace_query_param(url, "limit", self.limit)
        links = [f'<{this}>; rel="self"']
        if self.next_cursor is not None:
            following = replace_query_param(replace_query_param(url, "after", self.next_cursor), "limit", self.limit)
            links.append(f'<{following}>; rel="next"')
        return links

    def get_paginated_response(self, data: Any) -> Response:
        return Response(data, headers={"Link": ", ".join(self.links())})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return schema  # a plain array; the pages are in the Link header

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": "after",
                "in": "query",
                "required": False,
                "description": 'The cursor of the next page, from the Link header rel="next".',
                "schema": {"type": "string"},
            },
        ]
