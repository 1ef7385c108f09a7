"""The Device Authorization Grant (RFC 8628): /device/authorize, user codes, the user's decision, polling /token.

A device (a TV, a command-line tool) asks ``/v1/device/authorize`` of a server for a ``device_code``
and a short ``user_code`` (§3.1, §3.2). The user types the user code on ``/activate`` on another
device, signs in and allows or denies (§3.3, views/device.py). Meanwhile the device polls ``/v1/token``
with the device_code (§3.4): ``authorization_pending``, ``slow_down``, ``expired_token``,
``access_denied``, then tokens as ``policy.GRANTS`` says (§3.5). The device_code is a credential: stored
as its SHA-256 only, and redeemed once (one conditional UPDATE decides).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749 import errors, utils
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant as OAuth2DeviceCodeGrant
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase

from . import access, par, policy, profiles
from .authn import ratelimit
from .authn.events import client_ip
from .errors import ProtocolError
from .models import Application, AuthorizationServer, DeviceAuthorization, DeviceStatus
from .settings import flows_settings


GRANT: Final = policy.Grant.DEVICE_CODE
#: RFC 8628 §6.1: base-20 letters without vowels (no words) and without look-alikes; 8 of them are
#: 20^8 ≈ 2^34.6 values, enough with rate-limited guessing (§5.1) and a few minutes' lifetime.
USER_CODE_ALPHABET: Final = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH: Final = 8
#: RFC 8628 §3.5: each slow_down adds this to the interval, "for this and all subsequent requests".
SLOW_DOWN_SECONDS: Final = 5
#: Where /activate keeps the request the user typed the code of, between the code and the decision.
SESSION_KEY: Final = "oidc_flows.device.pending"
#: The ratelimit bucket of /activate's code entries: per browser session and per client address.
GUESS_BUCKET: Final = "user_code"


# -- user codes -------------------------------------------------------------------------------------


def new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display(user_code: str) -> str:
    """``WDJBMJHT`` as users read it: ``WDJB-MJHT``."""
    half = USER_CODE_LENGTH // 2
    return f"{user_code[:half]}-{user_code[half:]}"


def normalise(raw: str) -> str | None:
    """A typed user code as stored (case, dashes and spaces ignored, RFC 8628 §6.1), or None if it cannot be one."""
    value = "".join(ch for ch in raw[:64] if ch not in "- \t").upper()
    if len(value) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in value):
        return None
    return value


def digest(device_code: str) -> str:
    return hashlib.sha256(device_code.encode("utf-8")).hexdigest()


def verification_uri() -> str:
    return f"{flows_settings().BASE_URL}/activate"


# -- /device/authorize (RFC 8628 §3.1, §3.2) ---------------------------------------------------------


def _may_be_allowed(server: AuthorizationServer, client: Application, scopes: frozenset[str]) -> bool:
    """Whether some access policy rule could allow this grant and these scopes for some user.

    Nobody has signed in yet: rules naming users or groups count as possible; the user who approves
    is checked against them (``access.evaluate``) on /activate and again at /token.
    """
    if server.is_org:
        return True
    for access_policy in access.applicable_policies(server, client):
        for rule in access_policy.rules.all():
            grant_ok = not rule.grant_type_set or GRANT in rule.grant_type_set
            if grant_ok and (not rule.scope_set or scopes <= rule.scope_set):
                return True
    return False


def _scopes(core: OAuthLibCore, http_request: HttpRequest, client: Application) -> list[str]:
    """The requested scopes (or the server's defaults), checked as at /token; raises invalid_scope."""
    validator = core.server.request_validator
    oauth_request = OAuthRequest(http_request.build_absolute_uri(), http_method="POST")
    oauth_request.client = client
    scopes = utils.scope_to_list(http_request.POST.get("scope", "")) or []
    scopes = [s for s in scopes if s] or validator.get_default_scopes(client.client_id, oauth_request)
    if not scopes or not validator.validate_scopes(client.client_id, scopes, client, oauth_request):
        raise ProtocolError("invalid_scope")
    return list(dict.fromkeys(scopes))


def _store(server: AuthorizationServer, client: Application, scopes: Iterable[str]) -> tuple[str, DeviceAuthorization]:
    """A new pending request with a fresh device_code (returned in clear, once) and a unique user code."""
    config = flows_settings()
    device_code = secrets.token_urlsafe(32)
    for _attempt in range(5):  # 20^8 codes: a collision is rare, two in a row rarer still
        try:
            with transaction.atomic():
                row = DeviceAuthorization.objects.create(
                    server=server,
                    application=client,
                    device_code_hash=digest(device_code),
                    user_code=new_user_code(),
                    scope=" ".join(scopes),
                    expires=timezone.now() + timedelta(seconds=config.DEVICE_CODE_SECONDS),
                    interval=config.DEVICE_CODE_INTERVAL,
                )
            return device_code, row
        except IntegrityError:
            continue
    raise ProtocolError("invalid_request", "No user code is free right now; try again.")


def authorize(core: OAuthLibCore, server: AuthorizationServer, http_request: HttpRequest) -> dict[str, Any]:
    """Authenticate the client (as at /token), check the grant and scopes, store the request; the §3.2 answer."""
    client = par.authenticate(core, http_request)  # RFC 8628 §3.1: as at /token; public clients send client_id
    if why := profiles.grant_refusal(server.profile, GRANT) or client.refusal(GRANT):
        raise ProtocolError("unauthorized_client", why)
    scopes = _scopes(core, http_request, client)
    if not _may_be_allowed(server, client, frozenset(scopes)):
        raise ProtocolError("unauthorized_client", access.NO_MATCH)
    device_code, row = _store(server, client, scopes)
    user_code = display(row.user_code)
    uri = verification_uri()
    return {
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": uri,
        "verification_uri_complete": f"{uri}?user_code={user_code}",  # §3.3.1: for a QR code
        "expires_in": flows_settings().DEVICE_CODE_SECONDS,
        "interval": row.interval,
    }


# -- /activate: finding the request and recording the user's decision (RFC 8628 §3.3) -----------------


def check_guess_rate(request: HttpRequest) -> int | None:
    """Count one code entry of this browser and address; the seconds to wait when over a limit (§5.1)."""
    if request.session.session_key is None:
        request.session.save()  # a key to count by; dropping cookies still meets the per-address limit
    per_session, per_address = ratelimit.limits(GUESS_BUCKET)
    session = hashlib.sha256(request.session.session_key.encode()).hexdigest()[:32]  # never the key itself
    keys = [
        (f"{GUESS_BUCKET}:ip:{client_ip(request)}", per_address),
        (f"{GUESS_BUCKET}:session:{session}", per_session),
    ]
    return ratelimit.over_limit(keys)


def pending(user_code: str | None = None, *, pk: Any = None) -> DeviceAuthorization | None:
    """The live, undecided request of a (normalised) user code or a pk, with its application and server."""
    if user_code is None and not isinstance(pk, int):
        return None
    rows = DeviceAuthorization.objects.select_related("application", "server").filter(
        status=DeviceStatus.PENDING, expires__gt=timezone.now(), application__is_active=True, server__is_active=True
    )
    return rows.filter(user_code=user_code).first() if user_code is not None else rows.filter(pk=pk).first()


def pending_of_session(request: HttpRequest) -> DeviceAuthorization | None:
    return pending(pk=request.session.get(SESSION_KEY))


def sign_in_context(request: HttpRequest) -> tuple[str, str]:
    """(client_id, server_id) of the request this browser is approving, for the sign-on policy of the sign-in."""
    row = pending_of_session(request)
    return (row.application.client_id, row.server.server_id) if row else ("", "")


def record_decision(
    row: DeviceAuthorization,
    user: Any,
    *,
    allow: bool,
    auth_time: int | None = None,
    amr: Iterable[str] = (),
    acr: str = "",
) -> bool:
    """Approve or deny ``row`` for ``user``, once: False when it was decided meanwhile or has expired."""
    now = timezone.now()
    live = DeviceAuthorization.objects.filter(pk=row.pk, status=DeviceStatus.PENDING, expires__gt=now)
    if not allow:
        return bool(live.update(status=DeviceStatus.DENIED, user=user, decided=now))
    signed_in = datetime.fromtimestamp(auth_time, UTC) if auth_time else None
    return bool(
        live.update(
            status=DeviceStatus.APPROVED, user=user, decided=now, auth_time=signed_in, amr=" ".join(amr), acr=acr
        )
    )


# -- /token: polling (RFC 8628 §3.4, §3.5) --------------------------------------------------------------


def poll(validator: Any, device_code: str, request: OAuthRequest) -> str | None:
    """``validate_device_code`` of the server's validator: a ``DeviceCodeGrant`` status, or None (invalid_grant).

    An approved request is redeemed here, once, with the user and the sign-in behind it on ``request``.
    """
    from .validators import user_with_profile  # the validator imports this module

    row = DeviceAuthorization.objects.filter(server=validator.server, device_code_hash=digest(device_code)).first()
    if row is None or row.application_id != request.client.pk or row.status == DeviceStatus.USED:
        return None  # RFC 6749 §5.2: not this client's, or redeemed already
    now = timezone.now()
    if row.expires <= now:
        return DeviceCodeGrant.DEVICE_CODE_EXPIRED
    if row.status == DeviceStatus.DENIED:
        return DeviceCodeGrant.DEVICE_CODE_DENIED
    if row.status == DeviceStatus.PENDING:
        this = DeviceAuthorization.objects.filter(pk=row.pk)
        if row.last_poll is not None and now - row.last_poll < timedelta(seconds=row.interval):
            # RFC 8628 §3.5: too soon after the previous poll; the interval grows for every later one too.
            this.update(last_poll=now, interval=F("interval") + SLOW_DOWN_SECONDS)
            return DeviceCodeGrant.DEVICE_CODE_SLOW_DOWN
        this.update(last_poll=now)
        return DeviceCodeGrant.DEVICE_CODE_PENDING
    user = user_with_profile(row.user_id)
    if user is None or not user.is_active:
        return None
    request.user, request.scopes = user, row.scope.split()
    request.auth_time = int(row.auth_time.timestamp()) if row.auth_time else None
    request.amr, request.acr = row.amr.split(), row.acr
    request.token_family = uuid.uuid4()
    validator.decide(request)  # the access policy, for this user (unauthorized_client if none allows it now)
    claimed = DeviceAuthorization.objects.filter(pk=row.pk, status=DeviceStatus.APPROVED).update(
        status=DeviceStatus.USED, last_poll=now
    )
    return DeviceCodeGrant.DEVICE_CODE_AUTHORIZED if claimed else None  # lost a race with a concurrent poll


class DeviceCodeGrant(OpenIDGrantTypeBase):
    """oauthlib's RFC 8628 device code grant, with an ID token when ``openid`` was granted (policy.GRANTS).

    oauthlib's grant is OAuth 2.0 only; this wraps it the way servers.PasswordGrant wraps the password grant.
    """

    DEVICE_CODE_AUTHORIZED = OAuth2DeviceCodeGrant.DEVICE_CODE_AUTHORIZED
    DEVICE_CODE_PENDING = OAuth2DeviceCodeGrant.DEVICE_CODE_PENDING
    DEVICE_CODE_SLOW_DOWN = OAuth2DeviceCodeGrant.DEVICE_CODE_SLOW_DOWN
    DEVICE_CODE_EXPIRED = OAuth2DeviceCodeGrant.DEVICE_CODE_EXPIRED
    DEVICE_CODE_DENIED = OAuth2DeviceCodeGrant.DEVICE_CODE_DENIED

    def __init__(self, request_validator=None, **kwargs: Any) -> None:
        self.proxy_target = OAuth2DeviceCodeGrant(request_validator=request_validator, **kwargs)

    def create_token_response(self, request: OAuthRequest, token_handler: Any) -> tuple[dict, str, int]:
        headers = self._get_default_headers()
        try:
            self.proxy_target.validate_token_request(request)
        except errors.OAuth2Error as exc:
            headers.update(exc.headers)
            return headers, exc.json, exc.status_code
        # A refresh token only with offline_access: PolicyBearerToken reads policy.GRANTS.
        token = token_handler.create_token(request, refresh_token=True)
        token = self.add_id_token(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200
