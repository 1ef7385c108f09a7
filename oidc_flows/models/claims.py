"""Custom claims of an authorization server (Okta: Authorization Servers → Claims)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .servers import AuthorizationServer


#: Claims the protocol owns; a custom claim may never replace them.
RESERVED_CLAIMS = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "at_hash",
        "c_hash",
        "scope",
        "scp",
        "client_id",
        "cid",
        "uid",
        "sid",
        "typ",
        "cnf",
        "grant_id",  # oidc_flows.revocation.FAMILY_CLAIM
        "userinfo_claims",  # oidc_flows.claimsrequest.ACCESS_TOKEN_CLAIM
    }
)


class Claim(models.Model):
    class ValueType(models.TextChoices):
        ATTRIBUTE = "attribute", _("user attribute")
        GROUPS = "groups", _("groups (filtered)")
        CONSTANT = "constant", _("constant")

    class GroupFilter(models.TextChoices):
        STARTS_WITH = "starts_with", _("starts with")
        EQUALS = "equals", _("equals")
        CONTAINS = "contains", _("contains")
        REGEX = "regex", _("matches regex")

    server = models.ForeignKey(AuthorizationServer, on_delete=models.CASCADE, related_name="claims")
    name = models.CharField(_("name"), max_length=100, help_text=_("The claim's name in the token, e.g. department."))
    value_type = models.CharField(
        _("value type"), max_length=16, choices=ValueType.choices, default=ValueType.ATTRIBUTE
    )
    value = models.CharField(
        _("value"),
        max_length=255,
        help_text=_("Attribute name (e.g. email, department), group filter text, or the constant itself."),
    )
    group_filter = models.CharField(
        _("group filter"),
        max_length=16,
        choices=GroupFilter.choices,
        default=GroupFilter.STARTS_WITH,
        help_text=_("How the value selects groups, for the 'groups' value type."),
    )
    in_access_token = models.BooleanField(_("in access tokens"), default=True)
    in_id_token = models.BooleanField(_("in ID tokens and userinfo"), default=False)
    scopes = models.CharField(
        _("only with scopes"),
        max_length=1000,
        blank=True,
        help_text=_("Space-separated; the claim is added only when one of them is granted. Empty: always."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["server", "name"]
        constraints = [models.UniqueConstraint(fields=["server", "name"], name="unique_claim_per_server")]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def clean(self) -> None:
        if self.name in RESERVED_CLAIMS:
            raise ValidationError({"name": _("'%(name)s' is set by the protocol itself.") % {"name": self.name}})
        if not (self.in_access_token or self.in_id_token):
            raise ValidationError(_("Include the claim in access tokens, ID tokens or both."))
        if self.value_type == self.ValueType.GROUPS and self.group_filter == self.GroupFilter.REGEX:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValidationError({"value": _("Not a valid regular expression: %s") % exc}) from exc
