"""The entropy-coded-data marker scan finds exactly what the marker regex finds, on every path: the native
memchr loop, and the memchr jumps handing over to the regex that stand in where it is not built or the buffer
is not ``bytes`` (a mapped file)."""

from __future__ import annotations

import mmap
import random
from pathlib import Path

import pytest

from tutela.scrub import ecs
from tutela.scrub.ecs import ECS_MARKER, find_marker


def _regex(buf: bytes, pos: int) -> int:
    m = ECS_MARKER.search(buf, pos)
    return m.start() if m else -1


def _cases(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    alphabet = [0x00, 0xFF, 0xD0, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0x12, 0xCF]
    cases = [b"", b"\xff", b"\xd9", b"\xff\x00", b"\xff\xff", b"\xff\xd9", b"\xff\xff\xd9", b"\xff" * 40]
    cases += [b"\x12\xff\xd3\xff\x00\xff\xc4", b"\x00" * 23 + b"\xff\xd9", b"\xff\x00" * 20 + b"\xff"]
    cases += [bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 48))) for _ in range(count)]
    return cases


@pytest.fixture(params=["native", "python"])
def scan_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each answer checked on the native scan and on the Python paths it replaces where it is not built."""
    if request.param == "python":
        monkeypatch.setattr(ecs, "_native", False)
    else:
        assert ecs.native() is not None
    return str(request.param)


def test_the_native_scan_is_built_and_loaded_here() -> None:
    """``make setup`` builds it for the dev tree and the layer build for the function (scripts/smoke_layers.py
    checks the shipped one loads): without it every photo would silently take the slower Python paths."""
    fn = ecs.native()
    assert fn is not None
    assert fn(b"\x12\xff\x00\xff\xd3\xff\xff\xd9", 8, 0) == 6  # stuffing, restart, fill skipped
    assert fn(b"\xff\xd9", 2, -5) == 0 and fn(b"\xff\xd9", 2, 7) == -1 and fn(b"\xff", 1, 0) == -1


def test_bytes_take_the_native_scan_other_buffers_the_python_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = ecs.native()
    monkeypatch.setattr(ecs, "_native", lambda b, n, p: calls.append(n) or real(b, n, p))
    buf = b"\x12\xff\x00" * 10 + b"\xff\xd9"
    assert find_marker(buf, 0) == 30 and calls == [32]
    assert find_marker(bytearray(buf), 3) == 30 and calls == [32]


def test_same_answer_as_the_regex_on_stuffed_fill_restart_and_edge_bytes(scan_path: str) -> None:
    for buf in _cases(7, 3000):
        for pos in range(len(buf) + 1):
            assert find_marker(buf, pos) == _regex(buf, pos), (buf, pos)


def test_dense_and_sparse_scans_switch_strategy_without_changing_the_answer(scan_path: str) -> None:
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
                assert find_marker(buf, pos) == _regex(buf, pos), (gap, pos)


def test_random_camera_like_data(scan_path: str) -> None:
    rng = random.Random(9)
    for _ in range(200):
        n = rng.randrange(1, 5000)
        body = bytearray(rng.randbytes(n))
        for i in range(n - 1):  # stuff most 0xFF like an encoder, keep a few odd followers
            if body[i] == 0xFF and rng.random() < 0.9:
                body[i + 1] = rng.choice((0x00, 0x00, 0x00, 0xD4, 0xFF))
        buf = bytes(body)
        for pos in (0, rng.randrange(n), n - 1, n, n + 3):
            assert find_marker(buf, pos) == _regex(buf, pos)


def test_a_mapped_file_takes_the_python_scan_and_stays_closable(tmp_path: Path) -> None:
    p = tmp_path / "scan.bin"
    p.write_bytes(b"\x12\xff\x00" * 1000 + b"\xff\xd9")
    with p.open("rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        assert find_marker(m, 0) == 3000 and find_marker(m, 3001) == -1
        m.close()  # BufferError if anything still exported the mapping
