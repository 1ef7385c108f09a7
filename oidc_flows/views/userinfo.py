"""The UserInfo endpoint (OIDC Core §5.3): claims of the granted scopes, for this server's tokens only."""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot

from .mixins import ServerBoundMixin


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(ServerBoundMixin, dot.UserInfoView):
    pass
