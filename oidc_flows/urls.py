"""URLs of every authorization server (org: /oauth2/v1/..., custom: /oauth2/<server_id>/v1/...).

Include at the site root: the org server's discovery documents live at /.well-known/.
"""

from django.urls import include, path, register_converter

from . import converters, views
from .views import account, dcr, device, flows


register_converter(converters.ServerIdConverter, "server_id")

app_name = "oidc_flows"

endpoints = [
    path("v1/authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("v1/token", views.TokenView.as_view(), name="token"),
    path("v1/par", views.PushedAuthorizationRequestView.as_view(), name="par"),  # RFC 9126
    path("v1/device/authorize", device.DeviceAuthorizationView.as_view(), name="device-authorize"),  # RFC 8628
    path("v1/keys", views.KeysView.as_view(), name="keys"),
    path("v1/userinfo", views.UserInfoView.as_view(), name="userinfo"),
    path("v1/introspect", views.IntrospectView.as_view(), name="introspect"),
    path("v1/revoke", views.RevokeView.as_view(), name="revoke"),
    path("v1/logout", views.EndSessionView.as_view(), name="logout"),  # RP-Initiated Logout 1.0
]
well_known = [
    path(".well-known/openid-configuration", views.MetadataView.as_view(), name="openid-configuration"),
    path(".well-known/oauth-authorization-server", views.MetadataView.as_view(), name="oauth-authorization-server"),
]

urlpatterns = [
    # The protocol endpoints first: Django tries patterns in order, and these take most of the traffic.
    path("oauth2/", include((endpoints, "org"))),
    # Dynamic client registration (RFC 7591, RFC 7592): org level only, for every server, as Okta has it.
    path("oauth2/v1/clients", dcr.ClientRegistrationView.as_view(), name="client-registration"),
    path("oauth2/v1/clients/<str:client_id>", dcr.ClientConfigurationView.as_view(), name="client-configuration"),
    path("", include((well_known, "org-meta"))),
    path("oauth2/<server_id:server_id>/", include((endpoints + well_known, "server"))),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/", account.account_page, name="account"),
    path("account/sessions/<uuid:sid>/end", account.end_session, name="account-end-session"),
    path("account/consents/<int:pk>/withdraw", account.withdraw, name="account-withdraw-consent"),
    path("", include("oidc_flows.authn.urls")),  # /api/v1/authn..., /login/sessionCookieRedirect
    path("api/v1/", include("oidc_flows.api.urls")),  # the management API (after /api/v1/authn...)
    path("", include("oidc_flows.authn.urls_pages")),  # hosted sign-in, recovery and account pages
    path("activate", device.activate, name="device-activate"),  # RFC 8628 §3.3: the user types the code here
    path("activate/confirm", device.confirm, name="device-confirm"),
    path("flows", flows.flows_page, name="flows"),
    path("flows.json", flows.flows_json, name="flows-json"),
    # RFC 8414 §3.1: the well-known suffix inserted between host and issuer path.
    path(
        ".well-known/oauth-authorization-server/oauth2/<server_id:server_id>",
        views.MetadataView.as_view(),
        name="rfc8414-metadata",
    ),
    path(
        ".well-known/openid-configuration/oauth2/<server_id:server_id>",
        views.MetadataView.as_view(),
        name="rfc8414-openid-configuration",
    ),
]
