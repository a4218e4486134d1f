"""Lossless location/identity scrubbing for photos and videos (see docs/scrub.md)."""

from __future__ import annotations

from tutela.scrub.api import find_location, plan_file, plan_reader, scrub_bytes, scrub_file, verify_reader
from tutela.scrub.core import Copy, Data, Plan, Reader, ScrubLimits, ScrubReport, Zero

__all__ = [
    "Copy",
    "Data",
    "Plan",
    "Reader",
    "ScrubLimits",
    "ScrubReport",
    "Zero",
    "find_location",
    "plan_file",
    "plan_reader",
    "scrub_bytes",
    "scrub_file",
    "verify_reader",
]
