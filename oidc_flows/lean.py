"""A lean middleware stack for the protocol endpoints, chosen per request at the WSGI entry.

The token, pushed authorization request, introspection, revocation, JWKS, userinfo and discovery
endpoints read no session, cookie, CSRF token, message or signed-in user: they authenticate clients
and bearer tokens themselves. Yet every request through Django's ``WSGIHandler`` runs all of ``MIDDLEWARE``, which
costs more CPU than a JWKS answer itself. ``LeanWSGIHandler`` holds two stacks, the full one and a
lean one, and sends each request through one of them, by the view its URL resolves to.

Configure it with one setting, the lean views and their middleware::

    OIDC_FLOWS_LEAN = {
        # "<app>:<url name>" (the outermost application namespace, whatever server namespace the
        # URL sits in), or a bare url name for URLs outside any application.
        "VIEWS": ["oidc_flows:token", "oidc_flows:keys", "healthz", ...],
        # A subset of MIDDLEWARE, in MIDDLEWARE's order: what guards every request in production.
        "MIDDLEWARE": ["oidc_flows.middleware.RequestLogMiddleware", ...],
        # Optional, read by the JWKS and discovery views (oidc_flows.views.discovery), whatever the handler.
        "PUBLIC_DOCUMENTS_RECHECK_SECONDS": 0,
    }

and serve ``oidc_flows.lean.get_wsgi_application()`` (``idp/wsgi.py``; ``runserver`` serves it too,
through ``WSGI_APPLICATION``). Without the setting every request takes the full stack, as with
Django's own handler. Django's test client and pytest-django's live server do not come through
here: they always run the full stack.

The URL is resolved once, here, and the chosen stack reuses the match; the matches of lean paths
are kept (resolving costs more than some of those endpoints' own work).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler, get_path_info
from django.http import HttpRequest
from django.urls import ResolverMatch, get_resolver
from django.utils.module_loading import import_string


#: The WSGI environ key that carries the URL's match from the dispatch to the stack that serves it.
MATCH_KEY: Final = "oidc_flows.resolver_match"
#: Lean paths whose URL match is kept (a handful per authorization server).
MAX_KEPT_MATCHES: Final = 1024

StartResponse = Callable[..., Any]


def view_key(match: ResolverMatch) -> str:
    """How ``OIDC_FLOWS_LEAN["VIEWS"]`` names the view of ``match``: ``app:url_name``, or ``url_name``."""
    return f"{match.app_names[0]}:{match.url_name}" if match.app_names else str(match.url_name)


def lean_config() -> tuple[frozenset[str], list[str]]:
    """The lean views and their middleware, checked to be a subset of ``MIDDLEWARE`` in its order."""
    config = getattr(settings, "OIDC_FLOWS_LEAN", None) or {}
    views = frozenset(config.get("VIEWS", ()))
    middleware = list(config.get("MIDDLEWARE", ()))
    full = list(settings.MIDDLEWARE)
    if any(name not in full for name in middleware):
        # A lean path only ever drops middleware: it must never run one that the full stack does not.
        raise ImproperlyConfigured('OIDC_FLOWS_LEAN["MIDDLEWARE"] must be a subset of MIDDLEWARE.')
    if middleware != [name for name in full if name in middleware]:
        raise ImproperlyConfigured('OIDC_FLOWS_LEAN["MIDDLEWARE"] must keep the order of MIDDLEWARE.')
    return views, middleware


class _PreResolved(WSGIHandler):
    """A WSGI handler that takes the URL's match from the dispatch rather than resolving it again."""

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = request.META.pop(MATCH_KEY, None)
        if match is None or hasattr(request, "urlconf"):  # a middleware chose another URLconf: resolve anew
            return super().resolve_request(request)
        request.resolver_match = match
        return match


class _LeanStack(_PreResolved):
    """Django's handler with the given middleware instead of ``MIDDLEWARE`` (synchronous, as under WSGI)."""

    def __init__(self, middleware: Iterable[str]) -> None:
        self.middleware = list(middleware)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; this is its synchronous path over our list.
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(self.middleware):
            factory = import_string(path)
            if not getattr(factory, "sync_capable", True):
                raise ImproperlyConfigured(f"{path} cannot run synchronously (OIDC_FLOWS_LEAN).")
            try:
                instance = factory(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class LeanWSGIHandler:
    """The WSGI application: each request through the lean stack if its view is lean, else the full one."""

    def __init__(self) -> None:
        self.lean_views, middleware = lean_config()
        self.full = _PreResolved()
        self.lean = _LeanStack(middleware)
        # Resolving a protocol endpoint's URL walks most of the URLconf (a JWKS answer's largest single
        # cost): the matches of lean paths are kept, per URLconf. Bounded: server ids come from the URL.
        self._resolver: Any = None
        self._lean_matches: dict[str, ResolverMatch] = {}

    def _resolve(self, path: str) -> ResolverMatch | None:
        """The URL's match (a copy of the kept one for a lean path), or None when nothing matches."""
        resolver = get_resolver()
        if resolver is not self._resolver:  # ROOT_URLCONF changed (tests): forget the old matches
            self._resolver, self._lean_matches = resolver, {}
        kept = self._lean_matches.get(path)
        if kept is None:
            try:
                match = resolver.resolve(path)
            except Exception:  # Resolver404 and the like: the full stack resolves again and answers
                return None
            if view_key(match) in self.lean_views:
                if len(self._lean_matches) >= MAX_KEPT_MATCHES:
                    self._lean_matches = {}
                self._lean_matches[path] = match
            return match
        # A request may change its own match; the kept one stays as resolved (ResolverMatch refuses copy.copy).
        match = object.__new__(ResolverMatch)
        match.__dict__.update(kept.__dict__)
        match.kwargs = dict(kept.kwargs)
        return match

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        match = self._resolve(get_path_info(environ) or "/")
        if match is None:
            return self.full(environ, start_response)
        environ[MATCH_KEY] = match
        handler = self.lean if view_key(match) in self.lean_views else self.full
        return handler(environ, start_response)


def get_wsgi_application() -> LeanWSGIHandler:
    """``django.core.wsgi.get_wsgi_application`` with the lean stack (see the module's docstring)."""
    django.setup(set_prefix=False)
    return LeanWSGIHandler()
