"""The entropy-coded-data marker scan (memchr jumps) finds exactly what the marker regex finds."""

from __future__ import annotations

import random

from tutela.scrub.layout import _ECS_MARKER, _find_marker


def _regex(buf: bytes, pos: int) -> int:
    m = _ECS_MARKER.search(buf, pos)
    return m.start() if m else -1


def test_same_answer_as_the_regex_on_stuffed_fill_restart_and_edge_bytes() -> None:
    rng = random.Random(7)
    alphabet = [0x00, 0xFF, 0xD0, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0x12]
    cases = [b"", b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xff\xd9", b"\x12\xff\xd3\xff\x00\xff\xc4"]
    cases += [bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(3000)]
    for buf in cases:
        for pos in range(len(buf) + 1):
            assert _find_marker(buf, pos) == _regex(buf, pos), (buf, pos)


def test_dense_and_sparse_scans_switch_strategy_without_changing_the_answer() -> None:
    """Long scans with 0xFF every few bytes (the walk hands over to the regex) and rarely (memchr jumps)."""
    rng = random.Random(3)
    for gap in (2, 8, 64, 600, 3000):
        for _ in range(40):
            body = bytearray(rng.randbytes(rng.randrange(200, 20_000)).replace(b"\xff", b"\x12"))
            for i in range(rng.randrange(gap), len(body) - 1, gap):
                odd = bytes((0xFF, rng.choice((0xD3, 0xFF, 0xD9, 0xC4))))
                body[i : i + 2] = b"\xff\x00" if rng.random() < 0.97 else odd
            buf = bytes(body)
            for pos in (0, rng.randrange(len(buf)), len(buf) - 1):
                assert _find_marker(buf, pos) == _regex(buf, pos), (gap, pos)
