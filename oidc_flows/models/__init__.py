"""The models of oidc_flows; see each module."""

from .access import AccessPolicy, PolicyRule
from .claims import Claim
from .clients import Application
from .keys import KeyAlg, KeyStatus, SigningKey
from .servers import AuthorizationServer, Scope
from .sessions import BrowserSession, SessionApplication
from .tokens import AccessToken, Grant, IDToken, RefreshToken
from .users import Consent, UserProfile


__all__ = [
    "AccessPolicy",
    "Claim",
    "PolicyRule",
    "AccessToken",
    "Application",
    "AuthorizationServer",
    "BrowserSession",
    "Consent",
    "Grant",
    "IDToken",
    "KeyAlg",
    "KeyStatus",
    "RefreshToken",
    "Scope",
    "SessionApplication",
    "SigningKey",
    "UserProfile",
]
