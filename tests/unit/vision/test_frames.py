"""Every frame/page of a still is scanned (bounded), the scan covers exactly what the scrub keeps, and
lying structures are refused before any decoder allocates."""

from __future__ import annotations

import importlib
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.hostile import media_corpus as mc
from tutela.errors import CorruptMediaError, LimitExceededError, UnsupportedMediaError
from tutela.scrub import scrub_bytes
from tutela.sniff import MediaType
from tutela.vision import ScanLimits, scan_file
from tutela.vision.backend import ImageScan, label_chain


class FrameCounter:
    """Fake backend: records every frame it is shown; frame 2 (index 1) 'contains' swimwear."""

    name = "counter"

    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.stills: list[bytes] = []

    def version(self) -> str:
        return "counter 1"

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        self.stills.append(data)
        return ImageScan(width=64, height=48)

    def scan_frame(self, frame: Any) -> ImageScan:
        self.frames.append(frame)
        labels = label_chain("Swimwear or Underwear", 80.0) if len(self.frames) == 2 else []
        return ImageScan(labels=labels, width=frame.shape[1], height=frame.shape[0])


@pytest.mark.parametrize(
    "name,data,n",
    [
        ("apng.png", mc._pil_bytes("PNG", 3, duration=100), 3),
        ("anim.webp", mc.webp(3), 3),
        ("pages.tif", mc.tiff(3), 3),
        ("mpo.jpg", mc.mpo(2), 2),
    ],
)
def test_every_frame_is_scanned(tmp_path: Path, name: str, data: bytes, n: int) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    be = FrameCounter()
    report = scan_file(p, backend=be)
    assert report.frames == n and len(be.frames) == n and not be.stills
    # A label seen only on frame 2 reaches the report (frame 1 alone would have been "clean").
    assert any(lb["Name"] == "Swimwear or Underwear" for lb in report.labels)
    frames = [f.mean() for f in be.frames]
    assert len(set(np.round(frames, 3))) == n  # distinct frames, not the first one n times
    # The scrubbed copy keeps exactly the frames the scan covered.
    _, scrub = scrub_bytes(data)
    assert scrub.frames == report.frames


def test_single_frame_jpeg_scans_only_the_primary(tmp_path: Path) -> None:
    primary = mc.jpeg(gps=False)
    p = tmp_path / "j.jpg"
    p.write_bytes(primary + mc.jpeg(9))
    be = FrameCounter()
    report = scan_file(p, backend=be)
    assert report.frames == 1 and be.stills == [primary]
    out, scrub = scrub_bytes(p.read_bytes())
    assert out == primary and scrub.frames == 1  # published bytes == scanned bytes


@pytest.mark.parametrize(
    "name,data,exc",
    [
        ("apng_many.png", mc._pil_bytes("PNG", 70, duration=10), LimitExceededError),
        ("pages.tif", mc.tiff(70, gps=False), LimitExceededError),
        ("hidden.png", mc._pil_bytes("PNG", 3, default_image=True, duration=10), UnsupportedMediaError),
    ],
)
def test_multi_frame_limits(tmp_path: Path, name: str, data: bytes, exc: type[Exception]) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    be = FrameCounter()
    with pytest.raises(exc):
        scan_file(p, backend=be)
    assert not be.frames and not be.stills


def test_total_pixel_limit(tmp_path: Path) -> None:
    p = tmp_path / "a.webp"
    p.write_bytes(mc.webp(3))
    with pytest.raises(LimitExceededError, match="frames"):
        scan_file(p, backend=FrameCounter(), limits=ScanLimits(max_total_pixels=64 * 48 * 2))


def test_141_byte_png_with_lying_chunk_never_reaches_the_decoder(tmp_path: Path) -> None:
    data = (
        b"\x89PNG\r\n\x1a\n"
        + mc._chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
        + struct.pack(">I", 0x7FFFFFFF)
        + b"IDAT"
    )
    data += bytes(141 - len(data))
    assert len(data) == 141
    p = tmp_path / "lie.png"
    p.write_bytes(data)
    be = FrameCounter()
    with pytest.raises(CorruptMediaError, match="past the end"):
        scan_file(p, backend=be)
    assert not be.stills


def test_declared_decode_size_is_capped(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 20000, 5000, 16, 6, 0, 0, 0)  # 16-bit RGBA: 800 MB + the BGR copy
    data = (
        b"\x89PNG\r\n\x1a\n" + mc._chunk(b"IHDR", ihdr) + mc._chunk(b"IDAT", b"x") + mc._chunk(b"IEND", b"")
    )
    p = tmp_path / "wide.png"
    p.write_bytes(data)
    with pytest.raises(LimitExceededError, match="MiB to decode"):
        scan_file(p, backend=FrameCounter())


def test_scan_media_loads_models_at_init(monkeypatch: pytest.MonkeyPatch) -> None:
    from tutela.vision import api

    monkeypatch.delenv("VISION_BACKEND", raising=False)
    monkeypatch.setattr(api, "_BACKENDS", {})
    root = Path(__file__).resolve().parents[3] / "functions" / "scan_media"
    monkeypatch.syspath_prepend(str(root))
    sys.modules.pop("app", None)
    importlib.import_module("app")
    be = api._BACKENDS.get("local")
    assert be is not None and be._loaded  # type: ignore[attr-defined]
    sys.modules.pop("app", None)


def test_every_heif_image_is_scanned(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    from io import BytesIO

    from PIL import Image

    pillow_heif.register_heif_opener()
    ims = [Image.fromarray(np.full((48, 64, 3), 40 + 60 * i, np.uint8)) for i in range(3)]
    buf = BytesIO()
    ims[0].save(buf, "HEIF", save_all=True, append_images=ims[1:], quality=80)
    p = tmp_path / "burst.heic"
    p.write_bytes(buf.getvalue())
    be = FrameCounter()
    report = scan_file(p, backend=be)
    assert report.frames == 3 and len(be.frames) == 3 and not be.stills
    assert any(lb["Name"] == "Swimwear or Underwear" for lb in report.labels)  # seen on image 2 only


def test_heif_image_sequence_is_held(tmp_path: Path) -> None:
    heic = mc.heic()
    if heic is None:
        pytest.skip("pillow-heif not installed")
    p = tmp_path / "seq.heic"
    p.write_bytes(heic + mc._box(b"moov", mc._box(b"mvhd", bytes(100))))
    with pytest.raises(UnsupportedMediaError, match="sequence"):
        scan_file(p, backend=FrameCounter())
