"""APNG frame chunks in a PNG that is not animated: frames nobody scanned, published.

Without an ``acTL`` before the first ``IDAT`` a PNG is a still to every decoder (libpng, browsers, OpenCV,
Pillow): the layout counts one frame and the scan decodes the ``IDAT`` image only. The scrubber keeps the
``fcTL``/``fdAT`` chunks ("APNG chunks kept"), so the published copy carries a second picture in ``fdAT`` that
was never decoded; adding the 20-byte ``acTL`` back (a repair tool, a re-upload elsewhere) animates it."""

from __future__ import annotations

import io
import struct

import pytest

from tutela.errors import TutelaError
from tutela.scrub import scrub_bytes

Image = pytest.importorskip("PIL.Image")


def test_frame_chunks_of_a_png_without_actl_are_not_published() -> None:
    frames = [Image.new("RGB", (64, 48), c) for c in ((90, 90, 90), (200, 150, 120))]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100)
    apng = buf.getvalue()
    at = apng.index(b"acTL") - 4
    data = apng[:at] + apng[at + 12 + struct.unpack(">I", apng[at : at + 4])[0] :]
    assert b"fdAT" in data and getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 1  # a still
    try:
        published, report = scrub_bytes(data)
    except TutelaError:
        return  # refused (held): acceptable
    assert report.frames == 1
    assert b"fdAT" not in published, "a frame nobody decoded is in the published copy"
