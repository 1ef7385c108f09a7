"""Build and sign JWTs: ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).

The only module that signs: private keys are read here and nowhere else.
"""

from __future__ import annotations

import binascii
import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from jwcrypto import jwk
from jwcrypto.common import JWException, base64url_decode, base64url_encode
from jwcrypto.jwa import JWA
from oauthlib.common import Request as OAuthRequest

from . import claims, claimsrequest, keys, revocation, snapshots, subjects
from .models import AuthorizationServer, SigningKey
from .settings import flows_settings


#: RFC 9068 §2.1: the ``typ`` of our JWT access tokens; ID tokens (``JWT``) are never accepted as one.
ACCESS_TOKEN_TYPE: Final = "at+jwt"
#: Longer than any JWT we issue; longer values are not even parsed.
MAX_JWT_CHARS: Final = 16384


def request_state(request: OAuthRequest, name: str, default: Any = None) -> Any:
    """What our code set on an oauthlib request (``auth_time``, ``grant``, ...), never a parameter.

    oauthlib answers a missing attribute with the request parameter of that name, which the client
    chooses: ``getattr(request, "acr", None)`` at a refresh would read ``acr=...`` from the body.
    """
    return vars(request).get(name, default)


def opaque_token(request: OAuthRequest | None = None) -> str:
    """A random bearer value with 256 bits of entropy (RFC 6750 §5.2, RFC 9700 §4.13)."""
    return secrets.token_urlsafe(32)


#: Parsed keys of this process, by (private?, pk, kid). A kid is the key's thumbprint, so an entry can never
#: stand for other key material; unsealing and parsing (with RSA's consistency check, ~40 ms) happen once.
_parsed_keys: dict[tuple[bool, int, str], jwk.JWK] = {}


def _parsed(key: SigningKey, *, private: bool) -> jwk.JWK:
    cache_key = (private, key.pk, key.kid)
    found = _parsed_keys.get(cache_key)
    if found is None:
        found = key.private_key() if private else key.public_key()
        if len(_parsed_keys) >= 128:
            _parsed_keys.clear()  # keys rotated away over a long life; never more than a few are live
        _parsed_keys[cache_key] = found
    return found


def sign(server: AuthorizationServer, payload: dict[str, Any], *, typ: str = "JWT") -> str:
    """Sign ``payload`` with the server's active key; the header names the key (kid).

    A JWS compact serialization (RFC 7515 §3.1) with jwcrypto's JWA signer: jwcrypto's JWT object
    deep-copies its input and costs about as much as the RSA signature itself.
    """
    key = keys.signing_key(server)
    header = _b64json({"alg": key.alg, "kid": key.kid, "typ": typ})
    signing_input = f"{header}.{_b64json(payload)}"
    signature = JWA.signing_alg(key.alg).sign(_parsed(key, private=True), signing_input.encode())
    return f"{signing_input}.{base64url_encode(signature)}"


def verify_access_token(server: AuthorizationServer, token: str) -> dict[str, Any] | None:
    """The payload of a JWT access token that ``server`` signed, whether expired or not; else None.

    Checked: the key is one of the server's published keys (another server's token fails here), the
    header's ``alg`` is that key's, ``typ`` is ``at+jwt``, the signature, and ``iss``. Expiry and
    revocation are ``is_active``'s.
    """
    if len(token) > MAX_JWT_CHARS or token.count(".") != 2:
        return None
    header_b64, payload_b64, signature_b64 = token.split(".")
    try:
        header = json.loads(base64url_decode(header_b64))
        if not isinstance(header, dict) or header.get("typ") != ACCESS_TOKEN_TYPE:
            return None
        key = next((k for k in snapshots.of(server).published_keys() if k.kid == header.get("kid")), None)
        if key is None or header.get("alg") != key.alg:
            return None
        signing_input = f"{header_b64}.{payload_b64}".encode()
        JWA.signing_alg(key.alg).verify(_parsed(key, private=False), signing_input, base64url_decode(signature_b64))
        payload = json.loads(base64url_decode(payload_b64))
    except (JWException, ValueError, TypeError, binascii.Error, UnicodeDecodeError, InvalidSignature):
        return None
    if not isinstance(payload, dict) or payload.get("iss") != server.issuer:
        return None
    return payload


