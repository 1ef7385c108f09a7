"""Endpoint views, one module per endpoint family."""

from .authorize import AuthorizeView
from .discovery import KeysView, MetadataView
from .introspect import IntrospectView
from .login import LoginView, LogoutView
from .logout import EndSessionView
from .par import PushedAuthorizationRequestView
from .revoke import RevokeView
from .token import TokenView
from .userinfo import UserInfoView


__all__ = [
    "AuthorizeView",
    "EndSessionView",
    "IntrospectView",
    "KeysView",
    "LoginView",
    "LogoutView",
    "MetadataView",
    "PushedAuthorizationRequestView",
    "RevokeView",
    "TokenView",
    "UserInfoView",
]
