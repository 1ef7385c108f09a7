"""Signal handlers of oidc_flows (imported from AppConfig.ready)."""

from . import (
    sessions,  # noqa: F401  (connects user_logged_in → auth_time)
    snapshots,  # noqa: F401  (a server's configuration changed → its snapshots are stale)
)
from .authn import signals as authn_signals  # noqa: F401,E402  (a password set → UserProfile.password_changed)
