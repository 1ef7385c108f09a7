"""The ``claims`` request parameter (OIDC Core §5.5): individual claims asked for the ID token or userinfo.

``claims={"id_token": {"name": {"essential": true}}, "userinfo": {"email": null}}`` asks for ``name`` in
the ID token and ``email`` from userinfo, whatever the scopes release. What we honour:

- Only standard user claims (``claims.SUPPORTED_CLAIMS``, OIDC Core §5.1), and only those the user has:
  an essential claim the user lacks is left out, never an error (§5.5.1: "is not an error condition").
  Custom claims stay the server's to release by scope.
- ``acr`` with ``values``/``value`` (§5.5.1.1) joins ``acr_values``; asked as essential, a level the
  session cannot reach means a step-up, and a level we do not know means ``access_denied``.
- ``auth_time`` is in every ID token already; other names are ignored (§5.5: "not understood").

The request travels with the authorization code (``Grant.claims``, DOT's field, as JSON) into every
token issued from it, refreshes included. Userinfo reads the names asked for it from the access token:
a JWT access token carries them in its ``userinfo_claims`` claim (stateless: no row to read), an opaque
one in its row.
"""

from __future__ import annotations

import json
from typing import Any, Final

from . import claims


#: The members of the claims object (§5.5); others are ignored.
TARGETS: Final = ("userinfo", "id_token")
#: A claims value longer than this is refused: nothing legitimate needs more.
MAX_CHARS: Final = 4096
#: The claim in a JWT access token that names the claims userinfo must add (OIDC Core §5.5).
ACCESS_TOKEN_CLAIM: Final = "userinfo_claims"
#: User claims a request may name: the standard ones (OIDC Core §5.1), never ``sub`` (always present).
REQUESTABLE: Final = frozenset(claims.SUPPORTED_CLAIMS) - {"sub"}


def problem(raw: str | None) -> str | None:
    """Why a ``claims`` parameter is malformed (``invalid_request``), or None."""
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_CHARS:
        return "The claims parameter is too long."
    try:
        value = json.loads(raw)
    except ValueError:
        return "The claims parameter is not JSON."
    if not isinstance(value, dict):
        return "The claims parameter must be a JSON object."
    for target in TARGETS:
        members = value.get(target)
        if members is None:
            continue
        if not isinstance(members, dict):
            return f"claims.{target} must be a JSON object."
        for name, request in members.items():
            if request is None:
                continue
            if not isinstance(request, dict):
                return f"claims.{target}.{name[:40]} must be null or a JSON object."
            if not isinstance(request.get("essential", False), bool):
                return f"claims.{target}.{name[:40]}.essential must be true or false."
            if "values" in request and not isinstance(request["values"], list):
                return f"claims.{target}.{name[:40]}.values must be an array."
    return None


def parse(value: Any) -> dict[str, dict[str, Any]]:
    """The claims request as ``{"userinfo": {...}, "id_token": {...}}``; empty where absent or malformed.

    ``value``: the parameter (JSON text), or the dict oauthlib already parsed it into, or a Grant's JSON.
    """
    if isinstance(value, str | bytes):
        if problem(value.decode() if isinstance(value, bytes) else value):
            return {}
        value = json.loads(value) if value else {}
    if not isinstance(value, dict):
        return {}
    return {t: value[t] for t in TARGETS if isinstance(value.get(t), dict)}


def names(value: Any, target: str) -> frozenset[str]:
    """The user claims asked for ``target`` ("userinfo" or "id_token")."""
    return frozenset(parse(value).get(target, {})) & REQUESTABLE


def to_json(value: Any) -> str:
    """What a Grant keeps (DOT's ``claims`` field): the understood members only."""
    return json.dumps(parse(value), separators=(",", ":"))


def acr_request(value: Any) -> tuple[list[str], bool]:
    """The ``acr`` levels the ID token's ``acr`` request names (§5.5.1.1), and whether it is essential."""
    request = parse(value).get("id_token", {}).get("acr")
    if not isinstance(request, dict):
        return [], False
    levels = request.get("values") if isinstance(request.get("values"), list) else [request.get("value")]
    return [v for v in levels if isinstance(v, str)][:5], request.get("essential") is True
