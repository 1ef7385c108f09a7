"""``ManagementViewSet``: what every management API resource shares.

    class AppViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ManagementViewSet):
        scope_family = "apps"              # needs oidc_flows.apps.read / .manage
        queryset = Application.objects.all()
        q_fields = ("name", "client_id")   # ?q=pay: name or client_id starts with "pay"
        search_fields = {"status": ...}    # ?search=status eq "ACTIVE" (see filter_search)

It wires authentication (org server tokens), permissions (scope family + Django permissions), Okta's
error shape, cursor pagination, ETag/If-Match, per-caller rate limits and the OpenAPI schema, on the
view class itself: nothing depends on the project's REST_FRAMEWORK settings. Writes run in one
transaction, rolled back on any error response (never a half-written record).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import Model, Q, QuerySet
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from . import _log, concurrency
from .authentication import ManagementToken, OrgTokenAuthentication
from .exceptions import management_exception_handler
from .pagination import AfterCursorPagination
from .permissions import HasManagementScope
from .throttling import TokenRateThrottle


#: One ``search`` condition (a subset of Okta's SCIM filter syntax): ``field op "value"``, op one of
#: eq (equals), sw (starts with), co (contains); conditions joined by ``and``.
_CONDITION = re.compile(r'\s*([A-Za-z][\w.]*)\s+(eq|sw|co)\s+"((?:[^"\\]|\\.)*)"\s*', re.IGNORECASE)
_LOOKUPS = {"eq": "iexact", "sw": "istartswith", "co": "icontains"}
#: A ``search_fields`` value: an ORM path, or a function of the value giving a Q (e.g. "ACTIVE" → is_active).
SearchField = str | Callable[[str], Q]


class ManagementViewSet(viewsets.GenericViewSet):
    """The base of every management API viewset (see the module)."""

    #: "apps", "servers", "users", "groups" or "logs": reads need oidc_flows.<family>.read, writes .manage.
    scope_family: ClassVar[str] = ""
    #: Fields ``?q=`` matches by prefix (case-insensitive), any of them.
    q_fields: ClassVar[tuple[str, ...]] = ()
    #: API field name → ORM path or Q factory, for ``?search=`` expressions.
    search_fields: ClassVar[dict[str, SearchField]] = {}

    authentication_classes = [OrgTokenAuthentication]
    permission_classes = [HasManagementScope]
    throttle_classes = [TokenRateThrottle]
    pagination_class = AfterCursorPagination
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    schema = AutoSchema()

    # -- errors: Okta's shape whatever the project's EXCEPTION_HANDLER ---------------------------------
    def get_exception_handler(self) -> Callable[[Exception, dict], Response | None]:
        return management_exception_handler

    # -- one transaction per write -------------------------------------------------------------------
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)  # an error after a partial write leaves nothing behind
        return response

    # -- permissions ----------------------------------------------------------------------------------
    def permission_model(self) -> type[Model] | None:
        """The model whose Django permissions a user's token needs (view_, add_, change_, delete_)."""
        queryset = getattr(self, "queryset", None)
        return queryset.model if queryset is not None else None

    def permission_action(self, request: Request) -> str | None:
        """The Django permission action of this request; None: from its method (POST add, PUT change...).

        An action route (``@action``, e.g. /lifecycle/activate) changes its object: ``change``.
        """
        if getattr(self, "detail", False) and self.action not in (
            None,
            "retrieve",
            "update",
            "partial_update",
            "destroy",
        ):
            return "view" if request.method in SAFE_METHODS else "change"
        return None

    # -- filtering: q and search ----------------------------------------------------------------------
    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if self.action != "list":
            return queryset
        if (q := self.request.query_params.get("q", "").strip()) and self.q_fields:
            condition = Q()
            for field in self.q_fields:
                condition |= Q(**{f"{field}__istartswith": q})
            queryset = queryset.filter(condition)
        if search := self.request.query_params.get("search", "").strip():
            queryset = queryset.filter(self.filter_search(search))
        return queryset

    def filter_search(self, expression: str) -> Q:
        """A Q for ``?search=`` (``field eq|sw|co "value"`` joined by ``and``); 400 naming what is wrong."""
        condition = Q()
        for part in re.split(r"\s+and\s+", expression, flags=re.IGNORECASE):
            match = _CONDITION.fullmatch(part)
            if match is None:
                raise exceptions.ValidationError({"search": [f'Use field eq|sw|co "value" (and ...), not: {part}']})
            name, op, value = match.group(1), match.group(2).lower(), re.sub(r"\\(.)", r"\1", match.group(3))
            field = self.search_fields.get(name)
            if field is None:
                known = ", ".join(sorted(self.search_fields)) or "none"
                raise exceptions.ValidationError({"search": [f"Unknown field {name} (searchable: {known})."]})
            condition &= field(value) if callable(field) else Q(**{f"{field}__{_LOOKUPS[op]}": value})
        return condition

    # -- ETag / If-Match ------------------------------------------------------------------------------
    def represent(self, instance: Model) -> Any:
        """The single-object representation whose hash is the ETag (that of GET on the object)."""
        return self.get_serializer(instance).data

    def get_object(self) -> Any:
        instance = super().get_object()
        if self.request.method not in SAFE_METHODS:
            concurrency.check_if_match(self.request, concurrency.etag(self.represent(instance)))
        return instance

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        single = self.action in ("retrieve", "update", "partial_update")
        if single and isinstance(response.data, dict) and 200 <= response.status_code < 300:
            tag = concurrency.etag(response.data)
            response["ETag"] = tag
            if request.method in SAFE_METHODS and tag in concurrency._tags(request.headers.get("If-None-Match", "")):
                response.status_code = status.HTTP_304_NOT_MODIFIED
                response.data = None
        return response

    # -- system log -----------------------------------------------------------------------------------
    def actor(self) -> Any:
        """Who acts: the token's user, or its application (client credentials)."""
        token = self.request.auth
        if isinstance(token, ManagementToken):
            return token.user or token.application
        return None

    def record(self, event_type: str, target: Any, *, detail: dict | None = None, outcome: str = "SUCCESS") -> None:
        """Record this request's change in the system log (never a secret in ``detail``)."""
        _log.record(event_type, actor=self.actor(), target=target, outcome=outcome, request=self.request, detail=detail)
