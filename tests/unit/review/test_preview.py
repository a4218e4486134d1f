"""Reviewer previews: small, greyscale, blurred unless cleared; videos as a contact sheet; no metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tutela.errors import LimitExceededError, UnsupportedMediaError
from tutela.review.policy import load_policy
from tutela.review.preview import render
from tutela_dev.emulator import samples

cv2 = pytest.importorskip("cv2")
SETTINGS = load_policy().preview


def _decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def _sharpness(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_image_preview_is_small_grey_blurred_and_has_no_metadata(tmp_path: Path):
    photo = samples.photo(tmp_path / "p.jpg", size=(640, 480))
    raw = photo.read_bytes()
    blurred, clear = render(raw, clear=False, settings=SETTINGS), render(raw, clear=True, settings=SETTINGS)
    for data in (blurred, clear):
        img = _decode(data)
        assert max(img.shape[:2]) <= SETTINGS["max_side"]
        b, g, r = (img[:, :, i].astype(int) for i in range(3))
        assert np.abs(b - g).max() <= 8 and np.abs(g - r).max() <= 8  # greyscale
        assert b"Exif" not in data[:4096] and b"SN-0042-DEMO" not in data
    assert b"SN-0042-DEMO" in raw
    assert _sharpness(_decode(blurred)) < _sharpness(_decode(clear)) / 4


def test_video_preview_is_a_contact_sheet(tmp_path: Path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for i in range(60):  # 6 s: distinct frames
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, : (i * 160) // 60] = (40 * (i % 6), 255 - 4 * i, 4 * i)
        writer.write(frame)
    writer.release()
    sheet = _decode(render(path.read_bytes(), clear=True, settings=SETTINGS))
    assert max(sheet.shape[:2]) <= SETTINGS["max_side"]
    cols = SETTINGS["max_side"] // 2  # at least two tiles across: more than one frame was sampled
    assert sheet.shape[1] >= cols


def test_refuses_what_it_cannot_safely_decode():
    with pytest.raises(UnsupportedMediaError):
        render(b"MZ\x90\x00 not an image", clear=False, settings=SETTINGS)
    # a PNG header declaring a huge canvas is refused before any decode
    png = (
        b"\x89PNG\r\n\x1a\n"
        + b"\x00\x00\x00\rIHDR"
        + (100000).to_bytes(4, "big") * 2
        + b"\x08\x02\x00\x00\x00"
    )
    with pytest.raises(LimitExceededError):
        render(png + b"\x00" * 64, clear=False, settings=SETTINGS)
