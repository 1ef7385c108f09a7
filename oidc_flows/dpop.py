"""DPoP proofs (RFC 9449): check one, and the server nonces that keep proofs fresh.

Shared by the IdP (/token, userinfo) and by ``oidc_flows.resource`` (other projects' APIs), so this
module imports only the standard library, jwcrypto, Django's settings and ``policy`` (pure data):
never a model, DOT or oauthlib. Replay records are the caller's, passed in as ``first_use``
(``oidc_flows.replay.first_use`` at the IdP, the Django cache in ``oidc_flows.resource``).

Checks, in RFC 9449 §4.3 order: one ``DPoP`` header holding one compact JWS; ``typ`` ``dpop+jwt``;
``alg`` in the caller's asymmetric list (never ``none``, never an HMAC); ``jwk`` a public key whose
signature verifies; ``htm`` the request method; ``htu`` the endpoint's URL, both normalised
(RFC 3986 §6.2.2-6.2.3: scheme and host case, default port, percent-encoding; no query or
fragment); the server's ``nonce`` when it demands one; ``iat`` within
``policy.DPOP_PROOF_WINDOW_SECONDS``; ``ath`` = base64url(SHA-256(access token)) at resources;
``jti`` used once, recorded per key thumbprint until the proof can no longer be fresh.

Server nonces are stateless: an HMAC of the current time window under a key derived from
SECRET_KEY. The current and the previous window's values are accepted, so a nonce lives between
one and two ``policy.DPOP_NONCE_SECONDS``; nothing is stored, and every node computes the same value.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from django.utils.crypto import constant_time_compare, salted_hmac
from jwcrypto import jwk
from jwcrypto.common import JWException, base64url_decode, base64url_encode
from jwcrypto.jwa import JWA

from . import policy
from .settings import flows_settings


#: RFC 9449 §4.2: the ``typ`` of a proof.
PROOF_TYPE: Final = "dpop+jwt"
#: The ``Authorization`` scheme of a DPoP-bound token (RFC 9449 §7.1).
SCHEME: Final = "DPoP"
#: Longer proofs are not parsed (an RSA-4096 key in the header is about 1 kB).
MAX_PROOF_CHARS: Final = 8192
#: A JWK SHA-256 thumbprint (RFC 7638) in base64url: what ``cnf.jkt`` and ``dpop_jkt`` hold.
THUMBPRINT: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_COMPACT: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

FirstUse = Callable[[str, str, float], bool]
#: What a malformed key, a key of another type than ``alg``'s, or a bad signature raises.
_UNVERIFIABLE: Final = (
    JWException,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    NotImplementedError,
    InvalidSignature,
    binascii.Error,
)


class DPoPError(Exception):
    """A refused proof: ``error`` is ``invalid_dpop_proof`` or ``use_dpop_nonce`` (RFC 9449 §12.2)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    @classmethod
    def invalid(cls, description: str) -> DPoPError:
        return cls("invalid_dpop_proof", description)

    @classmethod
    def nonce(cls, description: str = "The server requires a nonce in the DPoP proof.") -> DPoPError:
        return cls("use_dpop_nonce", description)


@dataclass(frozen=True, slots=True)
class Proof:
    """A checked proof: the thumbprint of its key (what tokens are bound to) and its claims."""

    jkt: str
    jti: str
    iat: int
    claims: dict[str, Any]


def thumbprint(key: jwk.JWK) -> str:
    """The key's JWK SHA-256 thumbprint (RFC 7638), base64url: ``cnf.jkt`` (RFC 9449 §6.1)."""
    return key.thumbprint()


def access_token_hash(token: str) -> str:
    """``ath``: base64url(SHA-256(ASCII of the access token)) (RFC 9449 §4.2)."""
    return base64url_encode(hashlib.sha256(token.encode("ascii", "replace")).digest())


def is_thumbprint(value: object) -> bool:
    return isinstance(value, str) and THUMBPRINT.fullmatch(value) is not None


