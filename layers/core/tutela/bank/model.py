"""Banks, entries and matches: plain values shared by the CSV reader, the index and the pipeline."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["block", "review"]
ACTIONS: tuple[Action, ...] = ("block", "review")
HEX64 = re.compile(r"[0-9a-f]{64}")
BANK_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def parse_pdq(signal: str) -> str:
    """A PDQ hash in the exchange format (64 hex digits), lower-cased; ValueError otherwise."""
    value = signal.strip().lower()
    if not HEX64.fullmatch(value):
        raise ValueError("a PDQ hash is 64 hexadecimal digits")
    return value


def check_bank_name(name: str) -> str:
    if not BANK_NAME.fullmatch(name):
        raise ValueError("a bank name is 1-63 characters of a-z, 0-9, '_', '.', '-', starting alphanumeric")
    return name


@dataclass(frozen=True)
class Bank:
    """A named hash list: what its matches mean (label) and what the pipeline does with them."""

    name: str
    label: str = "platform_removed"
    action: Action = "block"
    enabled: bool = True

    def __post_init__(self) -> None:
        check_bank_name(self.name)
        if self.action not in ACTIONS:
            raise ValueError(f"bank action must be one of {', '.join(ACTIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "action": self.action, "enabled": self.enabled}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bank:
        return cls(
            name=str(data["name"]),
            label=str(data.get("label") or "platform_removed"),
            action=data.get("action", "block"),
            enabled=bool(data.get("enabled", True)),
        )


@dataclass(frozen=True)
class BankEntry:
    """One hash in one bank; ``label`` overrides the bank's label for this entry when a list carries one."""

    bank: str
    pdq: str
    label: str | None = None


@dataclass(frozen=True)
class VideoEntry:
    """One banked video as vPDQ describes it: the PDQ hashes (with quality) of its frames sampled
    about once a second, exact repeats dropped, in time order."""

    bank: str
    frames: tuple[tuple[str, int], ...]
    label: str | None = None

    @property
    def key(self) -> str:
        """Identity for de-duplication within a bank: the frame hashes in order."""
        return "".join(h for h, _ in self.frames)


@dataclass(frozen=True)
class BankMatch:
    """``distance`` is the PDQ distance of the closest frame; for a video-to-video (``vpdq``) match it
    is the largest distance among the matched frames, with the two vPDQ match percentages."""

    bank: str
    label: str
    distance: int
    action: Action
    signal_type: str = "pdq"
    query_match_percent: float | None = None
    compared_match_percent: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bank": self.bank,
            "label": self.label,
            "distance": self.distance,
            "action": self.action,
        }
        if self.signal_type != "pdq":
            out["signal_type"] = self.signal_type
            out["query_match_percent"] = self.query_match_percent
            out["compared_match_percent"] = self.compared_match_percent
        return out


@dataclass(frozen=True)
class MatchPolicy:
    """PDQ's published operating point: distance <= 31 of 256 bits, quality >= 50; and vPDQ's: a video
    matches a banked video when at least 80% of its distinct usable frames are within the distance of
    some frame of it (the share of the banked video's frames found, 0% by default, lets a clip match)."""

    max_distance: int = 31
    min_quality: int = 50
    video_query_match_percent: float = 80.0
    video_compared_match_percent: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.max_distance <= 64:
            raise ValueError("max_distance must be within 0..64 (beyond that nearly everything matches)")
        if not 0 <= self.min_quality <= 100:
            raise ValueError("min_quality must be within 0..100")
        for pct in (self.video_query_match_percent, self.video_compared_match_percent):
            if not 0.0 <= pct <= 100.0:
                raise ValueError("vPDQ match percentages must be within 0..100")
