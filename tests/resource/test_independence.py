"""oidc_flows.resource works in a project without the IdP: it imports none of the IdP's machinery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings


ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("oauth2_provider", "oauthlib", "oidc_flows.models", "oidc_flows.validators", "oidc_flows.servers")
PROBE = f"""
import sys, django
django.setup()
import oidc_flows.resource.authentication, oidc_flows.resource.permissions, oidc_flows.resource.decorators
loaded = sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r}))
print(",".join(loaded))
"""


def test_this_site_does_not_install_the_idp():
    assert not {"oidc_flows", "oauth2_provider"} & set(settings.INSTALLED_APPS)


def test_the_package_imports_nothing_of_the_idp():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.resource.site.settings"}

    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.strip() == "", done.stdout
