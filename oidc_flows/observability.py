"""Structured logs: a JSON formatter, request ids, and the fields of the one-line request log.

What a request line may hold is listed here (``REQUEST_FIELDS``): never tokens, codes, secrets,
passwords, cookies or query strings. The path is ``request.path``, which has no query string.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Final

from django.http import HttpRequest, RawPostDataException


#: The header a proxy or client may send to correlate its logs with ours (echoed in the response).
REQUEST_ID_HEADER: Final = "X-Request-ID"
#: An incoming request id is used only if it looks like one; anything else gets a fresh id.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{8,128}$")
#: A client id is an identifier, never a secret; refuse anything that does not look like one.
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,100}$")
#: The only extra attributes of a log record the JSON formatter writes out.
REQUEST_FIELDS: Final = ("request_id", "method", "path", "status", "duration_ms", "server", "client_id")


#: The request being answered (set by ``RequestLogMiddleware``): the system log reads its address and id
#: for events written deep inside a view or by Django's admin (``oidc_flows.systemlog``).
current_request: ContextVar[HttpRequest | None] = ContextVar("oidc_flows_current_request", default=None)


def request_id(request: HttpRequest) -> str:
    """The request's id: a well-formed incoming X-Request-ID, or a new random one."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def server_of(request: HttpRequest) -> str | None:
    """The authorization server a request was routed to (``org`` for the org server's URLs)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    if server_id := match.kwargs.get("server_id"):
        return str(server_id)
    return "org" if {"org", "org-meta"} & set(match.namespaces) else None


def client_id_of(request: HttpRequest) -> str | None:
    """The client id a request names (HTTP Basic user name, form or /authorize parameter), if any.

    The Basic password and every other parameter stay out of it.
    """
    candidate = None
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        candidate = decoded.partition(":")[0] or None
    if candidate is None and request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        try:
            candidate = request.POST.get("client_id")
        except (RawPostDataException, ValueError):
            candidate = None
    if candidate is None and request.method == "GET":
        candidate = request.GET.get("client_id")
    return candidate if candidate and _CLIENT_ID.match(candidate) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request fields, and exceptions."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
