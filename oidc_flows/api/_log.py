"""The management API's one door to the system log (``oidc_flows.systemlog.record``).

Until the system log exists on this branch, recording is a no-op; the signature is the system log's.
"""

from __future__ import annotations

from typing import Any


def record(
    event_type: str,
    *,
    actor: Any,
    target: Any,
    outcome: str = "SUCCESS",
    request: Any = None,
    detail: dict | None = None,
) -> None:
    """Record one administrative event (Okta System Log event types, e.g. ``application.lifecycle.create``)."""
    try:
        from .. import systemlog
    except ImportError:
        return
    systemlog.record(event_type, actor=actor, target=target, outcome=outcome, request=request, detail=detail)
