"""A server's security settings in the admin: the FAPI 2.0 switch and the algorithm of its signing keys.

The switch's help lists what it changes, generated from ``policy.FAPI2`` (oidc_flows.profiles). Turning
it on with an RS256 key does not refuse the save: the keys rotate to PS256 at once, as administrators of
Okta or Keycloak expect a switch to just work (README, "FAPI 2.0 Security Profile", says why that is safe).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import keys, policy, profiles, systemlog
from ..models import AuthorizationServer, KeyAlg, SigningKey
from ..models.keys import KeyStatus
from ..settings import flows_settings
from .forms import AuthorizationServerForm


#: The fieldset of a server's page that holds what this module adds.
FIELDS = ("fapi_profile", "signing_alg")


def fapi_help() -> str:
    """The switch's help text: the profile's rules, one per line (HTML; each rule escaped)."""
    return format_html(
        "{}<ul class='oidc-profile-rules'>{}</ul>",
        _("Turned on, this server enforces:"),
        format_html_join("", "<li>{}</li>", ((rule,) for rule in profiles.rules(policy.FAPI2))),
    )


class SecuredServerForm(AuthorizationServerForm):
    """The server form plus the algorithm of its keys, which lives on the keys rather than the server row."""

    signing_alg = forms.ChoiceField(
        label=_("Signing algorithm"),
        choices=KeyAlg.choices,
        required=False,
        help_text=_(
            "The algorithm of this server's signing keys. Changing it rotates the key now: a new key of that "
            "algorithm signs at once (the published next key, if it already has it). The old key stays in the "
            "JWKS, so tokens it signed keep verifying; verifiers meet a new key id and fetch the JWKS again."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "fapi_profile" in self.fields:
            self.fields["fapi_profile"].help_text = fapi_help()
        if "signing_alg" in self.fields:
            server = self.instance if self.instance.pk else None
            self.fields["signing_alg"].initial = current_alg(server)

    def clean(self) -> dict:
        data = super().clean()
        alg = data.get("signing_alg")
        if data.get("fapi_profile") and alg and alg not in policy.FAPI2.signing_algs:
            if "signing_alg" in self.changed_data:  # chosen on purpose: say why it cannot be
                self.add_error(
                    "signing_alg",
                    _("The FAPI 2.0 Security Profile signs with %(algs)s only.")
                    % {"algs": " or ".join(sorted(policy.FAPI2.signing_algs))},
                )
            else:
                data["signing_alg"] = keys.PROFILE_FALLBACK_ALG  # left as it was: the switch upgrades it
        return data


def current_alg(server: AuthorizationServer | None) -> str:
    """The algorithm ``server`` signs with now (a new server: that of its first keys)."""
    if server is None:
        return flows_settings().SIGNING_ALG
    active = SigningKey.objects.filter(server=server, status=KeyStatus.ACTIVE).values_list("alg", flat=True).first()
    return active or keys.alg_of(server)


def apply_signing_alg(request: HttpRequest, server: AuthorizationServer, alg: str | None, notify) -> SigningKey:
    """Give a saved server its keys, of ``alg`` when chosen; rotate when the active key has another algorithm.

    ``notify(request, message, level)`` is the admin's ``message_user``.
    """
    active = keys.ensure_signing_key(server, alg=alg or None)
    target = alg or (None if active.alg in keys.allowed_algs(server) else keys.alg_of(server))
    if target is None or active.alg == target:
        return active
    key = keys.rotate(server, alg=target)
    systemlog.record(
        systemlog.KEY_ROLLOVER,
        actor=request.user,
        target=server,
        request=request,
        detail={"via": "admin", "kid": key.kid, "alg": key.alg, "because": "signing algorithm changed"},
    )
    notify(
        request,
        _(
            "%(server)s now signs with a %(alg)s key (%(kid)s). The %(old)s key is retired and stays in the JWKS, "
            "so tokens it signed keep verifying."
        )
        % {"server": server.server_id, "alg": key.alg, "kid": key.kid, "old": active.alg},
        messages.SUCCESS,
    )
    return key


def profile_state(server: AuthorizationServer) -> str:
    """One line for the server's page: the switch, and the algorithms of its published keys."""
    published = keys.published(server)
    by_status = {k.status: k.alg for k in published}
    algs = format_html_join(
        ", ",
        "{} {}",
        ((status, by_status[status]) for status in (KeyStatus.ACTIVE, KeyStatus.NEXT) if status in by_status),
    )
    state = _("on") if server.fapi_profile else _("off")
    return format_html("{}: {} · {}: {}", _("FAPI 2.0 Security Profile"), state, _("keys"), algs or "-")


def profile_warning(server: AuthorizationServer, application) -> str:
    """A warning for an application's page: ``server``'s profile refuses it tokens, and why; else ""."""
    why = profiles.client_refusal(server.profile, application)
    if why is None:
        return ""
    return format_html(" <strong class='oidc-warning'>{}</strong>", _("Gets no tokens here: %(why)s") % {"why": why})
