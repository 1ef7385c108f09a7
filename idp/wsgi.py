"""WSGI entry point (gunicorn idp.wsgi): the protocol endpoints take the lean stack (oidc_flows.lean)."""

import os

from oidc_flows.lean import get_wsgi_application


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idp.settings")
application = get_wsgi_application()

# Back-channel logout tokens: each server process sends (and retries) them in a thread of its own.
from oidc_flows import applogout  # noqa: E402  (after the settings module is known)


applogout.start_worker()
