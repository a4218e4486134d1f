"""Banks at rest: one small index object plus a packed snapshot per bank version.

Layout (the same in S3 and in a local folder):
  banks/index.json            {"version": n, "banks": {name: {label, action, enabled, version, count}}}
  banks/{name}/v{k}.pdq       the bank's hashes, 32 raw bytes each (the 256 bits, most significant first)
  banks/{name}/v{k}.labels.json  {"row": label} for the rows whose list carried a label (optional)
  banks/{name}/v{k}.vpdq.json    {"videos": [{"frames": ["pdq_hex,quality", ...], "label"}]} (optional)
A matcher reads index.json, and only when its version changed, the snapshots. A write produces new
snapshot objects and then a new index (the index is the commit point), so a reader never sees half a
bank. Writers are operators' tools and the reviewer flow: one writer at a time per stack (documented).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tutela.bank.index import BankIndex, hex_to_words
from tutela.bank.model import Bank, BankEntry, VideoEntry, check_bank_name
from tutela.bank.vpdq import VideoIndex, video_entries_from_json, video_entries_to_json
from tutela.record import FrozenRecord

if TYPE_CHECKING:
    import numpy as np

INDEX_KEY = "banks/index.json"
HASH_BYTES = 32


class Blobs(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, data: bytes) -> None: ...


class DirBlobs:
    """A local folder standing in for the bank bucket (CLI use without a stack)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if ".." in key.split("/"):
            raise ValueError("bank keys never leave the bank folder")
        return self.root / key

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


class AddResult(FrozenRecord):
    __slots__ = ("added", "already_present", "bank", "total", "version", "videos_added", "videos_total")

    def __init__(
        self,
        bank: str,
        added: int,
        already_present: int,
        total: int,
        version: int,
        videos_added: int = 0,
        videos_total: int = 0,
    ) -> None:
        self.bank = bank
        self.added = added
        self.already_present = already_present
        self.total = total
        self.version = version
        self.videos_added = videos_added
        self.videos_total = videos_total


