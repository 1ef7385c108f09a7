"""Passkeys and security keys (``webauthn``, W3C WebAuthn Level 2) with the ``webauthn`` package.

Registration and assertion are verified by the library: RP ID and origin (from ``BASE_URL``, or
``OIDC_FLOWS["WEBAUTHN_RP_ID"]``), the challenge this transaction issued, user presence, user
verification when the policy asks for it, and the signature counter: a counter that goes backwards
means a cloned authenticator, and the assertion is refused. One factor is one credential.

Answers take the browser's ``PublicKeyCredential.toJSON()`` as ``credential``, or Okta's fields
(``clientData``, ``attestation``; ``clientData``, ``authenticatorData``, ``signatureData``).

Passwordless: a transaction in UNAUTHENTICATED carries a challenge with no allowed credentials
(discoverable passkeys); the assertion names its credential, which names the user.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict, parse_attestation_object
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ...settings import flows_settings
from ..errors import AuthnError
from ..models import Factor, FactorStatus, FactorType, Transaction


#: The pseudo factor id of a passwordless assertion: "whichever passkey the assertion names".
PASSKEY = "passkey"


def rp_id() -> str:
    return flows_settings().WEBAUTHN_RP_ID or urlsplit(flows_settings().BASE_URL).hostname


def origin() -> str:
    parts = urlsplit(flows_settings().BASE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def user_handle(user: AbstractBaseUser) -> bytes:
    """A stable, opaque WebAuthn user handle: it reveals neither the primary key nor the username."""
    return hashlib.sha256(f"oidc_flows.webauthn:{settings.SECRET_KEY}:{user.pk}".encode()).digest()


def _descriptors(user: AbstractBaseUser) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=base64url_to_bytes(f.profile["credentialId"]))
        for f in Factor.objects.filter(user=user, factor_type=FactorType.WEBAUTHN, status=FactorStatus.ACTIVE)
    ]


def _remember(tx: Transaction, factor_id: str, options: Any) -> dict[str, Any]:
    public = options_to_json_dict(options)
    tx.challenge = {"factor": factor_id, "webauthn": public["challenge"]}
    tx.save(update_fields=["challenge"])
    return public


def _expected_challenge(tx: Transaction, factor_id: str) -> bytes:
    if tx.challenge.get("factor") != factor_id or not tx.challenge.get("webauthn"):
        raise AuthnError("E0000079", "Ask for a new challenge first.")
    return base64url_to_bytes(tx.challenge["webauthn"])


def _registration_credential(answer: dict[str, Any]) -> dict[str, Any]:
    if isinstance(answer.get("credential"), dict):
        return answer["credential"]
    attestation, client_data = answer.get("attestation"), answer.get("clientData")
    if not isinstance(attestation, str) or not isinstance(client_data, str):
        raise AuthnError("E0000001", "attestation and clientData are required.")
    try:
        parsed = parse_attestation_object(base64url_to_bytes(attestation))
        raw_id = bytes_to_base64url(parsed.auth_data.attested_credential_data.credential_id)
    except (WebAuthnException, ValueError, AttributeError, TypeError) as exc:
        raise AuthnError("E0000114", "The attestation is not readable.") from exc
    response = {"clientDataJSON": client_data, "attestationObject": attestation}
    return {"id": raw_id, "rawId": raw_id, "type": "public-key", "response": response}


def _assertion_credential(answer: dict[str, Any], credential_id: str | None) -> dict[str, Any]:
    if isinstance(answer.get("credential"), dict):
        return answer["credential"]
    fields = {"clientDataJSON": "clientData", "authenticatorData": "authenticatorData", "signature": "signatureData"}
    response = {ours: answer.get(theirs) for ours, theirs in fields.items()}
    if not all(isinstance(v, str) for v in response.values()) or credential_id is None:
        raise AuthnError("E0000001", "clientData, authenticatorData and signatureData are required.")
    return {"id": credential_id, "rawId": credential_id, "type": "public-key", "response": response}


def start_passwordless(tx: Transaction) -> dict[str, Any]:
    """A challenge any of the RP's discoverable passkeys can answer, with user verification."""
    options = generate_authentication_options(rp_id=rp_id(), user_verification=UserVerificationRequirement.REQUIRED)
    return _remember(tx, PASSKEY, options)


def identify(answer: dict[str, Any]) -> Factor:
    """The active passkey factor a passwordless assertion names; E0000114 when none."""
    credential = answer.get("credential") if isinstance(answer.get("credential"), dict) else answer
    credential_id = credential.get("id") or credential.get("credentialId")
    factor = None
    if isinstance(credential_id, str) and len(credential_id) < 1400:
        factor = (
            Factor.objects.select_related("user")
            .filter(factor_type=FactorType.WEBAUTHN, status=FactorStatus.ACTIVE, profile__credentialId=credential_id)
            .first()
        )
    if factor is None or not factor.user.is_active:
        raise AuthnError("E0000114", "This passkey is not registered here.")
    return factor


