"""``/login/sessionCookieRedirect``: turn a ``sessionToken`` into the IdP session, then go to a trusted page.

Okta's contract: ``GET /login/sessionCookieRedirect?token=<sessionToken>&redirectUrl=<url>``. The URL
must be on a trusted origin registered for redirects (or on the IdP itself); a spent, expired or
unknown token, or an untrusted URL, gets a friendly error page and no redirect.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ...views.mixins import error_page
from .. import browser, ratelimit
from ..errors import AuthnError
from ..origins import may_redirect_to


def _safe(request: HttpRequest, url: str) -> bool:
    if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return True
    return may_redirect_to(url)


@never_cache
@require_safe
def session_cookie_redirect(request: HttpRequest) -> HttpResponse:
    target = request.GET.get("redirectUrl", "")
    if not target or not _safe(request, target):
        return error_page(request, "invalid_request", _("redirectUrl is not a trusted origin."), 400)
    try:
        ratelimit.check(request, "authn")
    except AuthnError as error:
        return error.response()
    if browser.redeem_session_token(request, request.GET.get("token")) is None:
        return error_page(request, "invalid_request", _("The session token is invalid, expired or already used."), 400)
    return HttpResponseRedirect(target)
