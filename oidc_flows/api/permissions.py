"""What a management API token may do: the view's scope family (policy.MANAGEMENT_SCOPES), and for a
user's token also that user's Django model permissions, checked at every call.

- GET/HEAD/OPTIONS need ``oidc_flows.<family>.read`` or ``.manage``; every other method ``.manage``.
- A service application's token: the scope must still be granted to the application (an administrator
  may have withdrawn it since the token was issued).
- A user's token: the user must be active staff and hold the Django permission of the request
  (view_/add_/change_/delete_ on the view's model, as the admin asks for the same page).

No token: 401 with a bare ``Bearer`` challenge; anything missing: 403 ``insufficient_scope``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .. import policy
from .authentication import ManagementToken
from .exceptions import BearerChallenge


#: The Django permission action a method needs on the view's model (as DRF's DjangoModelPermissions).
METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def required_permission(view: Any, request: Request) -> str | None:
    """The Django permission ``request`` needs, e.g. ``oidc_flows.add_application``; a view may override it
    with ``permission_action(request)`` (an action such as /lifecycle/activate is a ``change``)."""
    model: type[Model] | None = view.permission_model()
    if model is None:
        return None
    action = getattr(view, "permission_action", lambda r: None)(request) or METHOD_ACTIONS.get(request.method, "change")
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class HasManagementScope(BasePermission):
    """The token's scopes and, for a user's token, the user's Django permissions (see the module)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ManagementToken):
            # RFC 6750 §3.1: no token, no error code; DRF adds the bare challenge (authenticate_header).
            raise exceptions.NotAuthenticated("An access token of the org authorization server is required.")
        manage = request.method not in SAFE_METHODS or getattr(view, "always_manage", False)
        family = view.scope_family
        allowing = policy.management_scopes_allowing(family, manage=manage)
        needed = policy.management_scope_name(family, manage=manage)
        held = token.scopes & allowing
        if token.user is None:
            held &= token.application.management_scope_set  # still granted, at call time
        if not held:
            raise BearerChallenge.insufficient_scope(f"This request needs the {needed} scope.", (needed,))
        if token.user is not None:
            user = token.user
            perm = required_permission(view, request)
            if not (user.is_active and user.is_staff) or (perm and not user.has_perm(perm)):
                raise BearerChallenge.insufficient_scope(
                    f"The user has no permission for this request ({perm or 'staff status'}).", (needed,)
                )
        return True
