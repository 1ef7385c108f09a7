"""Redirect URI rules: which kinds an application type may register, and exact matching.

RFC 9700 §4.1.3 asks for exact string matching; the one exception is RFC 8252 §7.3, which lets
a native app's loopback redirect use any port, since the OS picks it at run time.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .policy import Redirect


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob"})


def classify(uri: str) -> Redirect | None:
    """Return which kind of redirect URI ``uri`` is, or ``None`` if it is unusable."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return None
    # RFC 6749 §3.1.2: absolute, without a fragment.
    if parts.fragment or "#" in uri or not parts.scheme or any(c.isspace() for c in uri):
        return None
    scheme = parts.scheme.lower()
    if scheme == "https":
        return Redirect.HTTPS if parts.hostname and not parts.username else None
    if scheme == "http":
        return Redirect.LOOPBACK if parts.hostname in LOOPBACK_HOSTS and not parts.username else None
    if _SCHEME.match(scheme) and scheme not in _FORBIDDEN_SCHEMES:
        return Redirect.CUSTOM
    return None


def _without_port(uri: str) -> str:
    parts = urlsplit(uri)
    return parts._replace(netloc=parts.hostname or "").geturl()


def matches(uri: str, registered: list[str]) -> bool:
    """Return whether ``uri`` is one of ``registered``: exact, or a loopback URI on another port."""
    if uri in registered:
        return True
    if classify(uri) != Redirect.LOOPBACK:
        return False
    return any(classify(r) == Redirect.LOOPBACK and _without_port(r) == _without_port(uri) for r in registered)
