"""A fast keyed hash for client secrets.

Client secrets are 256-bit random values, so a slow password hasher (PBKDF2: ~0.3 s of CPU per
token request) buys nothing: no dictionary can guess them. HMAC-SHA256 with a per-secret salt,
keyed from SECRET_KEY (a pepper), is what such values need. Verification also tries
SECRET_KEY_FALLBACKS so rotating SECRET_KEY does not lock every client out.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher
from django.utils.crypto import constant_time_compare


def _digest(key: str, salt: str, secret: str) -> str:
    pepper = hashlib.sha256(f"oidc_flows.client-secret:{key}".encode()).digest()
    return hmac.new(pepper, f"{salt}${secret}".encode(), hashlib.sha256).hexdigest()


class ClientSecretHasher(BasePasswordHasher):
    """HMAC-SHA256 for high-entropy client secrets; never use it for user passwords."""

    algorithm = "oidc_hmac_sha256"

    def encode(self, password: str, salt: str) -> str:
        self._check_encode_args(password, salt)
        return f"{self.algorithm}${salt}${_digest(settings.SECRET_KEY, salt, password)}"

    def decode(self, encoded: str) -> dict[str, str]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        keys = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
        return any(constant_time_compare(decoded["hash"], _digest(k, decoded["salt"], password)) for k in keys)

    def safe_summary(self, encoded: str) -> dict[str, str]:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": decoded["salt"][:4] + "…", "hash": "…"}

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass

    def must_update(self, encoded: str) -> bool:
        return False
