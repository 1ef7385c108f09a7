"""oidc_flows: an OAuth 2.0 / OpenID Connect identity provider for Django."""

__version__ = "0.1.0"
