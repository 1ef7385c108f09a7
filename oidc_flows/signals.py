"""Signal handlers of oidc_flows (imported from AppConfig.ready)."""

from django.apps import apps
from django.db.models.signals import post_save

from . import (
    sessions,  # noqa: F401  (connects user_logged_in → auth_time)
    snapshots,  # noqa: F401  (a server's configuration changed → its snapshots are stale)
    systemlog,
)
from .authn import signals as authn_signals  # noqa: F401  (a password set → UserProfile.password_changed)


# Every change made in Django's admin goes to the system log too, with the administrator as its actor.
# Only where the admin is installed: a site without django.contrib.admin cannot even import LogEntry.
if apps.is_installed("django.contrib.admin"):
    from django.contrib.admin.models import LogEntry

    post_save.connect(systemlog.admin_change, sender=LogEntry, dispatch_uid="oidc_flows.systemlog.admin_change")
    systemlog.install_admin_hook()
