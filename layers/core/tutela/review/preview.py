"""Previews that protect reviewers: small, greyscale, pixelated and blurred by default; ``clear`` (an
audited action) drops the pixelation and blur but stays greyscale and small. Videos become a contact sheet
of frames sampled across the clip. Only re-encoded pixels leave: no metadata of the source survives.

The same guards as scanning apply before any decode (header dimensions, pixel and scan limits).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tutela.errors import UnsupportedMediaError
from tutela.sniff import SNIFF_BYTES, sniff
from tutela.vision import _cv
from tutela.vision.limits import ScanLimits, check_jpeg_scans, check_pixels, image_size

MAX_PREVIEW_BYTES = 256 * 1024


def render(data: bytes, *, clear: bool, settings: dict[str, int], limits: ScanLimits | None = None) -> bytes:
    limits = limits or ScanLimits()
    media = sniff(data[:SNIFF_BYTES])
    if media is None:
        raise UnsupportedMediaError("no preview: not a supported image or video")
    side = int(settings["max_side"])
    if media.kind == "image":
        width, height = image_size(data, media)
        check_pixels(width, height, limits)
        if media.name == "jpeg":
            check_jpeg_scans(data, limits)
        img = _cv.decode_image(data, media, width, height, side)
    else:
        img = _contact_sheet(data, int(settings["contact_sheet_frames"]), side, limits)
    return _cv.encode_jpeg(_protect(img, clear, settings), MAX_PREVIEW_BYTES, side)


def _protect(img: Any, clear: bool, settings: dict[str, int]) -> Any:
    cv = _cv.cv2()
    grey = cv.cvtColor(img, cv.COLOR_BGR2GRAY)
    if not clear:
        h, w = grey.shape[:2]
        block = max(2, int(settings["pixel_block"]))
        small = cv.resize(grey, (max(1, w // block), max(1, h // block)), interpolation=cv.INTER_AREA)
        grey = cv.resize(small, (w, h), interpolation=cv.INTER_NEAREST)
        k = int(settings["blur_kernel"]) | 1
        grey = cv.GaussianBlur(grey, (k, k), 0)
    return cv.cvtColor(grey, cv.COLOR_GRAY2BGR)


def _contact_sheet(data: bytes, count: int, side: int, limits: ScanLimits) -> Any:
    """Up to ``count`` frames spread over the clip, tiled in a square grid."""
    import numpy as np

    from tutela.vision.video import sample_frames

    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        path = Path(tmp) / "video"
        path.write_bytes(data)
        frames = [f.image for f in sample_frames(path, limits, limits.deadline())]
    picked = [
        frames[round(i * (len(frames) - 1) / max(1, count - 1))] for i in range(min(count, len(frames)))
    ]
    cols = max(1, round(len(picked) ** 0.5 + 0.499))
    rows = (len(picked) + cols - 1) // cols
    tile = max(16, side // cols)
    cv = _cv.cv2()
    sheet = np.zeros((rows * tile, cols * tile, 3), dtype=np.uint8)
    for i, frame in enumerate(picked):
        thumb = _cv.fit(frame, tile)
        h, w = thumb.shape[:2]
        r, c = divmod(i, cols)
        y, x = r * tile + (tile - h) // 2, c * tile + (tile - w) // 2
        sheet[y : y + h, x : x + w] = thumb
    return cv.cvtColor(sheet, cv.COLOR_BGR2RGB)[:, :, ::-1]  # contiguous BGR copy
