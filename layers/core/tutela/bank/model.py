"""Banks, entries and matches: plain values shared by the CSV reader, the index and the pipeline."""

from __future__ import annotations

import re
from typing import Any, Literal

from tutela.record import FrozenRecord

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


class Bank(FrozenRecord):
    """A named hash list: what its matches mean (label) and what the pipeline does with them."""

    __slots__ = ("action", "enabled", "label", "name")

    def __init__(
        self, name: str, label: str = "platform_removed", action: Action = "block", enabled: bool = True
    ) -> None:
        check_bank_name(name)
        if action not in ACTIONS:
            raise ValueError(f"bank action must be one of {', '.join(ACTIONS)}")
        self.name = name
        self.label = label
        self.action = action
        self.enabled = enabled

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


class BankEntry(FrozenRecord):
    """One hash in one bank; ``label`` overrides the bank's label for this entry when a list carries one."""

    __slots__ = ("bank", "label", "pdq")

    def __init__(self, bank: str, pdq: str, label: str | None = None) -> None:
        self.bank = bank
        self.pdq = pdq
        self.label = label


class VideoEntry(FrozenRecord):
    """One banked video as vPDQ describes it: the PDQ hashes (with quality) of its frames sampled
    about once a second, exact repeats dropped, in time order."""

    __slots__ = ("bank", "frames", "label")

    def __init__(self, bank: str, frames: tuple[tuple[str, int], ...], label: str | None = None) -> None:
        self.bank = bank
        self.frames = frames
        self.label = label

    @property
    def key(self) -> str:
        """Identity for de-duplication within a bank: the frame hashes in order."""
        return "".join(h for h, _ in self.frames)


class BankMatch(FrozenRecord):
    """``distance`` is the PDQ distance of the closest frame; for a video-to-video (``vpdq``) match it
    is the largest distance among the matched frames, with the two vPDQ match percentages."""

    __slots__ = (
        "action",
        "bank",
        "compared_match_percent",
        "distance",
        "label",
        "query_match_percent",
        "signal_type",
    )

    def __init__(
        self,
        bank: str,
        label: str,
        distance: int,
        action: Action,
        signal_type: str = "pdq",
        query_match_percent: float | None = None,
        compared_match_percent: float | None = None,
    ) -> None:
        self.bank = bank
        self.label = label
        self.distance = distance
        self.action = action
        self.signal_type = signal_type
        self.query_match_percent = query_match_percent
        self.compared_match_percent = compared_match_percent

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


class MatchPolicy(FrozenRecord):
    """PDQ's published operating point: distance <= 31 of 256 bits, quality >= 50; and vPDQ's: a video
    matches a banked video when at least 80% of its distinct usable frames are within the distance of
    some frame of it (the share of the banked video's frames found, 0% by default, lets a clip match)."""

    __slots__ = ("max_distance", "min_quality", "video_compared_match_percent", "video_query_match_percent")

    def __init__(
        self,
        max_distance: int = 31,
        min_quality: int = 50,
        video_query_match_percent: float = 80.0,
        video_compared_match_percent: float = 0.0,
    ) -> None:
        if not 0 <= max_distance <= 64:
            raise ValueError("max_distance must be within 0..64 (beyond that nearly everything matches)")
        if not 0 <= min_quality <= 100:
            raise ValueError("min_quality must be within 0..100")
        for pct in (video_query_match_percent, video_compared_match_percent):
            if not 0.0 <= pct <= 100.0:
                raise ValueError("vPDQ match percentages must be within 0..100")
        self.max_distance = max_distance
        self.min_quality = min_quality
        self.video_query_match_percent = video_query_match_percent
        self.video_compared_match_percent = video_compared_match_percent
