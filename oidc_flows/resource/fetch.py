"""The few HTTP calls a resource server makes to the IdP, with the standard library only."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final


#: No IdP document is anywhere near this big; a larger answer is refused, not parsed.
MAX_BYTES: Final = 1 << 20
USER_AGENT: Final = "oidc_flows.resource"


class FetchError(Exception):
    """The IdP could not be reached or answered something unusable. The message holds no secrets."""


def _open(request: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    if urllib.parse.urlsplit(request.full_url).scheme not in ("https", "http"):
        raise FetchError("Only http(s) URLs are fetched.")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # the scheme was checked above
            return response.status, response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, bad URLs
        raise FetchError(f"{request.get_method()} {request.full_url} failed: {type(exc).__name__}") from None


def _json(status: int, body: bytes, url: str) -> Any:
    if len(body) > MAX_BYTES:
        raise FetchError(f"{url}: the answer is too large.")
    try:
        return json.loads(body)
    except ValueError:
        raise FetchError(f"{url} answered {status} with a body that is not JSON.") from None


def get_json(url: str, *, timeout: float) -> dict[str, Any]:
    """GET a JSON object (discovery, JWKS); anything but a 200 with a JSON object is a FetchError."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
    status, body = _open(request, timeout)
    if status != 200:
        raise FetchError(f"{url} answered {status}.")
    data = _json(status, body, url)
    if not isinstance(data, dict):
        raise FetchError(f"{url} did not answer a JSON object.")
    return data


def post_form(
    url: str, data: dict[str, str], *, client_id: str, client_secret: str, timeout: float
) -> tuple[int, dict[str, Any]]:
    """POST a form with client_secret_basic (RFC 6749 §2.3.1: both parts form-urlencoded first)."""
    credentials = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
    headers = {
        "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    status, answer = _open(request, timeout)
    parsed = _json(status, answer, url)
    if not isinstance(parsed, dict):
        raise FetchError(f"{url} did not answer a JSON object.")
    return status, parsed
