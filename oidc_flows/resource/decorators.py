"""Protect a plain Django view with our access tokens.

    @require_token(scopes=["reports:read"])
    def reports(request):
        return JsonResponse({"for": request.user.sub})   # request.user is a TokenUser

The view runs only for a valid token holding every scope; otherwise the answer is RFC 6750 §3's
(401 / 400 / 403 with ``WWW-Authenticate: Bearer ...`` and a JSON body). CSRF does not apply: a
bearer token is never sent by a browser on its own, so a protected view is ``csrf_exempt``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .errors import BearerError
from .settings import ResourceSettings, resource_settings
from .tokens import authenticate_request, require_scopes


View = Callable[..., HttpResponse]


def require_token(
    view: View | None = None, *, scopes: Iterable[str] = (), settings: Callable[[], ResourceSettings] | None = None
) -> Any:
    """Decorate a view (``@require_token`` or ``@require_token(scopes=[...])``).

    ``settings`` returns the ``ResourceSettings`` to use; default: ``OIDC_RESOURCE``.
    """
    required = tuple(scopes)
    get_settings = settings or resource_settings

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                conf = get_settings()
                user = authenticate_request(request, conf)  # Bearer, or DPoP with its proof (RFC 9449 §7)
                if user is None:
                    raise BearerError.missing(conf.DPOP_ALGORITHMS)
                require_scopes(user, required)
            except BearerError as error:
                return error.response()
            request.user = user
            request.auth = dict(user.claims)
            return view(request, *args, **kwargs)

        return csrf_exempt(protected)

    return decorator(view) if view is not None else decorator
