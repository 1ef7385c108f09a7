"""URLs of the Authentication API (Okta's paths) and the session cookie redirect; include at the site root."""

from django.urls import path

from .views import api, session


urlpatterns = [
    path("api/v1/authn", api.authn, name="authn"),
    path("api/v1/authn/factors", api.enroll, name="authn-enroll"),
    path("api/v1/authn/factors/<str:factor_id>/lifecycle/activate", api.activate, name="authn-activate"),
    path("api/v1/authn/factors/<str:factor_id>/lifecycle/resend", api.resend, name="authn-activate-resend"),
    path("api/v1/authn/factors/<str:factor_id>/verify", api.verify, name="authn-verify"),
    path("api/v1/authn/factors/<str:factor_id>/verify/resend", api.resend, name="authn-verify-resend"),
    path("api/v1/authn/previous", api.previous, name="authn-previous"),
    path("api/v1/authn/skip", api.skip, name="authn-skip"),
    path("api/v1/authn/cancel", api.cancel, name="authn-cancel"),
    path("api/v1/authn/credentials/change_password", api.change_password, name="authn-change-password"),
    path("api/v1/authn/credentials/reset_password", api.reset_password, name="authn-reset-password"),
    path("api/v1/authn/recovery/password", api.recover_password, name="authn-recovery-password"),
    path("api/v1/authn/recovery/unlock", api.recover_unlock, name="authn-recovery-unlock"),
    path("api/v1/authn/recovery/token", api.recovery_token, name="authn-recovery-token"),
    path("api/v1/authn/recovery/answer", api.recovery_answer, name="authn-recovery-answer"),
    path("login/sessionCookieRedirect", session.session_cookie_redirect, name="session-cookie-redirect"),
]
