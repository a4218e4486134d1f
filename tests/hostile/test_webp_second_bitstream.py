"""A WebP with a second image bitstream: a picture in the published bytes that nobody scanned.

A WebP still holds one image chunk (``VP8 `` or ``VP8L``, in an extended file after ``VP8X``/``ALPH``). A file
with a second one after it is decoded by libwebp (OpenCV, Pillow, browsers) from the first only, so the scan
covers the first; the scrubber copies every ``VP8``/``VP8L`` chunk, so the second picture is published as it
came. Like an image appended after a JPEG's EOI or hidden in a TIFF gap (both cut or zeroed), it is bytes
outside what was scanned: a decoder or extractor that takes the last bitstream, or carves it, shows it."""

from __future__ import annotations

import io
import struct

import pytest

from tutela.errors import TutelaError
from tutela.scrub import scrub_bytes

Image = pytest.importorskip("PIL.Image")


def _chunks(d: bytes) -> list[bytes]:
    i, out = 12, []
    while i + 8 <= len(d):
        n = struct.unpack("<I", d[i + 4 : i + 8])[0]
        out.append(d[i : i + 8 + n + (n & 1)])
        i += 8 + n + (n & 1)
    return out


def _riff(chunks: list[bytes]) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _webp(colour: tuple[int, int, int], **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "WEBP", **kw)
    return buf.getvalue()


VP8X = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (63).to_bytes(3, "little") + (47).to_bytes(3, "little")


@pytest.mark.parametrize("first", ["lossless", "lossy", "extended"])
def test_a_second_bitstream_is_not_published(first: str) -> None:
    hidden = _chunks(_webp((200, 150, 120), lossless=True))[0]
    shown = _chunks(_webp((90, 90, 90), lossless=first != "lossy", quality=90))[0]
    data = _riff([VP8X, shown, hidden] if first == "extended" else [shown, hidden])
    try:  # what is scanned: the first bitstream (libwebp refuses the extended file outright: held there)
        assert Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0)) == (90, 90, 90)
    except OSError:
        assert first == "extended"
    try:
        published, _report = scrub_bytes(data)
    except TutelaError:  # refused (held): an acceptable outcome
        return
    assert hidden not in published, "an image bitstream nobody decoded is in the published copy"
