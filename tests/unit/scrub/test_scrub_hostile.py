"""Hostile and broken inputs fail with a tutela error, in bounded time, and never leave an output file."""

from __future__ import annotations

import random
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
import scrub_fixtures as gen

from tutela.errors import (
    CorruptMediaError,
    LimitExceededError,
    TutelaError,
    UnsupportedMediaError,
    VerificationError,
)
from tutela.scrub import ScrubLimits, ScrubReport, find_location, scrub_bytes, scrub_file

box, full = gen.box, gen.full


def _tiff_le(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0, ifd_at: int = 8) -> bytes:
    body = struct.pack("<H", len(entries))
    for tag, typ, count, val in entries:
        body += struct.pack("<HHI", tag, typ, count) + val.ljust(4, b"\x00")
    return b"II*\x00" + struct.pack("<I", ifd_at) + body + struct.pack("<I", next_ifd)


def _jpeg_with_app1(payload: bytes) -> bytes:
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return b"\xff\xd8" + seg + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x12\x34" * 8 + b"\xff\xd9"


def _mp4(*top: bytes) -> bytes:
    return box(b"ftyp", b"isom\x00\x00\x02\x00isommp41") + b"".join(top)


HOSTILE: dict[str, tuple[bytes, type[TutelaError]]] = {
    "empty": (b"", CorruptMediaError),
    "text": (b"hello world, this is not an image at all", UnsupportedMediaError),
    "jpeg_truncated_app0": (b"\xff\xd8\xff\xe0\x00\x40JFIF\x00\x01", CorruptMediaError),
    "jpeg_short_head": (b"\xff\xd8\xff\xe0", CorruptMediaError),  # a JPEG signature, cut short
    "jpeg_lying_length": (b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00II*\x00" + b"\x00" * 40, CorruptMediaError),
    "jpeg_len_lt_2": (b"\xff\xd8\xff\xe1\x00\x01" + b"\x00" * 40, CorruptMediaError),
    "jpeg_no_sos": (b"\xff\xd8\xff\xe0\x00\x04ab\xff\xd9" + b"\x00" * 8, CorruptMediaError),
    "png_lying_chunk": (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 1 << 30) + b"IHDR" + b"\x00" * 20,
        CorruptMediaError,
    ),
    "png_no_iend": (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 0) + b"IHDR" + b"\x00" * 4, CorruptMediaError),
    "webp_lying_riff": (b"RIFF\xff\xff\xff\x7fWEBPVP8 " + b"\x00" * 20, CorruptMediaError),
    "webp_lying_chunk": (b"RIFF\x1c\x00\x00\x00WEBPVP8 \xff\x00\x00\x00" + b"\x00" * 12, CorruptMediaError),
    "tiff_ifd_loop": (_tiff_le([(256, 3, 1, b"\x01\x00")], next_ifd=8), CorruptMediaError),
    "tiff_ifd_out_of_file": (b"II*\x00\xff\xff\xff\x00" + b"\x00" * 16, CorruptMediaError),
    "tiff_huge_count": (b"II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 30, CorruptMediaError),
    "mp4_box_smaller_than_header": (_mp4(struct.pack(">I4s", 4, b"moov")), CorruptMediaError),
    "mp4_box_past_eof": (_mp4(struct.pack(">I4s", 1000, b"mdat") + b"\x00" * 10), CorruptMediaError),
    "mp4_largesize_past_eof": (_mp4(struct.pack(">I4sQ", 1, b"mdat", 1 << 62)), CorruptMediaError),
    "mp4_no_moov": (_mp4(box(b"mdat", b"\x00" * 32)), CorruptMediaError),
    "mp4_child_overflows_parent": (_mp4(box(b"moov", struct.pack(">I4s", 500, b"trak"))), CorruptMediaError),
    "heic_no_meta": (
        box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + box(b"mdat", b"x" * 8),
        CorruptMediaError,
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bytes(name: str, tmp_path: Path) -> None:
    data, exc = HOSTILE[name]
    with pytest.raises(exc) as info:
        scrub_bytes(data)
    msg = str(info.value)
    assert "\n" not in msg and "struct" not in msg.lower() and len(msg) < 200
    src, dst = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(data)
    dst.write_bytes(b"stale output from an earlier run")
    with pytest.raises(exc):
        scrub_file(src, dst)
    assert dst.read_bytes() == b"stale output from an earlier run"  # a failure never deletes/clobbers
    assert not list(tmp_path.glob(".out.bin*"))


def test_deep_nesting_is_limited() -> None:
    inner = box(b"mvhd", b"\x00" * 100)
    for _ in range(200):
        inner = box(b"edts", inner)
    with pytest.raises(LimitExceededError):
        scrub_bytes(_mp4(box(b"moov", inner)))


def test_many_tiny_boxes_hit_box_limit() -> None:
    moov = box(b"moov", box(b"udta", box(b"free", b"") * 50_000))
    with pytest.raises(LimitExceededError):
        scrub_bytes(_mp4(moov, box(b"mdat", b"")), limits=ScrubLimits(max_boxes=10_000))


def test_metadata_size_limit() -> None:
    moov = box(b"moov", box(b"free", b"\x00" * 200_000))
    with pytest.raises(LimitExceededError):
        scrub_bytes(_mp4(moov), limits=ScrubLimits(max_metadata_bytes=100_000))


def test_file_size_limit(corpus: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(LimitExceededError):
        scrub_file(corpus["baseline.jpg"], tmp_path / "o.jpg", limits=ScrubLimits(max_file_bytes=1000))
    assert not (tmp_path / "o.jpg").exists()


def test_lying_sample_table_in_gps_track() -> None:
    trak = gen.meta_trak(2, b"camm", [10**9], [36])
    moov = box(b"moov", box(b"mvhd", b"\x00" * 100) + trak)
    with pytest.raises(CorruptMediaError):
        scrub_bytes(_mp4(moov, box(b"mdat", b"\x00" * 64)))


@pytest.mark.parametrize("table", [b"stco", b"stsz", b"stsc", b"stts"])
def test_a_kept_video_track_whose_sample_table_claims_more_entries_than_it_holds_is_corrupt(
    table: bytes, tmp_path: Path
) -> None:
    """Promise: published = scanned. A video track's table (here its entry count set to 0x3FFFFFFF) that
    claims more than its box holds was published as it was: FFmpeg stops at the box and scanned two frames,
    a player that reads on takes the next bytes as chunk offsets and sizes - frames never scanned."""
    path = tmp_path / "v.mp4"
    gen.make_video(path)
    data = path.read_bytes()
    scrub_bytes(data)  # the honest file scrubs
    d = bytearray(data)
    at = d.index(table, d.index(b"moov"))
    count_at = at + (12 if table == b"stsz" else 8)
    if table == b"stsz":
        d[at + 8 : at + 12] = b"\x00\x00\x00\x00"  # per-sample sizes: a table follows
    d[count_at : count_at + 4] = struct.pack(">I", 0x3FFFFFFF)
    with pytest.raises(CorruptMediaError, match="declares more entries"):
        scrub_bytes(bytes(d))


def test_xmp_entity_bomb_is_blanked_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&c;</x:xmpmeta>'
    )
    data = _jpeg_with_app1(b"http://ns.adobe.com/xap/1.0/\x00" + bomb)
    out, report = scrub_bytes(data)
    assert b"ENTITY" not in out
    assert "xmp.unparseable" in report.removed


def test_exif_gps_pointer_loop_and_thumbnail(tmp_path: Path) -> None:
    # IFD0 -> GPS IFD pointing at IFD0 itself; must not loop, GPS pointer must go.
    tiff = _tiff_le([(274, 3, 1, b"\x06\x00"), (34853, 4, 1, struct.pack("<I", 8))])
    out, report = scrub_bytes(_jpeg_with_app1(b"Exif\x00\x00" + tiff))
    assert "exif.gps" in report.removed and "exif.orientation" in report.kept
    p = tmp_path / "x.jpg"
    p.write_bytes(out)
    assert find_location(p) == []


def _mutations(data: bytes, n: int, seed: int, span: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    span = min(span, len(data))
    for _ in range(n):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(span)
            b[i] = rng.choice((0, 0xFF, 0x7F, rng.randrange(256)))
        out.append(bytes(b))
    for cut in sorted({rng.randrange(len(data)) for _ in range(n // 4)} | {1, 12, 64}):
        out.append(data[:cut])
    return out


@pytest.mark.parametrize(
    "name", ["baseline.jpg", "image.png", "lossy.webp", "image.tif", "image.heic", "video.mov", "gpmd.mp4"]
)
def test_fuzz_only_tutela_errors(name: str, corpus: dict[str, Path]) -> None:
    data = corpus[name].read_bytes()
    meta_span = 4096 if not name.endswith((".mp4", ".mov")) else len(data)
    outcomes = {"ok": 0, "err": 0}
    for i, m in enumerate(_mutations(data, 120, seed=zlib.crc32(name.encode()), span=meta_span)):
        try:
            _out, report = scrub_bytes(m)
        except TutelaError as exc:
            assert "\n" not in str(exc)
            outcomes["err"] += 1
        except Exception as exc:  # pragma: no cover - the assertion message is the point
            raise AssertionError(f"mutation {i} of {name} raised {type(exc).__name__}: {exc}") from exc
        else:
            assert report.verified
            outcomes["ok"] += 1
    assert outcomes["err"] > 0


def test_crc_of_rewritten_png_chunks(scrubbed: dict) -> None:
    data = scrubbed["image.png"][0].read_bytes()
    pos = 8
    while pos < len(data):
        n, t = struct.unpack(">I4s", data[pos : pos + 8])
        crc = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]
        assert crc == zlib.crc32(data[pos + 4 : pos + 8 + n]), t
        pos += 12 + n


def _tiff_be_with_gps() -> bytes:
    """Big-endian EXIF: IFD0 {Orientation=3, Artist, GPS pointer} -> GPS IFD {lat ref, lat}."""
    artist = b"Alice Example\x00"
    ifd0_at, n0 = 8, 3
    artist_at = ifd0_at + 2 + 12 * n0 + 4
    gps_at = artist_at + len(artist)
    lat_at = gps_at + 2 + 12 * 2 + 4
    ifd0 = struct.pack(">H", n0)
    ifd0 += struct.pack(">HHIHH", 274, 3, 1, 3, 0)
    ifd0 += struct.pack(">HHII", 315, 2, len(artist), artist_at)
    ifd0 += struct.pack(">HHII", 34853, 4, 1, gps_at) + struct.pack(">I", 0)
    gps = struct.pack(">H", 2) + struct.pack(">HHI4s", 1, 2, 2, b"N\x00\x00\x00")
    gps += struct.pack(">HHII", 2, 5, 3, lat_at) + struct.pack(">I", 0)
    lat = struct.pack(">6I", 51, 1, 30, 1, 0, 1)
    return b"MM\x00*" + struct.pack(">I", ifd0_at) + ifd0 + artist + gps + lat


def test_big_endian_exif(tmp_path: Path) -> None:
    block = _tiff_be_with_gps()
    out, report = scrub_bytes(_jpeg_with_app1(b"Exif\x00\x00" + block))
    assert {"exif.gps", "exif.artist"} <= set(report.removed)
    assert "exif.orientation" in report.kept
    assert b"Alice" not in out and struct.pack(">6I", 51, 1, 30, 1, 0, 1) not in out
    p = tmp_path / "be.jpg"
    p.write_bytes(out)
    tags = gen.exiftool_json([p])["be.jpg"]
    assert tags.get("IFD0:Orientation") == "Rotate 180"
    assert gen.tag_hits(tags, gen.LOCATION_TAG) == []


def test_heif_exif_item_in_idat() -> None:
    """iloc version 1, construction method 1 (data inside the meta box's idat)."""
    exif_item = struct.pack(">I", 6) + b"Exif\x00\x00" + _tiff_be_with_gps()
    hdlr = full(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 12 + b"\x00")
    infe = full(b"infe", struct.pack(">HH", 1, 0) + b"Exif" + b"\x00", version=2)
    iinf = full(b"iinf", struct.pack(">H", 1) + infe)
    iloc = full(
        b"iloc",
        bytes([0x44, 0x00]) + struct.pack(">HHHHHII", 1, 1, 1, 0, 1, 0, len(exif_item)),
        version=1,
    )
    meta = full(b"meta", hdlr + iinf + iloc + box(b"idat", exif_item))
    data = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + meta + box(b"mdat", b"\x00" * 16)
    out, report = scrub_bytes(data)
    assert report.media_type == "heif" and "exif.gps" in report.removed
    assert len(out) == len(data) and b"Alice" not in out


_XMP_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.5N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _heif_item_in_mdat(infe: bytes, payload: bytes, extra: bytes = b"") -> bytes:
    """A HEIF whose one item (declared by ``infe``, one or more entries) is stored in mdat: the carve never
    reads there."""
    hdlr = full(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 12 + b"\x00")
    iinf = full(b"iinf", struct.pack(">H", infe.count(b"infe")) + infe)
    ftyp = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")

    def meta(at: int) -> bytes:
        iloc = full(b"iloc", bytes([0x44, 0x00]) + struct.pack(">HHHHII", 1, 1, 0, 1, at, len(payload)))
        return full(b"meta", hdlr + extra + iinf + iloc)

    at = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(at) + box(b"mdat", payload)


@pytest.mark.parametrize(
    ("infe", "payload", "code"),
    [
        # exiftool names an item by its content type first, then its type (QuickTime.pm, HandleItemInfo)
        (full(b"infe", struct.pack(">HH", 1, 0) + b"mime\x00Exif\x00", version=2), "exif", "exif.gps"),
        (full(b"infe", struct.pack(">HH", 1, 0) + b"\x00Exif\x00", version=0), "exif", "exif.gps"),
        (
            full(b"infe", struct.pack(">HH", 1, 0) + b"\x00application/rdf+xml\x00", version=1),
            "xmp",
            "xmp.location",
        ),
        # a second entry for the same item: exiftool keeps the first's type (fields are only ever overwritten)
        (
            full(b"infe", struct.pack(">HH", 1, 0) + b"Exif\x00", version=2)
            + full(b"infe", struct.pack(">HH", 1, 0) + b"\x00\x00\x00", version=0),
            "exif",
            "exif.gps",
        ),
    ],
    ids=["v2-mime-content-type-Exif", "v0-content-type-Exif", "v1-content-type-xmp", "second-entry"],
)
def test_heif_items_named_by_content_type_are_scrubbed(
    tmp_path: Path, infe: bytes, payload: str, code: str
) -> None:
    """Items exiftool reads as EXIF or XMP whatever their infe version or item type."""
    item = struct.pack(">I", 6) + b"Exif\x00\x00" + _tiff_be_with_gps() if payload == "exif" else _XMP_GPS
    data = _heif_item_in_mdat(infe, item)
    out, report = _scrub_clean(tmp_path, data, ".heic", code, read_in=False)
    assert code in report.removed and len(out) == len(data)


def _movie_with_item(where: str, infe: bytes, payload: bytes) -> bytes:
    """An MP4 whose meta box (top level, in moov, or in moov/udta) declares one item stored in mdat."""
    hdlr = full(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 12 + b"\x00")
    iinf = full(b"iinf", struct.pack(">H", 1) + infe)
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isommp41")
    mvhd = box(b"mvhd", b"\x00" * 100)

    def head(at: int) -> bytes:
        iloc = full(b"iloc", bytes([0x44, 0x00]) + struct.pack(">HHHHII", 1, 1, 0, 1, at, len(payload)))
        meta = full(b"meta", hdlr + iinf + iloc)
        if where == "top":
            return box(b"moov", mvhd) + meta
        return box(b"moov", mvhd + (meta if where == "moov" else box(b"udta", meta)))

    at = len(ftyp) + len(head(0)) + 8
    return ftyp + head(at) + box(b"mdat", payload)


@pytest.mark.parametrize("where", ["top", "moov", "udta"])
@pytest.mark.parametrize("kind", ["exif", "xmp"])
def test_metadata_items_in_a_movie_are_held(tmp_path: Path, where: str, kind: str) -> None:
    """exiftool reads a movie's iinf/iloc Exif and XMP items as it does a HEIF's (mdat is never carved)."""
    if kind == "exif":
        infe = full(b"infe", struct.pack(">HH", 1, 0) + b"Exif\x00", version=2)
        item = struct.pack(">I", 6) + b"Exif\x00\x00" + _tiff_be_with_gps()
    else:
        infe = full(b"infe", struct.pack(">HH", 1, 0) + b"mime\x00application/rdf+xml\x00", version=2)
        item = _XMP_GPS
    data = _movie_with_item(where, infe, item)
    src = tmp_path / "in.mp4"
    src.write_bytes(data)
    assert find_location(src) != []
    with pytest.raises(UnsupportedMediaError):
        scrub_bytes(data)
    # An item that is not metadata (a picture) is no reason to hold the movie.
    picture = full(b"infe", struct.pack(">HH", 1, 0) + b"hvc1\x00", version=2)
    _out, report = scrub_bytes(_movie_with_item(where, picture, b"\x00" * 32))
    assert report.verified


def _freegps(lat: float = 5130.0) -> bytes:
    """A Novatek dashcam GPS block ("freeGPS ", INNOVV layout) as exiftool -ee decodes it from mdat."""
    rec = b"ANE\x00" + struct.pack("<4f", lat, 7.5, 10.0, 90.0) + bytes(12)
    return (b"\x00\x00\x01\x00freeGPS " + bytes(4) + rec).ljust(256, b"\x00")


def _movie_with_mdat(mdat: bytes, moov_extra: bytes = b"") -> bytes:
    return _mp4(box(b"moov", box(b"mvhd", b"\x00" * 100) + moov_extra), box(b"mdat", mdat))


def test_dashcam_gps_blocks_in_mdat_are_removed(tmp_path: Path) -> None:
    """exiftool -ee scans mdat for "freeGPS " blocks (QuickTimeStream.pl, ScanMediaData): no track or box
    points at them, so only a scan of mdat finds them."""
    data = _movie_with_mdat(bytes(64) + _freegps() + bytes(40000) + _freegps(5131.0) + bytes(64))
    out, report = _scrub_clean(tmp_path, data, ".mp4", "mdat.freegps")
    assert "mdat.freegps" in report.removed and report.location_found
    assert len(out) == len(data) and b"freeGPS" not in out


def test_dashcam_gps_blocks_are_searched_as_far_as_a_reader_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan covers an mdat's head (exiftool: 20 MB) and all of it once a block is found there or a
    moov 'gps ' list (offsets of the blocks, read by exiftool -ee) exists."""
    from tutela.scrub import isobmff

    monkeypatch.setattr(isobmff, "FREEGPS_SCAN", 4096)
    monkeypatch.setattr(isobmff, "_FREEGPS_WINDOW", 72)  # signatures straddle the search windows
    chained = _movie_with_mdat(bytes(64) + _freegps() + bytes(20000) + _freegps() + bytes(64))
    listed = _movie_with_mdat(bytes(20000) + _freegps() + bytes(64), box(b"gps ", bytes(16)))
    for i, data in enumerate((chained, listed)):
        src = tmp_path / f"{i}.mp4"
        src.write_bytes(data)
        assert "mdat.freegps" in find_location(src)
        out, report = scrub_bytes(data)
        assert "mdat.freegps" in report.removed and b"freeGPS" not in out


def _insta360_trailer() -> bytes:
    """An Insta360 trailer holding one GPS record (id 0x700), as exiftool -ee reads it from a file's end."""
    rec = struct.pack("<IIH", 1600000000, 0, 0) + b"A" + struct.pack("<d", 51.5) + b"N"
    rec += struct.pack("<d", 0.12) + b"W" + struct.pack("<3d", 1.0, 2.0, 3.0)
    footer = struct.pack("<HI", 0x700, len(rec)).ljust(38, b"\x00") + struct.pack("<I", 6 + len(rec) + 78)
    footer = footer.ljust(46, b"\x00") + b"8db42d694ccc418790edff439fe026bf"
    return bytes(6) + rec + footer


@pytest.mark.parametrize("where", ["mdat", "moov"])
def test_a_360_camera_trailer_inside_the_last_box_is_held(tmp_path: Path, where: str) -> None:
    """exiftool looks for the Insta360 trailer at the file's end whatever box holds it: inside the last box
    the box walk cannot cut it as a trailer, and its GPS records are binary (no carve finds them)."""
    mvhd = box(b"mvhd", b"\x00" * 100)
    if where == "mdat":
        data = _mp4(box(b"moov", mvhd), box(b"mdat", bytes(64) + _insta360_trailer()))
    else:
        data = _mp4(box(b"mdat", bytes(64)), box(b"moov", mvhd + box(b"junk", _insta360_trailer())))
    src = tmp_path / "in.mp4"
    src.write_bytes(data)
    assert gen.tag_hits(gen.exiftool_json([src])["in.mp4"], gen.LOCATION_TAG)  # the fixture is read
    assert "trailer.insta360" in find_location(src)
    with pytest.raises(UnsupportedMediaError):
        scrub_bytes(data)


_NMEA = b"$GPRMC,123519,A,5130.000,N,00007.500,W,022.4,084.4,230394,003.1,W*6A\n"


def _scrub_clean(
    tmp_path: Path,
    data: bytes,
    suffix: str,
    found: str | None,
    *,
    read_in: bool = True,
    read_out: bool = True,
) -> tuple[bytes, ScrubReport]:
    """Writes ``data``, checks the verifier finds ``found`` in it (any code when None) and, with ``read_in``,
    that exiftool reads a location from it (the fixture is read); scrubs it and checks the verifier finds
    nothing in the output and, with ``read_out``, that exiftool reads no location from it."""
    src, dst = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    src.write_bytes(data)
    if read_in:
        assert gen.tag_hits(gen.exiftool_json([src])[src.name], gen.LOCATION_TAG)
    assert (found in find_location(src)) if found else find_location(src) != []
    out, report = scrub_bytes(data)
    dst.write_bytes(out)
    assert find_location(dst) == []
    if read_out:
        assert gen.tag_hits(gen.exiftool_json([dst])[dst.name], gen.LOCATION_TAG) == []
    return out, report


@pytest.mark.parametrize(
    "top",
    [
        box(b"udat", _NMEA * 2),  # Datakam GPS log (NMEA text)
        box(b"gps0", struct.pack("<dd", 5130.0, 7.5).ljust(32, b"\x00") * 2),  # DuDuBell/VSYS GPS track
        struct.pack(">I4sQ", 1, b"gps0", 16 + 64) + struct.pack("<dd", 5130.0, 7.5).ljust(32, b"\x00") * 2,
    ],
    ids=["udat", "gps0", "gps0-largesize"],
)
def test_unknown_top_level_boxes_are_freed(tmp_path: Path, top: bytes) -> None:
    """exiftool reads GPS from top-level boxes no player needs (QuickTime.pm, QuickTime::Main): every
    top-level box outside the ones a movie is made of becomes free padding, same size."""
    data = _mp4(box(b"moov", box(b"mvhd", b"\x00" * 100)), top, box(b"mdat", bytes(16)))
    out, report = _scrub_clean(tmp_path, data, ".mp4", None)
    assert "box.gps" in report.removed and len(out) == len(data) and b"5130" not in out
    assert report.location_found  # a dashcam's GPS log is a location trace (media policy: location_risk)


def _text_track_movie(handlers: list[bytes], minf_handler: bytes | None = None) -> bytes:
    """One track whose mdia names ``handlers`` in order (minf may add its own hdlr), with one NMEA sample."""
    sample = struct.pack(">H", len(_NMEA)) + _NMEA

    def hdlr(t: bytes) -> bytes:
        return full(b"hdlr", b"\x00" * 4 + t + b"\x00" * 13)

    def moov(at: int) -> bytes:
        stsd = full(b"stsd", struct.pack(">I", 1) + box(b"tx3g", bytes(6) + struct.pack(">H", 1) + bytes(40)))
        stbl = box(
            b"stbl",
            stsd
            + full(b"stts", struct.pack(">III", 1, 1, 1000))
            + full(b"stsc", struct.pack(">IIII", 1, 1, 1, 1))
            + full(b"stsz", struct.pack(">III", 0, 1, len(sample)))
            + full(b"stco", struct.pack(">II", 1, at)),
        )
        minf = box(b"minf", box(b"nmhd", bytes(4)) + (hdlr(minf_handler) if minf_handler else b"") + stbl)
        mdhd = full(b"mdhd", struct.pack(">IIIIHH", 0, 0, 1000, 1000, 0, 0))
        mdia = box(b"mdia", mdhd + b"".join(hdlr(t) for t in handlers) + minf)
        tkhd = full(b"tkhd", struct.pack(">IIIII", 0, 0, 1, 0, 1000) + bytes(60), flags=3)
        mvhd = full(b"mvhd", struct.pack(">IIII", 0, 0, 1000, 1000) + bytes(80))
        return box(b"moov", mvhd + box(b"trak", tkhd + mdia))

    head = box(b"ftyp", b"isom\x00\x00\x02\x00isommp41")
    return head + moov(len(head) + len(moov(0)) + 8) + box(b"mdat", sample)


@pytest.mark.parametrize(
    ("handlers", "minf_handler"),
    [([b"vide", b"text"], None), ([b"vide"], b"text")],
    ids=["second-mdia-hdlr", "minf-hdlr"],
)
def test_a_track_is_what_every_handler_says(
    tmp_path: Path, handlers: list[bytes], minf_handler: bytes
) -> None:
    """exiftool takes the last hdlr it meets in mdia/minf: a 'vide' first and a 'text' after made the scrubber
    keep a GPS text track whose NMEA samples exiftool -ee decoded."""
    data = _text_track_movie(handlers, minf_handler)
    out, report = _scrub_clean(tmp_path, data, ".mp4", "track.metadata")
    assert "track.text" in report.removed and _NMEA not in out
    # QuickTime's data handler in minf ('alis'/'url ') says nothing about the samples: a video stays a video
    _out, report = scrub_bytes(_text_track_movie([b"vide"], b"alis"))
    assert not any(c.startswith("track.") for c in report.removed)


def test_a_compressed_movie_header_is_held(tmp_path: Path) -> None:
    """moov/cmov holds the real moov, zlib-compressed: FFmpeg (the scanner's decoder) reads its tracks and its
    udta, but no box walk or carve sees inside, so its ©xyz was published, verified."""
    import zlib

    xyz = box(b"\xa9xyz", struct.pack(">HH", 18, 0x15C7) + b"+51.5007-000.1246/")
    inner = box(b"moov", box(b"mvhd", b"\x00" * 100) + box(b"udta", xyz))
    cmvd = box(b"cmvd", struct.pack(">I", len(inner)) + zlib.compress(inner))
    data = _mp4(box(b"moov", box(b"cmov", box(b"dcom", b"zlib") + cmvd)), box(b"mdat", bytes(16)))
    src = tmp_path / "in.mp4"
    src.write_bytes(data)
    assert "moov.compressed" in find_location(src)
    with pytest.raises(UnsupportedMediaError):
        scrub_bytes(data)


@pytest.mark.parametrize("kind", [b"xml ", b"bxml"])
@pytest.mark.parametrize("where", ["top", "moov"])
def test_xml_in_a_movie_meta_is_removed(tmp_path: Path, kind: bytes, where: str) -> None:
    """exiftool reads any XML in a movie's meta box (Sony's NRT XML carries the serial number) as tags named
    by its elements: GPS and serials went out verbatim (no RDF namespace, so no carve found them)."""
    xml = b'<?xml version="1.0"?><Meta><GPSLatitude>51.5</GPSLatitude><Device serialNo="1234567"/></Meta>'
    meta = full(b"meta", full(b"hdlr", b"\x00" * 4 + b"nrtm" + b"\x00" * 13) + full(kind, xml))
    mvhd = box(b"mvhd", b"\x00" * 100)
    moov = box(b"moov", mvhd) + meta if where == "top" else box(b"moov", mvhd + meta)
    data = _mp4(moov, box(b"mdat", bytes(16)))
    src = tmp_path / "in.mp4"
    src.write_bytes(data)
    if kind == b"xml " and where == "top":
        assert gen.tag_hits(gen.exiftool_json([src])["in.mp4"], gen.LOCATION_TAG)  # the fixture is read
    assert "meta.xml" in find_location(src)
    out, report = scrub_bytes(data)
    assert "meta.other" in report.removed and b"51.5" not in out and b"1234567" not in out
    dst = tmp_path / "out.mp4"
    dst.write_bytes(out)
    assert find_location(dst) == []


def test_xml_in_a_heif_meta_is_freed(tmp_path: Path) -> None:
    """The same XML in a HEIF's meta box: freed in place (iloc offsets must not move)."""
    xml = b'<?xml version="1.0"?><Meta><GPSLatitude>51.5</GPSLatitude><Device serialNo="1234567"/></Meta>'
    hdlr = full(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13)
    meta = full(b"meta", hdlr + full(b"xml ", xml) + full(b"bxml", xml))
    data = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + meta + box(b"mdat", bytes(16))
    out, report = _scrub_clean(tmp_path, data, ".heic", "meta.xml")
    assert "meta.other" in report.removed and len(out) == len(data) and b"51.5" not in out


def test_heif_jpeg_preview_items_are_zeroed(tmp_path: Path) -> None:
    """A 'jpeg' item that is not the primary image (a camera's preview) is an image nobody scanned, and its
    own EXIF (GPS) sits in mdat, where no carve looks: zeroed, as EXIF and JFIF thumbnails are dropped."""
    from tests.hostile.media_corpus import jpeg

    infe = full(b"infe", struct.pack(">HH", 1, 0) + b"jpeg\x00", version=2)
    preview = jpeg(3)  # carries GPS EXIF
    data = _heif_item_in_mdat(infe, preview, full(b"pitm", struct.pack(">H", 2)))
    out, report = _scrub_clean(tmp_path, data, ".heic", "heif.preview", read_in=False, read_out=False)
    assert "heif.preview" in report.removed and len(out) == len(data) and b"Exif" not in out
    # a JPEG-coded primary image is what was scanned: kept (its own GPS: the next test)
    _out, report = scrub_bytes(
        _heif_item_in_mdat(infe, jpeg(3, gps=False), full(b"pitm", struct.pack(">H", 1)))
    )
    assert "heif.preview" not in report.removed


@pytest.mark.parametrize("kind", [b"jpeg\x00", b"mime\x00image/jpeg\x00"])
def test_heif_jpeg_coded_image_with_its_own_gps_is_not_published(kind: bytes) -> None:
    """A JPEG-coded image item carries its own EXIF in its header, in mdat, which the carve skipped: a HEIF
    whose primary image was such a JPEG with GPS was published with it, verified. The verifier now carves
    every JPEG-coded item (held; rewriting a JPEG inside a HEIF item is not done)."""
    from tests.hostile.media_corpus import jpeg

    infe = full(b"infe", struct.pack(">HH", 1, 0) + kind, version=2)
    with pytest.raises(VerificationError, match=r"carved\.exif\.gps"):
        scrub_bytes(_heif_item_in_mdat(infe, jpeg(3), full(b"pitm", struct.pack(">H", 1))))


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_heif_with_two_primary_item_boxes_is_held(order: tuple[int, int], tmp_path: Path) -> None:
    """Two ``pitm`` boxes: the scrubber took the first, exiftool takes the last (measured: its
    PrimaryItemReference is the last one's item). Which item is the primary image, and so which 'jpeg' item
    is a preview to zero, depends on the reader: held, and the verifier refuses such a file by itself."""
    from tests.hostile.media_corpus import jpeg

    infe = full(b"infe", struct.pack(">HH", 1, 0) + b"jpeg\x00", version=2)
    pitms = b"".join(full(b"pitm", struct.pack(">H", i)) for i in order)
    data = _heif_item_in_mdat(infe, jpeg(3), pitms)
    with pytest.raises(UnsupportedMediaError, match="pitm"):
        scrub_bytes(data)
    p = tmp_path / "two.heic"
    p.write_bytes(data)
    assert "heif.pitm" in find_location(p)
    p.write_bytes(_heif_item_in_mdat(infe, jpeg(3), full(b"pitm", struct.pack(">H", order[0]))))
    assert "heif.pitm" not in find_location(p)  # one is the format's rule


def test_fragmented_movie_with_gps_track_fails_closed(corpus: dict[str, Path]) -> None:
    data = corpus["camm.mp4"].read_bytes() + box(b"moof", box(b"mfhd", b"\x00" * 8))
    with pytest.raises(UnsupportedMediaError):
        scrub_bytes(data)


def test_udta_location_inside_moof_is_removed() -> None:
    moov = box(b"moov", box(b"mvhd", b"\x00" * 100))
    xyz = box(b"\xa9xyz", struct.pack(">HH", 18, 0x15C7) + b"+51.5007-000.1246/")
    moof = box(b"moof", box(b"mfhd", b"\x00" * 8) + box(b"traf", box(b"udta", xyz)))
    out, report = scrub_bytes(_mp4(moov, moof, box(b"mdat", b"\x00" * 8)))
    assert "qt.location" in report.removed and b"+51.5007" not in out


def test_png_raw_profile_iptc_location_is_detected(tmp_path: Path) -> None:
    from PIL import Image, PngImagePlugin

    iim = b"\x1c\x02\x5a" + struct.pack(">H", 6) + b"London"  # 2:90 City
    hexed = iim.hex().encode()
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type iptc", (b"\niptc\n" + b"%8d\n" % len(iim) + hexed + b"\n").decode())
    p = tmp_path / "raw.png"
    Image.fromarray(gen.pixels()).save(p, pnginfo=info)
    assert "iptc.location" in find_location(p)
    out, report = scrub_bytes(p.read_bytes())
    assert report.location_found and "iptc.location" in report.removed and b"London" not in out


def test_in_place_is_refused_and_input_survives(tmp_path: Path) -> None:
    from tutela.errors import InvalidInputError

    p = tmp_path / "bad.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00" + b"\x00" * 30)
    with pytest.raises(InvalidInputError):
        scrub_file(p, p)
    link = tmp_path / "link.jpg"
    link.symlink_to(p)
    with pytest.raises(InvalidInputError):
        scrub_file(p, link)
    assert p.exists()


def test_png_ztxt_bombs_are_cheap() -> None:
    bomb = zlib.compress(b"\x00" * (50 * 1024 * 1024), 9)  # 50 MiB of zeros in ~50 KiB
    png = bytearray(b"\x89PNG\r\n\x1a\n")

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    png += chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    for _ in range(20):
        png += chunk(b"zTXt", b"Comment\x00\x00" + bomb)
    png += chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    # 20 chunks that inflate to 50 MiB each: none may be inflated past the cap (a memory bound, not a
    # clock: the largest Python allocation while scrubbing stays a few MiB, not 50).
    tracemalloc.start()
    try:
        out, report = scrub_bytes(bytes(png))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, peak
    assert "png.text" in report.removed and len(out) < 200


def test_png_exif_chunk_with_a_jpeg_exif_header_is_scrubbed_not_held(tmp_path: Path) -> None:
    """eXIf whose payload keeps JPEG's "Exif\\0\\0" before the TIFF header (a common writer mistake): Pillow
    and exiftool skip it and read the GPS behind it, so it is accepted and scrubbed there, not held."""
    import io

    from PIL import Image

    from tests.hostile.media_corpus import _chunk, _gps_exif, png

    payload = _gps_exif()
    assert payload.startswith(b"Exif\x00\x00")  # Pillow writes it so
    data = png(3, before_idat=_chunk(b"eXIf", payload))
    out, report = _scrub_clean(tmp_path, data, ".png", "exif.gps")
    assert {"exif.gps", "exif.artist"} <= set(report.removed) and report.location_found
    im = Image.open(io.BytesIO(out))
    assert im.getexif()[274] == 1 and not im.getexif().get_ifd(0x8825)  # orientation kept, GPS gone
    assert b"Exif\x00\x00" in out and b"Alice Example" not in out
