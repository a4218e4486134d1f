"""An in-memory index of bank hashes with sub-linear Hamming-radius search (multi-index hashing).

The 256 bits are cut into 16 chunks of 16 bits. Two hashes within distance d differ, by pigeonhole,
in at most floor(d / 16) bits of at least one chunk, so probing every chunk with its value and every
value within that radius finds every candidate; candidates are then checked exactly. At PDQ's
threshold 31 that is 16 x 17 probes into sorted arrays instead of a scan of the whole bank.
Memory: 32 bytes per hash + 16 x (2 + 4) bytes of chunk tables = 128 bytes per entry (128 MB at 1M).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING

from tutela.bank.model import Bank, BankEntry, BankMatch

if TYPE_CHECKING:
    import numpy as np

    from tutela.bank.vpdq import VideoIndex

CHUNKS = 16
CHUNK_BITS = 16
BRUTE_FORCE_BELOW = 16384  # measured (bench_bank.py): below this a full scan beats 272 probes


def hex_to_words(hashes: Sequence[str]) -> np.ndarray:
    """(N, 4) uint64, most significant word first."""
    import numpy as np

    raw = bytes.fromhex("".join(hashes))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(hashes), 4)


def popcount_distances(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance of every row of ``words`` to ``query`` (4 uint64)."""
    import numpy as np

    return np.bitwise_count(np.bitwise_xor(words, query)).sum(axis=1, dtype=np.int32)


class BankIndex:
    """All enabled banks' hashes, searchable by Hamming radius; built once per warm container."""

    def __init__(self, banks: Sequence[Bank], entries: Sequence[BankEntry] = ()) -> None:
        """From entries (tests, CLI). Warm containers use :meth:`from_arrays` on stored snapshots."""
        groups: dict[str, list[BankEntry]] = {}
        for e in entries:
            groups.setdefault(e.bank, []).append(e)
        parts = []
        for name, group in groups.items():
            labels = {i: e.label for i, e in enumerate(group) if e.label}
            parts.append((name, hex_to_words([e.pdq for e in group]), labels))
        self._build(banks, parts)

    @classmethod
    def from_arrays(
        cls, banks: Sequence[Bank], parts: Sequence[tuple[str, np.ndarray, dict[int, str]]]
    ) -> BankIndex:
        """``parts``: (bank name, (N, 4) uint64 hashes, {row: label} overrides) per bank."""
        index = cls.__new__(cls)
        index._build(banks, parts)
        return index

    def _build(self, banks: Sequence[Bank], parts: Sequence[tuple[str, np.ndarray, dict[int, str]]]) -> None:
        import numpy as np

        self.banks = {b.name: b for b in banks}
        self.videos: VideoIndex | None = None  # banked videos (vpdq), set by the store when there are any
        live = [p for p in parts if p[0] in self.banks and self.banks[p[0]].enabled and len(p[1])]
        self._names = [p[0] for p in live]
        self._labels: dict[int, str] = {}
        offset = 0
        for _, words, labels in live:
            self._labels.update({offset + i: label for i, label in labels.items()})
            offset += len(words)
        self.size = offset
        if live:
            self.words = np.concatenate([p[1] for p in live]).astype(np.uint64, copy=False)
            self._bank_idx = np.repeat(np.arange(len(live), dtype=np.int32), [len(p[1]) for p in live])
        else:
            self.words = np.zeros((0, 4), dtype=np.uint64)
            self._bank_idx = np.zeros(0, dtype=np.int32)
        self._tables: list[tuple[np.ndarray, np.ndarray]] = []
        if self.size >= BRUTE_FORCE_BELOW:
            chunks = self._chunks(self.words)
            for j in range(CHUNKS):
                order = np.argsort(chunks[:, j], kind="stable").astype(np.int32)
                self._tables.append((chunks[order, j], order))

    @staticmethod
    def _chunks(words: np.ndarray) -> np.ndarray:
        """(N, 16) uint16 chunk values."""
        import numpy as np

        return words.astype(">u8").view(">u2").astype(np.uint16).reshape(len(words), CHUNKS)

    def candidates(self, query: np.ndarray, max_distance: int) -> np.ndarray:
        import numpy as np

        if not self._tables:
            return np.arange(self.size)
        radius = max_distance // CHUNKS
        flips = [0]
        for r in range(1, radius + 1):
            flips += [sum(1 << b for b in bits) for bits in combinations(range(CHUNK_BITS), r)]
        masks = np.array(flips, dtype=np.uint16)
        chunks = self._chunks(query.reshape(1, 4))[0]
        found = []
        for j, (values, order) in enumerate(self._tables):
            probes = np.unique(np.bitwise_xor(masks, chunks[j]))
            lo = np.searchsorted(values, probes, side="left")
            hi = np.searchsorted(values, probes, side="right")
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if b > a:
                    found.append(order[a:b])
        if not found:
            return np.zeros(0, dtype=np.int32)
        return np.unique(np.concatenate(found))

    def search(self, pdq: str, max_distance: int) -> list[tuple[int, int]]:
        """(entry index, distance) of every entry within ``max_distance``."""
        import numpy as np

        if self.size == 0:
            return []
        query = hex_to_words([pdq])[0]
        idx = self.candidates(query, max_distance)
        if len(idx) == 0:
            return []
        dist = popcount_distances(self.words[idx], query)
        keep = np.nonzero(dist <= max_distance)[0]
        return [(int(idx[k]), int(dist[k])) for k in keep]

    def match(self, hashes: Sequence[str], max_distance: int) -> list[BankMatch]:
        """The closest match per bank over all query hashes (e.g. the 8 dihedral variants, or frames)."""
        best: dict[str, BankMatch] = {}
        for pdq in hashes:
            for i, d in self.search(pdq, max_distance):
                bank = self.banks[self._names[int(self._bank_idx[i])]]
                if bank.name not in best or d < best[bank.name].distance:
                    label = self._labels.get(i) or bank.label
                    best[bank.name] = BankMatch(bank=bank.name, label=label, distance=d, action=bank.action)
        return sorted(best.values(), key=lambda m: (m.action != "block", m.distance, m.bank))
