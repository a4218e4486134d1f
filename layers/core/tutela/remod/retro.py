"""Retroactive matching: which earlier uploads' stored hashes match the rows a bank version added.

A bank write is append-only (``tutela.bank.store``: version k's snapshot is version k-1's rows plus the new
ones), so the new rows are the tail of snapshot k. They are indexed in memory (multi-index hashing, as for
uploads) and every stored upload hash is looked up in them: the work is one pass over the stored hashes
(a sharded, sparse index of the decisions table: ``HashIndex``), not one query per new bank hash.

Stored hashes are the uploads as they were (one orientation): a rotated or mirrored copy of banked content
uploaded *before* the bank addition is not found retroactively (at upload time all 8 variants are matched).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tutela.bank.index import BankIndex
from tutela.bank.model import Bank, MatchPolicy
from tutela.bank.store import HASH_BYTES, BankRepository
from tutela.decision import HASH_SHARDS
from tutela.errors import TransientError
from tutela.record import FrozenRecord

SHARDS = [f"{i:02d}" for i in range(HASH_SHARDS)]


class Addition(FrozenRecord):
    """The rows bank version ``version`` added: ``first`` to ``total`` (exclusive)."""

    __slots__ = ("bank", "first", "total", "version")

    def __init__(self, bank: Bank, version: int, first: int, total: int) -> None:
        self.bank = bank
        self.version = version
        self.first = first
        self.total = total

    def to_dict(self) -> dict[str, Any]:
        return {**self.bank.to_dict(), "version": self.version, "first": self.first, "total": self.total}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Addition:
        bank = Bank.from_dict({k: data[k] for k in ("name", "label", "action", "enabled") if k in data})
        return cls(bank, int(data["version"]), int(data["first"]), int(data["total"]))


def parse_snapshot_key(key: str) -> tuple[str, int]:
    """``banks/{name}/v{k}.pdq`` -> (name, k); ValueError for anything else (labels, the index)."""
    parts = key.split("/")
    if (
        len(parts) != 3
        or parts[0] != "banks"
        or not parts[2].startswith("v")
        or not parts[2].endswith(".pdq")
    ):
        raise ValueError("not a bank snapshot key")
    return parts[1], int(parts[2][1:-4])


def addition(repo: BankRepository, bank_name: str, version: int) -> Addition | None:
    """What version ``version`` of the bank added; None when the bank is disabled. TransientError while the
    bank's index has not committed that version yet (the snapshot is written before the index)."""
    index = repo.read_index()
    meta = index["banks"].get(bank_name)
    if meta is None or int(meta.get("version", 0)) < version:
        raise TransientError("the bank index has not committed this snapshot yet")
    bank = Bank.from_dict({"name": bank_name, **meta})
    if not bank.enabled:
        return None
    total = _rows(repo, bank_name, version)
    first = _rows(repo, bank_name, version - 1) if version > 1 else 0
    return Addition(bank, version, first, total)


def _rows(repo: BankRepository, name: str, version: int) -> int:
    raw = repo.blobs.get(f"banks/{name}/v{version}.pdq")
    return 0 if raw is None else len(raw) // HASH_BYTES


def added_index(repo: BankRepository, add: Addition) -> BankIndex:
    """An index of just the added rows (their list labels kept)."""
    words, labels = repo._snapshot(add.bank.name, add.version)
    tail = words[add.first : add.total]
    shifted = {row - add.first: label for row, label in labels.items() if add.first <= row < add.total}
    return BankIndex.from_arrays([add.bank], [(add.bank.name, tail, shifted)])


def match_stored(
    items: Iterable[Mapping[str, Any]], index: BankIndex, policy: MatchPolicy
) -> list[dict[str, Any]]:
    """One match per object version whose stored hashes (quality >= the floor) are within the threshold."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        hashes = [
            str(h["pdq"])
            for h in item.get("pdq") or []
            if isinstance(h, Mapping)
            and isinstance(h.get("pdq"), str)
            and int(h.get("quality", 0)) >= policy.min_quality
        ]
        if not hashes or not item.get("bucket") or not item.get("key"):
            continue
        found = index.match(hashes, policy.max_distance)
        ident = (str(item.get("pk")), str(item.get("version_id")))
        if found and ident not in out:
            out[ident] = {
                "bucket": item["bucket"],
                "key": item["key"],
                "version_id": item.get("version_id"),
                "match": found[0].to_dict(),
            }
    return list(out.values())
