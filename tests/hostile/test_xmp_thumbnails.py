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
from collections.abc import Callable

import pytest

from tutela.errors import VerificationError
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


# -- the verifier finds an XMP picture by its own rules, in every container it reads XMP from ---------------

PACKET = _xmp(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)  # base64 of a JPEG-looking picture (starts /9j/)


def _pil(fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(buf, fmt, **kw)
    return buf.getvalue()


def _jpeg_app1() -> bytes:
    return _pil("JPEG", xmp=PACKET)


def _png_itxt() -> bytes:
    from tests.hostile import media_corpus as mc

    return mc.png(before_idat=mc._chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + PACKET))


def _webp_xmp_chunk() -> bytes:
    return _pil("WEBP", lossless=True, xmp=PACKET)


def _tiff_tag_700() -> bytes:
    from PIL import TiffImagePlugin

    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[700] = PACKET
    ifd.tagtype[700] = 1  # BYTE, as XMP in TIFF is stored
    return _pil("TIFF", tiffinfo=ifd)


def _heif_mime_item() -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    return _pil("HEIF", xmp=PACKET, quality=60)


def _mp4_uuid() -> bytes:
    from tests.hostile import media_corpus as mc
    from tutela.scrub.xmp import XMP_UUID

    return mc.mp4() + mc._box(b"uuid", XMP_UUID + PACKET)  # a top-level XMP uuid box, as Adobe writes it


def _exif_embedded() -> bytes:
    ex = Image.Exif()
    ex[274] = 1
    ex[700] = PACKET  # XMP inside the EXIF block's IFD0 (the TIFF XMP tag)
    return _pil("JPEG", exif=ex.tobytes())


CONTAINERS = [
    _jpeg_app1,
    _png_itxt,
    _webp_xmp_chunk,
    _tiff_tag_700,
    _heif_mime_item,
    _mp4_uuid,
    _exif_embedded,
]


@pytest.mark.parametrize("build", CONTAINERS, ids=[c.__name__.lstrip("_") for c in CONTAINERS])
def test_the_verifier_reports_an_xmp_thumbnail_in_every_container(build: Callable[[], bytes]) -> None:
    from tutela.scrub.api import plan_reader, verify_reader
    from tutela.scrub.core import BytesReader
    from tutela.scrub.verify import carve_location, find_location_reader

    data = build()
    assert PACKET in data
    _, report = plan_reader(BytesReader(data))  # the input's own plan: media type and frames
    # The format walk reads the packet where the container puts it (a JPEG's EXIF block is walked for GPS
    # only: XMP inside it is the carve's), and the carve wherever it lies.
    if build is not _exif_embedded:
        assert "xmp.thumbnail" in find_location_reader(BytesReader(data), report.media_type)
    assert "carved.xmp.thumbnail" in carve_location(BytesReader(data))
    # The verification the pipeline runs, as if a scrubber had written the input unchanged.
    report.bytes_out = len(data)
    with pytest.raises(VerificationError, match=r"xmp\.thumbnail"):
        verify_reader(BytesReader(data), report)
    published, report = scrub_bytes(data)  # the scrubber drops it, and its output passes
    assert report.verified and b"/9j/" not in published


def test_a_scrubber_that_keeps_xmp_thumbnails_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from tutela.scrub import xmp

    keep = xmp._classify

    def regression(tag: str) -> str | None:
        code = keep(tag)
        return None if code == "xmp.thumbnail" else code

    monkeypatch.setattr(xmp, "_classify", regression)
    monkeypatch.setattr(xmp, "_CODES", {})
    for build in (_jpeg_app1, _png_itxt, _webp_xmp_chunk, _mp4_uuid):
        with pytest.raises(VerificationError, match=r"xmp\.thumbnail"):
            scrub_bytes(build())


