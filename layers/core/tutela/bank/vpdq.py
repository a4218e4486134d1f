"""Video-to-video matching as vPDQ defines it (facebook/ThreatExchange, ``vpdq/README.md``).

A video is the list of PDQ hashes of frames sampled about once a second, exact repeats dropped. Two
videos match when enough of the query's distinct usable frames (quality >= the floor) lie within
the PDQ distance of some frame of the other (the *query match percent*, 80% by default), and enough
of the other's frames lie within it of some query frame (the *compared match percent*, 0% by
default so a clip cut from a banked video still matches). Frame-level candidates come from the same
multi-index search the image banks use, so a bank of many long videos is not scanned frame by frame.

Exchange format (python-threatexchange's ``VPDQSignal``): a JSON list of ``"pdq_hex,quality,seconds"``
strings, one per sampled frame.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tutela.bank.model import Bank, BankMatch, MatchPolicy, VideoEntry, parse_pdq

if TYPE_CHECKING:
    import numpy as np

    from tutela.bank.pdq import PdqHash

# Per banked video: 20 minutes at one frame a second (the pipeline's own videos stop at 15). It also
# keeps one CSV field under the csv module's default 128 KiB field limit.
MAX_FRAMES = 1200


def parse_vpdq(signal: str) -> tuple[tuple[str, int], ...]:
    """(pdq hex, quality) per frame, exact repeats dropped, from the exchange format; ValueError if
    malformed, empty or over :data:`MAX_FRAMES`."""
    try:
        items = json.loads(signal)
    except json.JSONDecodeError:
        raise ValueError('a vpdq signal is a JSON list of "pdq_hex,quality,seconds" strings') from None
    if not isinstance(items, list) or not items:
        raise ValueError('a vpdq signal is a non-empty JSON list of "pdq_hex,quality,seconds" strings')
    if len(items) > MAX_FRAMES:
        raise ValueError(f"a vpdq signal holds at most {MAX_FRAMES} frames")
    frames: list[tuple[str, int]] = []
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        parts = item.split(",") if isinstance(item, str) else []
        if len(parts) != 3:
            raise ValueError(f'vpdq frame {n}: expected "pdq_hex,quality,seconds"')
        try:
            pdq, quality, seconds = parse_pdq(parts[0]), int(parts[1]), float(parts[2])
        except ValueError:
            raise ValueError(f"vpdq frame {n}: bad hash, quality or timestamp") from None
        if not 0 <= quality <= 100 or not seconds >= 0:
            raise ValueError(f"vpdq frame {n}: quality must be 0..100 and the timestamp not negative")
        if pdq not in seen:
            seen.add(pdq)
            frames.append((pdq, quality))
    return tuple(frames)


def to_signal(frames: Sequence[PdqHash], seconds: Sequence[float] | None = None) -> str:
    """The exchange format for frames we hashed (timestamps as given, else one per second)."""
    times = list(seconds) if seconds is not None else [float(i) for i in range(len(frames))]
    return json.dumps([f"{h.hex},{h.quality},{t:.3f}" for h, t in zip(frames, times, strict=True)])


class VideoIndex:
    """Every enabled bank's videos, their frames searchable by Hamming radius."""

    def __init__(self, banks: Mapping[str, Bank], videos: Sequence[VideoEntry]) -> None:
        import numpy as np

        from tutela.bank.index import BankIndex, hex_to_words

        live = [v for v in videos if v.bank in banks and banks[v.bank].enabled and v.frames]
        self.videos = live
        self.size = len(live)
        by_bank: dict[str, list[int]] = {}
        for i, v in enumerate(live):
            by_bank.setdefault(v.bank, []).append(i)
        parts: list[tuple[str, np.ndarray, dict[int, str]]] = []
        video_of: list[int] = []
        quality: list[int] = []
        # BankIndex concatenates its parts in the order given; rows map back to videos in that order.
        for name, members in by_bank.items():
            hexes = [h for i in members for h, _ in live[i].frames]
            parts.append((name, hex_to_words(hexes), {}))
            video_of += [i for i in members for _ in live[i].frames]
            quality += [q for i in members for _, q in live[i].frames]
        self._frames = BankIndex.from_arrays(list(banks.values()), parts)
        self._video_of: np.ndarray = np.array(video_of, dtype=np.int32)
        self._quality: np.ndarray = np.array(quality, dtype=np.int16)
        self._usable: tuple[int, list[int]] | None = None

    def match(self, frames: Sequence[PdqHash], policy: MatchPolicy) -> list[BankMatch]:
        """The best-matching banked video per bank for an upload's frames, under vPDQ's rule."""
        if not self.size:
            return []
        query, seen = [], set()
        for h in frames:
            if h.quality >= policy.min_quality and h.hex not in seen:
                seen.add(h.hex)
                query.append(h.hex)
        if not query:
            return []
        usable = self._usable_counts(policy.min_quality)
        found_q: dict[int, set[int]] = {}  # video -> query frames with a match in it
        found_c: dict[int, set[int]] = {}  # video -> its frames with a match in the query
        worst: dict[int, int] = {}
        for qi, pdq in enumerate(query):
            best_here: dict[int, int] = {}
            for row, d in self._frames.search(pdq, policy.max_distance):
                if self._quality[row] < policy.min_quality:
                    continue
                v = int(self._video_of[row])
                found_q.setdefault(v, set()).add(qi)
                found_c.setdefault(v, set()).add(row)
                best_here[v] = min(d, best_here.get(v, d))
            for v, d in best_here.items():
                worst[v] = max(worst.get(v, 0), d)
        best: dict[str, BankMatch] = {}
        for v, hits in found_q.items():
            q_pct = 100.0 * len(hits) / len(query)
            c_pct = 100.0 * len(found_c[v]) / usable[v]
            if q_pct < policy.video_query_match_percent or c_pct < policy.video_compared_match_percent:
                continue
            entry = self.videos[v]
            bank = self._frames.banks[entry.bank]
            m = BankMatch(
                bank=bank.name,
                label=entry.label or bank.label,
                distance=worst[v],
                action=bank.action,
                signal_type="vpdq",
                query_match_percent=round(q_pct, 1),
                compared_match_percent=round(c_pct, 1),
            )
            held = best.get(bank.name)
            if held is None or (m.query_match_percent or 0) > (held.query_match_percent or 0):
                best[bank.name] = m
        return list(best.values())

    def _usable_counts(self, min_quality: int) -> list[int]:
        """Usable frames per video (computed once per quality floor: a warm container reuses it)."""
        import numpy as np

        if self._usable is None or self._usable[0] != min_quality:
            counts = np.bincount(self._video_of[self._quality >= min_quality], minlength=self.size)
            self._usable = (min_quality, np.maximum(counts, 1).tolist())
        return self._usable[1]


def merge_matches(*groups: Sequence[BankMatch]) -> list[BankMatch]:
    """One match per bank (the closest), blocks first: what the policy and the decision record see."""
    best: dict[str, BankMatch] = {}
    for group in groups:
        for m in group:
            held = best.get(m.bank)
            if held is None or m.distance < held.distance:
                best[m.bank] = m
    return sorted(best.values(), key=lambda m: (m.action != "block", m.distance, m.bank))


def video_entries_to_json(videos: Sequence[VideoEntry]) -> bytes:
    return json.dumps(
        {"videos": [{"frames": [f"{h},{q}" for h, q in v.frames], "label": v.label} for v in videos]}
    ).encode()


def video_entries_from_json(bank: str, raw: bytes) -> list[VideoEntry]:
    data: dict[str, Any] = json.loads(raw)
    out = []
    for v in data.get("videos") or []:
        frames = tuple((f.split(",")[0], int(f.split(",")[1])) for f in v["frames"])
        out.append(VideoEntry(bank=bank, frames=frames, label=v.get("label")))
    return out
