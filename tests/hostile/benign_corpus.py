"""A deterministic corpus of ordinary uploads, written the way phones, cameras and common tools write them:
every one must be published (scrubbed, verified, scanned), never held.

    from tests.hostile.benign_corpus import generate
    for case in generate(Path("corpus")):
        case.name, case.path, case.gps, case.frames

Built from Pillow, OpenCV (and pillow-heif where installed) output plus byte surgery for what those
libraries do not write (an EXIF thumbnail, Adam7 interlacing, a phone's track matrix, a screen recorder's
frame durations, a fragmented movie); no ffmpeg, exiftool or network. The device classes and what each
reproduces are in ``_cases``; the hostile corpus, the other side of the same rules, is ``media_corpus``.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.hostile.icc import SRGB_PRIMARIES, cmyk_profile, rgb_profile, srgb_to_linear
from tests.hostile.media_corpus import _chunk, _gps_exif
from tests.unit.vision import movies

# Display P3 and Adobe RGB (1998) colorants adapted to D50, as Apple's and Adobe's profiles carry them
P3 = ((0.5151, 0.2412, -0.0011), (0.2919, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
ADOBE = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
ONE = 0x10000  # 16.16 fixed point


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    path: Path
    gps: bool  # the upload carries a location: the scrub must find and remove it
    frames: int | None  # stills: frames/pages scanned and published
    why: str = ""


def photo(w: int = 320, h: int = 240, seed: int = 0) -> np.ndarray:
    """A photo-like RGB picture: smooth gradients, a few shapes, sensor noise (not synthetic flat fill)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack(
        [120 + 80 * np.sin(xx / 37), 110 + 70 * np.cos(yy / 23), 90 + 60 * np.sin((xx + yy) / 51)], -1
    )
    img[h // 4 : h // 2, w // 5 : w // 2] = (200, 160, 120)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _pil(arr: np.ndarray, fmt: str, **kw: Any) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


def _phone_exif(orientation: int = 1) -> bytes:
    """What a phone camera writes: make/model/software, dates, exposure, a MakerNote, GPS."""
    from PIL import Image

    ex = Image.Exif()
    ex.load(_gps_exif())
    del ex[315]  # no artist: a phone writes none
    ex[0x010F], ex[0x0110], ex[0x0131] = "Apple", "iPhone 15 Pro", "17.4.1"
    ex[0x0132], ex[274] = "2024:05:01 10:00:00", orientation
    sub = ex.get_ifd(0x8769)
    sub[0x829A], sub[0x9003], sub[0xA001] = 1 / 120, "2024:05:01 10:00:00", 65535
    sub[0x927C] = b"Apple iOS\0\0\x01MM" + bytes(range(64))
    return bytes(ex.tobytes())


def _with_thumbnail(exif: bytes, thumb: bytes) -> bytes:
    """``exif`` (Pillow's: ``Exif\\0\\0`` + TIFF, IFD0's next-IFD offset 0) with an IFD1 JPEG thumbnail."""
    head, tiff = exif[:6], bytearray(exif[6:])
    n = struct.unpack("<H", tiff[8:10])[0]
    ifd1_at = len(tiff) + (len(tiff) & 1)
    tiff += b"\0" * (ifd1_at - len(tiff))
    thumb_at = ifd1_at + 2 + 3 * 12 + 4
    tiff[8 + 2 + 12 * n : 8 + 2 + 12 * n + 4] = struct.pack("<I", ifd1_at)
    entries = struct.pack("<HHII", 0x0103, 3, 1, 6) + struct.pack("<HHII", 0x0201, 4, 1, thumb_at)
    entries += struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
    return head + bytes(tiff) + struct.pack("<H", 3) + entries + struct.pack("<I", 0) + thumb


def _icc(name: str) -> bytes:
    if name == "p3":
        return rgb_profile([srgb_to_linear(i / 255) for i in range(256)], P3)
    if name == "adobe":
        return rgb_profile([(i / 255) ** (563 / 256) for i in range(256)], ADOBE)
    return rgb_profile([srgb_to_linear(i / 255) for i in range(256)], SRGB_PRIMARIES)


def jpeg_phone(orientation: int = 1, icc: str = "p3", **kw: Any) -> bytes:
    return _pil(photo(), "JPEG", quality=90, exif=_phone_exif(orientation), icc_profile=_icc(icc), **kw)


def jpeg_phone_thumbnail() -> bytes:
    thumb = _pil(photo(160, 120, 1), "JPEG", quality=70)
    return _pil(
        photo(), "JPEG", quality=90, exif=_with_thumbnail(_phone_exif(), thumb), icc_profile=_icc("p3")
    )


def jpeg_restart(progressive: bool) -> bytes:
    import cv2

    flags = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_RST_INTERVAL, 4]
    flags += [cv2.IMWRITE_JPEG_PROGRESSIVE, 1] if progressive else []
    ok, enc = cv2.imencode(".jpg", photo()[..., ::-1], flags)
    assert ok
    return enc.tobytes()


