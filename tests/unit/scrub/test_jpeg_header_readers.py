"""One JPEG header walk serves every reader: over a file (mapped) and over S3 or a spliced output (read a
page at a time) it gives exactly what it gives over bytes in memory — the segments, the SOS offset, the
size, the error and its message, and the work counted against the budget. Over bytes and a mapped file the
walk reads a segment's head with one ``unpack_from``; a page-at-a-time reader takes the byte-by-byte path, so
this also pins the two paths to each other on every truncation and corruption below."""

from __future__ import annotations

import random
from pathlib import Path

from tests.hostile.media_corpus import jpeg, mpo
from tutela.errors import TutelaError
from tutela.scrub.core import BytesReader, Ctx, FileReader, Reader, ScrubLimits
from tutela.scrub.layout import _Paged, jpeg_header


class _Ranged(Reader):
    """Any reader that is neither bytes nor a file (an S3 object: ranged reads)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self.data = data

    def _read(self, offset: int, n: int) -> bytes:
        return self.data[offset : offset + n]


def _walk(reader: Reader, start: int) -> tuple[object, int]:
    c = Ctx(reader, ScrubLimits(), "jpeg")
    try:
        out: object = jpeg_header(c, start)
    except TutelaError as exc:
        out = (type(exc).__name__, str(exc))
    return out, c.budget.count


def _headers() -> list[tuple[bytes, int]]:
    """Valid headers (one crossing page edges with 8 KiB segments), each cut at every few bytes, and
    corrupted at random: every error the walk has."""
    rng = random.Random(5)
    big = bytearray(jpeg(0))
    big[2:2] = (b"\xff\xe1\x20\x00" + bytes(0x1FFE)) * 3
    second = mpo(2)
    bases = [jpeg(0), jpeg(1, progressive=True), bytes(big), second]
    cases = [(second, second.rindex(b"\xff\xd8\xff"))]  # an MPF image's header, past the primary
    cases += [(b"\xff\xd8\x12\x34", 0), (b"\xff\xd8\xff\xff\xd9", 0), (b"\xff\xd8\xff\xe1\x00\x01", 0)]
    for b in bases:
        cases += [(b[:cut], 0) for cut in range(0, min(len(b), 30_000), 13)]
        for _ in range(150):
            m = bytearray(b[: rng.randrange(2, min(len(b), 30_000))])
            for _ in range(rng.randrange(1, 4)):
                m[rng.randrange(len(m))] = rng.choice(
                    [0xFF, 0x00, 0xD9, 0xDA, 0xC0, 0x01, 0xD0, rng.randrange(256)]
                )
            cases += [(bytes(m), 0), (bytes(m), rng.randrange(-2, len(m) + 2))]
    return cases


def test_every_reader_walks_a_header_as_bytes_in_memory_do(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    outcomes = set()
    for data, start in _headers():
        expected = _walk(BytesReader(data), start)
        assert _walk(_Ranged(data), start) == expected, (data[:16], start)
        path.write_bytes(data)
        with path.open("rb") as f:
            file = FileReader(f.fileno(), len(data))
            assert _walk(file, start) == expected, (data[:16], start)
            file.close()
        result = expected[0]
        assert isinstance(result, tuple)
        outcomes.add(result[1] if len(result) == 2 else "ok")  # an error's message, or a header
    assert len(outcomes) == 9, outcomes  # headers, and every one of the walk's eight errors


def test_a_paged_reader_reads_a_page_per_miss_not_a_read_per_byte() -> None:
    """Pages are aligned: a read never straddles two pages (nor the reader's larger blocks)."""
    reads: list[tuple[int, int]] = []

    class Counting(_Ranged):
        def _read(self, offset: int, n: int) -> bytes:
            reads.append((offset, n))
            return super()._read(offset, n)

    data = bytes(range(256)) * 40
    paged = _Paged(Counting(data))
    assert len(paged) == len(data)
    assert [paged[i] for i in range(0, len(data), 3)] == list(data[::3])
    assert len(reads) == -(-len(data) // _Paged.PAGE)
    reads.clear()
    assert [paged[i] for i in (4090, 4095, 4096, 9000, len(data) - 1, 5)] == [
        data[i] for i in (4090, 4095, 4096, 9000, len(data) - 1, 5)
    ]
    assert reads == [(4090, 6), (4096, 4096), (9000, 1240), (5, 4091)]  # 10239: in 9000's page
    assert all(o // _Paged.PAGE == (o + n - 1) // _Paged.PAGE for o, n in reads)


def test_the_budget_stops_every_reader_at_the_same_segment() -> None:
    """The walk counts segments itself and calls ``tick`` only where it is due (the limit, every 64th):
    with the budget already spent up to each count around a clock check, and limits hit mid-header, the
    in-memory walk stops where the byte-by-byte walk stops, with the same count and error."""
    big = bytearray(jpeg(0))
    big[2:2] = b"\xff\xfe\x00\x03x" * 70  # 70 comments: runs cross the 64-segment clock checks
    for data in (jpeg(0), bytes(big)):
        for before in (0, 1, 55, 62, 63, 64, 65, 127):
            for max_boxes in (3, 9, 64, 66, 80, 200_000):
                got = _budgeted(BytesReader(data), before, max_boxes)
                assert got == _budgeted(_Ranged(data), before, max_boxes), (len(data), before, max_boxes)


def _budgeted(reader: Reader, before: int, max_boxes: int) -> tuple[object, int]:
    c = Ctx(reader, ScrubLimits(max_boxes=max_boxes), "jpeg")
    c.budget.count = before
    try:
        out: object = jpeg_header(c, 0)
    except TutelaError as exc:
        out = (type(exc).__name__, str(exc))
    return out, c.budget.count
