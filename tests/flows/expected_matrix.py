"""What each application type may do, written by hand from the seeds (003 'Recommended Flow by
Application Type', 001's grant table, 002's response types), NOT computed from policy.py, so that
a wrong protocol table makes the matrix test fail.

"default": a new application of the type has it; "optional": an administrator may enable it;
"never": refused.
"""

GRANTS = {
    #                      web         spa         native      service
    "authorization_code": ("default",  "default",  "default",  "never"),
    "refresh_token":      ("default",  "default",  "default",  "never"),
    "implicit":           ("optional", "optional", "optional", "never"),
    "password":           ("optional", "never",    "optional", "never"),
    "client_credentials": ("optional", "never",    "never",    "default"),
    # RFC 8693 (Okta's on-behalf-of): an API with its own credentials; public clients have none.
    "urn:ietf:params:oauth:grant-type:token-exchange": ("optional", "never", "never", "optional"),
    # RFC 8628: for input-constrained devices and command-line tools, which are native applications.
    "urn:ietf:params:oauth:grant-type:device_code": ("never", "never", "optional", "never"),
}
APP_TYPES = ("web", "spa", "native", "service")

# response_type: (grant it needs, what /authorize returns, default response mode)
RESPONSE_TYPES = {
    "code":                ("authorization_code", {"code"},                               "query"),
    "token":               ("implicit",           {"access_token"},                       "fragment"),
    "id_token":            ("implicit",           {"id_token"},                           "fragment"),
    "id_token token":      ("implicit",           {"id_token", "access_token"},           "fragment"),
    "code id_token":       ("authorization_code", {"code", "id_token"},                   "fragment"),
    "code token":          ("authorization_code", {"code", "access_token"},               "fragment"),
    "code id_token token": ("authorization_code", {"code", "id_token", "access_token"},   "fragment"),
}

# Tokens from /token per grant and granted scopes (001): ID token only with openid, refresh token
# only with offline_access, and never either for client_credentials.
TOKEN_ENDPOINT = {
    ("authorization_code", frozenset()): {"access_token"},
    ("authorization_code", frozenset({"openid"})): {"access_token", "id_token"},
    ("authorization_code", frozenset({"offline_access"})): {"access_token", "refresh_token"},
    ("authorization_code", frozenset({"openid", "offline_access"})): {"access_token", "id_token", "refresh_token"},
    ("password", frozenset()): {"access_token"},
    ("password", frozenset({"openid"})): {"access_token", "id_token"},
    ("password", frozenset({"offline_access"})): {"access_token", "refresh_token"},
    ("password", frozenset({"openid", "offline_access"})): {"access_token", "id_token", "refresh_token"},
    ("client_credentials", frozenset()): {"access_token"},
}


def availability(grant: str, app_type: str) -> str:
    return GRANTS[grant][APP_TYPES.index(app_type)]


def max_grants(app_type: str) -> list[str]:
    """Every grant the type may hold: what an administrator can enable at most."""
    return [g for g in GRANTS if availability(g, app_type) != "never"]
