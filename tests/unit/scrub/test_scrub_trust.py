"""Published = scanned = scrubbed: nothing after the image's end survives, the verifier carves the whole
output, bombs are refused, and a failed scrub never touches a pre-existing output file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from tests.hostile import media_corpus as mc
from tutela.errors import LimitExceededError, VerificationError
from tutela.scrub import ScrubReport, find_location, scrub_bytes, scrub_file
from tutela.scrub.core import BytesReader
from tutela.scrub.verify import carve_location

GPS_TAIL = mc.jpeg(9)  # a complete JPEG with EXIF GPS


def _clean(out: bytes) -> None:
    """No GPS anywhere: not in the container, not in anything carved out of the bytes."""
    assert carve_location(BytesReader(out)) == []
    assert GPS_TAIL[20:200] not in out
    assert out.count(b"\xff\xd8\xff") <= 1 or b"MPF\x00" in out


@pytest.mark.parametrize(
    "name,data",
    [
        ("jpeg + GPS jpeg", mc.jpeg(gps=False) + GPS_TAIL),
        ("jpeg + zip ending FF D9", mc.jpeg() + mc.zip_polyglot_tail()),
        ("jpeg + xmp", mc.jpeg() + mc._xmp()),
        ("tiff + GPS jpeg", mc.tiff() + GPS_TAIL),
        ("png + GPS jpeg", mc.png() + GPS_TAIL),
        ("webp + GPS jpeg", mc.webp() + GPS_TAIL),
    ],
)
def test_nothing_after_the_image_end_survives(name: str, data: bytes) -> None:
    out, report = scrub_bytes(data)
    assert report.verified and len(out) < len(data)
    assert any(c.endswith(".trailer") for c in report.removed), report.removed
    _clean(out)


def test_jpeg_ending_in_ffd9_after_eoi_is_cut_at_the_primary_eoi() -> None:
    primary = mc.jpeg(gps=False)
    out, _ = scrub_bytes(primary + GPS_TAIL)
    assert out == primary  # header untouched (no metadata), scan data, EOI: and nothing else


def test_segments_hidden_between_progressive_scans_are_dropped() -> None:
    prog = mc.jpeg(2, gps=False, progressive=True, w=128, h=96)
    app1 = mc._seg(0xE1, b"Exif\x00\x00" + mc._gps_exif()[6:])
    out, report = scrub_bytes(mc._insert_before_second_sos(prog, app1))
    assert out == prog and "jpeg.app1" in report.removed


def test_tiff_unreferenced_gap_is_zeroed_and_subifd_dropped() -> None:
    data = mc._tiff_manual(GPS_TAIL, subifd=True)
    out, report = scrub_bytes(data)
    assert "tiff.unreferenced" in report.removed and report.frames == 1
    assert out[8 + 2 + 12 * 10 + 4 :].startswith(b"\x00" * len(GPS_TAIL))
    _clean(out)


def test_mpf_frames_kept_and_trailer_cut() -> None:
    out, report = scrub_bytes(mc.mpo(3) + GPS_TAIL)
    assert report.frames == 3 and "jpeg.trailer" in report.removed
    _clean(out)


def test_free_box_contents_are_zeroed() -> None:
    data = mc.mp4() + mc._box(b"free", GPS_TAIL)
    out, _ = scrub_bytes(data)
    assert len(out) == len(data) and out.endswith(b"free" + bytes(len(GPS_TAIL)))


def test_verifier_carves_the_whole_output() -> None:
    """Even if a scrubber bug let an appended GPS JPEG through, the verifier refuses it."""
    from tutela.scrub.api import _verify
    from tutela.scrub.core import ScrubLimits

    bad = mc.png() + GPS_TAIL
    report = ScrubReport("png", frames=1, bytes_out=len(bad))
    with pytest.raises(VerificationError, match="after the end"):
        _verify(BytesReader(bad), report, ScrubLimits())
    # Inside a container the structure walk cannot see: the carve still finds it.
    hidden = mc.mp4() + mc._box(b"free", GPS_TAIL)
    assert carve_location(BytesReader(hidden)) == ["carved.exif.gps"]
    report = ScrubReport("mp4", bytes_out=len(hidden))
    with pytest.raises(VerificationError, match=r"carved\.exif\.gps"):
        _verify(BytesReader(hidden), report, ScrubLimits())


def test_png_iccp_bomb_is_refused() -> None:
    bomb = zlib.compress(b"\x00" * (256 << 20), 9)
    data = mc.png(before_idat=mc._chunk(b"iCCP", b"icc\x00\x00" + bomb))
    with pytest.raises(LimitExceededError, match="iCCP"):
        scrub_bytes(data)


def test_png_small_iccp_is_kept() -> None:
    icc = zlib.compress(b"\x01" * 3000)
    data = mc.png(before_idat=mc._chunk(b"iCCP", b"icc\x00\x00" + icc))
    out, report = scrub_bytes(data)
    assert out == data and "icc_profile" in report.kept


def test_png_lying_chunk_refused_quickly() -> None:
    data = (
        b"\x89PNG\r\n\x1a\n"
        + mc._chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
        + struct.pack(">I", 0x7FFFFFFF)
        + b"IDAT"
        + bytes(100)
    )
    with pytest.raises(Exception, match=r"truncated|past the end"):
        scrub_bytes(data)


@pytest.mark.parametrize("bad", [b"", b"\xff\xd8\xff", b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00" + bytes(30)])
def test_failed_scrub_never_touches_an_existing_output(tmp_path: Path, bad: bytes) -> None:
    src, dst = tmp_path / "corrupt.jpg", tmp_path / "existing_file"
    src.write_bytes(bad)
    dst.write_bytes(b"precious")
    with pytest.raises(Exception):  # noqa: B017 - any TutelaError; the point is what happens to dst
        scrub_file(src, dst)
    assert dst.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.jpg", "existing_file"]  # no temp left


def test_successful_scrub_replaces_the_output(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jpg", tmp_path / "out.jpg"
    src.write_bytes(mc.jpeg())
    dst.write_bytes(b"old")
    report = scrub_file(src, dst)
    assert report.verified and dst.read_bytes()[:2] == b"\xff\xd8" and find_location(dst) == []


def test_cli_failure_keeps_existing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tutela_dev.cli import main

    src, dst = tmp_path / "corrupt.jpg", tmp_path / "existing_file"
    src.write_bytes(b"\xff\xd8\xff\xe0\x00\x40JFIF")
    dst.write_bytes(b"precious")
    assert main(["scrub", str(src), str(dst)]) == 1
    assert dst.read_bytes() == b"precious"
    assert "corrupt_media" in capsys.readouterr().err


def test_tiff_strips_without_byte_counts_are_held_not_zeroed() -> None:
    from tutela.errors import CorruptMediaError

    data = bytearray(mc._tiff_manual(b""))
    i = data.index(struct.pack("<HH", 279, 4))
    data[i : i + 2] = struct.pack("<H", 280)  # StripByteCounts -> MinSampleValue: the extent is gone
    with pytest.raises(CorruptMediaError, match="byte counts"):
        scrub_bytes(bytes(data))


def _exif_gps_off_ifd1() -> tuple[bytes, bytes]:
    """EXIF (TIFF LE) whose thumbnail IFD1 carries the GPS pointer, not IFD0: (the EXIF block, the latitude's
    rationals as they sit in the bytes)."""
    lat = struct.pack("<6I", 51, 1, 30, 1, 250, 100)
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 274, 3, 1, 1)
    ifd1_at = 8 + len(ifd0) + 4
    gps_at = ifd1_at + 2 + 12 + 4
    rat_at = gps_at + 2 + 12 * 2 + 4
    ifd1 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_at) + struct.pack("<I", 0)
    gps = struct.pack("<H", 2) + struct.pack("<HHI", 1, 2, 2) + b"N\0\0\0"
    gps += struct.pack("<HHII", 2, 5, 3, rat_at) + struct.pack("<I", 0)
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd0 + struct.pack("<I", ifd1_at) + ifd1 + gps + lat
    return b"Exif\0\0" + tiff, lat


def test_a_gps_ifd_hung_off_the_thumbnail_ifd_is_zeroed_and_reported() -> None:
    """Promise: published = scrubbed, and a location found is recorded (the location-risk reason for a
    minor). Dropping IFD1 cut the pointer but left the GPS IFD it pointed to - 51°30'2.5"N in the published
    bytes, where no metadata tool looks - and the report said no location was found."""
    exif_block, lat = _exif_gps_off_ifd1()
    base = mc.jpeg(5, gps=False)
    data = base[:2] + b"\xff\xe1" + struct.pack(">H", len(exif_block) + 2) + exif_block + base[2:]
    assert lat in data
    out, report = scrub_bytes(data)
    assert lat not in out and b"N\0\0\0" not in out
    assert report.location_found and "exif.gps" in report.removed
    _clean(out)


def _exif_gps_in_interop() -> tuple[bytes, bytes]:
    """EXIF (TIFF LE): IFD0 -> Exif IFD -> Interop IFD, which holds InteropIndex and a GPS pointer."""
    lat = struct.pack("<6I", 51, 1, 30, 1, 250, 100)
    exif_at, inter_at = 8 + 18, 8 + 36
    gps_at = inter_at + 2 + 24 + 4
    rat_at = gps_at + 2 + 24 + 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, exif_at) + struct.pack("<I", 0)
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0xA005, 4, 1, inter_at) + struct.pack("<I", 0)
    interop = struct.pack("<H", 2) + struct.pack("<HHI", 1, 2, 4) + b"R98\0"
    interop += struct.pack("<HHII", 0x8825, 4, 1, gps_at) + struct.pack("<I", 0)
    gps = struct.pack("<H", 2) + struct.pack("<HHI", 1, 2, 2) + b"N\0\0\0"
    gps += struct.pack("<HHII", 2, 5, 3, rat_at) + struct.pack("<I", 0)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd0 + exif_ifd + interop + gps + lat, lat


def test_a_gps_pointer_inside_the_interop_ifd_is_removed_and_seen_by_the_verifier() -> None:
    """Promise: nothing published carries a location. The Interop IFD was kept untouched, so a GPS pointer
    placed in it was published - exiftool reads GPSLatitude 51°30'2.5" from the "scrubbed" copy - and the
    verifier, which did not descend into Interop IFDs, passed it."""
    from tutela.scrub import exif

    exif_block, lat = _exif_gps_in_interop()
    assert exif.has_gps(BytesReader(exif_block[6:]))  # the verifier sees it there
    base = mc.jpeg(5, gps=False)
    data = base[:2] + b"\xff\xe1" + struct.pack(">H", len(exif_block) + 2) + exif_block + base[2:]
    out, report = scrub_bytes(data)
    assert lat not in out and report.location_found
    assert b"R98\0" in out  # the Interop IFD's own tag stays
    _clean(out)


def _with_segment(segment: bytes) -> bytes:
    base = mc.jpeg(5, gps=False)
    i = base.index(b"\xff\xdb")
    return base[:i] + segment + base[i:]


def test_a_jfif_thumbnail_and_bytes_hidden_in_app0_or_app14_are_not_published() -> None:
    """Promise: published = scanned = scrubbed. APP0 and APP14 were kept byte for byte whatever they held: a
    JFIF thumbnail (an image exiftool extracts and nobody scanned - EXIF's IFD1 thumbnail is dropped for that
    reason), a JFXX thumbnail, or any text after the Adobe marker's 12 bytes."""
    rgb = bytes(range(256)) * 2 + bytes(16 * 12 * 3 - 512)
    jfif = mc._seg(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x10\x0c" + rgb)
    jfxx = mc._seg(0xE0, b"JFXX\x00\x13" + bytes([16, 12]) + rgb)  # JFXX RGB thumbnail
    other = mc._seg(0xE0, b"NOTE\x00 lat=51.50072 lon=-0.12462")
    adobe = mc._seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + b" lat=51.50072 lon=-0.12462")
    for segment in (jfif, jfxx, other, adobe):
        out, report = scrub_bytes(_with_segment(segment))
        assert rgb not in out and b"51.50072" not in out, segment[:12]
        assert report.removed, segment[:12]
    out, _ = scrub_bytes(_with_segment(adobe))
    assert b"Adobe\x00\x64\x00\x00\x00\x00\x01" in out  # what a CMYK decoder needs stays
    plain = mc.jpeg(5, gps=False)
    assert scrub_bytes(plain)[0] == plain  # a JFIF header without a thumbnail is kept as it is


