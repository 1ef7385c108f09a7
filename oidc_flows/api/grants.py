"""Who may obtain the management API's scopes from the org server (policy.MANAGEMENT_SCOPES).

Imported by the validator at /authorize and /token: no Django REST framework here.

- A token without a user (client credentials): only the scopes an administrator granted the application
  (``Application.management_scopes``).
- A user's token (authorization code, password, device): only an active staff user; what the user may
  then do is decided at every call by their Django permissions (oidc_flows.api.permissions).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser

from .. import policy
from ..models import Application


def refused(
    client: Application, user: AbstractBaseUser | None, scopes: Iterable[str], *, has_user: bool
) -> frozenset[str]:
    """The management scopes among ``scopes`` that ``client`` (for ``user``) may not obtain.

    ``has_user`` without a known ``user`` (at /authorize before the sign-in): nothing is refused yet, the
    request is validated again once the user is known.
    """
    wanted = frozenset(scopes) & policy.MANAGEMENT_SCOPES.keys()
    if not wanted:
        return frozenset()
    if not has_user:
        return wanted - client.management_scope_set
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    return frozenset() if user.is_active and user.is_staff else wanted
