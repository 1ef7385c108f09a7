"""The public flow table: every application type × grant type and response type, built from policy.py.

The /flows page, its JSON form and ``manage.py oidc_print_policy`` render this and nothing else.
"""

from __future__ import annotations

from typing import Any

from . import policy


#: Grants whose flow starts at another endpoint than /token.
_FIRST_ENDPOINT = {policy.Grant.DEVICE_CODE: "/device/authorize, then /token"}  # RFC 8628 §3.1, §3.4


def _availability(app_type: policy.AppType, grant: policy.Grant) -> str:
    rule = policy.APP_TYPES[app_type]
    if grant in rule.default_grants:
        return "default"
    return "optional" if grant in rule.optional_grants else "never"


def _token_endpoint_tokens(grant: policy.Grant) -> list[str]:
    rule = policy.GRANTS.get(grant)
    if rule is None:
        return []
    tokens = ["access_token"]
    if rule.id_token_scope:
        tokens.append(f"id_token (with {rule.id_token_scope})")
    if rule.refresh_token_scope:
        tokens.append(f"refresh_token (with {rule.refresh_token_scope})")
    return tokens


def build() -> dict[str, Any]:
    """The whole table as plain data (the JSON form of /flows)."""
    app_types = [
        {
            "application_type": t.value,
            "label": r.label,
            "client_type": "confidential" if r.confidential else "public",
            "pkce_required": r.pkce_required,
            "redirect_uris": sorted(r.redirects),
        }
        for t, r in policy.APP_TYPES.items()
    ]
    grants = [
        {
            "grant_type": g.value,
            "flow": policy.GRANTS[g].flow if g in policy.GRANTS else "implicit",
            "endpoint": _FIRST_ENDPOINT.get(g) or ("/token" if g in policy.TOKEN_ENDPOINT_GRANTS else "/authorize"),
            "tokens": _token_endpoint_tokens(g) if g in policy.GRANTS else ["see response types"],
            "availability": {t.value: _availability(t, g) for t in policy.APP_TYPES},
        }
        for g in policy.Grant
    ]
    response_types = [
        {
            "response_type": name,
            "flow": rule.flow,
            "requires_grant": rule.requires.value,
            "returns_from_authorize": sorted(rule.returns),
            "default_response_mode": rule.default_mode,
            "response_modes": [m for m in policy.RESPONSE_MODES if policy.response_mode_allowed(rule, m)],
            "nonce_required": policy.Issued.ID_TOKEN in rule.returns,
            "availability": {t.value: _availability(t, rule.requires) for t in policy.APP_TYPES},
        }
        for name, rule in policy.RESPONSE_TYPES.items()
    ]
    return {"application_types": app_types, "grant_types": grants, "response_types": response_types}


def as_markdown() -> str:
    """The table as Markdown, for README.md and release notes."""
    data = build()
    types = [t["application_type"] for t in data["application_types"]]
    lines = ["| grant_type | flow | endpoint | tokens | " + " | ".join(types) + " |", "|---" * (4 + len(types)) + "|"]
    for g in data["grant_types"]:
        cells = [f"`{g['grant_type']}`", g["flow"], g["endpoint"], ", ".join(g["tokens"])]
        lines.append("| " + " | ".join(cells + [g["availability"][t] for t in types]) + " |")
    lines += ["", "| response_type | flow | returns from /authorize | default mode | " + " | ".join(types) + " |"]
    lines.append("|---" * (4 + len(types)) + "|")
    for r in data["response_types"]:
        cells = [
            f"`{r['response_type']}`",
            r["flow"],
            ", ".join(r["returns_from_authorize"]),
            r["default_response_mode"],
        ]
        lines.append("| " + " | ".join(cells + [r["availability"][t] for t in types]) + " |")
    return "\n".join(lines)