def test_a_gps_ifd_hung_off_an_ifd2_chained_after_the_thumbnail_is_zeroed_too() -> None:
    """Promise: published = scrubbed. IFD0 -> IFD1 -> IFD2 (GPS pointer): dropping IFD1 left IFD2's GPS IFD
    in the bytes; exiftool reads its latitude from the original."""
    from tests.hostile.trust_corpus import LAT_RATIONALS, _gps_ifd

    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 274, 3, 1, 1)
    ifd1_at = 8 + len(ifd0) + 4
    ifd2_at = ifd1_at + 2 + 12 + 4
    gps_at = ifd2_at + 2 + 12 + 4
    ifd1 = struct.pack("<H", 1) + struct.pack("<HHII", 256, 3, 1, 8) + struct.pack("<I", ifd2_at)
    ifd2 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_at) + struct.pack("<I", 0)
    tiff = (
        b"II*\x00" + struct.pack("<I", 8) + ifd0 + struct.pack("<I", ifd1_at) + ifd1 + ifd2 + _gps_ifd(gps_at)
    )
    base = mc.jpeg(5, gps=False)
    data = base[:2] + mc._seg(0xE1, b"Exif\x00\x00" + tiff) + base[2:]
    out, report = scrub_bytes(data)
    assert LAT_RATIONALS in data and LAT_RATIONALS not in out and report.location_found
    _clean(out)
