"""Forms of the hosted sign-in, recovery and account pages: they only check shapes; the state machine decides.

The templates write the inputs by hand (ids, ``autocomplete``, ``inputmode``, ``aria-describedby``);
these classes validate what comes back and carry the errors to show.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


#: Longer than any username or e-mail address (RFC 5321 §4.5.3.1.3: 254).
MAX_USERNAME = 254
#: Longer than any passphrase people type; a longer value is refused before it reaches a hasher.
MAX_PASSWORD = 4096
#: A WebAuthn credential in JSON: a few kB (an attestation with a certificate chain is the largest).
MAX_CREDENTIAL = 64 * 1024


class HostedForm(forms.Form):
    """A form that knows which field gets the focus: the first with an error, else the first field."""

    def focus(self) -> str:
        for name in self.fields:
            if name in self.errors:
                return name
        return next(iter(self.fields), "")


class SignInForm(HostedForm):
    username = forms.CharField(label=_("Username"), max_length=MAX_USERNAME, strip=True)
    password = forms.CharField(label=_("Password"), max_length=MAX_PASSWORD, strip=False)

    def focus(self) -> str:
        if not self.errors and self["username"].value():
            return "password"  # the hint filled the username in
        return super().focus()


class UsernameForm(HostedForm):
    username = forms.CharField(label=_("Username"), max_length=MAX_USERNAME, strip=True)


class CodeForm(HostedForm):
    """A code from an authenticator app, an email, or a recovery code ("123 456" is fine)."""

    code = forms.CharField(label=_("Code"), max_length=64, strip=True)


class CredentialForm(HostedForm):
    """A ``PublicKeyCredential`` in JSON, as ``webauthn.js`` posts it."""

    credential = forms.CharField(max_length=MAX_CREDENTIAL, strip=False)

    def clean_credential(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["credential"])
        except ValueError:
            value = None
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            raise forms.ValidationError(_("Your browser sent no passkey. Please try again."))
        return value


class NewPasswordForm(HostedForm):
    """A new password, typed twice; the password validators run in the state machine."""

    new_password1 = forms.CharField(label=_("New password"), max_length=MAX_PASSWORD, strip=False)
    new_password2 = forms.CharField(label=_("Confirm the new password"), max_length=MAX_PASSWORD, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        one, two = data.get("new_password1"), data.get("new_password2")
        if one and two and one != two:
            self.add_error("new_password2", _("The two passwords differ."))
        return data


class ChangePasswordForm(NewPasswordForm):
    """The current password and a new one (expired passwords, the expiry warning, /account/password)."""

    old_password = forms.CharField(label=_("Current password"), max_length=MAX_PASSWORD, strip=False)

    field_order = ["old_password", "new_password1", "new_password2"]


class ConfirmPasswordForm(HostedForm):
    """Re-authentication before a sensitive change; the password is optional right after a sign-in."""

    current_password = forms.CharField(label=_("Your password"), max_length=MAX_PASSWORD, strip=False, required=False)

    def __init__(self, *args: Any, required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["current_password"].required = required
