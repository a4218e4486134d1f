"""Bank lookups: the multi-index search against a full numpy scan of the same bank, side by side.

    .venv/bin/python bench/bench_bank.py [--sizes 10000,100000,1000000] [--queries 200]

Banks are random 256-bit hashes (real PDQ hashes are not uniform, which makes chunk buckets uneven:
the worst case is bounded by the full scan the index falls back to). Each query is a bank entry with
10-31 bits flipped, so every lookup has a true match at PDQ's threshold; a third are random misses.
Reported per size: median µs per lookup for both methods, lookups/s, the speed-up, the index build
time and its memory (RSS growth while building, and the arrays' own bytes).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from tutela.bank.index import BankIndex, hex_to_words, popcount_distances
from tutela.bank.model import Bank

THRESHOLD = 31


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def queries_for(words: np.ndarray, n: int, rng: np.random.Generator) -> list[str]:
    out = []
    for i in range(n):
        if i % 3 == 2:
            out.append(
                rng.integers(0, 2**64 - 1, size=4, dtype=np.uint64, endpoint=True)
                .astype(">u8")
                .tobytes()
                .hex()
            )
            continue
        value = int(words[rng.integers(len(words))].astype(">u8").tobytes().hex(), 16)
        for bit in rng.choice(256, size=int(rng.integers(10, THRESHOLD + 1)), replace=False):
            value ^= 1 << int(bit)
        out.append(f"{value:064x}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    print(f"{'bank size':>10} {'index µs':>9} {'scan µs':>9} {'index/s':>9} {'scan/s':>8} {'speed-up':>8} "
          f"{'build s':>7} {'arrays MB':>9} {'RSS +MB':>7}")  # fmt: skip
    for size in (int(s) for s in args.sizes.split(",")):
        words = rng.integers(0, 2**64 - 1, size=(size, 4), dtype=np.uint64, endpoint=True)
        before = rss_mb()
        t0 = time.perf_counter()
        index = BankIndex.from_arrays([Bank("bench")], [("bench", words, {})])
        build = time.perf_counter() - t0
        grew = rss_mb() - before
        arrays = index.words.nbytes + sum(v.nbytes + o.nbytes for v, o in index._tables)
        qs = queries_for(words, args.queries, rng)
        t_index, t_scan = [], []
        for q in qs:  # interleaved, so both see the same machine state
            t = time.perf_counter()
            found = index.search(q, THRESHOLD)
            t_index.append(time.perf_counter() - t)
            t = time.perf_counter()
            d = popcount_distances(index.words, hex_to_words([q])[0])
            full = np.nonzero(d <= THRESHOLD)[0]
            t_scan.append(time.perf_counter() - t)
            assert sorted(i for i, _ in found) == sorted(full.tolist())
        mi, ms = statistics.median(t_index), statistics.median(t_scan)
        print(f"{size:>10} {mi * 1e6:>9.0f} {ms * 1e6:>9.0f} {1 / mi:>9.0f} {1 / ms:>8.0f} {ms / mi:>7.1f}x "
              f"{build:>7.2f} {arrays / 2**20:>9.1f} {grew:>7.0f}")  # fmt: skip
        del index, words


if __name__ == "__main__":
    main()
