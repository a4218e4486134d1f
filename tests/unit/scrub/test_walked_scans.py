"""The verifier reuses the input's scan walk only where the output holds the very same bytes."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.hostile.media_corpus import generate
from tutela.errors import CorruptMediaError, VerificationError
from tutela.scrub.api import _plan_layout, _render, _verify
from tutela.scrub.core import BytesReader, ScrubLimits
from tutela.scrub.layout import WalkedScans, image_layout


def _jpegs(tmp_path: Path) -> list[bytes]:
    return [c.path.read_bytes() for c in generate(tmp_path) if c.expect == "ok" and c.path.suffix == ".jpg"]


def test_reused_walk_gives_the_layout_a_full_walk_gives(tmp_path: Path) -> None:
    reused = 0
    for data in _jpegs(tmp_path):
        plan, _report, lay = _plan_layout(BytesReader(data), ScrubLimits())
        assert lay is not None
        out = _render(plan, data)
        walked = WalkedScans.of(data, lay)
        fast, full = image_layout(out, "jpeg", walked=walked), image_layout(out, "jpeg")
        assert fast == full
        reused += out.startswith(memoryview(data)[walked.sos : walked.end], full.jpeg_sos)
    assert reused >= 3  # the corpus has JPEGs whose scans are copied unchanged


def test_different_bytes_are_walked_again(tmp_path: Path) -> None:
    """A walk of other bytes is not trusted: an output whose scan data differs (here: EOI removed, so
    no end) is walked and refused even when handed the input's walk."""
    data = next(d for d in _jpegs(tmp_path) if d.endswith(b"\xff\xd9"))
    plan, report, lay = _plan_layout(BytesReader(data), ScrubLimits())
    assert lay is not None
    out = _render(plan, data)
    bad = out[:-2] + b"\x00\x00"
    with pytest.raises(VerificationError):
        _verify(BytesReader(bad), report, ScrubLimits(), WalkedScans.of(data, lay))
    # and one with an APP1 hidden in the scan data after a fake marker is not taken for the input's scan
    walked = WalkedScans.of(data, lay)
    tampered = bytearray(out)
    tampered[-40:-38] = b"\xff\xe1"
    with contextlib.suppress(CorruptMediaError):  # walked, and the injected marker breaks the scan
        assert image_layout(bytes(tampered), "jpeg", walked=walked) != image_layout(out, "jpeg")
