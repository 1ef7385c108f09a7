"""``GET /api/v1/logs``: the system log, as Okta's System Log API serves it (needs ``oidc_flows.logs.read``).

- ``since``, ``until``: ISO 8601 bounds of ``published`` (``since`` inclusive, ``until`` exclusive);
  without ``since``, the 7 days before ``until`` (Okta's default); without ``until``, now.
- ``filter``: a small, safe subset of Okta's SCIM filter: ``attribute eq "value"`` joined by ``and``,
  attributes in ``FILTER_ATTRIBUTES``. Parsed by a regular expression, never evaluated; anything else is
  a 400 naming the part it could not read.
- ``q``: keywords (at most 10, each at most 40 characters), every one found in the event type, actor,
  target, outcome reason, client address or username.
- ``sortOrder``: ``ASCENDING`` (default, oldest first) or ``DESCENDING``.
- ``limit`` and ``after``: cursor pagination with ``Link`` headers, as every list of the API.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins
from rest_framework.request import Request
from rest_framework.routers import BaseRouter

from ...models import AuthEvent
from ..base import ManagementViewSet
from ..pagination import AfterCursorPagination
from ..serializers.logs import LogEventSerializer


#: Okta's attribute → the column it filters (``eq``: exact match).
FILTER_ATTRIBUTES: Final = {
    "eventType": "event_type",
    "outcome.result": "outcome",
    "actor.id": "actor_id",
    "actor.type": "actor_type",
    "actor.alternateId": "actor_alternate_id",
    "target.id": "target_id",
    "target.type": "target_type",
    "target.alternateId": "target_alternate_id",
    "client.ipAddress": "client_ip",
    "transaction.id": "request_id",
    "debugContext.debugData.requestId": "request_id",
    "severity": "",  # from the outcome: INFO = SUCCESS, WARN = anything else
    "uuid": "uuid",
}
#: One condition: ``attribute op "value"`` (a value may hold \" and \\).
_CONDITION: Final = re.compile(r'\s*([A-Za-z][\w.]*)\s+([A-Za-z]+)\s+"((?:[^"\\]|\\.)*)"\s*')
_AND: Final = re.compile(r"and\b", re.IGNORECASE)
MAX_FILTER_LENGTH: Final = 1000
MAX_CONDITIONS: Final = 10
MAX_KEYWORDS: Final = 10
MAX_KEYWORD_LENGTH: Final = 40
DEFAULT_WINDOW: Final = timedelta(days=7)
#: The text ``q`` looks in.
Q_FIELDS: Final = (
    "event_type",
    "actor_alternate_id",
    "actor_display",
    "target_alternate_id",
    "target_display",
    "reason",
    "username",
)


def _invalid(parameter: str, why: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({parameter: [why]})


def parse_filter(expression: str) -> Q:
    """A Q for Okta's ``filter`` (see the module); ValidationError naming the part it cannot read."""
    if len(expression) > MAX_FILTER_LENGTH:
        raise _invalid("filter", f"At most {MAX_FILTER_LENGTH} characters.")
    condition, position, count = Q(), 0, 0
    while True:
        match = _CONDITION.match(expression, position)
        if match is None:
            rest = expression[position:].strip()[:100]
            raise _invalid("filter", f'Unsupported expression: {rest!r}. Use attribute eq "value" [and ...].')
        name, op, raw = match.groups()
        if op.lower() != "eq":
            raise _invalid("filter", f"Unsupported operator {op!r} in {match.group(0).strip()!r}: only eq.")
        if name not in FILTER_ATTRIBUTES:
            known = ", ".join(FILTER_ATTRIBUTES)
            raise _invalid("filter", f"Unsupported attribute {name!r} (supported: {known}).")
        condition &= _condition(name, re.sub(r"\\(.)", r"\1", raw))
        count += 1
        if count > MAX_CONDITIONS:
            raise _invalid("filter", f"At most {MAX_CONDITIONS} conditions.")
        position = match.end()
        if position == len(expression):
            return condition
        joined = _AND.match(expression, position)
        if joined is None:
            rest = expression[position:].strip()[:100]
            raise _invalid("filter", f"Unsupported expression: {rest!r}. Conditions are joined by and.")
        position = joined.end()


