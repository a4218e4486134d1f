"""Verdicts and severities shared by every analyzer, the policy and the decision record."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Literal

Verdict = Literal["allow", "review", "block"]
VERDICTS: tuple[Verdict, ...] = ("allow", "review", "block")


class Severity(IntEnum):
    """0 none .. 4 critical (critical = explicit content with a minor: escalate for legal reporting)."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most restrictive verdict; ``allow`` for an empty input."""
    rank = max((VERDICTS.index(v) for v in verdicts), default=0)
    return VERDICTS[rank]
