"""Password hashers: Argon2id for user passwords, and a fast keyed hash for client secrets.

User passwords: Argon2id at OWASP's recommended parameters (Password Storage Cheat Sheet: m=19 MiB,
t=2, p=1), about 30 ms of CPU per hash here (bench/run.py prints it) instead of PBKDF2's ~230 ms at
Django's default 1,000,000 iterations, with more resistance to GPU guessing per unit of CPU. It is
first in PASSWORD_HASHERS, so an older hash (PBKDF2, or Argon2 with other parameters) is re-hashed
with it the next time its user signs in.

Client secrets are 256-bit random values, so a slow password hasher (PBKDF2: ~0.3 s of CPU per
token request) buys nothing: no dictionary can guess them. HMAC-SHA256 with a per-secret salt,
keyed from SECRET_KEY (a pepper), is what such values need. Verification also tries
SECRET_KEY_FALLBACKS so rotating SECRET_KEY does not lock every client out.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher
from django.utils.crypto import constant_time_compare


def _digest(key: str, salt: str, secret: str) -> str:
    pepper = hashlib.sha256(f"oidc_flows.client-secret:{key}".encode()).digest()
    return hmac.new(pepper, f"{salt}${secret}".encode(), hashlib.sha256).hexdigest()


#: OWASP's first Argon2id row: 19 MiB of memory, 2 iterations, 1 lane.
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Django's Argon2id hasher (same ``argon2`` hash format) at OWASP's parameters, not Django's 100 MiB × 8 lanes."""

    time_cost = ARGON2_PARAMETERS["time_cost"]
    memory_cost = ARGON2_PARAMETERS["memory_cost"]
    parallelism = ARGON2_PARAMETERS["parallelism"]


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