def _condition(name: str, value: str) -> Q:
    column = FILTER_ATTRIBUTES[name]
    if name == "severity":
        if value == "INFO":
            return Q(outcome="SUCCESS")
        return ~Q(outcome="SUCCESS") if value == "WARN" else Q(pk__in=[])
    if column == "client_ip":
        try:
            value = str(ipaddress.ip_address(value))
        except ValueError:
            raise _invalid("filter", f"client.ipAddress: {value!r} is not an IP address.") from None
    if column == "uuid":
        if not re.fullmatch(r"[0-9a-fA-F-]{32,36}", value):
            return Q(pk__in=[])
    return Q(**{column: value})


def parse_time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        parsed = parse_datetime(raw.replace(" ", "+"))  # a "+" left unencoded in a URL arrives as a space
    except ValueError:
        parsed = None
    if parsed is None:
        raise _invalid(name, f"Not an ISO 8601 date and time: {raw[:40]!r} (e.g. 2026-01-31T23:59:59Z).")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def keyword_filter(q: str) -> Q:
    words = q.split()
    if len(words) > MAX_KEYWORDS:
        raise _invalid("q", f"At most {MAX_KEYWORDS} keywords.")
    condition = Q()
    for word in words:
        if len(word) > MAX_KEYWORD_LENGTH:
            raise _invalid("q", f"A keyword has at most {MAX_KEYWORD_LENGTH} characters.")
        any_field = Q()
        for field in Q_FIELDS:
            any_field |= Q(**{f"{field}__icontains": word})
        condition &= any_field
    return condition


class LogPagination(AfterCursorPagination):
    """The API's cursor pagination, in either direction (``sortOrder``)."""

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list:
        if not getattr(view, "descending", False):
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        self.limit = self._limit(request)
        queryset = queryset.order_by("-pk")
        if after := request.query_params.get("after", ""):
            if not after.isdigit():
                raise _invalid("after", "Not a cursor of this list: use the Link header's.")
            queryset = queryset.filter(pk__lt=int(after))
        page = list(queryset[: self.limit + 1])
        self.has_next = len(page) > self.limit
        page = page[: self.limit]
        self.next_cursor = str(page[-1].pk) if page and self.has_next else None
        return page


PARAMETERS = [
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Events published at or after (ISO 8601)."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Events published before (ISO 8601)."),
    OpenApiParameter(
        "filter",
        OpenApiTypes.STR,
        description='attribute eq "value" [and ...]; attributes: ' + ", ".join(FILTER_ATTRIBUTES),
    ),
    OpenApiParameter("q", OpenApiTypes.STR, description="Keywords, all of which an event contains."),
    OpenApiParameter("sortOrder", OpenApiTypes.STR, enum=["ASCENDING", "DESCENDING"]),
]


@extend_schema(tags=["logs"])
class LogViewSet(mixins.ListModelMixin, ManagementViewSet):
    """The system log (read-only; events are written by the IdP itself)."""

    scope_family = "logs"
    queryset = AuthEvent.objects.all()
    serializer_class = LogEventSerializer
    pagination_class = LogPagination
    descending = False

    def get_queryset(self) -> QuerySet[AuthEvent]:
        params = self.request.query_params
        order = params.get("sortOrder", "ASCENDING")
        if order not in ("ASCENDING", "DESCENDING"):
            raise _invalid("sortOrder", "ASCENDING or DESCENDING.")
        self.descending = order == "DESCENDING"
        until = parse_time(self.request, "until") or timezone.now()
        since = parse_time(self.request, "since") or until - DEFAULT_WINDOW
        if since > until:
            raise _invalid("since", "since must be before until.")
        events = AuthEvent.objects.filter(created__gte=since, created__lt=until)
        if expression := params.get("filter", "").strip():
            events = events.filter(parse_filter(expression))
        if q := params.get("q", "").strip():
            events = events.filter(keyword_filter(q))
        return events

    @extend_schema(summary="List system log events", parameters=PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().list(request, *args, **kwargs)


def routes(router: BaseRouter) -> None:
    router.register("logs", LogViewSet, basename="logs")
