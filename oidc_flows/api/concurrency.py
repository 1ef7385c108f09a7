"""Concurrent edits (RFC 9110 §8.8.3, §13.1.1): every single-object response carries an ``ETag``, a hash
of the object's representation; a write with an ``If-Match`` that names another state is refused with
412 Precondition Failed, so two administrators cannot silently overwrite each other. Without
``If-Match`` a write proceeds (as Okta's API, which has none)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rest_framework.request import Request

from .exceptions import PreconditionFailed


def etag(representation: Any) -> str:
    """A strong entity tag of a JSON representation (sorted keys: the same state, the same tag)."""
    encoded = json.dumps(representation, sort_keys=True, separators=(",", ":"), default=str).encode()
    return '"' + hashlib.sha256(encoded).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def check_if_match(request: Request, current: str) -> None:
    """Raise ``PreconditionFailed`` when the request's ``If-Match`` names neither ``current`` nor ``*``."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = _tags(header)
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed()
