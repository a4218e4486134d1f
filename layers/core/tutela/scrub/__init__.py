"""Lossless location/identity scrubbing for photos and videos (see docs/scrub.md)."""

from __future__ import annotations

from tutela.scrub.api import find_location, plan_file, scrub_bytes, scrub_file
from tutela.scrub.core import Copy, Data, Plan, ScrubLimits, ScrubReport, Zero

__all__ = [
    "Copy",
    "Data",
    "Plan",
    "ScrubLimits",
    "ScrubReport",
    "Zero",
    "find_location",
    "plan_file",
    "scrub_bytes",
    "scrub_file",
]