def normalise_url(url: str) -> str:
    """``url`` as ``htu`` is compared: scheme and host lower case, default port dropped, empty path
    ``/``, percent-encodings upper case and unreserved ones decoded; no user info, query or fragment."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{_normalise_path(parts.path or '/')}"


def _normalise_path(path: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return re.sub(r"%([0-9A-Fa-f]{2})", fix, path)


def single_header(values: str | None) -> str | None:
    """The one ``DPoP`` header value; servers join repeated headers with commas, which no JWS holds."""
    if values is None:
        return None
    value = values.strip()
    if "," in value:
        raise DPoPError.invalid("More than one DPoP header was sent.")  # RFC 9449 §4.3 check 1
    return value


def verify(
    header: str | None,
    *,
    method: str,
    url: str,
    algs: Iterable[str],
    first_use: FirstUse,
    access_token: str | None = None,
    nonce_required: bool = False,
    now: float | None = None,
    window: int = policy.DPOP_PROOF_WINDOW_SECONDS,
) -> Proof:
    """Check the ``DPoP`` header of a request to ``url`` (the endpoint's configured URL); raise ``DPoPError``.

    ``access_token``: the token sent with the proof, at a resource (its hash must be ``ath``).
    ``first_use(kind, jti, expires_at)`` records the ``jti`` and says whether it was new.
    """
    proof = single_header(header)
    if not proof:
        raise DPoPError.invalid("A DPoP proof is required.")
    now = time.time() if now is None else now
    header_json, claims = _verified(proof, frozenset(algs))
    key_jkt = header_json["jkt"]
    if claims.get("htm") != method.upper():
        raise DPoPError.invalid("htm does not match the request method.")
    htu = claims.get("htu")
    if not isinstance(htu, str) or not htu or normalise_url(htu) != normalise_url(url):
        raise DPoPError.invalid("htu does not match the endpoint URL.")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not constant_time_compare(ath, access_token_hash(access_token)):
            raise DPoPError.invalid("ath does not match the access token.")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise DPoPError.invalid("The DPoP proof has no iat.")
    if nonce_required:
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce_valid(nonce, now=now):
            raise DPoPError.nonce()
    if abs(now - iat) > window:
        raise DPoPError.invalid("The DPoP proof is not fresh (iat).")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
        raise DPoPError.invalid("The DPoP proof has no valid jti.")
    # Fresh until iat + window; a copy from before that is a replay, on any node (RFC 9449 §11.1).
    if not first_use(f"dpop:{key_jkt}", jti, iat + window):
        raise DPoPError.invalid("This DPoP proof was already used.")
    return Proof(jkt=key_jkt, jti=jti, iat=int(iat), claims=claims)


def _verified(proof: str, algs: frozenset[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The proof's header (with the key's ``jkt``) and claims, once its form, key and signature check out."""
    if len(proof) > MAX_PROOF_CHARS or not _COMPACT.fullmatch(proof):
        raise DPoPError.invalid("The DPoP header is not a compact JWS.")
    header_b64, payload_b64, signature_b64 = proof.split(".")
    try:
        header = json.loads(base64url_decode(header_b64))
        claims = json.loads(base64url_decode(payload_b64))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise DPoPError.invalid("The DPoP proof is malformed.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise DPoPError.invalid("The DPoP proof is malformed.")
    if header.get("typ") != PROOF_TYPE:
        raise DPoPError.invalid("The DPoP proof's typ is not dpop+jwt.")
    alg = header.get("alg")
    if alg not in algs:
        raise DPoPError.invalid("The DPoP proof's alg is not accepted.")
    if "crit" in header:
        raise DPoPError.invalid("The DPoP proof uses JWS extensions we do not support.")
    public = header.get("jwk")
    if not isinstance(public, dict) or _PRIVATE_MEMBERS & public.keys():
        raise DPoPError.invalid("The DPoP proof's jwk must be a public key.")
    try:
        key = jwk.JWK(**public)
        if key.has_private or key.get("kty") == "oct":
            raise DPoPError.invalid("The DPoP proof's jwk must be a public key.")
        # JWA directly (as tokens.verify_access_token): the header is checked above, and jwcrypto's JWS
        # object would parse it again; the algorithm checks the key's type itself (no RSA key for ES256).
        signing_input = f"{header_b64}.{payload_b64}".encode()
        JWA.signing_alg(alg).verify(key, signing_input, base64url_decode(signature_b64))
    except DPoPError:
        raise
    except _UNVERIFIABLE:
        raise DPoPError.invalid("The DPoP proof's signature does not verify with its jwk.") from None
    return header | {"jkt": thumbprint(key)}, claims


# -- server nonces (RFC 9449 §8, §9) ---------------------------------------------------------------
_NONCE_SALT: Final = "oidc_flows.dpop.nonce"


def _nonce_for(window: int) -> str:
    digest = salted_hmac(_NONCE_SALT, str(window), algorithm="sha256").digest()
    return base64url_encode(digest[:18])  # 144 bits: unguessable, and short in every header


def new_nonce(*, now: float | None = None) -> str:
    """The nonce of the current window: what ``DPoP-Nonce`` carries."""
    return _nonce_for(int((time.time() if now is None else now) // policy.DPOP_NONCE_SECONDS))


def nonce_valid(nonce: str, *, now: float | None = None) -> bool:
    """Whether ``nonce`` is the current or the previous window's."""
    window = int((time.time() if now is None else now) // policy.DPOP_NONCE_SECONDS)
    return any(constant_time_compare(nonce, _nonce_for(w)) for w in (window, window - 1))


def nonce_required(*, dpop_required: bool) -> bool:
    """Whether the IdP demands a nonce (``OIDC_FLOWS["DPOP_NONCES"]``): ``dpop_required`` says whether
    DPoP is mandatory where the proof was sent (the application's switch or a FAPI 2.0 server)."""
    mode = flows_settings().DPOP_NONCES
    return mode == "always" or (mode == "required" and dpop_required)


def nonces_in_use() -> bool:
    """Whether responses to DPoP requests carry a ``DPoP-Nonce`` (RFC 9449 §8.2: the next one to use)."""
    return flows_settings().DPOP_NONCES != "never"


# -- the HTTP shape at resources (RFC 9449 §7.1) ---------------------------------------------------
_UNSAFE: Final = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def challenge(algs: Iterable[str], error: str | None = None, description: str | None = None) -> str:
    """A ``WWW-Authenticate: DPoP ...`` challenge; without ``error`` when no token was sent."""
    params = {}
    if error:
        params["error"] = error
        if description:
            params["error_description"] = _UNSAFE.sub("", description)
    params["algs"] = " ".join(algs)
    return f"{SCHEME} " + ", ".join(f'{name}="{value}"' for name, value in params.items())


def authorization(value: str) -> tuple[str, str] | None:
    """``(scheme, token)`` of an ``Authorization`` header with the Bearer or DPoP scheme, else None."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() not in ("bearer", "dpop"):
        return None
    return ("DPoP" if scheme.lower() == "dpop" else "Bearer"), token.strip()
