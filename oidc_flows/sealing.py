"""Encryption at rest for private key material (Fernet, keyed from SECRET_KEY and its fallbacks).

Rotating SECRET_KEY keeps working as long as the old value stays in SECRET_KEY_FALLBACKS.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"oidc_flows", info=b"signing-keys").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


@functools.lru_cache(maxsize=4)
def _fernet(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(s)) for s in secrets])


def _current() -> MultiFernet:
    return _fernet((settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def seal(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the current SECRET_KEY."""
    return _current().encrypt(plaintext.encode()).decode()


def unseal(token: str) -> str:
    """Decrypt a value sealed with SECRET_KEY or any of SECRET_KEY_FALLBACKS."""
    return _current().decrypt(token.encode()).decode()