def test_the_verifier_never_calls_the_xmp_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Independence: the verifier shares parsing helpers with the scrubber, never its XMP filter."""
    from tutela.scrub import xmp
    from tutela.scrub.core import BytesReader
    from tutela.scrub.verify import carve_location, find_location_reader

    def filter_called(*_a: object) -> None:
        raise AssertionError("the verifier called the scrubber's XMP filter")

    for name in ("sanitize", "sanitize_same_size", "_prune", "_classify", "_parse"):
        monkeypatch.setattr(xmp, name, filter_called)
    for build, media_type in ((_jpeg_app1, "jpeg"), (_png_itxt, "png"), (_tiff_tag_700, "tiff")):
        r = BytesReader(build())
        assert "xmp.thumbnail" in find_location_reader(r, media_type)
        assert "carved.xmp.thumbnail" in carve_location(r)


def test_the_verifiers_picture_rule() -> None:
    """Any prefix, element or attribute form, and base64 of a picture under any name; not a format string."""
    from pathlib import Path

    from tutela.scrub.verify import xmp_findings

    def packet(body: bytes) -> bytes:
        return (
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
            + body
            + b"</rdf:RDF></x:xmpmeta>"
        )

    for found in (
        b"><a:Thumbnails>x</a:Thumbnails></rdf:Description>",
        b'g:image = "x"/>',
        b"><q:Image\n>x</q:Image></rdf:Description>",
        b"><GImage:Data>&#xA;iVBORw0KGgoAAAANSUhEUg</GImage:Data></rdf:Description>",
        b'other:Preview="/9j/4AAQSkZJRgABAQ"/>',
    ):
        assert xmp_findings(packet(found)) == {"xmp.thumbnail"}, found
    for clean in (
        b"><dc:format>image/jpeg</dc:format></rdf:Description>",
        b'tiff:ImageWidth="64" Item:Mime="image/png"/>',
        b"><dc:description>a JPEG starts /9j/ in base64</dc:description></rdf:Description>",
    ):
        assert xmp_findings(packet(clean)) == set(), clean
    for p in sorted((Path(__file__).parents[1] / "unit/scrub/xmp_packets").glob("*.xmp")):
        assert "xmp.thumbnail" not in xmp_findings(p.read_bytes()), p.name


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, "PNG")
    return buf.getvalue()


_GOOGLE = 'xmlns:GImage="http://ns.google.com/photos/1.0/image/" xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/"'


@pytest.mark.parametrize(
    ("attrs", "elements"),
    [
        # A Pixel portrait photo's main packet: the picture before the blur, by attribute.
        ('GImage:Mime="image/jpeg" GImage:Data="{jpeg}"', ""),
        # Its depth map, by element, after a line break.
        ('GDepth:Format="RangeInverse" GDepth:Mime="image/png"', "<GDepth:Data>\n  {png}</GDepth:Data>"),
        # Any property name, any namespace: the verifier refuses base64 pictures and the names everywhere.
        ("", "<foo:Preview>{jpeg}</foo:Preview><foo:Image>x</foo:Image><foo:Thumbnails>y</foo:Thumbnails>"),
    ],
    ids=["gimage-attribute", "gdepth-element", "any-name"],
)
def test_a_base64_picture_under_any_property_is_dropped_not_held(attrs: str, elements: str) -> None:
    """The verifier refuses a base64 picture under any property (``xmp.thumbnail``), so the filter must
    drop it wherever it is, or every such upload is held: Google's portrait photos carry GImage:Data."""
    jpeg, png = base64.b64encode(_thumbnail()).decode(), base64.b64encode(_png()).decode()
    attrs, elements = attrs.format(jpeg=jpeg, png=png), elements.format(jpeg=jpeg, png=png)
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {_GOOGLE} xmlns:foo="http://example.com/foo/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Camera" {attrs}>{elements}'
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(buf, "JPEG")
    main = buf.getvalue()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    data = main[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + main[2:]
    published, report = scrub_bytes(data)
    assert report.verified and "xmp.thumbnail" in report.removed
    assert jpeg[:40].encode() not in published and png[:40].encode() not in published
    assert b"CreatorTool" in published  # the rest of the packet is kept
    assert published.endswith(main[main.index(b"\xff\xda") :])  # the picture itself untouched
