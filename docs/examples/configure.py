"""Configuration as code: a web application and the authorization server it uses, through /api/v1/.

    IDP=https://idp.example.com CLIENT_ID=... CLIENT_SECRET=... python docs/examples/configure.py

CLIENT_ID/CLIENT_SECRET are a service application's, granted oidc_flows.apps.manage and
oidc_flows.servers.manage by an administrator. tests/api/test_configuration_as_code.py runs this file.
"""

import os

import requests


SCOPES = "oidc_flows.apps.manage oidc_flows.servers.manage"


def configure(idp: str, client_id: str, client_secret: str, redirect_uri: str) -> dict:
    token = requests.post(
        f"{idp}/oauth2/v1/token",
        data={"grant_type": "client_credentials", "scope": SCOPES},
        auth=(client_id, client_secret),
        timeout=10,
    ).json()["access_token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, body: dict | None = None) -> dict | list:
        response = api.request(method, f"{idp}/api/v1{path}", json=body, timeout=10)
        if response.status_code >= 400:  # Okta's error body: errorSummary and errorCauses
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    # 1. A web application (its secret is in this answer only).
    app = call(
        "POST",
        "/apps",
        {
            "label": "Billing portal",
            "settings": {"oauthClient": {"application_type": "web", "redirect_uris": [redirect_uri]}},
        },
    )
    web_client_id = app["credentials"]["oauthClient"]["client_id"]

    # 2. An authorization server for the billing API, with a scope and a claim.
    server = call("POST", "/authorizationServers", {"id": "billing", "name": "Billing", "audiences": ["api://billing"]})
    base = f"/authorizationServers/{server['id']}"
    call(
        "POST", f"{base}/scopes", {"name": "invoices:read", "description": "Read your invoices", "consent": "IMPLICIT"}
    )
    call(
        "POST",
        f"{base}/claims",
        {
            "name": "department",
            "claimType": "BOTH",  # access and ID tokens
            "valueType": "ATTRIBUTE",
            "value": "department",  # the user's profile attribute
            "conditions": {"scopes": ["invoices:read"]},
        },
    )

    # 3. Who gets tokens: the portal, by the code flow, for 5-minute access tokens.
    policy = call(
        "POST", f"{base}/policies", {"name": "Portal", "conditions": {"clients": {"include": [web_client_id]}}}
    )
    call(
        "POST",
        f"{base}/policies/{policy['id']}/rules",
        {
            "name": "Sign-in",
            "conditions": {
                "grantTypes": {"include": ["authorization_code"]},
                "scopes": {"include": ["openid", "invoices:read"]},
            },
            "actions": {"token": {"accessTokenLifetimeSeconds": 300}},
        },
    )

    # 4. A fresh signing key (the published next key starts signing).
    keys = call("POST", f"{base}/credentials/lifecycle/keyRotate", {"use": "sig"})
    api.close()
    return {"app": app, "server": server, "policy": policy, "keys": keys}


if __name__ == "__main__":
    result = configure(
        os.environ["IDP"],
        os.environ["CLIENT_ID"],
        os.environ["CLIENT_SECRET"],
        os.environ.get("REDIRECT_URI", "https://billing.example/callback"),
    )
    print("issuer:", result["server"]["issuer"])
    print("client_id:", result["app"]["credentials"]["oauthClient"]["client_id"])
