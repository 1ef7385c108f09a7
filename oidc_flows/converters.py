"""The ``<server_id:...>`` path converter: custom server ids, never a reserved URL segment."""

from __future__ import annotations

from .models.servers import RESERVED_SERVER_IDS


class ServerIdConverter:
    regex = "[a-z0-9][a-z0-9-]{0,62}"

    def to_python(self, value: str) -> str:
        if value in RESERVED_SERVER_IDS:
            raise ValueError(value)  # makes the pattern not match: /oauth2/v1/... is the org server
        return value

    def to_url(self, value: str) -> str:
        return value
