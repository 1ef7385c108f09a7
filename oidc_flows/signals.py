"""Signal handlers of oidc_flows (imported from AppConfig.ready)."""

from . import sessions  # noqa: F401  (connects user_logged_in → auth_time)