def jpeg_gain_map() -> bytes:
    """Primary + gain map as MPF images (iPhone HDR, Android Ultra HDR), the primary with GPS and P3."""
    from PIL import Image

    buf = io.BytesIO()
    gain = Image.fromarray(photo(160, 120, 2)).convert("L").convert("RGB")
    Image.fromarray(photo()).save(
        buf,
        "MPO",
        save_all=True,
        append_images=[gain],
        exif=_phone_exif(),
        icc_profile=_icc("p3"),
        quality=90,
    )
    return buf.getvalue()


def jpeg_cmyk(profile: bool) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    kw = {"icc_profile": cmyk_profile()} if profile else {}
    Image.fromarray(photo()).convert("CMYK").save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def png_with(arr: np.ndarray, chunks: list[tuple[bytes, bytes]], **kw: Any) -> bytes:
    """Pillow's PNG with ancillary chunks added before IDAT (sRGB, pHYs, iCCP, eXIf: what tools write)."""
    data = _pil(arr, "PNG", **kw)
    at = data.index(b"IDAT") - 4
    return data[:at] + b"".join(_chunk(t, d) for t, d in chunks) + data[at:]


def png_interlaced(arr: np.ndarray) -> bytes:
    """An Adam7-interlaced RGB(A) PNG (what ImageMagick -interlace and web exporters write), by hand."""
    h, w, c = arr.shape
    passes = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = arr[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def sticker(size: int = 160, angle: int = 0) -> np.ndarray:
    """An RGBA cut-out: a disc with an anti-aliased rim on a transparent ground (chat stickers, emoji)."""
    import cv2

    img = np.zeros((size, size, 4), np.uint8)
    cv2.circle(img, (size // 2, size // 2), size * 2 // 5, (250, 190, 40, 255), -1, cv2.LINE_AA)
    end = (
        int(size / 2 + size / 3 * np.cos(np.radians(angle))),
        int(size / 2 + size / 3 * np.sin(np.radians(angle))),
    )
    cv2.line(img, (size // 2, size // 2), end, (30, 30, 30, 255), 6, cv2.LINE_AA)
    return img


def _animated(fmt: str, **kw: Any) -> bytes:
    from PIL import Image

    frames = [Image.fromarray(sticker(angle=a), "RGBA") for a in range(0, 360, 60)]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=80, loop=0, **kw)
    return buf.getvalue()


def png_palette_sticker() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(sticker(), "RGBA").quantize(16, method=Image.Quantize.FASTOCTREE).save(buf, "PNG")
    return buf.getvalue()


def tiff(arr: np.ndarray, mode: str | None = None, pages: int = 1, **kw: Any) -> bytes:
    from PIL import Image

    im = Image.fromarray(arr)
    im = im.convert(mode) if mode else im
    buf = io.BytesIO()
    more = [im.rotate(180)] * (pages - 1)
    im.save(buf, "TIFF", save_all=pages > 1, append_images=more, **kw)
    return buf.getvalue()


def cv_encode(ext: str, arr: np.ndarray) -> bytes:
    import cv2

    ok, enc = cv2.imencode(ext, arr)
    assert ok
    return enc.tobytes()


def heic(**kw: Any) -> bytes | None:
    """What an iPhone writes, as far as pillow-heif builds it: a grid of tiles, thumbnails, an Exif item with
    GPS and orientation, a P3 profile; ``bits`` 10 for HDR."""
    try:
        import pillow_heif
    except ImportError:
        return None
    from PIL import Image

    bits, alpha = kw.pop("bits", 8), kw.pop("alpha", False)
    rgb = photo(640, 480)
    if alpha:
        h = pillow_heif.from_pillow(Image.fromarray(sticker(), "RGBA"))
    elif bits > 8:
        h = pillow_heif.from_bytes(mode="RGB;16", size=(640, 480), data=(rgb.astype("<u2") * 257).tobytes())
    else:
        h = pillow_heif.from_pillow(Image.fromarray(rgb))
    ex = Image.Exif()
    ex.load(_phone_exif(6))
    h.info["exif"], h.info["icc_profile"] = bytes(ex.tobytes()), _icc("p3")
    buf = io.BytesIO()
    h.save(buf, quality=80, tile_size=256, thumbnails=[160], **kw)
    return buf.getvalue()


# -- movies ------------------------------------------------------------------------------------------------


def _colours(n: int) -> list[tuple[int, int, int]]:
    return [(40 + (7 * i) % 180, 90 + (13 * i) % 120, 150 - (5 * i) % 100) for i in range(n)]


def movie(n: int = 30, fps: int = 10, size: tuple[int, int] = (96, 64)) -> bytes:
    """OpenCV's MPEG-4 in MP4: moov after mdat, as a camera app writing while recording."""
    return movies.video(_colours(n), size=size, fps=fps)


def with_location(data: bytes) -> bytes:
    """moov/udta/©xyz (ISO 6709), what iPhones and Android cameras write (moov last: no offset moves)."""
    at, n = movies.find(data, [b"moov"])
    xyz = movies.box(b"\xa9xyz", struct.pack(">HH", 18, 0x15C7) + b"+51.5007-000.1246/")
    udta = movies.box(b"udta", xyz)
    return data[:at] + struct.pack(">I", n + len(udta)) + data[at + 4 : at + n] + udta + data[at + n :]


def with_phone_rotation(data: bytes, degrees: int) -> bytes:
    """The track matrix a phone writes for a clip held upright: a rotation with its translation (tx, ty)."""
    at, _ = movies.find(data, [b"moov", b"trak", b"tkhd"])
    m = at + 8 + 40
    w, h = (struct.unpack(">I", data[m + 36 + i : m + 40 + i])[0] for i in (0, 4))
    a, b, c, d, tx, ty = {
        90: (0, ONE, -ONE, 0, h, 0),
        180: (-ONE, 0, 0, -ONE, w, h),
        270: (0, -ONE, ONE, 0, 0, w),
    }[degrees]
    out = bytearray(data)
    out[m : m + 36] = struct.pack(">9i", a, b, 0, c, d, 0, tx, ty, 0x40000000)
    return bytes(out)


def with_durations(data: bytes, seconds: list[float]) -> bytes:
    """Each sample shown for its own time (stts), as screen recorders write (a frame when the screen
    changes); OpenCV's edit list, which spans the movie as first written, removed."""
    path = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"]
    at, _ = movies.find(data, path)
    assert struct.unpack(">I", data[at + 16 : at + 20])[0] == len(seconds)  # one duration per sample
    _, media_ts = movies.timescales(data)
    runs = b"".join(struct.pack(">II", 1, round(s * media_ts)) for s in seconds)
    data = movies._replace(data, path, movies.box(b"stts", struct.pack(">II", 0, len(seconds)) + runs))
    moov, _ = movies.find(data, [b"moov"])
    trak, _ = movies.find(data, [b"moov", b"trak"])
    edts, n = movies.find(data, [b"moov", b"trak", b"edts"])
    out = bytearray(data[:edts] + data[edts + n :])
    for at in (moov, trak):
        out[at : at + 4] = struct.pack(">I", struct.unpack(">I", out[at : at + 4])[0] - n)
    return bytes(out)


def screen_recording() -> bytes:
    """Moving content with the screen left still twice (3 s, then 2.5 s): one sample each."""
    seconds = [1 / 30] * 12 + [3.0] + [1 / 30] * 12 + [2.5] + [1 / 30] * 12
    return with_durations(movies.video(_colours(len(seconds)), fps=30), seconds)


def fragmented_movie(n: int = 30, fps: int = 10) -> bytes:
    """As browsers' MediaRecorder and live recorders write: an empty sample table, samples in moof/mdat."""
    from tests.hostile.test_fragment_dwell import fragmented

    return fragmented(movie(n, fps))


def _cases() -> list[tuple[str, Callable[[], bytes | None], bool, int | None, str]]:
    from tests.hostile.trust_corpus import mp4_moov_first

    p = photo
    out: list[tuple[str, Callable[[], bytes | None], bool, int | None, str]] = [
        ("jpeg_phone_srgb.jpg", lambda: jpeg_phone(icc="srgb"), True, 1, "EXIF GPS + MakerNote, sRGB"),
        ("jpeg_phone_p3.jpg", jpeg_phone, True, 1, "every recent phone: Display P3"),
        ("jpeg_camera_adobe_rgb.jpg", lambda: jpeg_phone(icc="adobe"), True, 1, "cameras in Adobe RGB"),
        ("jpeg_phone_thumbnail.jpg", jpeg_phone_thumbnail, True, 1, "EXIF IFD1 thumbnail"),
        ("jpeg_progressive.jpg", lambda: jpeg_phone(progressive=True), True, 1, "web exports"),
        ("jpeg_restart.jpg", lambda: jpeg_restart(False), False, 1, "restart markers (cameras)"),
        ("jpeg_progressive_restart.jpg", lambda: jpeg_restart(True), False, 1, ""),
        ("jpeg_gain_map.jpg", jpeg_gain_map, True, 2, "MPF second image: HDR gain map / depth"),
        ("jpeg_grey.jpg", lambda: _pil(p()[..., 1], "JPEG", quality=90, exif=_phone_exif()), True, 1, ""),
        ("jpeg_cmyk.jpg", lambda: jpeg_cmyk(False), False, 1, "Adobe CMYK, no profile"),
        ("jpeg_cmyk_profile.jpg", lambda: jpeg_cmyk(True), False, 1, "print export with its press profile"),
        (
            "png_screenshot.png",
            lambda: png_with(p(), [(b"sRGB", b"\0"), (b"pHYs", struct.pack(">IIB", 5669, 5669, 1))]),
            False,
            1,
            "",
        ),
        (
            "png_iccp_p3.png",
            lambda: _pil(p(), "PNG", icc_profile=_icc("p3")),
            False,
            1,
            "macOS/iOS screenshots",
        ),
        ("png_16bit.png", lambda: cv_encode(".png", p().astype(np.uint16) * 257), False, 1, ""),
        (
            "png_16bit_rgba.png",
            lambda: cv_encode(".png", np.dstack([p(), sticker(320)[:240, :, 3]]).astype(np.uint16) * 257),
            False,
            1,
            "",
        ),
        ("png_rgba_sticker.png", lambda: _pil(sticker(), "PNG"), False, 1, ""),
        ("png_palette_trns.png", png_palette_sticker, False, 1, "palette + tRNS stickers"),
        ("png_grey.png", lambda: _pil(p()[..., 0], "PNG"), False, 1, ""),
        ("png_interlaced.png", lambda: png_interlaced(p()), False, 1, "Adam7"),
        ("png_interlaced_rgba.png", lambda: png_interlaced(sticker()), False, 1, ""),
        ("png_exif_gps.png", lambda: png_with(p(), [(b"eXIf", _phone_exif()[6:])]), True, 1, "eXIf chunk"),
        ("apng_sticker.png", lambda: _animated("PNG"), False, 6, "animated sticker"),
        (
            "webp_lossy.webp",
            lambda: _pil(p(), "WEBP", quality=80, exif=_phone_exif(), icc_profile=_icc("p3")),
            True,
            1,
            "",
        ),
        ("webp_lossless.webp", lambda: _pil(p(), "WEBP", lossless=True), False, 1, ""),
        ("webp_alpha.webp", lambda: _pil(sticker(), "WEBP", quality=80), False, 1, ""),
        ("webp_alpha_lossless.webp", lambda: _pil(sticker(), "WEBP", lossless=True), False, 1, ""),
        (
            "webp_animated_sticker.webp",
            lambda: _animated("WEBP", quality=80),
            False,
            6,
            "WhatsApp/Telegram stickers",
        ),
        ("tiff_scan_lzw.tif", lambda: tiff(p(), compression="tiff_lzw", dpi=(300, 300)), False, 1, "scanner"),
        (
            "tiff_scan_adobe.tif",
            lambda: tiff(p(), compression="tiff_adobe_deflate", icc_profile=_icc("adobe")),
            False,
            1,
            "",
        ),
        ("tiff_scan_grey.tif", lambda: tiff(p(), "L", compression="packbits", dpi=(600, 600)), False, 1, ""),
        ("tiff_scan_bilevel.tif", lambda: tiff(p(), "1", compression="group4"), False, 1, "fax / document"),
        ("tiff_scan_pages.tif", lambda: tiff(p(), pages=2, compression="tiff_lzw"), False, 2, "multi-page"),
        ("tiff_jpeg.tif", lambda: tiff(p(), compression="jpeg"), False, 1, ""),
        (
            "tiff_48bit.tif",
            lambda: cv_encode(".tif", p().astype(np.uint16) * 257),
            False,
            1,
            "16 bits a sample",
        ),
        ("tiff_cmyk.tif", lambda: tiff(p(), "CMYK", compression="tiff_lzw"), False, 1, ""),
        ("tiff_cmyk_profile.tif", lambda: tiff(p(), "CMYK", icc_profile=cmyk_profile()), False, 1, "print"),
        ("heic_iphone.heic", heic, True, 1, "grid, thumbnail, Exif GPS, P3"),
        ("heic_iphone_10bit.heic", lambda: heic(bits=10), True, 1, "HDR"),
        ("heic_alpha.heic", lambda: heic(alpha=True), True, 1, ""),
        ("mp4_camera.mp4", movie, False, None, "moov last"),
        ("mp4_faststart.mp4", mp4_moov_first, False, None, "moov first"),
        ("mp4_location.mp4", lambda: with_location(movie()), True, None, "©xyz"),
        ("mp4_fragmented.mp4", fragmented_movie, False, None, "MediaRecorder / live"),
        ("mp4_screen_recording.mp4", screen_recording, False, None, "variable frame rate"),
        ("mp4_long_100s.mp4", lambda: movie(100, 1, (64, 48)), False, None, "over 72 s"),
        ("mp4_long_100s_fragmented.mp4", lambda: fragmented_movie(200, 2), False, None, ""),
    ]
    out += [(f"jpeg_orientation_{o}.jpg", lambda o=o: jpeg_phone(o), True, 1, "") for o in range(1, 9)]
    out += [
        (f"mp4_rotated_{d}.mp4", lambda d=d: with_location(with_phone_rotation(movie(), d)), True, None, "")
        for d in (90, 180, 270)
    ]
    return out


def generate(directory: Path) -> list[Case]:
    directory.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, build, gps, frames, why in _cases():
        data = build()
        if data is None:  # an optional encoder (pillow-heif) is missing
            continue
        path = directory / name
        path.write_bytes(data)
        cases.append(Case(name, path, gps, frames, why))
    return cases
