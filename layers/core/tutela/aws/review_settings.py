"""The review function's settings, parsed from its environment at INIT (``tutela.aws.settings.at_init``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tutela.errors import ConfigurationError

NAMES = (
    "UPLOAD_BUCKET",
    "STAGING_BUCKET",
    "PUBLISHED_BUCKET",
    "QUARANTINE_BUCKET",
    "DECISIONS_TABLE",
    "EVENT_BUS_NAME",
)


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    upload_bucket: str
    staging_bucket: str
    published_bucket: str
    quarantine_bucket: str
    decisions_table: str
    event_bus_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReviewSettings:
        missing = [n for n in NAMES if not env.get(n)]
        if missing:
            raise ConfigurationError(f"configuration {', '.join(missing)} is not set")
        return cls(*(env[n] for n in NAMES))
