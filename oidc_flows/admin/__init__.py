"""Django admin for everything an administrator configures: one module per model family.

Registration happens on import: ``servers`` (authorization servers, scopes, claims, token preview),
``clients`` (applications), ``access`` (access policies and rules), ``keys`` (signing keys,
read-only), ``tokens`` (access and refresh tokens), ``registration`` (initial access tokens for
dynamic client registration), ``logout`` (back-channel logout deliveries), ``devices`` (device
authorizations, read-only), ``users`` (users, groups, sessions, consents, factors); the sign-in's
policies, trusted origins, factors and events register in ``oidc_flows.authn.admin``.
"""

from ..authn import admin as authn_admin  # noqa: F401  (registers the sign-in ModelAdmins)
from . import access, clients, devices, keys, logout, registration, servers, tokens, users  # noqa: F401  (registers the ModelAdmins)
from .forms import ApplicationForm, TokenPreviewForm


__all__ = ["ApplicationForm", "TokenPreviewForm"]
