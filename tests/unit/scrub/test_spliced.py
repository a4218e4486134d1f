"""``scrub_file`` verifies and writes a JPEG as its rendered header + the input's scan bytes (spliced.py):
the bytes read and written are the rendered output's, and the verifier is as strict on them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import media_corpus as mc
from tutela.errors import CorruptMediaError, VerificationError
from tutela.scrub import api, scrub_bytes, scrub_file
from tutela.scrub.api import _plan_layout, _render, _verify, _walked
from tutela.scrub.core import BytesReader, Copy, Data, Plan, ScrubLimits
from tutela.scrub.layout import image_layout
from tutela.scrub.spliced import SplicedReader, splice


def _jpegs(tmp_path: Path) -> list[bytes]:
    return [
        c.path.read_bytes() for c in mc.generate(tmp_path) if c.expect == "ok" and c.path.suffix == ".jpg"
    ]


def _spliced(data: bytes) -> tuple[SplicedReader | None, Plan, object]:
    plan, report, lay = _plan_layout(BytesReader(data), ScrubLimits())
    walked = _walked(data, lay)
    assert walked is not None and lay is not None
    sp = None
    if not lay.jpeg_mpf and walked.ecs:
        sp = splice(plan, data, walked.sos, walked.end, walked.ecs[0][0])
    return sp, plan, report


def test_spliced_output_reads_as_the_rendered_output(tmp_path: Path) -> None:
    used = 0
    for data in _jpegs(tmp_path):
        sp, plan, _ = _spliced(data)
        if sp is None:
            continue
        used += 1
        out = _render(plan, data)
        assert sp.size == len(out) and sp.read_at(0, sp.size) == out
        for off, n in ((0, 7), (sp.prefix_size - 3, 9), (sp.size - 5, 5), (max(0, len(sp.head) - 1), 2)):
            assert sp.read_at(off, n) == out[off : off + n]
        assert sp.prefix() == out[: sp.prefix_size]
        # The layout from the spliced reader (scans known from the pieces) is the one a full walk gives.
        lay = image_layout(sp, "jpeg", walked=_walked(data, image_layout(data, "jpeg")))
        assert lay == image_layout(out, "jpeg")
    assert used >= 3  # ordinary JPEGs take this path


@pytest.fixture
def splice_all(monkeypatch: pytest.MonkeyPatch) -> list[SplicedReader]:
    """Every size spliced (the corpus is small); the spliced readers ``scrub_file`` used are collected."""
    used: list[SplicedReader] = []

    def spy(*args: Any) -> SplicedReader | None:
        sp = splice(*args)
        if sp is not None:
            used.append(sp)
        return sp

    monkeypatch.setattr(api, "SPLICE_MIN", 0)
    monkeypatch.setattr(api, "splice", spy)
    return used


def test_scrub_file_writes_what_scrub_bytes_returns(tmp_path: Path, splice_all: list[SplicedReader]) -> None:
    for i, data in enumerate(_jpegs(tmp_path)):
        src, dst = tmp_path / f"in{i}.jpg", tmp_path / f"out{i}.jpg"
        src.write_bytes(data)
        out, report = scrub_bytes(data)
        assert scrub_file(src, dst).to_dict() | {"timings_ms": {}} == report.to_dict() | {"timings_ms": {}}
        assert dst.read_bytes() == out
    assert len(splice_all) >= 3


def test_small_files_are_rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[object] = []
    monkeypatch.setattr(api, "splice", lambda *a: used.append(a))
    src = tmp_path / "in.jpg"
    src.write_bytes(mc.jpeg(gps=True))
    assert src.stat().st_size < api.SPLICE_MIN
    scrub_file(src, tmp_path / "out.jpg")
    assert used == []


def test_partial_writes_are_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, splice_all: list[SplicedReader]
) -> None:
    data = mc.jpeg(gps=True)
    real, calls = os.writev, []

    def short_writev(fd: int, bufs: list[memoryview]) -> int:
        calls.append(1)
        assert len(calls) < 1000  # a bug that rewrites the same bytes fails here instead of hanging
        return real(fd, [bytes(memoryview(bufs[0])[:777])])

    monkeypatch.setattr(os, "writev", short_writev)
    src, dst = tmp_path / "in.jpg", tmp_path / "out.jpg"
    src.write_bytes(data)
    scrub_file(src, dst)
    assert dst.read_bytes() == scrub_bytes(data)[0] and len(splice_all) == 1


def test_location_in_the_spliced_head_is_refused(tmp_path: Path) -> None:
    """A head that still holds the GPS EXIF (the plan's edit undone) fails verification as a rendered one
    does: the verifier reads the head, it does not trust it."""
    data = mc.jpeg(gps=True)
    sp, _plan, report = _spliced(data)
    assert sp is not None
    gps_head = sp.head[:2] + mc._seg(0xE1, mc._gps_exif()) + sp.head[2:]
    bad = SplicedReader(gps_head, data, sp.start, sp.length, sp.start + sp.prefix_size - len(sp.head))
    report.bytes_out = bad.size
    walked = _walked(data, image_layout(data, "jpeg"))
    with pytest.raises(VerificationError, match="location"):
        _verify(bad, report, ScrubLimits(), walked)
    _verify(sp, _spliced(data)[2], ScrubLimits(), walked)  # the real one passes


def test_scans_from_other_bytes_are_walked_not_assumed() -> None:
    """``covers`` holds only for the walked object at the same offsets: a tail from a copy of the input, or
    shifted, is walked like any output (here one byte short of EOI: refused)."""
    data = mc.jpeg(gps=True)
    sp, _, _ = _spliced(data)
    assert sp is not None
    walked = _walked(data, image_layout(data, "jpeg"))
    assert walked is not None
    assert sp.covers(len(sp.head) + walked.sos - sp.start, data, walked.sos, walked.end)
    copy = bytes(bytearray(data))
    other = SplicedReader(sp.head, copy, sp.start, sp.length, sp.start)
    assert not other.covers(len(sp.head) + walked.sos - sp.start, data, walked.sos, walked.end)
    assert image_layout(other, "jpeg", walked=walked) == image_layout(sp.read_at(0, sp.size), "jpeg")
    short = SplicedReader(sp.head, copy, sp.start, sp.length - 1, sp.start)
    with pytest.raises(CorruptMediaError):
        image_layout(short, "jpeg", walked=walked)


def test_header_walk_beyond_the_prefix_walks_the_whole_output() -> None:
    """A prefix that ends before the SOS (here: empty past the head) is not an error in itself: the whole
    output is walked and gives the same layout."""
    data = mc.jpeg(gps=True)
    sp, _, _ = _spliced(data)
    assert sp is not None
    cut = SplicedReader(sp.head, data, sp.start, sp.length, sp.start)
    assert cut.prefix_size == len(sp.head)
    assert image_layout(cut, "jpeg") == image_layout(sp.read_at(0, sp.size), "jpeg")


def test_plans_not_ending_in_the_scans_are_rendered() -> None:
    data = mc.jpeg(gps=True)
    plan = Plan()
    plan.pieces = [Copy(0, len(data) - 2), Data(b"\xff\xd9")]
    assert splice(plan, data, 100, len(data), 120) is None
    plan.pieces = [Copy(0, 10), Copy(200, len(data) - 200)]
    assert splice(plan, data, 100, len(data), 120) is None  # starts after the scans
    plan.pieces = [Copy(0, len(data) - 1)]
    assert splice(plan, data, 100, len(data), 120) is None  # does not end at the image's end
