"""A chunk inside a WebP animation frame: location in the published bytes that no check looked at.

An ``ANMF`` frame holds a 16-byte header, then its image chunks (``ALPH``, ``VP8 ``/``VP8L``) and, as the
format allows, unknown chunks, which libwebp skips. The scrubber copied every ``ANMF`` whole, so an ``EXIF``
chunk nested there kept its GPS: exiftool does not read inside frames and the verifier's carve looks for
``Exif\\0\\0`` (a WebP EXIF chunk is a bare TIFF). Frames now keep only their image chunks."""

from __future__ import annotations

import io
import struct

import pytest

from tests.hostile.media_corpus import _gps_exif
from tests.hostile.test_webp_second_bitstream import _chunks
from tutela.scrub import scrub_bytes

Image = pytest.importorskip("PIL.Image")
np = pytest.importorskip("numpy")


def _chunk(t: bytes, b: bytes) -> bytes:
    return t + struct.pack("<I", len(b)) + b + (b"\0" if len(b) & 1 else b"")


def _animated(lossless: bool) -> bytes:
    frames = [Image.new("RGB", (64, 48), c) for c in ((200, 120, 90), (40, 90, 160))]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=lossless)
    return buf.getvalue()


@pytest.mark.parametrize("lossless", [True, False])
def test_a_chunk_nested_in_an_animation_frame_is_not_published(lossless: bool) -> None:
    tiff = _gps_exif()[6:]  # a bare TIFF with a GPS IFD, as a WebP EXIF chunk holds it
    assert tiff.startswith((b"II*\x00", b"MM\x00*"))
    out, nested = [], False
    for c in _chunks(_animated(lossless)):
        if c[:4] == b"ANMF" and not nested:
            head, image = c[8:24], c[24 : 8 + struct.unpack("<I", c[4:8])[0]]
            extra = _chunk(b"EXIF", tiff)
            c = _chunk(b"ANMF", head + image + extra)  # after the bitstream (libwebp refuses one before it)
            nested = True
        out.append(c)
    body = b"WEBP" + b"".join(out)
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    im = Image.open(io.BytesIO(data))
    assert im.n_frames == 2  # libwebp reads the frame, skipping the chunk
    published, report = scrub_bytes(data)
    assert report.verified and report.frames == 2
    assert tiff not in published, "an EXIF block with GPS inside an animation frame was published"
    assert b"EXIF" not in published
    # every frame is as it was
    shown, before = Image.open(io.BytesIO(published)), Image.open(io.BytesIO(data))
    for k in range(2):
        shown.seek(k)
        before.seek(k)
        assert np.array_equal(np.asarray(shown.convert("RGBA")), np.asarray(before.convert("RGBA")))


def test_an_ordinary_animation_is_copied_byte_for_byte() -> None:
    data = _animated(True)
    published, _ = scrub_bytes(data)
    assert published == data
