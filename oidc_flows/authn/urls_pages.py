"""URLs of the hosted sign-in, recovery and account pages; ``oidc_flows.urls`` includes them at the site root.

``/login/`` itself stays ``oidc_flows:login`` (``LOGIN_URL``); it is served by ``views.pages.sign_in``.
"""

from django.urls import path

from .views import pages, pages_account, pages_recovery


urlpatterns = [
    path("signin/", pages.step_page, name="authn-signin-step"),
    path("signin/passkey", pages.passkey_start, name="authn-signin-passkey"),
    path("signin/verify", pages.verify, name="authn-signin-verify"),
    path("signin/enroll", pages.enroll, name="authn-signin-enroll"),
    path("signin/activate", pages.activate, name="authn-signin-activate"),
    path("signin/resend", pages.resend, name="authn-signin-resend"),
    path("signin/previous", pages.previous, name="authn-signin-previous"),
    path("signin/skip", pages.skip, name="authn-signin-skip"),
    path("signin/cancel", pages.cancel, name="authn-signin-cancel"),
    path("signin/change-password", pages.change_password, name="authn-signin-change-password"),
    path("signin/answer", pages.answer, name="authn-signin-answer"),
    path("signin/new-password", pages.reset_password, name="authn-signin-new-password"),
    path("signin/forgot-password", pages_recovery.forgot_password, name="authn-signin-forgot-password"),
    path("signin/unlock", pages_recovery.unlock, name="authn-signin-unlock"),
    # The links of the recovery mails (oidc_flows.authn.mail builds them with these paths).
    path("signin/reset-password/<str:token>", pages_recovery.reset_password_link, name="authn-signin-reset-link"),
    path("signin/unlock/<str:token>", pages_recovery.unlock_link, name="authn-signin-unlock-link"),
    path("account/factors/add", pages_account.add_factor, name="authn-account-add"),
    path("account/factors/activate", pages_account.activate, name="authn-account-activate"),
    path("account/factors/resend", pages_account.resend, name="authn-account-resend"),
    path("account/factors/cancel", pages_account.cancel, name="authn-account-cancel"),
    path("account/factors/<str:factor_id>/remove", pages_account.remove_factor, name="authn-account-remove"),
    path("account/password", pages_account.change_password, name="authn-account-password"),
]
