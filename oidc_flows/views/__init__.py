"""Endpoint views, one module per endpoint family."""

from .authorize import AuthorizeView
from .discovery import KeysView, MetadataView
from .login import LoginView, LogoutView
from .token import TokenView
from .userinfo import UserInfoView


__all__ = ["AuthorizeView", "KeysView", "LoginView", "LogoutView", "MetadataView", "TokenView", "UserInfoView"]
