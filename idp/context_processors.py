"""Branding shared by the hosted pages and the admin."""

from __future__ import annotations

from django.http import HttpRequest


def branding(request: HttpRequest) -> dict[str, str]:
    return {"brand_name": "oidc_flows"}
