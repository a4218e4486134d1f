"""The entropy-coded-data marker scan finds exactly what the marker regex finds, on every path: the native
memchr loop, memchr jumps, the regex, and the vectorised numpy pass (chunked; tested with tiny chunks so every
edge case lands on a chunk or word edge), and the choice between them (numpy is imported only when it
pays)."""

from __future__ import annotations

import mmap
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from tutela.scrub import ecs
from tutela.scrub.ecs import ECS_MARKER, find_marker, vector_find


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


@pytest.mark.parametrize("chunk", [8, 16, 24, 64, ecs.CHUNK])
def test_vectorised_pass_on_adversarial_buffers_at_every_start_and_chunk_edge(chunk: int) -> None:
    """FF runs, FF FF fill, RSTn, stuffing, a marker in the last two bytes, none at all; every start
    offset, so each case meets the 8-byte words and the chunk edges at every phase."""
    for buf in _cases(11, 600):
        for pos in range(len(buf) + 2):
            assert vector_find(np, buf, pos, chunk) == _regex(buf, pos), (buf, pos, chunk)


def test_vectorised_pass_on_placed_markers_around_chunk_edges() -> None:
    """Dense stuffed data with one real marker (or fill/RST/FF runs) placed on each side of every chunk
    and word edge, and at the very end."""
    rng = random.Random(5)
    chunk = 64
    base = bytearray(rng.randbytes(1000).replace(b"\xff", b"\x12"))
    for i in range(0, len(base) - 1, 7):
        base[i : i + 2] = b"\xff\x00"
    plain = bytes(base)
    assert _regex(plain, 0) == -1
    for at in [*range(chunk - 3, chunk + 3), *range(2 * chunk - 9, 2 * chunk + 2), len(plain) - 2]:
        for insert in (b"\xff\xd9", b"\xff\xff\xc4", b"\xff\xd7", b"\xff\xff\xff", b"\xff\xe1\x00"):
            buf = plain[:at] + insert + plain[at + len(insert) :]
            buf = buf[: len(plain)]
            for pos in (0, 1, 7, at - 1, at):
                assert vector_find(np, buf, pos, chunk) == _regex(buf, pos), (at, insert, pos)


def test_vectorised_pass_on_random_camera_like_data() -> None:
    rng = random.Random(9)
    for _ in range(30):
        n = rng.randrange(1, 5000)
        body = bytearray(rng.randbytes(n))
        for i in range(n - 1):  # stuff most 0xFF like an encoder, keep a few odd followers
            if body[i] == 0xFF and rng.random() < 0.9:
                body[i + 1] = rng.choice((0x00, 0x00, 0x00, 0xD4, 0xFF))
        buf = bytes(body)
        for pos in (0, rng.randrange(n), n - 1):
            for chunk in (8, 40, 512):
                assert vector_find(np, buf, pos, chunk) == _regex(buf, pos)


def test_vectorised_pass_over_a_mapped_file_leaves_it_closable(tmp_path: Path) -> None:
    p = tmp_path / "scan.bin"
    p.write_bytes(b"\x12\xff\x00" * 1000 + b"\xff\xd9")
    with p.open("rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        assert vector_find(np, m, 0, 64) == 3000
        m.close()  # BufferError if an array still exported the mapping


def test_long_dense_scans_use_numpy_when_it_is_loaded_and_import_it_only_once_it_has_paid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Which path runs (the answer is the same on each): numpy when already loaded and the rest is long;
    the regex otherwise, counting its bytes, until ``IMPORT_AFTER`` of them make importing numpy pay."""
    buf = b"\x12\xff\x00" * 400 + b"\xff\xd9"  # dense: the memchr walk hands over after a few jumps
    used: list[str] = []
    monkeypatch.setattr(ecs, "_native", False)  # a build without the native scan
    monkeypatch.setattr(ecs, "vector_find", lambda np_, b, p: used.append("numpy") or _regex(b, p))
    monkeypatch.setattr(ecs, "VECTOR_MIN", 256)
    monkeypatch.setattr(ecs, "IMPORT_AFTER", 2000)
    monkeypatch.setattr(ecs, "_scanned", 0)
    monkeypatch.delitem(sys.modules, "numpy")
    imports: list[int] = []
    monkeypatch.setattr(ecs, "_import_numpy", lambda: imports.append(1) or np)

    assert find_marker(buf, len(buf) - 200) == 1200 and used == []  # short rest: the regex, not counted
    assert ecs._scanned == 0
    assert find_marker(buf, 0) == 1200 and used == [] and imports == []  # long: the regex, counted
    assert ecs._scanned == 1200 - 11  # from where the memchr walk handed over (after 4 jumps)
    assert find_marker(buf, 0) == 1200 and used == [] and imports == []
    assert find_marker(buf, 0) == 1200 and imports == [1] and used == ["numpy"]  # 2,378 >= 2,000 scanned
    monkeypatch.setitem(sys.modules, "numpy", np)  # loaded now (the import would have put it there)
    assert find_marker(buf, 0) == 1200 and imports == [1] and used == ["numpy", "numpy"]


def test_a_mapped_file_stays_closable_after_the_vectorised_pass_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error inside the pass (its traceback keeps the frame alive) must not keep the mapping exported."""

    class Broken:
        def take(self, _: object) -> None:
            raise MemoryError("injected")

    p = tmp_path / "scan.bin"
    p.write_bytes(b"\x12\xff\x00" * 1000 + b"\xff\xd9")
    monkeypatch.setattr(ecs, "_real", Broken())
    with p.open("rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        with pytest.raises(MemoryError) as info:
            vector_find(np, m, 0, 64)
        assert info.traceback  # the failing frame is still referenced here
        m.close()
