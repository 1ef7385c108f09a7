"""Static files storage: WhiteNoise's hashed, compressed files once ``collectstatic`` has run.

Before it (development, tests) templates get the plain names, which WhiteNoise serves from the
apps when DEBUG is on; a deployment runs ``manage.py collectstatic`` at build time.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False  # a name missing from the manifest is hashed from STATIC_ROOT if it is there

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:  # not collected: neither in the manifest nor in STATIC_ROOT
            return name
