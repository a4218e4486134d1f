"""A transparent image is scanned as a viewer shows it: composed over a dark and over a light background.

The hostile shape: colour planes all black, the picture drawn by the alpha channel alone. A decoder that drops
alpha (OpenCV's IMREAD_COLOR) sees a black rectangle; a browser on a white page shows the picture."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tutela.vision import scan_file


def _alpha_drawn(gray: Any) -> Any:
    """RGBA: colour planes black, alpha the negative of ``gray``; over white, that is ``gray``."""
    h, w = gray.shape
    out = np.zeros((h, w, 4), np.uint8)
    out[..., 3] = 255 - gray
    return out


def _encode(rgba: Any, fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buf.getvalue()


def _on_white(data: bytes) -> Any:
    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, im).convert("L"))


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_a_face_drawn_by_the_alpha_channel_is_found(
    astronaut: Any, tmp_path: Path, fmt: str, suffix: str
) -> None:
    import cv2

    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    data = _encode(_alpha_drawn(gray), fmt)
    assert np.abs(_on_white(data).astype(int) - gray).max() <= 1  # what a browser shows on a white page
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).max() == 0  # what alpha-blind sees
    p = tmp_path / f"alpha{suffix}"
    p.write_bytes(data)
    report = scan_file(p, backend="local").to_dict()
    assert report["frames"] == 1
    assert report["Faces"], "the face a viewer sees on a light page was not scanned"


def test_an_opaque_png_is_scanned_once(tmp_path: Path, astronaut: Any) -> None:
    from tutela.vision import _cv

    rgba = np.dstack([astronaut[..., ::-1], np.full(astronaut.shape[:2], 255, np.uint8)])
    views = _cv.alpha_views(_cv._bgr_or_bgra(np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])))
    assert len(views) == 1 and views[0].shape[2] == 3
    p = tmp_path / "opaque.png"
    p.write_bytes(_encode(rgba, "PNG"))
    assert scan_file(p, backend="local").frames == 1


def test_a_transparent_heif_is_scanned_over_both_backgrounds(astronaut: Any, tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    import cv2
    from PIL import Image

    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    p = tmp_path / "alpha.heic"
    pillow_heif.from_pillow(Image.fromarray(_alpha_drawn(gray), "RGBA")).save(str(p), quality=95)
    report = scan_file(p, backend="local").to_dict()
    assert report["frames"] == 1 and report["Faces"]
