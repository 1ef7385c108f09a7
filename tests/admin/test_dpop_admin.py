"""The admin's "Require DPoP" switch (RFC 9449 §5.2 ``dpop_bound_access_tokens``) on an application."""

from __future__ import annotations

import base64

from django.test import Client

from oidc_flows.models import Application


APPS = "/admin/oidc_flows/application/"


def test_require_dpop_is_its_own_fieldset_and_refuses_token_requests_without_a_proof(admin_client):
    page = admin_client.get(f"{APPS}add/", {"application_type": "service"})
    assert "Sender-constrained tokens (DPoP)" in page.content.decode()
    assert "dpop_bound_access_tokens" in page.context["adminform"].form.fields

    admin_client.post(
        f"{APPS}add/?application_type=service",
        {
            "name": "Payments job",
            "client_id": "payments-job",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "is_active": "on",
            "dpop_bound_access_tokens": "on",
        },
    )

    app = Application.objects.get(client_id="payments-job")
    assert app.dpop_bound_access_tokens is True
    # Its secret was shown once; set a known one to ask for a token as the job would.
    app.client_secret = "known secret for this test"
    app.save()
    basic = base64.b64encode(b"payments-job:known secret for this test").decode()
    response = Client().post(
        "/oauth2/default/v1/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "DPoP" in response.json()["error_description"]
