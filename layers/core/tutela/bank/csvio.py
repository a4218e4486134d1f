"""Hash-list import: `signal_type,signal[,label]` CSV as hash-sharing programmes export it.

Bad rows are reported with their line numbers and skipped; the caller decides whether a list with
errors is imported (the CLI imports the good rows and exits non-zero, saying how many were skipped).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from tutela.bank.model import BankEntry, VideoEntry, parse_pdq
from tutela.bank.vpdq import MAX_FRAMES, parse_vpdq

MAX_ROWS = 5_000_000  # a bigger list is split by its producer; this bounds memory per import
MAX_LINE = 4096
MAX_VPDQ_LINE = MAX_FRAMES * 96  # a frame is "64 hex,quality,seconds" plus JSON quoting


@dataclass
class ImportResult:
    entries: list[BankEntry] = field(default_factory=list)
    videos: list[VideoEntry] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    duplicates: int = 0


def read_hash_csv(text: str | Iterable[str], bank: str) -> ImportResult:
    """Parse a hash list: ``pdq`` rows (64 hex digits) and ``vpdq`` rows (a JSON list of
    ``"pdq_hex,quality,seconds"`` frames, quoted as one CSV field)."""
    lines = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(lines)
    result = ImportResult()
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        result.errors.append((1, "empty file: expected the header signal_type,signal[,label]"))
        return result
    except csv.Error as exc:
        result.errors.append((1, f"unreadable CSV: {exc}"))
        return result
    if "signal_type" not in header or "signal" not in header:
        result.errors.append((1, "header must name the columns signal_type and signal (label optional)"))
        return result
    i_type, i_signal = header.index("signal_type"), header.index("signal")
    i_label = header.index("label") if "label" in header else None
    seen: set[str] = set()
    seen_videos: set[str] = set()
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append((reader.line_num, f"unreadable CSV: {exc}"))
            continue
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(result.entries) + len(result.videos) >= MAX_ROWS:
            result.errors.append((line, f"more than {MAX_ROWS} rows: the rest was not read"))
            break
        kind = row[i_type].strip().lower() if len(row) > i_type else ""
        limit = MAX_VPDQ_LINE if kind == "vpdq" else MAX_LINE
        if len(",".join(row)) > limit or len(row) <= max(i_type, i_signal):
            result.errors.append((line, "expected signal_type,signal[,label]"))
            continue
        label = row[i_label].strip() if i_label is not None and len(row) > i_label else ""
        if kind == "vpdq":
            try:
                video = VideoEntry(bank=bank, frames=parse_vpdq(row[i_signal]), label=label[:64] or None)
            except ValueError as exc:
                result.errors.append((line, str(exc)))
                continue
            if video.key in seen_videos:
                result.duplicates += 1
            else:
                seen_videos.add(video.key)
                result.videos.append(video)
            continue
        if kind != "pdq":
            result.errors.append((line, f"unknown signal_type {kind[:20]!r} (expected pdq or vpdq)"))
            continue
        try:
            pdq = parse_pdq(row[i_signal])
        except ValueError as exc:
            result.errors.append((line, str(exc)))
            continue
        if pdq in seen:
            result.duplicates += 1
            continue
        seen.add(pdq)
        result.entries.append(BankEntry(bank=bank, pdq=pdq, label=label[:64] or None))
    return result
