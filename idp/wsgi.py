"""WSGI entry point (gunicorn idp.wsgi): the protocol endpoints take the lean stack (oidc_flows.lean)."""

import os

from oidc_flows.lean import get_wsgi_application


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idp.settings")
application = get_wsgi_application()
