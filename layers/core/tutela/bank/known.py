"""Scan an upload and match what was scanned against the known-content banks, in one pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutela.bank.index import BankIndex
from tutela.bank.matching import match_media
from tutela.bank.media import MAX_STORED_HASHES, FrameHasher, scanned_hashes
from tutela.policy.media import match_policy
from tutela.vision import scan_file
from tutela.vision.backend import VisionBackend


def scan_and_match(
    path: str | Path,
    *,
    backend: str | VisionBackend,
    index: BankIndex | None,
    scan: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """The scan report plus ``pdq`` (the hashes of what was scanned, stored with the decision so later
    bank additions can be matched retroactively) and ``known_content`` (the closest match per bank under
    the media policy's threshold and quality floor; empty without banks). ``scan`` replaces
    ``tutela.vision.scan_file`` (the ScanMedia handler passes its own, the seam its tests patch)."""
    sink = FrameHasher(MAX_STORED_HASHES)
    report = (scan or scan_file)(path, backend=backend, frame_sink=sink).to_dict()
    hashes = scanned_hashes(path, sink)
    report["pdq"] = [h.to_dict() for h in hashes.hashes[:MAX_STORED_HASHES]]
    matches = match_media(index, hashes.queries, hashes.hashes, match_policy()) if index is not None else []
    report["known_content"] = [m.to_dict() for m in matches]
    return report
