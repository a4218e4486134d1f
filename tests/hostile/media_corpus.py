"""A deterministic corpus of hostile media files, each with the outcome the pipeline must reach.

    from tests.hostile.media_corpus import generate
    for case in generate(Path("corpus")):
        case.name, case.path, case.expect      # expect: "ok" or "held"

``generate(dir)`` writes every file into ``dir`` (same bytes on every run: fixed seeds, no timestamps) and
returns ``list[Case]``. The outcome classes, as the pipeline sees them:

- ``"ok"``: the scrub succeeds and is verified, the scan returns labels/faces; what would be published
  is the scrubbed file, which must carry no location anywhere — not in its metadata, not after its end,
  not in anything a carving tool can extract — and ``frames`` (when set) is the frame/page count both
  the scan and the scrub report.
- ``"held"``: the scrub or the scan (or both) refuses with a clear ``TutelaError`` (corrupt_media,
  limit_exceeded, unsupported_media, verification_failed): the decision is ``review``, nothing published.

Everything here is built from Pillow/OpenCV output plus hand-made bytes; no network, no exiftool needed.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OK, HELD = "ok", "held"
LAT = (51.0, 30.0, 2.5)  # what the "location" in every GPS fixture is; never appears in an ok output


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    path: Path
    expect: str  # "ok" | "held"
    frames: int | None = None  # for "ok" stills: frames/pages scanned and published
    why: str = ""


# -- building blocks -----------------------------------------------------------------------------------


def _pixels(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(1, w), yy * 255 // max(1, h), (xx + yy) % 256], axis=-1)
    return (base + rng.integers(0, 16, (h, w, 1))).astype(np.uint8)


def _gps_exif() -> bytes:
    from PIL import Image

    ex = Image.Exif()
    ex[274] = 1
    ex[315] = "Alice Example"
    gps = ex.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", LAT, "W", (0.0, 7.0, 12.0)
    return bytes(ex.tobytes())


def _xmp(city: bytes = b"London") -> bytes:
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/" photoshop:City="' + city + b'" '
        b'exif:GPSLatitude="51,30.04N"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def jpeg(seed: int = 0, *, gps: bool = True, progressive: bool = False, w: int = 64, h: int = 48) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    kw = {"exif": _gps_exif()} if gps else {}
    Image.fromarray(_pixels(h, w, seed)).save(buf, "JPEG", quality=90, progressive=progressive, **kw)
    return buf.getvalue()


def _seg(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _insert_before_second_sos(data: bytes, seg: bytes) -> bytes:
    first = data.index(b"\xff\xda")
    second = data.index(b"\xff\xda", first + 2)
    return data[:second] + seg + data[second:]


def _chunk(t: bytes, d: bytes) -> bytes:
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))


def png(seed: int = 0, *, w: int = 64, h: int = 48, extra: bytes = b"", before_idat: bytes = b"") -> bytes:
    raw = b"".join(b"\x00" + row.tobytes() for row in _pixels(h, w, seed))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + before_idat
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + extra
        + _chunk(b"IEND", b"")
    )


def _pil_bytes(fmt: str, frames: int = 1, seed: int = 0, **kw: object) -> bytes:
    from PIL import Image

    ims = [Image.fromarray(_pixels(48, 64, seed + i)) for i in range(frames)]
    buf = io.BytesIO()
    if frames > 1:
        ims[0].save(buf, fmt, save_all=True, append_images=ims[1:], **kw)
    else:
        ims[0].save(buf, fmt, **kw)
    return buf.getvalue()


def webp(frames: int = 1, *, gps: bool = True) -> bytes:
    kw: dict[str, object] = {"lossless": True}
    if gps:
        kw["exif"] = _gps_exif()
    if frames > 1:
        kw["duration"] = 100
    return _pil_bytes("WEBP", frames, **kw)


def tiff(pages: int = 1, *, gps: bool = True) -> bytes:
    kw: dict[str, object] = {"exif": _gps_exif()} if gps else {}
    return _pil_bytes("TIFF", pages, **kw)


def _tiff_manual(gap: bytes, *, w: int = 8, h: int = 4, subifd: bool = False) -> bytes:
    """A little-endian RGB TIFF: header, IFD, ``gap`` (bytes nothing references), then the strip."""
    strip = _pixels(h, w, 3).tobytes()
    tags = [
        (256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 2),
        (273, 4, 1, 0), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(strip)),
    ]  # fmt: skip
    if subifd:
        tags.append((330, 4, 1, 0))
    n = len(tags)
    ifd_len = 2 + 12 * n + 4
    gap_at = 8 + ifd_len
    strip_at = gap_at + len(gap)
    sub_at = strip_at + len(strip)
    body = struct.pack("<H", n)
    for tag, typ, count, val in tags:
        if tag == 273:
            val = strip_at
        if tag == 330:
            val = sub_at
        packed = struct.pack("<H", val) + b"\x00\x00" if typ == 3 else struct.pack("<I", val)
        body += struct.pack("<HHI", tag, typ, count) + packed
    out = b"II*\x00" + struct.pack("<I", 8) + body + struct.pack("<I", 0) + gap + strip
    if subifd:  # a hidden full-size page no viewer shows: its strip is the gap's payload
        sub_tags = [(256, 3, 1, w), (257, 3, 1, h), (273, 4, 1, gap_at), (279, 4, 1, len(gap))]
        sb = struct.pack("<H", len(sub_tags))
        for tag, typ, count, val in sub_tags:
            packed = struct.pack("<H", val) + b"\x00\x00" if typ == 3 else struct.pack("<I", val)
            sb += struct.pack("<HHI", tag, typ, count) + packed
        out += sb + struct.pack("<I", 0)
    return out


def mpo(frames: int = 2) -> bytes:
    from PIL import Image

    ims = [Image.fromarray(_pixels(48, 64, i)) for i in range(frames)]
    buf = io.BytesIO()
    ims[0].save(buf, "MPO", save_all=True, append_images=ims[1:], exif=_gps_exif())
    return buf.getvalue()


def _box(t: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), t) + payload


def mp4(seed: int = 1) -> bytes:
    import tempfile

    import cv2

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "v.mp4"
        a = _pixels(64, 96, seed)
        wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 64))
        for i in range(6):
            wr.write(np.roll(a, i * 3, axis=1))
        wr.release()
        return p.read_bytes()


def heic() -> bytes | None:
    try:
        import pillow_heif
    except ImportError:
        return None
    from PIL import Image

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.fromarray(_pixels(64, 64, 5)).save(buf, "HEIF", exif=_gps_exif(), quality=60)
    return buf.getvalue()


def zip_polyglot_tail() -> bytes:
    """A ZIP (holding a GPS JPEG) whose archive comment ends in FF D9, as appended to a JPEG."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("where.jpg", date_time=(2020, 1, 1, 0, 0, 0)), jpeg(7))
        z.comment = b"see you there \xff\xd9"
    return buf.getvalue()


