"""Protect another Django project's APIs with access tokens of an oidc_flows authorization server.

For resource servers that do NOT install the IdP: this package imports only Django, Django REST
framework (``authentication``, ``permissions``), jwcrypto and the standard library, never
``oidc_flows.models``, DOT or oauthlib.

- ``settings``: the ``OIDC_RESOURCE`` dict (issuer, audience, mode, ...), typed and cached.
- ``tokens``: verify a bearer token, locally (``MODE="jwt"``: RFC 9068 JWT against the JWKS) or by
  asking the IdP (``MODE="introspection"``: RFC 7662), into a ``TokenUser``.
- ``authentication.BearerTokenAuthentication``, ``permissions.HasScopes`` / ``RequireScopes``: DRF.
- ``decorators.require_token``: plain Django views.

Errors follow RFC 6750 §3: 401 ``invalid_token`` (or a bare ``Bearer`` challenge when no token was
sent), 400 ``invalid_request``, 403 ``insufficient_scope``. The token is never logged or echoed.
"""