class BankRepository:
    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def read_index(self) -> dict[str, Any]:
        raw = self.blobs.get(INDEX_KEY)
        return {"version": 0, "banks": {}} if raw is None else json.loads(raw)

    def banks(self) -> list[Bank]:
        return [Bank.from_dict({"name": n, **meta}) for n, meta in self.read_index()["banks"].items()]

    def _snapshot(self, name: str, version: int) -> tuple[np.ndarray, dict[int, str]]:
        import numpy as np

        raw = self.blobs.get(f"banks/{name}/v{version}.pdq") or b""
        if len(raw) % HASH_BYTES:
            raise ValueError(f"bank {name} snapshot v{version} is truncated")
        words = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)
        labels_raw = self.blobs.get(f"banks/{name}/v{version}.labels.json")
        labels = {int(k): v for k, v in json.loads(labels_raw).items()} if labels_raw else {}
        return words, labels

    def _videos(self, name: str, version: int) -> list[VideoEntry]:
        raw = self.blobs.get(f"banks/{name}/v{version}.vpdq.json")
        return video_entries_from_json(name, raw) if raw else []

    def load_index(self) -> tuple[int, BankIndex]:
        index = self.read_index()
        banks = [Bank.from_dict({"name": n, **m}) for n, m in index["banks"].items()]
        enabled = [b for b in banks if b.enabled]
        parts = [(b.name, *self._snapshot(b.name, index["banks"][b.name]["version"])) for b in enabled]
        built = BankIndex.from_arrays(banks, parts)
        if any(index["banks"][b.name].get("videos") for b in enabled):
            videos = [v for b in enabled for v in self._videos(b.name, index["banks"][b.name]["version"])]
            built.videos = VideoIndex({b.name: b for b in banks}, videos)
        return index["version"], built

    def define(self, bank: Bank) -> None:
        """Create or update a bank's label, action and enabled flag (its hashes are kept)."""
        index = self.read_index()
        meta = index["banks"].get(bank.name, {"version": 0, "count": 0})
        meta.update({k: v for k, v in bank.to_dict().items() if k != "name"})
        index["banks"][bank.name] = meta
        self._commit(index)

    def add(
        self,
        bank: str,
        entries: Sequence[BankEntry],
        *,
        defaults: Bank | None = None,
        videos: Sequence[VideoEntry] = (),
    ) -> AddResult:
        """Union ``entries`` (image hashes) and ``videos`` (vPDQ frame lists) into ``bank`` (created with
        ``defaults`` if new) as a new snapshot version."""
        import numpy as np

        check_bank_name(bank)
        index = self.read_index()
        meta = index["banks"].get(bank)
        if meta is None:
            meta = {**(defaults or Bank(bank)).to_dict(), "version": 0, "count": 0}
            meta.pop("name")
        old_words, old_labels = self._snapshot(bank, meta["version"]) if meta["version"] else (None, {})
        known = set() if old_words is None else {r.astype(">u8").tobytes().hex() for r in old_words}
        fresh = []
        for e in entries:
            if e.pdq not in known:
                known.add(e.pdq)
                fresh.append(e)
        base = len(old_words) if old_words is not None else 0
        new_words = hex_to_words([e.pdq for e in fresh]) if fresh else np.zeros((0, 4), dtype=np.uint64)
        words = new_words if old_words is None else np.concatenate([old_words, new_words])
        labels = dict(old_labels)
        labels.update({base + i: e.label for i, e in enumerate(fresh) if e.label})
        old_videos = self._videos(bank, meta["version"]) if meta["version"] and meta.get("videos") else []
        video_keys = {v.key for v in old_videos}
        new_videos = []
        for v in videos:
            if v.frames and v.key not in video_keys:
                video_keys.add(v.key)
                new_videos.append(v)
        all_videos = old_videos + new_videos
        if meta["version"] and not fresh and not new_videos:  # nothing new: no version (no retro run)
            return AddResult(
                bank, 0, len(entries) + len(videos), len(words), index["version"], 0, len(all_videos)
            )
        version = meta["version"] + 1
        self.blobs.put(f"banks/{bank}/v{version}.pdq", words.astype(">u8").tobytes())
        if labels:
            self.blobs.put(f"banks/{bank}/v{version}.labels.json", json.dumps(labels).encode())
        if all_videos:
            self.blobs.put(f"banks/{bank}/v{version}.vpdq.json", video_entries_to_json(all_videos))
        meta.update({"version": version, "count": len(words), "videos": len(all_videos)})
        index["banks"][bank] = meta
        self._commit(index)
        return AddResult(
            bank,
            len(fresh),
            len(entries) - len(fresh) + len(videos) - len(new_videos),
            len(words),
            index["version"],
            videos_added=len(new_videos),
            videos_total=len(all_videos),
        )

    def _commit(self, index: dict[str, Any]) -> None:
        index["version"] = int(index.get("version", 0)) + 1
        self.blobs.put(INDEX_KEY, json.dumps(index, sort_keys=True).encode())


class CachedIndex:
    """One BankIndex per warm container, re-read when the stored index version changes.

    The index object is checked at most every ``ttl`` seconds (one small GET), so a bank addition
    reaches every warm container within ``ttl``; the snapshots are read only on a version change.
    """

    def __init__(self, repo_factory: Callable[[], BankRepository], ttl: float = 30.0) -> None:
        self._factory = repo_factory
        self.ttl = ttl
        self._repo: BankRepository | None = None
        self._version = -1
        self._index: BankIndex | None = None
        self._checked = float("-inf")

    def get(self, now: float | None = None, *, at_least: int | None = None) -> BankIndex:
        """``at_least``: a bank index version the caller knows exists (a re-moderation run's): an older
        cached index is re-read now instead of when the ttl runs out."""
        now = time.monotonic() if now is None else now
        stale = at_least is not None and self._version < at_least
        if self._index is None or stale or now - self._checked >= self.ttl:
            if self._repo is None:
                self._repo = self._factory()
            version = int(self._repo.read_index().get("version", 0))
            if self._index is None or version != self._version:
                self._version, self._index = self._repo.load_index()
            self._checked = now
        return self._index