def _bomb(n: int) -> bytes:
    return zlib.compress(b"\x00" * n, 9)


# -- the corpus ----------------------------------------------------------------------------------------


def _cases() -> list[tuple[str, str, Callable[[], bytes | None], int | None, str]]:
    j = jpeg
    gps_tail = jpeg(9)
    prog = jpeg(2, progressive=True, w=128, h=96)
    big_ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    png_sig = b"\x89PNG\r\n\x1a\n"
    riff = webp(gps=False)
    tf = tiff()
    mp = mp4()

    def riff_with_size(delta: int) -> bytes:
        d = bytearray(riff)
        d[4:8] = struct.pack("<I", len(riff) - 8 + delta)
        return bytes(d)

    def apng(frames: int, hidden_default: bool = False, actl: int | None = None) -> bytes:
        d = _pil_bytes("PNG", frames, default_image=hidden_default, duration=100)
        if actl is not None:
            i = d.index(b"acTL")
            body = struct.pack(">II", actl, 0)
            d = d[: i - 4] + _chunk(b"acTL", body) + d[i + 4 + 8 + 4 :]
        return d

    def webp_anim_bad_frame() -> bytes:
        d = bytearray(webp(3, gps=False))
        i = d.index(b"ANMF")
        d[i + 8 + 6 : i + 8 + 9] = (5000).to_bytes(3, "little")  # frame wider than the canvas
        return bytes(d)

    def webp_huge_canvas() -> bytes:
        d = bytearray(webp(2, gps=False))
        i = d.index(b"VP8X")
        d[i + 12 : i + 15] = (16383).to_bytes(3, "little")
        d[i + 15 : i + 18] = (16383).to_bytes(3, "little")
        return bytes(d)

    def jpeg_sof(w: int, h: int) -> bytes:
        d = bytearray(j(1, gps=False))
        i = d.index(b"\xff\xc0")
        d[i + 5 : i + 9] = struct.pack(">HH", h, w)
        return bytes(d)

    def jpeg_many_scans() -> bytes:
        d = j(1, gps=False)
        sos = d.index(b"\xff\xda")
        scan = d[sos:-2]
        return d[:sos] + scan * 200 + b"\xff\xd9"

    def mpo_bad_index() -> bytes:
        d = bytearray(mpo())
        i = d.index(b"MPF\x00")
        e = "<" if d[i + 4 : i + 6] == b"II" else ">"
        k = d.index(struct.pack(e + "H", 0xB002), i)
        table = i + 4 + struct.unpack(e + "I", d[k + 8 : k + 12])[0]
        d[table + 16 + 8 : table + 16 + 12] = struct.pack(e + "I", 10_000_000)  # image 2 offset: way out
        return bytes(d)

    def mp4_free_with_gps_jpeg() -> bytes:
        return mp + _box(b"free", gps_tail)

    def mp4_lying_box() -> bytes:
        return mp + struct.pack(">I4s", 10_000_000, b"free") + b"\x00" * 16

    def mp4_deep() -> bytes:
        inner = b""
        for _ in range(200):
            inner = _box(b"udta", inner) if len(inner) < 3000 else inner
            inner = _box(b"trak", inner)
        return mp[:32] + _box(b"moov", inner)

    def many_png_chunks() -> bytes:
        return png(extra=b"".join(_chunk(b"tEXt", b"k\x00v") for _ in range(250_000)))

    def tiff_truncated() -> bytes:
        return _tiff_manual(b"")[: -4 - len(_pixels(4, 8, 3).tobytes())]

    specs: list[tuple[str, str, Callable[[], bytes | None], int | None, str]] = [
        # JPEG: appended data, polyglots, hidden segments, MPF
        ("jpeg_gps.jpg", OK, lambda: j(), 1, "EXIF GPS in APP1"),
        (
            "jpeg_appended_gps_jpeg.jpg",
            OK,
            lambda: j(gps=False) + gps_tail,
            1,
            "second JPEG with GPS after EOI",
        ),
        ("jpeg_appended_two_jpegs.jpg", OK, lambda: j() + gps_tail + gps_tail, 1, "two appended GPS JPEGs"),
        ("jpeg_zip_polyglot.jpg", OK, lambda: j() + zip_polyglot_tail(), 1, "JPEG+ZIP, comment ends FF D9"),
        ("jpeg_appended_xmp.jpg", OK, lambda: j() + _xmp(), 1, "raw XMP packet with a city after EOI"),
        ("jpeg_appended_mp4.jpg", OK, lambda: j() + mp, 1, "motion-photo style appended video"),
        (
            "jpeg_trailer_zero_padded.jpg",
            OK,
            lambda: j() + b"\x00" * 64 + gps_tail,
            1,
            "padding then GPS JPEG",
        ),
        ("jpeg_progressive_gps.jpg", OK, lambda: prog, 1, "progressive JPEG with GPS"),
        (
            "jpeg_app1_gps_between_scans.jpg",
            OK,
            lambda: _insert_before_second_sos(
                jpeg(2, gps=False, progressive=True, w=128, h=96),
                _seg(0xE1, b"Exif\x00\x00" + _gps_exif()[6:]),
            ),
            1,
            "EXIF GPS segment hidden between progressive scans",
        ),
        (
            "jpeg_com_ffd9_between_scans.jpg",
            OK,
            lambda: _insert_before_second_sos(prog, _seg(0xFE, b"x\xff\xd9" + _xmp())),
            1,
            "COM with FF D9 and XMP between scans",
        ),
        ("jpeg_mpo_two_frames.jpg", OK, lambda: mpo(2), 2, "MPO: both frames scanned and kept"),
        ("jpeg_mpo_three_frames_tail.jpg", OK, lambda: mpo(3) + gps_tail, 3, "MPO plus appended GPS JPEG"),
        ("jpeg_mpo_bad_index.jpg", HELD, mpo_bad_index, None, "MPF index points outside the file"),
        ("jpeg_no_eoi.jpg", HELD, lambda: j()[:-2], None, "truncated: no EOI"),
        (
            "jpeg_truncated_scan.jpg",
            HELD,
            lambda: j()[: len(j()) // 2],
            None,
            "cut in the middle of the scan",
        ),
        ("jpeg_only_soi.jpg", HELD, lambda: b"\xff\xd8\xff", None, "signature only"),
        (
            "jpeg_lying_segment.jpg",
            HELD,
            lambda: b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00II*\x00" + b"\x00" * 40,
            None,
            "APP1 longer than the file",
        ),
        ("jpeg_huge_dimensions.jpg", HELD, lambda: jpeg_sof(65000, 65000), None, "SOF declares 65000x65000"),
        ("jpeg_zero_dimensions.jpg", HELD, lambda: jpeg_sof(0, 48), None, "SOF declares width 0"),
        ("jpeg_many_scans.jpg", HELD, jpeg_many_scans, None, "200 scans: a CPU bomb"),
        (
            "jpeg_bad_marker_after_scan.jpg",
            HELD,
            lambda: j()[:-2] + b"\xff\xc0\x00\x04ab\xff\xd9",
            None,
            "frame header after the scan",
        ),
        # PNG
        ("png_exif_gps.png", OK, lambda: png(before_idat=_chunk(b"eXIf", _gps_exif()[6:])), 1, "eXIf GPS"),
        (
            "png_text_location.png",
            OK,
            lambda: png(extra=_chunk(b"tEXt", b"Location\x00Westminster")),
            1,
            "tEXt",
        ),
        (
            "png_xmp_itxt.png",
            OK,
            lambda: png(extra=_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + _xmp())),
            1,
            "XMP iTXt with a city",
        ),
        ("png_appended_gps_jpeg.png", OK, lambda: png() + gps_tail, 1, "GPS JPEG after IEND"),
        (
            "png_ztxt_bomb.png",
            OK,
            lambda: png(extra=_chunk(b"zTXt", b"Comment\x00\x00" + _bomb(64 << 20))),
            1,
            "64 MiB zTXt bomb (dropped, inflated with a cap)",
        ),
        (
            "png_itxt_bomb.png",
            OK,
            lambda: png(extra=_chunk(b"iTXt", b"k\x00\x01\x00\x00\x00" + _bomb(64 << 20))),
            1,
            "64 MiB compressed iTXt bomb",
        ),
        (
            "png_iccp_bomb.png",
            HELD,
            lambda: png(before_idat=_chunk(b"iCCP", b"icc\x00\x00" + _bomb(256 << 20))),
            None,
            "256 MiB iCCP decompression bomb",
        ),
        (
            "png_lying_chunk_7fffffff.png",
            HELD,
            lambda: (
                png_sig
                + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
                + struct.pack(">I", 0x7FFFFFFF)
                + b"IDAT"
                + b"\x00" * (141 - 33 - 8)
            ),
            None,
            "141 bytes declaring a 2 GiB chunk",
        ),
        (
            "png_huge_dimensions.png",
            HELD,
            lambda: (
                png_sig + _chunk(b"IHDR", big_ihdr) + _chunk(b"IDAT", _bomb(1 << 16)) + _chunk(b"IEND", b"")
            ),
            None,
            "100000x100000 declared",
        ),
        (
            "png_wide_16bit.png",
            HELD,
            lambda: (
                png_sig
                + _chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 5000, 16, 6, 0, 0, 0))
                + _chunk(b"IDAT", _bomb(1 << 16))
                + _chunk(b"IEND", b"")
            ),
            None,
            "16-bit RGBA: ~1.5 GiB to decode",
        ),
        ("png_no_iend.png", HELD, lambda: png()[:-12], None, "no IEND"),
        ("png_no_ihdr.png", HELD, lambda: png_sig + _chunk(b"IEND", b""), None, "IEND only"),
        ("png_many_chunks.png", HELD, many_png_chunks, None, "250k chunks"),
        ("apng_three_frames.png", OK, lambda: apng(3), 3, "APNG: every frame scanned"),
        (
            "apng_hidden_default.png",
            HELD,
            lambda: apng(3, hidden_default=True),
            None,
            "default image is not a frame",
        ),
        ("apng_actl_lies.png", HELD, lambda: apng(3, actl=1_000_000), None, "acTL claims a million frames"),
        ("apng_too_many_frames.png", HELD, lambda: apng(80), None, "80 frames: over the frame limit"),
        # WebP
        ("webp_exif_gps.webp", OK, lambda: webp(), 1, "EXIF GPS chunk"),
        ("webp_appended_gps_jpeg.webp", OK, lambda: webp() + gps_tail, 1, "GPS JPEG after the RIFF"),
        ("webp_animated.webp", OK, lambda: webp(3), 3, "animated: every frame scanned"),
        ("webp_riff_too_big.webp", HELD, lambda: riff_with_size(1 << 20), None, "RIFF size past EOF"),
        ("webp_riff_too_small.webp", HELD, lambda: riff_with_size(-(len(riff) - 12)), None, "RIFF size 4"),
        ("webp_frame_outside_canvas.webp", HELD, webp_anim_bad_frame, None, "ANMF wider than canvas"),
        ("webp_huge_canvas.webp", HELD, webp_huge_canvas, None, "16383x16383 animated canvas"),
        ("webp_truncated.webp", HELD, lambda: webp()[:40], None, "cut short"),
        # TIFF
        ("tiff_gps.tif", OK, lambda: tf, 1, "EXIF GPS in a TIFF"),
        (
            "tiff_trailing_gps_jpeg.tif",
            OK,
            lambda: tf + gps_tail,
            1,
            "GPS JPEG after the last referenced byte",
        ),
        ("tiff_gap_gps_jpeg.tif", OK, lambda: _tiff_manual(gps_tail), 1, "GPS JPEG in an unreferenced gap"),
        (
            "tiff_subifd_hidden.tif",
            OK,
            lambda: _tiff_manual(gps_tail, subifd=True),
            1,
            "SubIFD image nobody scans",
        ),
        ("tiff_three_pages.tif", OK, lambda: tiff(3), 3, "every page scanned and kept"),
        (
            "tiff_too_many_pages.tif",
            HELD,
            lambda: tiff(80, gps=False),
            None,
            "80 pages: over the frame limit",
        ),
        (
            "tiff_ifd_loop.tif",
            HELD,
            lambda: (
                b"II*\x00\x08\x00\x00\x00\x01\x00" + struct.pack("<HHII", 256, 3, 1, 8) + struct.pack("<I", 8)
            ),
            None,
            "IFD chain loops",
        ),
        (
            "tiff_ifd_out_of_file.tif",
            HELD,
            lambda: b"II*\x00\xff\xff\xff\x00" + b"\x00" * 16,
            None,
            "IFD past EOF",
        ),
        ("tiff_truncated.tif", HELD, tiff_truncated, None, "strip data missing"),
        # HEIF and video
        ("heic_gps.heic", OK, heic, None, "HEIC with EXIF GPS"),
        (
            "heic_appended_jpeg.heic",
            HELD,
            lambda: (heic() or b"") + gps_tail,
            None,
            "junk after the last box",
        ),
        ("mp4_plain.mp4", OK, lambda: mp, None, "a short video"),
        ("mp4_free_box_gps_jpeg.mp4", OK, mp4_free_with_gps_jpeg, None, "GPS JPEG inside a free box"),
        ("mp4_appended_gps_jpeg.mp4", HELD, lambda: mp + gps_tail, None, "GPS JPEG after the last box"),
        ("mp4_lying_box.mp4", HELD, mp4_lying_box, None, "box size past EOF"),
        ("mp4_deep_nesting.mp4", HELD, mp4_deep, None, "boxes nested 200 deep"),
        ("mp4_no_moov.mp4", HELD, lambda: mp[:32] + _box(b"mdat", b"\x00" * 64), None, "no moov"),
        # not media at all
        ("zero_size.jpg", HELD, lambda: b"", None, "empty file"),
        ("text_as_jpg.jpg", HELD, lambda: b"hello, not an image at all\n" * 4, None, "text named .jpg"),
        ("gif_image.gif", HELD, lambda: _pil_bytes("GIF"), None, "GIF is not a supported format"),
        ("zip_archive.jpg", HELD, zip_polyglot_tail, None, "a ZIP named .jpg"),
    ]
    return specs


def generate(directory: Path) -> list[Case]:
    """Write the corpus into ``directory`` (created if needed) and return one ``Case`` per file."""
    directory.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, expect, build, frames, why in _cases():
        data = build()
        if data is None:  # optional encoder (pillow-heif) missing
            continue
        path = directory / name
        path.write_bytes(data)
        cases.append(Case(name, path, expect, frames, why))
    return cases