def is_active(server: AuthorizationServer, payload: dict[str, Any], *, now: float | None = None) -> bool:
    """Whether a verified access token is unexpired and on no revocation list."""
    exp = payload.get("exp")
    if not isinstance(exp, int | float) or exp <= (now or time.time()):
        return False
    return not revocation.is_revoked(server.pk, payload)


def _b64json(value: dict[str, Any]) -> str:
    return base64url_encode(json.dumps(value, separators=(",", ":"), default=str))


def new_jti(now: float | None = None) -> str:
    """A UUIDv7 (RFC 9562 §5.7), hex: unique, and its first 48 bits are the issuance time in milliseconds.

    The revocation list reads that time (revocation.issued_at): ``iat`` has whole seconds, too coarse
    to tell a token issued just before a holder's revocation from one issued just after it.
    """
    ms = int((time.time() if now is None else now) * 1000)
    value = (ms & (2**48 - 1)) << 80 | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value).hex


def build_access_token_claims(server: AuthorizationServer, request: OAuthRequest) -> dict[str, Any]:
    """RFC 9068 §2.2 claims, plus Okta's ``cid``/``uid``/``scp`` so Okta-minded verifiers work too."""
    now = int(time.time())
    user = request_state(request, "user")
    client_id = request.client.client_id
    scopes = list(request.scopes or [])
    # OIDC Core §8: the sub this client sees (pairwise or public); a client's own token names the client.
    subject = subjects.subject_for(user, request.client) if user is not None else client_id
    payload: dict[str, Any] = {
        "iss": server.issuer,
        "sub": subject,
        "aud": server.effective_audience,
        "exp": now + int(request.expires_in),
        "iat": now,
        "jti": new_jti(),
        "client_id": client_id,
        "cid": client_id,
        "scope": " ".join(scopes),
        "scp": scopes,
    }
    if family := request_state(request, "token_family"):
        payload[revocation.FAMILY_CLAIM] = family.hex  # what revoking the family (or replaying the code) ends
    if (proof := request_state(request, "dpop_proof")) is not None:
        payload["cnf"] = {"jkt": proof.jkt}  # RFC 9449 §6.1: bound to the key of the token request's proof
    if act := request_state(request, "act"):
        payload["act"] = act  # RFC 8693 §4.1: who acts for the subject (token exchange, oidc_flows/exchange.py)
    if user is not None:
        # Okta's uid: the user's id, as this client knows it: the public id, or the pairwise sub (never the
        # public id, which would let pairwise clients correlate). What userinfo and introspection look up.
        payload["uid"] = subject
        if asked := claimsrequest.names(request_state(request, "claims"), "userinfo"):
            payload[claimsrequest.ACCESS_TOKEN_CLAIM] = sorted(asked)  # OIDC Core §5.5, for userinfo
        if auth_time := request_state(request, "auth_time"):
            payload["auth_time"] = int(auth_time)
    # Custom claims first: the protocol's own claims always win (Claim.clean refuses reserved names).
    return claims.custom_claims(server, user, frozenset(scopes), for_id_token=False) | payload


def access_token_generator(server: AuthorizationServer) -> Callable[[OAuthRequest], str]:
    """oauthlib's ``token_generator`` for ``server``: a JWT from custom servers, opaque from the org server."""

    def generate(request: OAuthRequest) -> str:
        if not server.issues_jwt_access_tokens:
            return opaque_token()
        payload = build_access_token_claims(server, request)
        request.access_token_payload = payload  # no row: FlowsValidator._create_access_token describes it
        return sign(server, payload, typ=ACCESS_TOKEN_TYPE)  # RFC 9068 §2.1

    return generate


def bound_key(payload: dict[str, Any]) -> str | None:
    """The DPoP key thumbprint an access token is bound to (``cnf.jkt``, RFC 9449 §6.1), or None."""
    cnf = payload.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) and jkt else None


def id_token_lifetime() -> int:
    return flows_settings().ID_TOKEN_SECONDS
