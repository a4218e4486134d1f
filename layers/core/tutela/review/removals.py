"""What a reviewer's confirmed block adds to the removals bank: the item's stored PDQ hashes.

A still image adds its hash; a video is banked whole (its frames, matched the vPDQ way: a share of frames),
so one innocuous frame of a removed video does not block every upload that shares it. Hashes below the
quality floor are left out (near-uniform frames match unrelated content).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tutela.bank.model import BankEntry, VideoEntry


def removal_entries(
    decision: Mapping[str, Any], bank: str, min_quality: int
) -> tuple[list[BankEntry], list[VideoEntry]]:
    frames = [
        (str(h["pdq"]), int(h.get("quality") or 0))
        for h in decision.get("pdq") or []
        if isinstance(h, Mapping)
        and isinstance(h.get("pdq"), str)
        and int(h.get("quality") or 0) >= min_quality
    ]
    if decision.get("kind") != "media" or not frames:
        return [], []
    if _is_video(decision) and len(frames) > 1:
        return [], [VideoEntry(bank=bank, frames=tuple(frames))]
    return [BankEntry(bank=bank, pdq=h) for h, _ in dict.fromkeys(frames)], []


def _is_video(decision: Mapping[str, Any]) -> bool:
    from tutela.sniff import BY_NAME

    media = BY_NAME.get(str(decision.get("media_type") or ""))
    return media is not None and media.kind == "video"
