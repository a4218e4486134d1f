"""The verifier's shortcuts never let a location through: the carve skips only an EXIF block the format walk
found clean at the very same offset, with a bound no further than its own, and only an XMP packet lying
wholly inside a payload the format walk found clean."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.hostile import media_corpus as mc
from tutela.errors import VerificationError
from tutela.scrub import ScrubReport, iptc
from tutela.scrub.api import _verify
from tutela.scrub.core import BytesReader, ScrubLimits
from tutela.scrub.verify import carve_location, find_location_reader

GPS_EXIF = mc._gps_exif()  # b"Exif\0\0" + a TIFF block with a GPS IFD


def _clean_exif() -> bytes:
    ex = Image.Exif()
    ex[274] = 1
    return bytes(ex.tobytes())


def _with_segments(*segs: bytes) -> bytes:
    """A JPEG without metadata with ``segs`` inserted right after SOI."""
    base = mc.jpeg(gps=False)
    return base[:2] + b"".join(segs) + base[2:]


def test_carve_skips_only_the_recorded_offset_within_its_bound() -> None:
    data = b"\x00" * 100 + GPS_EXIF + b"\x00" * 100
    tiff_at = 100 + 6
    r = BytesReader(data)
    assert carve_location(r) == ["carved.exif.gps"]
    # Another offset, or a bound further than the carve's range: walked, found.
    assert carve_location(r, None, None, {tiff_at + 1: 50}) == ["carved.exif.gps"]
    assert carve_location(r, None, [(0, len(data))], {tiff_at: len(data) + 1}) == ["carved.exif.gps"]
    # The recorded offset with a nearer bound is the caller's proof: not walked again.
    assert carve_location(r, None, [(0, len(data))], {tiff_at: len(data)}) == []


def test_format_walk_records_only_clean_exif_blocks() -> None:
    for exif, clean in ((_clean_exif(), True), (GPS_EXIF, False)):
        data = _with_segments(mc._seg(0xE1, exif))
        recorded: dict[int, int] = {}
        found = find_location_reader(BytesReader(data), "jpeg", None, None, recorded)
        assert (found == []) is clean
        # The TIFF block starts after FF D8, FF E1 + length, "Exif\0\0"; bounded by its segment.
        assert recorded == ({2 + 4 + 6: 2 + 4 + len(exif)} if clean else {})


def test_gps_exif_the_format_walk_cannot_see_is_still_carved() -> None:
    """A clean APP1 EXIF (skipped by the carve) and, in a COM segment the format walk ignores, a GPS EXIF
    block: the output is refused."""
    out = _with_segments(mc._seg(0xE1, _clean_exif()), mc._seg(0xFE, GPS_EXIF))
    report = ScrubReport("jpeg", frames=1, bytes_out=len(out))
    with pytest.raises(VerificationError, match=r"carved\.exif\.gps"):
        _verify(BytesReader(out), report, ScrubLimits())
    clean = _with_segments(mc._seg(0xE1, _clean_exif()))
    report = ScrubReport("jpeg", frames=1, bytes_out=len(clean))
    _verify(BytesReader(clean), report, ScrubLimits())
    assert report.verified


_CLEAN_XMP = mc._xmp().replace(b'photoshop:City="London" exif:GPSLatitude="51,30.04N"', b'dc:format="x"')


def test_carve_skips_only_xmp_inside_a_range_found_clean() -> None:
    packet = mc._xmp()  # with a city and a GPS latitude
    data = b"\x00" * 100 + packet + b"\x00" * 100
    r = BytesReader(data)
    assert carve_location(r) == ["carved.xmp.location"]
    # The carved packet runs from the RDF namespace to </rdf:RDF>: a range missing its first or last byte,
    # or lying elsewhere, is no proof; a range holding it all is.
    start = data.index(b"22-rdf-syntax-ns#")
    end = data.index(b"</rdf:RDF>") + len(b"</rdf:RDF>")
    for rng in ((start + 1, end), (start, end - 1), (0, 100)):
        assert carve_location(r, None, None, None, [rng]) == ["carved.xmp.location"], rng
    assert carve_location(r, None, None, None, [(start, end)]) == []


def test_format_walk_records_only_clean_xmp_payloads() -> None:
    for packet, clean in ((_CLEAN_XMP, True), (mc._xmp(), False)):
        payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet
        data = _with_segments(mc._seg(0xE1, payload))
        recorded: list[tuple[int, int]] = []
        found = find_location_reader(BytesReader(data), "jpeg", None, None, {}, recorded)
        assert (found == []) is clean
        assert recorded == ([(2 + 4, 2 + 4 + len(payload))] if clean else [])


def test_xmp_with_location_behind_a_clean_xmp_segment_is_still_carved() -> None:
    """A clean APP1 XMP (skipped by the carve) and, in a COM segment the format walk ignores, a packet with
    a location: the output is refused."""
    xmp_seg = mc._seg(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + _CLEAN_XMP)
    out = _with_segments(xmp_seg, mc._seg(0xFE, mc._xmp()))
    report = ScrubReport("jpeg", frames=1, bytes_out=len(out))
    with pytest.raises(VerificationError, match=r"carved\.xmp\.location"):
        _verify(BytesReader(out), report, ScrubLimits())
    clean = _with_segments(xmp_seg)
    report = ScrubReport("jpeg", frames=1, bytes_out=len(clean))
    _verify(BytesReader(clean), report, ScrubLimits())
    assert report.verified


def _app13(city: bytes) -> bytes:
    """An APP13 segment: Photoshop 3.0 resource block with IPTC-IIM (a keyword, and a city if given)."""
    iim = b"\x1c\x02\x19\x00\x04kept"
    if city:
        iim += b"\x1c\x02\x5a" + len(city).to_bytes(2, "big") + city
    res = b"8BIM\x04\x04\x00\x00" + len(iim).to_bytes(4, "big") + iim + b"\x00" * (len(iim) & 1)
    return mc._seg(0xED, iptc.PS_SIG + res)


def test_carve_skips_only_an_iptc_block_with_the_recorded_bounds() -> None:
    seg = _app13(b"London")
    data = b"\x00" * 100 + seg + b"\x00" * 100
    r = BytesReader(data)
    assert carve_location(r) == ["carved.iptc.location"]
    start, end = 100 + 4 + len(iptc.PS_SIG), 100 + len(seg)
    for rng in ((start, end - 1), (start + 1, end), (start, end + 1)):
        assert carve_location(r, None, None, None, None, {rng}) == ["carved.iptc.location"], rng
    assert carve_location(r, None, None, None, None, {(start, end)}) == []


def test_format_walk_records_only_clean_iptc_blocks() -> None:
    for seg, clean in ((_app13(b""), True), (_app13(b"London"), False)):
        data = _with_segments(seg)
        recorded: set[tuple[int, int]] = set()
        found = find_location_reader(BytesReader(data), "jpeg", None, None, {}, [], recorded)
        assert (found == []) is clean
        assert recorded == ({(2 + 4 + len(iptc.PS_SIG), 2 + len(seg))} if clean else set())
