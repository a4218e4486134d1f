"""HEIF/AVIF: every image a viewer can display from the published copy was scanned, or is zeros there.

The top-level images (what pillow-heif/pi-heif list) are each scanned and counted by both the scanner and the
scrubber (the media policy holds when the counts differ); thumbnails (``thmb``: what Pillow's
``Image.thumbnail`` and file browsers show instead of the image) and orphan hidden images were never scanned
and are zeroed. Fixtures are written by pillow-heif, then edited in place (same size) into hostile shapes.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tutela.errors import UnsupportedMediaError, VerificationError
from tutela.policy.media import media_decision
from tutela.scrub import scrub_bytes
from tutela.scrub.api import verify_reader
from tutela.scrub.core import BytesReader
from tutela.sniff import MediaType
from tutela.vision import ScanLimits, scan_file
from tutela.vision.backend import ImageScan

pillow_heif = pytest.importorskip("pillow_heif")
pi_heif = pytest.importorskip("pi_heif")


class Counter:
    name = "counter"

    def __init__(self) -> None:
        self.frames: list[Any] = []

    def version(self) -> str:
        return "counter 1"

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        self.frames.append(None)
        return ImageScan(width=96, height=64)

    def scan_frame(self, frame: Any) -> ImageScan:
        self.frames.append(frame)
        return ImageScan(width=frame.shape[1], height=frame.shape[0])


def _flat(w: int, h: int, v: int) -> Any:
    from PIL import Image

    return Image.fromarray(np.full((h, w, 3), v, np.uint8))


def _heif(*images: tuple[int, int, int], thumbs: list[int] | None = None) -> bytes:
    """A HEIC of flat grey images (w, h, value), the first primary; ``thumbs``: thumbnail boxes for each."""
    h = pillow_heif.from_pillow(_flat(*images[0]))
    for im in images[1:]:
        h.add_from_pillow(_flat(*im))
    buf = io.BytesIO()
    h.save(buf, quality=90, thumbnails=thumbs or [])
    return buf.getvalue()


def _find(data: bytes, kind: bytes, start: int = 0) -> int:
    i = data.index(kind, start)
    return i - 4


def _infe_offsets(data: bytes) -> dict[int, int]:
    """item id -> offset of its infe box (version 2, 16-bit ids: what libheif writes)."""
    out, i = {}, 0
    while (i := data.find(b"infe", i + 1)) > 0:
        assert data[i + 4] == 2
        out[struct.unpack(">H", data[i + 8 : i + 10])[0]] = i - 4
    return out


def _set_hidden(data: bytearray, iid: int) -> None:
    data[_infe_offsets(bytes(data))[iid] + 11] |= 1  # FullBox flags, bit 0: hidden


def _thumb_refs(data: bytes) -> list[int]:
    """Offsets of the from_item_ID of every 'thmb' reference (iref version 0)."""
    out, i = [], 0
    while (i := data.find(b"thmb", i + 1)) > 0:
        out.append(i + 4)
    return out


def _mean(pil: Any) -> float:
    return float(np.asarray(pil.convert("RGB")).mean())


def _thumbnail_shown(data: bytes, size: tuple[int, int]) -> float:
    """What Pillow shows for ``Image.thumbnail(size)``: the embedded thumbnail when one is at least twice
    ``size`` (its reducing gap) and a usable scaled copy."""
    from PIL import Image

    pillow_heif.register_heif_opener()
    im = Image.open(io.BytesIO(data))
    im.thumbnail(size)
    return _mean(im)


def _hostile_thumbnail() -> bytes:
    """Innocent primary (grey 100) whose thumbnail is another picture (grey 220): item 3, a second image,
    made the thumbnail of item 1 (the encoder's own thumbnail, item 2, hidden)."""
    data = bytearray(_heif((96, 64, 100), (72, 48, 220), thumbs=[32]))
    [ref] = _thumb_refs(bytes(data))
    assert struct.unpack(">H", data[ref : ref + 2])[0] == 2
    data[ref : ref + 2] = struct.pack(">H", 3)
    _set_hidden(data, 2)
    return bytes(data)


def test_the_fixture_is_what_a_viewer_shows() -> None:
    data = _hostile_thumbnail()
    f = pi_heif.open_heif(data)
    assert len(f) == 1 and f[0].info["thumbnails"]  # one top-level image, with a thumbnail
    assert _thumbnail_shown(data, (36, 24)) > 200  # Pillow shows the unscanned picture


def test_a_thumbnail_nobody_scanned_is_zeroed_in_the_published_copy(tmp_path: Path) -> None:
    data = _hostile_thumbnail()
    p = tmp_path / "t.heic"
    p.write_bytes(data)
    counter = Counter()
    scan = scan_file(p, backend=counter)
    out, report = scrub_bytes(data)
    assert scan.frames == report.frames == 1 and len(counter.frames) == 1
    assert {"heif.thumbnail", "heif.hidden_image"} <= set(report.removed) and report.verified
    assert len(out) == len(data)
    assert _thumbnail_shown(out, (36, 24)) < 110  # Pillow falls back to the scanned primary
    primary_in = np.asarray(pi_heif.open_heif(data)[0].to_pillow())
    assert np.array_equal(np.asarray(pi_heif.open_heif(out)[0].to_pillow()), primary_in)
    # the verifier refuses a copy in which the thumbnail survived
    with pytest.raises(VerificationError, match="not scanned"):
        verify_reader(BytesReader(data), report)


def test_an_encoders_own_thumbnail_is_zeroed_and_every_image_scanned(tmp_path: Path) -> None:
    data = _heif((96, 64, 100), (72, 48, 220), thumbs=[32])
    p = tmp_path / "two.heic"
    p.write_bytes(data)
    counter = Counter()
    scan = scan_file(p, backend=counter).to_dict()
    out, report = scrub_bytes(data)
    assert scan["frames"] == report.frames == 2 and len(counter.frames) == 2
    assert "heif.thumbnail" in report.removed
    f = pi_heif.open_heif(out)
    assert len(f) == 2 and [_mean(im.to_pillow()) for im in f] == pytest.approx([100, 220], abs=3)
    with pytest.raises(Exception):  # noqa: B017 - any decoder error: the thumbnail is zeros
        pillow_heif.open_heif(out)[0].get_thumbnail(0).to_pillow()


def test_a_hidden_image_is_zeroed_and_the_counts_agree(tmp_path: Path) -> None:
    data = bytearray(_heif((96, 64, 100), (72, 48, 220)))
    _set_hidden(data, 2)
    p = tmp_path / "hidden.heic"
    p.write_bytes(bytes(data))
    counter = Counter()
    scan = scan_file(p, backend=counter).to_dict()
    out, report = scrub_bytes(bytes(data))
    assert scan["frames"] == report.frames == 1 and "heif.hidden_image" in report.removed
    shown = bytearray(out)  # a viewer that ignored the hidden flag finds no picture there
    shown[_infe_offsets(out)[2] + 11] &= 0xFE
    [primary, second] = pi_heif.open_heif(bytes(shown))
    assert _mean(primary.to_pillow()) == pytest.approx(100, abs=3)
    with pytest.raises(Exception):  # noqa: B017 - any decoder error: its data is zeros
        second.to_pillow()


def test_the_policy_holds_when_scan_and_scrub_count_different_images() -> None:
    _out, report = scrub_bytes(_heif((96, 64, 100), (72, 48, 220), (48, 32, 30)))
    assert report.frames == 3
    scan = {"kind": "image", "media_type": "heif", "frames": 1, "ModerationLabels": [], "Faces": []}
    decision = media_decision(scan, report.to_dict())
    assert decision["verdict"] == "review"
    assert "frames_mismatch" in [r["code"] for r in decision["reasons"]]
    assert media_decision({**scan, "frames": 3}, report.to_dict())["verdict"] == "allow"


def test_a_second_meta_box_is_held() -> None:
    data = _heif((96, 64, 100))
    i = _find(data, b"meta")
    size = struct.unpack(">I", data[i : i + 4])[0]
    with pytest.raises(UnsupportedMediaError, match="more than one meta"):
        scrub_bytes(data + data[i : i + size])


def test_grids_alpha_and_thumbnails_as_encoders_write_them_are_counted_as_libheif_does() -> None:
    """No false hold on ordinary structures: a grid primary (hidden tiles), an alpha plane (auxl), thumbnails
    (with alpha of their own): the scrub counts what pi-heif lists, and every listed image decodes to the same
    pixels (alpha too) from the published copy."""
    from PIL import Image

    rng = np.random.default_rng(1)
    grid = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 255, (120, 160, 4), dtype=np.uint8), "RGBA")
    h = pillow_heif.from_pillow(grid)
    h.add_from_pillow(rgba)
    buf = io.BytesIO()
    h.save(buf, quality=80, tile_size=128, thumbnails=[64])
    data = buf.getvalue()
    out, report = scrub_bytes(data)
    listed = pi_heif.open_heif(data)
    assert len(listed) == report.frames == 2 and report.verified
    for a, b in zip(listed, pi_heif.open_heif(out), strict=True):
        assert np.array_equal(np.asarray(a.to_pillow()), np.asarray(b.to_pillow()))
