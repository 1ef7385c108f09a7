"""App config: registers checks, signal handlers and the built-in servers."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OidcFlowsConfig(AppConfig):
    name = "oidc_flows"
    verbose_name = "OpenID Connect"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registration happens on import)
        from .servers import ensure_builtin_servers

        # After every migrate (and every test-database flush) the org and `default` servers exist,
        # with keys and system scopes: the IdP is usable out of the box.
        post_migrate.connect(ensure_builtin_servers, sender=self)
