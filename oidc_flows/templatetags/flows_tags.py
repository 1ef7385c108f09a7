"""Template helpers for the flow table."""

from __future__ import annotations

from django import template


register = template.Library()


@register.filter
def lookup(mapping: dict, key: str) -> object:
    """``{{ row.availability|lookup:type }}``: a dict item by a variable key."""
    return mapping.get(key, "")
