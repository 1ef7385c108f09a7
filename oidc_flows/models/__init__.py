"""The models of oidc_flows; see each module."""

# The sign-in's models live with it (oidc_flows/authn/) but belong to this app: one migrate installs them.
from ..authn.models import (
    AuthEvent,
    EnrollmentPolicy,
    Factor,
    OneTimeToken,
    PasswordPolicy,
    SignOnPolicy,
    SignOnRule,
    Transaction,
    TrustedOrigin,
)
from .access import AccessPolicy, PolicyRule
from .claims import Claim
from .clients import Application
from .devices import DeviceAuthorization, DeviceStatus
from .keys import KeyAlg, KeyStatus, SigningKey
from .logout import LogoutDelivery
from .registration import InitialAccessToken
from .requests import OneTimeUse, PushedAuthorizationRequest
from .servers import AuthorizationServer, Scope
from .sessions import BrowserSession, SessionApplication
from .tokens import AccessToken, Grant, IDToken, RefreshToken, Revocation
from .users import Consent, PairwiseSubject, UserProfile


__all__ = [
    "AuthEvent",
    "EnrollmentPolicy",
    "Factor",
    "OneTimeToken",
    "PasswordPolicy",
    "SignOnPolicy",
    "SignOnRule",
    "Transaction",
    "TrustedOrigin",
    "AccessPolicy",
    "Claim",
    "PolicyRule",
    "AccessToken",
    "Application",
    "AuthorizationServer",
    "BrowserSession",
    "Consent",
    "DeviceAuthorization",
    "DeviceStatus",
    "Grant",
    "IDToken",
    "InitialAccessToken",
    "KeyAlg",
    "KeyStatus",
    "LogoutDelivery",
    "OneTimeUse",
    "PairwiseSubject",
    "PushedAuthorizationRequest",
    "RefreshToken",
    "Revocation",
    "Scope",
    "SessionApplication",
    "SigningKey",
    "UserProfile",
]
