"""A picture in the XMP packet: published, never scanned.

XMP can carry images as base64 text: ``xmp:Thumbnails`` (``xmpGImg:image``), which exiftool extracts as
``ThumbnailImage`` and Adobe Bridge and other file browsers show. The XMP filter keeps every property that is
not location or identity, so the thumbnail, an image nobody scanned, is published, as an EXIF IFD1 thumbnail
or a JFIF one would be if they were not dropped. (The same class as a movie's cover art.)

The XMP filter drops ``xmp:Thumbnails`` and any ``xmpGImg:image`` (``xmp.thumbnail``), as EXIF thumbnails
are."""

from __future__ import annotations

import base64
import io
import struct
import subprocess

import pytest

from tutela.scrub import scrub_bytes

Image = pytest.importorskip("PIL.Image")


def _thumbnail() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (160, 120), (200, 140, 110)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _xmp(thumb: bytes) -> bytes:
    b64 = base64.b64encode(thumb).decode()
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/">'
        '<xmp:Thumbnails><rdf:Alt><rdf:li rdf:parseType="Resource">'
        "<xmpGImg:width>160</xmpGImg:width><xmpGImg:height>120</xmpGImg:height>"
        f"<xmpGImg:format>JPEG</xmpGImg:format><xmpGImg:image>{b64}</xmpGImg:image>"
        "</rdf:li></rdf:Alt></xmp:Thumbnails>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def test_an_xmp_thumbnail_is_not_published() -> None:
    thumb = _thumbnail()
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(buf, "JPEG")
    main = buf.getvalue()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + _xmp(thumb)
    data = main[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + main[2:]
    published, report = scrub_bytes(data)
    assert report.verified and "xmp.thumbnail" in report.removed
    try:
        extracted = subprocess.run(
            ["exiftool", "-b", "-ThumbnailImage", "-"], input=published, capture_output=True, check=False
        ).stdout
    except FileNotFoundError:
        extracted = b""
    assert extracted != thumb, "exiftool extracts the unscanned thumbnail from the published copy"
    assert base64.b64encode(thumb)[:64] not in published, "an image nobody scanned was published in the XMP"
