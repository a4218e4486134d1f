"""Hostile and corrupt files: clear tutela.errors, bounded time and memory."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tutela.errors import CorruptMediaError, InvalidInputError, LimitExceededError, UnsupportedMediaError
from tutela.sniff import BY_NAME
from tutela.vision import ScanLimits, scan_file
from tutela.vision.limits import display_size, image_size, jpeg_orientation


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\x00" * 10000, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", len(idat)) + b"IDAT" + idat + b"\0\0\0\0"
        + b"\0\0\0\0IEND\xaeB`\x82"
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff"])
def test_header_dimensions_without_decoding(fmt: str) -> None:
    img = np.zeros((123, 321, 3), np.uint8)
    ext = {"jpeg": ".jpg", "tiff": ".tif"}.get(fmt, f".{fmt}")
    _ok, enc = cv2.imencode(ext, img)
    assert image_size(enc.tobytes(), BY_NAME[fmt]) == (321, 123)


def test_lossless_webp_header() -> None:
    _ok, enc = cv2.imencode(".webp", np.zeros((77, 99, 3), np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert image_size(enc.tobytes(), BY_NAME["webp"]) == (99, 77)


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusals below must come from the header checks, before any pixel is decoded."""
    from tutela.vision import _cv

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a decoder was reached")

    monkeypatch.setattr(_cv, "decode_image", refuse)
    monkeypatch.setattr(_cv, "decode_multi", refuse)


def test_decompression_bomb_png_is_refused_before_decoding(
    write: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write("bomb.png", _png_header(100_000, 100_000))
    _no_decoding(monkeypatch)
    with pytest.raises(LimitExceededError, match="pixels"):
        scan_file(path)


def test_jpeg_claiming_huge_size_is_refused(write: Any) -> None:
    _ok, enc = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    data = bytearray(enc.tobytes())
    i = data.index(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", 65000, 65000)
    with pytest.raises(LimitExceededError):
        scan_file(write("big.jpg", bytes(data)))


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("random.bin", bytes(range(256)) * 4, UnsupportedMediaError),
        ("empty.jpg", b"", UnsupportedMediaError),
        ("text.jpg", b"hello, this is not an image at all", UnsupportedMediaError),
        ("trunc.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01", CorruptMediaError),
        ("trunc.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", CorruptMediaError),
        ("zero.png", _png_header(0, 0), CorruptMediaError),
        ("heic.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40, CorruptMediaError),
    ],
)
def test_hostile_images_raise_clear_errors(
    write: Any, name: str, data: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        scan_file(write(name, data))
    assert "\n" not in str(info.value) and str(info.value)


def test_truncated_jpeg_body_is_corrupt_or_scanned(write: Any, astronaut: Any) -> None:
    _ok, enc = cv2.imencode(".jpg", astronaut)
    data = enc.tobytes()[:600]  # header intact, scan data cut
    try:
        report = scan_file(write("cut.jpg", data)).to_dict()
    except CorruptMediaError:
        return
    assert report["image"]["width"] == 512  # libjpeg fills the rest with grey: scanned, no crash


def test_byte_limit(write: Any, astronaut: Any) -> None:
    _ok, enc = cv2.imencode(".jpg", astronaut)
    with pytest.raises(LimitExceededError, match="byte limit"):
        scan_file(write("a.jpg", enc.tobytes()), limits=ScanLimits(max_image_bytes=1000))


def test_pixel_limit_is_configurable(write: Any, astronaut: Any) -> None:
    _ok, enc = cv2.imencode(".png", astronaut)
    with pytest.raises(LimitExceededError):
        scan_file(write("a.png", enc.tobytes()), limits=ScanLimits(max_pixels=512 * 511))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        scan_file(tmp_path / "nope.jpg")


def test_exif_orientation_swaps_reported_size(tmp_path: Path, astronaut: Any) -> None:
    image = pytest.importorskip("PIL.Image")
    rgb = cv2.cvtColor(cv2.resize(astronaut, (600, 400)), cv2.COLOR_BGR2RGB)
    exif = image.Exif()
    exif[0x0112] = 6  # rotate 90° CW on display
    path = tmp_path / "rot.jpg"
    image.fromarray(rgb).save(path, exif=exif.tobytes())
    data = path.read_bytes()
    assert jpeg_orientation(data) == 6
    assert image_size(data, BY_NAME["jpeg"]) == (600, 400)
    assert display_size(data, BY_NAME["jpeg"]) == (400, 600)
    assert scan_file(path).to_dict()["image"] == {"width": 400, "height": 600}


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\xff\xff",  # IFD offset beyond the segment
        b"\xff\xd8\xff\xe1\xff\xffExif\x00\x00II",  # length beyond the file
        b"\xff\xd8\xff\xe0\x00\x02",
    ],
)
def test_hostile_exif_orientation_defaults_to_1(data: bytes) -> None:
    assert jpeg_orientation(data) == 1


def test_avif_is_scanned(tmp_path: Path, astronaut: Any) -> None:
    path = tmp_path / "a.avif"
    if not cv2.imwrite(str(path), astronaut):
        pytest.skip("this OpenCV build cannot write AVIF")
    report = scan_file(path).to_dict()
    assert report["media_type"] == "avif" and report["image"] == {"width": 512, "height": 512}
    assert len(report["Faces"]) == 1


def test_jpeg_with_thousands_of_scans_is_refused(write: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _ok, enc = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    data = enc.tobytes()
    sos = data.index(b"\xff\xda")
    bomb = data[:sos] + (b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00" * 4) * 5000 + b"\xff\xd9"
    _no_decoding(monkeypatch)
    with pytest.raises(LimitExceededError, match="scans"):
        scan_file(write("scans.jpg", bomb))


@pytest.mark.parametrize("filler", [b"\xff\xfe\x00\x02", b"\xff"], ids=["empty-COM", "fill-bytes"])
def test_jpeg_header_walk_is_bounded(filler: bytes) -> None:
    """image_size (bank hashing, review previews) walks the header with no layout walk first: a file
    padded with a million empty segments or fill bytes before its frame header is refused, not walked."""
    _ok, enc = cv2.imencode(".jpg", np.zeros((16, 24, 3), np.uint8))
    data = enc.tobytes()
    assert image_size(data[:2] + filler * 100 + data[2:], BY_NAME["jpeg"]) == (24, 16)
    with pytest.raises(CorruptMediaError, match="before its frame header"):
        image_size(data[:2] + filler * 1_000_000 + data[2:], BY_NAME["jpeg"])
