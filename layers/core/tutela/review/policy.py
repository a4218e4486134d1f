"""The versioned review policy (``review_policy.json``): one place for every threshold a reviewer meets."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tutela.record import FrozenRecord


class ReviewPolicy(FrozenRecord):
    __slots__ = (
        "appealable_verdicts",
        "child_safety_categories",
        "decide_groups",
        "different_reviewer",
        "escalate_categories",
        "hide_after_reporters",
        "limited_minor",
        "max_note_chars",
        "max_reason_chars",
        "max_reporters_kept",
        "max_statement_chars",
        "minor_markers",
        "minor_values",
        "preview",
        "queues",
        "reason_required",
        "report_categories",
        "strike_threshold",
        "strike_window_days",
        "version",
    )

    def __init__(
        self,
        version: str,
        queues: tuple[str, ...],
        minor_markers: tuple[str, ...],
        minor_values: frozenset[str],
        decide_groups: frozenset[str],
        max_reason_chars: int,
        reason_required: bool,
        escalate_categories: frozenset[str],
        appealable_verdicts: frozenset[str],
        max_statement_chars: int,
        different_reviewer: bool,
        report_categories: frozenset[str],
        child_safety_categories: frozenset[str],
        hide_after_reporters: int,
        max_note_chars: int,
        max_reporters_kept: int,
        strike_threshold: int,
        strike_window_days: int,
        limited_minor: frozenset[str],
        preview: dict[str, int],
    ) -> None:
        self.version = version
        self.queues = queues
        self.minor_markers = minor_markers
        self.minor_values = minor_values
        self.decide_groups = decide_groups
        self.max_reason_chars = max_reason_chars
        self.reason_required = reason_required
        self.escalate_categories = escalate_categories
        self.appealable_verdicts = appealable_verdicts
        self.max_statement_chars = max_statement_chars
        self.different_reviewer = different_reviewer
        self.report_categories = report_categories
        self.child_safety_categories = child_safety_categories
        self.hide_after_reporters = hide_after_reporters
        self.max_note_chars = max_note_chars
        self.max_reporters_kept = max_reporters_kept
        self.strike_threshold = strike_threshold
        self.strike_window_days = strike_window_days
        self.limited_minor = limited_minor
        self.preview = preview

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ReviewPolicy:
        d, a, r, s = raw["decide"], raw["appeals"], raw["reports"], raw["strikes"]
        policy = cls(
            version=str(raw["version"]),
            queues=tuple(raw["queues"]),
            minor_markers=tuple(raw["priority"]["minor_reason_markers"]),
            minor_values=frozenset(raw["priority"]["minor_values"]),
            decide_groups=frozenset(d["groups"]),
            max_reason_chars=int(d["max_reason_chars"]),
            reason_required=bool(d["reason_required"]),
            escalate_categories=frozenset(d["escalate_categories"]),
            appealable_verdicts=frozenset(a["appealable_verdicts"]),
            max_statement_chars=int(a["max_statement_chars"]),
            different_reviewer=bool(a["different_reviewer"]),
            report_categories=frozenset(r["categories"]),
            child_safety_categories=frozenset(r["child_safety_categories"]),
            hide_after_reporters=int(r["hide_after_reporters"]),
            max_note_chars=int(r["max_note_chars"]),
            max_reporters_kept=int(r["max_reporters_kept"]),
            strike_threshold=int(s["threshold"]),
            strike_window_days=int(s["window_days"]),
            limited_minor=frozenset(raw["distribution"]["limited_minor"]),
            preview={k: int(v) for k, v in raw["preview"].items()},
        )
        if not policy.child_safety_categories <= policy.report_categories:
            raise ValueError("every child-safety category must be a report category")
        if policy.hide_after_reporters < 1 or policy.strike_threshold < 1:
            raise ValueError("thresholds must be at least 1")
        return policy


@cache
def load_policy() -> ReviewPolicy:
    text = (Path(__file__).parent / "review_policy.json").read_text(encoding="utf-8")
    return ReviewPolicy.from_dict(json.loads(text))