def assert_passkey(
    factor: Factor, tx: Transaction, answer: dict[str, Any], *, challenge_id: str, uv: bool
) -> list[str]:
    """Verify an assertion by ``factor``'s credential against the challenge issued under ``challenge_id``."""
    try:
        verified = verify_authentication_response(
            credential=_assertion_credential(answer, factor.profile.get("credentialId")),
            expected_challenge=_expected_challenge(tx, challenge_id),
            expected_rp_id=rp_id(),
            expected_origin=origin(),
            credential_public_key=base64url_to_bytes(factor.profile["publicKey"]),
            credential_current_sign_count=factor.counter,
            require_user_verification=uv,
        )
    except WebAuthnException as exc:  # includes a signature counter that went backwards
        raise AuthnError("E0000114", str(exc)[:200]) from exc
    # Counters only grow; authenticators that keep none always send 0 (WebAuthn §6.1.1).
    Factor.objects.filter(pk=factor.pk).update(counter=verified.new_sign_count, last_verified=timezone.now())
    factor.counter = verified.new_sign_count
    tx.challenge = {}
    tx.save(update_fields=["challenge"])
    methods = ["hwk"]
    if verified.user_verified:
        methods.append("user")  # RFC 8176: a user presence test, verified by the authenticator (PIN, biometrics)
    return methods


class WebAuthnHandler:
    factor_type = FactorType.WEBAUTHN
    provider = "FIDO"

    def enroll(self, tx: Transaction, profile: dict[str, Any], request: HttpRequest | None) -> Factor:
        Factor.objects.filter(
            user=tx.user, factor_type=self.factor_type, status=FactorStatus.PENDING_ACTIVATION
        ).delete()
        name = profile.get("name") if isinstance(profile.get("name"), str) else ""
        return Factor.objects.create(
            user=tx.user,
            factor_type=self.factor_type,
            provider=self.provider,
            status=FactorStatus.PENDING_ACTIVATION,
            name=name[:100],
        )

    def activation(self, factor: Factor, tx: Transaction) -> dict[str, Any]:
        if tx.challenge.get("factor") == factor.pk and "options" in tx.challenge:
            return tx.challenge["options"]
        user = factor.user
        options = generate_registration_options(
            rp_id=rp_id(),
            rp_name=flows_settings().WEBAUTHN_RP_NAME,
            user_id=user_handle(user),
            user_name=user.get_username(),
            user_display_name=user.get_full_name() or user.get_username(),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=_descriptors(user),
        )
        public = _remember(tx, factor.pk, options)
        tx.challenge["options"] = public
        tx.save(update_fields=["challenge"])
        return public

    def activate(
        self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None
    ) -> list[str]:
        try:
            verified = verify_registration_response(
                credential=_registration_credential(answer),
                expected_challenge=_expected_challenge(tx, factor.pk),
                expected_rp_id=rp_id(),
                expected_origin=origin(),
            )
        except WebAuthnException as exc:
            raise AuthnError("E0000114", str(exc)[:200]) from exc
        credential_id = bytes_to_base64url(verified.credential_id)
        if Factor.objects.filter(factor_type=self.factor_type, profile__credentialId=credential_id).exists():
            raise AuthnError("E0000114", "This passkey is registered already.")
        factor.profile = {
            "credentialId": credential_id,
            "publicKey": bytes_to_base64url(verified.credential_public_key),
            "aaguid": str(verified.aaguid),
            "backedUp": verified.credential_backed_up,
            "deviceType": str(getattr(verified.credential_device_type, "value", verified.credential_device_type)),
        }
        factor.counter = verified.sign_count
        factor.save(update_fields=["profile", "counter"])
        tx.challenge = {}
        tx.save(update_fields=["challenge"])
        return ["hwk"]

    def challenge(self, factor: Factor, tx: Transaction, request: HttpRequest | None) -> dict[str, Any] | None:
        options = generate_authentication_options(
            rp_id=rp_id(),
            allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(factor.profile["credentialId"]))],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return _remember(tx, factor.pk, options)

    def verify(self, factor: Factor, tx: Transaction, answer: dict[str, Any], request: HttpRequest | None) -> list[str]:
        return assert_passkey(factor, tx, answer, challenge_id=factor.pk, uv=False)


HANDLER = WebAuthnHandler()
