"""Lazy OpenCV/numpy import and image decoding shared by the backends and video sampling."""

from __future__ import annotations

import contextlib
import importlib
import io
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tutela.errors import CorruptMediaError, UnsupportedMediaError, VisionUnavailableError
from tutela.sniff import MediaType

_CV2: ModuleType | None = None


def cv2() -> ModuleType:
    global _CV2
    if _CV2 is None:
        try:
            import cv2 as mod
        except ImportError as exc:
            raise VisionUnavailableError(
                "OpenCV is not installed: the local vision backend and video scanning need "
                "opencv-python-headless 4.x (the vision layer)"
            ) from exc
        if not hasattr(mod, "CascadeClassifier"):
            raise VisionUnavailableError(f"OpenCV {mod.__version__} has no CascadeClassifier; use 4.x")
        with contextlib.suppress(AttributeError):  # libjpeg/ffmpeg warnings on hostile input
            mod.utils.logging.setLogLevel(mod.utils.logging.LOG_LEVEL_ERROR)
        _CV2 = mod
    return _CV2


FRAME_SIDE = 500  # long side of a decoded frame of a multi-frame image (the analysis works at 500 px)


def decode_multi(data: bytes, media: MediaType) -> list[Any]:
    """Every frame/page of an APNG, animated WebP or multi-page TIFF (or one PNG/WebP/TIFF/HEIF still that
    may have alpha), composed on its canvas, as BGR or BGRA (alpha kept: ``alpha_views``) frames of at most
    FRAME_SIDE px. The caller has checked frame count and total pixels."""
    if media.name in ("heif", "avif"):
        return decode_heif_frames(data)
    cv = cv2()
    import numpy as np

    if media.name == "webp":
        data = webp_alpha_declared(data)
    try:
        ok, mats = cv.imdecodemulti(np.frombuffer(data, dtype=np.uint8), cv.IMREAD_UNCHANGED)
    except cv.error as exc:
        raise CorruptMediaError(f"{media.name} frames could not be decoded") from exc
    if not ok or not mats:
        raise CorruptMediaError(f"{media.name} frames could not be decoded (truncated or malformed)")
    alpha = tiff_alpha_pages(data) if media.name == "tiff" else []
    key = png_grey_key(data) if media.name == "png" else None
    out = []
    for i, m in enumerate(mats):
        if m is None or m.size == 0:
            raise CorruptMediaError(f"{media.name} frame could not be decoded")
        if key is not None and (m.ndim == 2 or m.shape[2] == 1):
            # a grey PNG's tRNS key: libpng (browsers, Pillow) makes those pixels transparent, OpenCV does
            # not (it does for RGB and palette keys); the key alone can draw the picture
            grey = m.reshape(m.shape[:2])
            m = np.dstack(
                [grey, np.where(grey == key, 0, 255 if m.dtype == np.uint8 else 65535).astype(m.dtype)]
            )
        frame = _bgr_or_bgra(m)
        if i < len(alpha) and alpha[i]:
            if frame.ndim != 3 or frame.shape[2] != 4:
                # libtiff's RGBA reader and Pillow show the alpha; OpenCV gave the colour planes alone (a
                # grey + alpha page), which can be blank while the alpha draws the picture
                raise UnsupportedMediaError("TIFF page whose alpha the decoder drops is not supported")
            if alpha[i] == 2 and int(frame[..., 3].min()) < 255:
                frame = _tiff_unassociated(data, i, frame)
        out.append(fit(frame, FRAME_SIDE))
    return out


def _tiff_unassociated(data: bytes, page: int, frame: Any) -> Any:
    """``frame`` with the page's own colour planes: OpenCV (libtiff's RGBA reader) hands over an unassociated-
    alpha page premultiplied, so a picture under transparent pixels, which a decoder that drops alpha shows,
    is gone from its decode. Pillow reads the planes as stored; one it cannot read is held."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(page)
            planes = np.asarray(im) if im.mode in ("RGBA", "LA") else None
    except (OSError, ValueError, EOFError) as exc:
        raise UnsupportedMediaError("TIFF page with transparency could not be read as stored") from exc
    if planes is None or planes.shape[:2] != frame.shape[:2]:
        raise UnsupportedMediaError("TIFF page with transparency could not be read as stored")
    colour = planes[..., 2::-1] if planes.shape[2] == 4 else np.repeat(planes[..., :1], 3, axis=2)
    return np.dstack([colour, frame[..., 3]])


def webp_alpha_declared(data: bytes) -> bytes:
    """A copy of a WebP still for the scan's decode with its alpha declared wherever the file has one: libwebp
    (OpenCV, Pillow) decodes the alpha only when the header says so (a lossless bitstream's alpha_is_used
    bit, the VP8X alpha flag), but the alpha is there, in the VP8L pixels or an ALPH chunk, for any decoder
    that ignores the hint. Decoded with it, the scan takes the composites and the colour planes
    (``alpha_views``): both readings."""
    if data[12:16] == b"VP8L" and len(data) > 25 and not data[24] & 0x10:
        return data[:24] + bytes([data[24] | 0x10]) + data[25:]
    extended = data[12:16] == b"VP8X" and len(data) > 20 and not data[20] & 0x12  # a still, no alpha flag
    if extended and b"ALPH" in data[30:]:
        return data[:20] + bytes([data[20] | 0x10]) + data[21:]
    return data


def png_grey_key(data: bytes) -> int | None:
    """The transparent grey level of a greyscale PNG (colour type 0, ``tRNS``), as OpenCV decodes the samples:
    raw at 8 and 16 bits, expanded to 0..255 below 8. None for any other PNG. The layout walk has checked
    every chunk length already."""
    import struct

    if len(data) < 29 or data[25] != 0:
        return None
    depth = data[24]
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        if ctype in (b"IDAT", b"IEND"):
            return None
        if ctype == b"tRNS" and length >= 2 and pos + 10 <= len(data):
            (level,) = struct.unpack(">H", data[pos + 8 : pos + 10])
            if depth < 8:
                level = (level & ((1 << depth) - 1)) * 255 // ((1 << depth) - 1)
            return level
        pos += 12 + length
    return None


def tiff_alpha_pages(data: bytes) -> list[int]:
    """Per page of the main IFD chain, the alpha it declares: 0 none, 1 associated, 2 unassociated (the first
    ExtraSamples value; the old Matteing tag, which libtiff reads as associated). The layout walk has bounded
    the chain already; anything unreadable here counts as no declaration (OpenCV's decode decides then)."""
    import struct

    e = {b"II*\x00": "<", b"MM\x00*": ">"}.get(data[:4])
    if e is None:
        return []
    out: list[int] = []
    seen: set[int] = set()
    (rel,) = struct.unpack(e + "I", data[4:8])
    while rel and rel not in seen and rel + 2 <= len(data) and len(seen) < 1024:
        seen.add(rel)
        (n,) = struct.unpack(e + "H", data[rel : rel + 2])
        if rel + 2 + 12 * n + 4 > len(data):
            break
        alpha = 0
        for i in range(n):
            tag, typ, count = struct.unpack(e + "HHI", data[rel + 2 + 12 * i : rel + 10 + 12 * i])
            value = data[rel + 10 + 12 * i : rel + 14 + 12 * i]
            if tag == 338 and typ == 3 and count >= 1:  # ExtraSamples: the first extra sample is the alpha
                if count > 2:
                    (off,) = struct.unpack(e + "I", value)
                    value = data[off : off + 2]
                extra = struct.unpack(e + "H", value[:2])[0] if len(value) >= 2 else 0
                alpha = alpha or (extra if extra in (1, 2) else 0)
            elif tag == 32995 and typ == 3 and count >= 1:  # Matteing (pre-TIFF 6 alpha)
                alpha = alpha or (1 if struct.unpack(e + "H", value[:2])[0] else 0)
        out.append(alpha)
        (rel,) = struct.unpack(e + "I", data[rel + 2 + 12 * n : rel + 6 + 12 * n])
    return out


def _bgr_or_bgra(m: Any) -> Any:
    """An IMREAD_UNCHANGED decode as 8-bit BGR, or BGRA when it has an alpha channel."""
    cv = cv2()
    import numpy as np

    if m.dtype == np.uint16:
        m = (m >> 8).astype(np.uint8)
    elif m.dtype != np.uint8:
        # Signed or floating-point samples (TIFF): viewers disagree on how to show them (0..1, 0..255,
        # auto-levels, signed read as unsigned), so no one rendering is the picture shown; clipping one
        # (what this did) scanned a signed page without its bright half, a 0..255 float page as white.
        raise UnsupportedMediaError(f"{m.dtype} image samples are not supported")
    if m.ndim == 2 or m.shape[2] == 1:
        return cv.cvtColor(m.reshape(m.shape[:2]), cv.COLOR_GRAY2BGR)
    if m.shape[2] == 2:  # grey + alpha
        return np.dstack([m[..., 0], m[..., 0], m[..., 0], m[..., 1]])
    return np.ascontiguousarray(m[..., :4]) if m.shape[2] >= 4 else m


def alpha_views(img: Any) -> list[Any]:
    """What a viewer can show of a frame: itself (BGR), or - when it has an alpha channel that is not fully
    opaque - its composites over black and over white (a page's background, dark or light mode), and its
    colour planes when they are another picture. A decoder that drops alpha shows the colour planes alone,
    which may be blank while the alpha draws the picture, or a picture the alpha hides entirely."""
    import numpy as np

    if img.ndim != 3 or img.shape[2] != 4:
        return [img]
    alpha = img[..., 3:4]
    if int(alpha.min()) == 255:
        return [np.ascontiguousarray(img[..., :3])]
    a = alpha.astype(np.uint16)
    rgb = img[..., :3].astype(np.uint16)
    over_black = ((rgb * a + 127) // 255).astype(np.uint8)
    over_white = ((rgb * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)
    views = [over_black, over_white]
    colour = np.ascontiguousarray(img[..., :3])
    if _hidden_under_alpha(colour, img[..., 3]):
        # The colour planes are another picture (something under transparent pixels): what a decoder that
        # drops alpha shows (Pillow's convert("RGB"), OpenCV's IMREAD_COLOR, a re-encode to JPEG).
        views.append(colour)
    return views


HIDDEN_ALPHA = 96  # at most ~38% opaque: what the composites show of it is faint (contrast scaled by alpha)
_EDGE = 3  # px: the anti-aliased rim of a cut-out keeps its colour under a low alpha


def _hidden_under_alpha(colour: Any, alpha: Any) -> bool:
    """Whether the colour planes hold a picture where the frame is (nearly) transparent: they vary by more
    than DISPLAY_TOLERANCE inside that region, away from its rim. A cut-out's transparent background is one
    colour (black, white, or the fill the tool left), its soft rim is the shape's own colour (seen in the
    composites): neither is another picture, and neither adds a scan (one more Rekognition call)."""
    cv = cv2()
    import numpy as np

    faint = (alpha <= HIDDEN_ALPHA).astype(np.uint8)
    if not faint.any():
        return False
    inner = cv.erode(faint, np.ones((2 * _EDGE + 1, 2 * _EDGE + 1), np.uint8), borderValue=1)
    if not inner.any():
        return False
    for c in range(3):
        lo, hi, _, _ = cv.minMaxLoc(colour[..., c], inner)
        if hi - lo > DISPLAY_TOLERANCE:
            return True
    return False


# A colour-managed viewer (browsers, phone galleries) shows the pixels through the image's ICC profile.
# Within this many levels of the raw pixels (every pixel of the frame), or of a standard wide-gamut space's
# rendering of them (_managed), it is the same picture; beyond, the viewer's picture is scanned too. (A PNG's
# usual gAMA 45455, a pure 2.2 power, is 9 levels off sRGB's curve in the shadows; the hostile shapes tested
# move colours by 100+.)
DISPLAY_TOLERANCE = 12
# Where each format carries a profile (TIFF tag 34675 and HEIF colr boxes: checked by opening the file).
_PROFILE_MARKS = {"jpeg": b"ICC_PROFILE\x00", "webp": b"ICCP"}  # PNG: its chunks are walked


@dataclass(frozen=True)
class DisplayTransform:
    """The embedded profile to sRGB, as littlecms builds it: ``mode`` is the profile's input ("RGB"/"L", or
    "CMYK": then applied to the still's own ink planes, ``source``, which a BGR decode has already mixed)."""

    transform: Any
    mode: str
    source: bytes | None = None


# CMYK profiles: print exports (JPEG, TIFF) of one picture, whose ink planes Pillow reads as CMYK
_CMYK_MEDIA = frozenset({"jpeg", "tiff"})


def display_transform(data: bytes, media: MediaType) -> DisplayTransform | None:
    """How a colour-managed viewer maps this still's pixels: its ICC profile to sRGB, or None when it has no
    profile or one littlecms cannot read (viewers drop those too). Whether that shows another picture is
    judged per frame (``colour_views``). A CMYK profile on a one-picture CMYK JPEG/TIFF (print exports) is
    applied to its ink planes; any other profile a BGR decode cannot reproduce (Lab, CMYK elsewhere, ...)
    is refused: the raw decode is not what a viewer shows."""
    mark = _PROFILE_MARKS.get(media.name)
    if mark is not None and mark not in data:
        return None
    icc = _icc_bytes(data, media)
    if not icc:
        return None
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = str(src.profile.xcolor_space).strip()
        mode = {"RGB": "RGB", "GRAY": "L"}.get(space)
        if space == "CMYK" and media.name in _CMYK_MEDIA and _one_cmyk_picture(data):
            return DisplayTransform(
                ImageCms.buildTransform(src, ImageCms.createProfile("sRGB"), "CMYK", "RGB"), "CMYK", data
            )
        if mode is None:
            kind = space or "unknown"
            raise UnsupportedMediaError(f"{media.name} with a {kind} colour profile is not supported")
        transform = ImageCms.buildTransform(src, ImageCms.createProfile("sRGB"), mode, "RGB")
    except ImageCms.PyCMSError:
        return None
    return DisplayTransform(transform, mode)


def _one_cmyk_picture(data: bytes) -> bool:
    """Whether Pillow reads the still as one CMYK picture (not several pages or images, no extra planes)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # size limits were enforced before any decoder ran
            with Image.open(io.BytesIO(data)) as im:
                return im.mode == "CMYK" and getattr(im, "n_frames", 1) == 1
    except Exception:  # a header Pillow cannot read: not a picture we can show through the profile
        return False


def _cmyk_view(shown: DisplayTransform, like: Any) -> Any:
    """The still's ink planes through its CMYK profile (as a colour-managed viewer shows them), as BGR at
    ``like``'s size (the raw decode's: EXIF orientation applied, as OpenCV applies it)."""
    import warnings

    import numpy as np
    from PIL import Image, ImageCms, ImageOps

    cv = cv2()
    h, w = like.shape[:2]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(shown.source or b"")) as im:
                im.draft("CMYK", (w, h))  # JPEG: a reduced DCT decode, never smaller than asked
                pil = ImageOps.exif_transpose(im.convert("CMYK"))
                rgb = np.asarray(ImageCms.applyTransform(pil, shown.transform))
    except (OSError, ValueError, ImageCms.PyCMSError) as exc:
        raise CorruptMediaError("image could not be decoded through its CMYK profile") from exc
    if (rgb.shape[1] > rgb.shape[0]) != (w > h) and rgb.shape[0] != rgb.shape[1] and w != h:
        # the two decoders disagree on the orientation: which one a viewer shows is not known here
        raise UnsupportedMediaError("image whose CMYK profile view and decode differ in orientation")
    return cv.resize(cv.cvtColor(rgb, cv.COLOR_RGB2BGR), (w, h), interpolation=cv.INTER_AREA)


def colour_views(img: Any, shown: DisplayTransform | None) -> list[Any]:
    """A BGR view, and what a colour-managed viewer shows of it when that is another picture."""
    managed = _managed(img, shown) if shown is not None else None
    return [img] if managed is None else [img, managed]


def _managed(img: Any, shown: DisplayTransform) -> Any | None:
    """``img`` (BGR) through the profile, or None when that is the same picture: no pixel moves more than
    DISPLAY_TOLERANCE, or the view matches, within it, this image as one of the standard wide-gamut spaces
    shows it (Display P3 from every recent phone, Adobe RGB from cameras: a colourimetric re-encoding of the
    raw pixels, more saturated, never another picture). Judged on this image's own pixels, not on probe
    colours: a profile's lookup table can hold nodes between any probe grid."""
    cv = cv2()
    out = _cmyk_view(shown, img) if shown.mode == "CMYK" else _apply(img, shown.transform, shown.mode)
    if int(cv.absdiff(out, img).max()) <= DISPLAY_TOLERANCE:
        return None
    if shown.mode == "RGB":
        for ref in _standard_transforms():
            if int(cv.absdiff(out, _apply(img, ref, "RGB")).max()) <= DISPLAY_TOLERANCE:
                return None
    return out


def _apply(img: Any, transform: Any, mode: str) -> Any:
    import numpy as np
    from PIL import Image, ImageCms

    cv = cv2()
    if mode == "L":
        pil = Image.fromarray(cv.cvtColor(img, cv.COLOR_BGR2GRAY), "L")
    else:
        pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1]), "RGB")
    return cv.cvtColor(np.asarray(ImageCms.applyTransform(pil, transform)), cv.COLOR_RGB2BGR)


# Display P3 (DCI-P3 primaries, D65) and Adobe RGB (1998) (its primaries, D65, gamma 563/256).
_P3_CHRM = (31270, 32900, 68000, 32000, 26500, 69000, 15000, 6000)
_ADOBE_CHRM = (31270, 32900, 64000, 33000, 21000, 71000, 15000, 6000)
_STANDARD: list[Any] = []


def _standard_transforms() -> list[Any]:
    """littlecms transforms from the standard wide-gamut spaces to sRGB, built once per process."""
    if not _STANDARD:
        import numpy as np
        from PIL import ImageCms

        v = np.arange(1024) / 1023.0
        srgb_curve = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
        srgb = ImageCms.createProfile("sRGB")
        # Display P3 with sRGB's curve (Apple's) and with a 2.2 power (other writers' "P3 D65"): the two
        # renderings are up to ~20 levels apart in the shadows, past the tolerance.
        for chrm, curve in ((_P3_CHRM, srgb_curve), (_P3_CHRM, v**2.2), (_ADOBE_CHRM, v ** (563 / 256))):
            icc = _matrix_profile(chrm, curve)
            assert icc is not None  # fixed, valid chromaticities
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            _STANDARD.append(ImageCms.buildTransform(src, srgb, "RGB", "RGB"))
    return _STANDARD


def _icc_bytes(data: bytes, media: MediaType) -> bytes | None:
    """The embedded profile as a viewer assembles it (JPEG APP2 chunks joined in sequence, PNG iCCP
    inflated, WebP ICCP, TIFF tag 34675, HEIF colr): from a header read, no pixels decoded."""
    import warnings

    if media.name == "png":
        return _png_icc(data)
    try:
        if media.name in ("heif", "avif"):
            icc = _heif_module().open_heif(data, convert_hdr_to_8bit=True).info.get("icc_profile")
        else:
            from PIL import Image

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # size limits were enforced before any decoder ran
                with Image.open(io.BytesIO(data)) as im:
                    icc = im.info.get("icc_profile")
    except ImportError as exc:
        raise VisionUnavailableError("Pillow is needed to read colour profiles (the vision layer)") from exc
    except Exception:  # a header Pillow cannot read: OpenCV decides whether the image decodes
        return None
    return bytes(icc) if icc else None


def _png_icc(data: bytes) -> bytes | None:
    """The profile a colour-managed viewer applies to a PNG, from the chunks before the image data (the layout
    has checked them): the first ``iCCP`` as libpng takes it, inflated with the layout's 8 MiB cap (Pillow
    stops at 1 MiB, a viewer does not); else nothing for ``sRGB``; else ``gAMA``/``cHRM`` as a matrix/TRC
    profile (browsers apply them: a large file gamma shows a dark encoding bright)."""
    from tutela.scrub.layout import MAX_ICC_BYTES, inflate_capped

    pos, gamma, chrm = 8, 0, b""
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        ctype, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if ctype in (b"IDAT", b"IEND"):
            break
        if ctype == b"iCCP":
            _name, sep, rest = body.partition(b"\x00")
            return inflate_capped(rest[1:], MAX_ICC_BYTES, "PNG iCCP profile") if sep and rest else None
        if ctype == b"sRGB":
            return None
        if ctype == b"gAMA" and length == 4 and not gamma:
            gamma = int.from_bytes(body, "big")
        elif ctype == b"cHRM" and length == 32 and not chrm:
            chrm = body
        pos += 12 + length
    if not 16 <= gamma <= 625_000_000:  # libpng's range; outside it the chunk is ignored
        gamma = 45455 if chrm else 0
    return _gamma_profile(gamma / 100_000, chrm) if gamma else None


_SRGB_CHRM = (31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)  # white, red, green, blue x/y * 1e5
_BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))
_D50 = (0.9642, 1.0, 0.8249)


def _gamma_profile(file_gamma: float, chrm: bytes) -> bytes | None:
    """A v2 matrix/TRC display profile for a PNG's file gamma (linear = v ** (1 / gamma)) and chromaticities
    (sRGB's without ``cHRM``)."""
    import struct

    import numpy as np

    c = struct.unpack(">8I", chrm) if chrm else _SRGB_CHRM
    return _matrix_profile(c, (np.arange(256) / 255.0) ** (1 / file_gamma))


def _matrix_profile(chrm: tuple[int, ...], curve: Any) -> bytes | None:
    """A v2 matrix/TRC RGB profile: white, red, green, blue x/y (* 1e5) and one tone curve (linear values at
    evenly spaced codes), the primaries adapted to D50 with Bradford as ICC requires."""
    import struct

    import numpy as np

    c = [v / 100_000 for v in chrm]
    try:
        with np.errstate(all="raise"):
            xyz = [np.array([x / y, 1.0, (1 - x - y) / y]) for x, y in zip(c[0::2], c[1::2], strict=True)]
            white, prims = xyz[0], np.column_stack(xyz[1:])
            m = prims * np.linalg.solve(prims, white)
            brad = np.array(_BRADFORD)
            adapt = np.linalg.inv(brad) @ np.diag((brad @ np.array(_D50)) / (brad @ white)) @ brad
            cols = adapt @ m
    except (FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError):
        return None  # degenerate chromaticities: libpng rejects them
    if not np.isfinite(cols).all() or np.abs(cols).max() >= 32767:
        return None

    def xyz_tag(v: Any) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(float(f) * 65536)) for f in v)

    trc = b"curv\0\0\0\0" + struct.pack(">I", len(curve)) + np.round(curve * 65535).astype(">u2").tobytes()
    tags = [(b"wtpt", xyz_tag(_D50)), (b"rXYZ", xyz_tag(cols[:, 0])), (b"gXYZ", xyz_tag(cols[:, 1])),
            (b"bXYZ", xyz_tag(cols[:, 2])), (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc)]  # fmt: skip
    off = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, tag in tags:
        table += sig + struct.pack(">II", off + len(body), len(tag))
        body += tag + b"\0" * (-len(tag) % 4)
    header = (
        struct.pack(">I", off + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + b"\0" * 12 + b"acsp" + b"\0" * 28 + xyz_tag(_D50)[8:] + b"\0" * 48
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + body


def reduction_for(width: int, height: int, target: int) -> int:
    """The largest JPEG DCT scaling (1, 2, 4, 8) keeping the long side >= target."""
    long_side = max(width, height)
    for factor in (8, 4, 2):
        if long_side // factor >= target:
            return factor
    return 1


def decode_image(data: bytes, media: MediaType, width: int, height: int, target: int) -> Any:
    """Decode to a BGR uint8 array whose long side is about ``target`` (never upscaled).

    JPEG is decoded at 1/2, 1/4 or 1/8 scale directly in the DCT domain (libjpeg-turbo), which is
    several times cheaper than a full decode. Other formats are decoded fully, then resized.
    """
    cv = cv2()
    import numpy as np

    buf = np.frombuffer(data, dtype=np.uint8)
    if media.name == "heif":
        img = _decode_heif(data)
    else:
        flag = cv.IMREAD_COLOR
        if media.name == "jpeg":
            flag = {
                1: cv.IMREAD_COLOR,
                2: cv.IMREAD_REDUCED_COLOR_2,
                4: cv.IMREAD_REDUCED_COLOR_4,
                8: cv.IMREAD_REDUCED_COLOR_8,
            }[reduction_for(width, height, target)]
        try:
            img = cv.imdecode(buf, flag)
        except cv.error as exc:
            raise CorruptMediaError(f"{media.name} image could not be decoded") from exc
    if img is None or img.size == 0:
        raise CorruptMediaError(f"{media.name} image could not be decoded (truncated or malformed)")
    if img.ndim == 2:
        img = cv.cvtColor(img, cv.COLOR_GRAY2BGR)
    if media.name == "avif":
        img = avif_as_shown(data, img)
    return fit(img, target)


def avif_as_shown(data: bytes, img: Any) -> Any:
    """An AVIF primary image as browsers and libheif show it: its rotation ('irot') and mirror ('imir')
    applied, in the order its properties list them. OpenCV (libavif) hands over the stored pixels, so a
    picture stored sideways or upside down was scanned that way (a clean aperture it ignores shows more,
    not less, than a viewer that applies it)."""
    from tutela.scrub.isobmff import heif_primary, heif_transforms

    cv = cv2()
    found = _heif_meta(data)
    if found is None:
        return img
    ctx, meta, _off, hdr = found
    primary = heif_primary(ctx, meta, hdr)
    for kind, value in heif_transforms(ctx, meta, hdr, primary) if primary is not None else []:
        if kind == b"irot" and value:  # anticlockwise quarter turns
            img = cv.rotate(
                img, (None, cv.ROTATE_90_COUNTERCLOCKWISE, cv.ROTATE_180, cv.ROTATE_90_CLOCKWISE)[value]
            )
        elif kind == b"imir":  # axis 0: top and bottom exchanged, 1: left and right (23008-12:2022, libheif)
            img = cv.flip(img, 0 if value == 0 else 1)
    return img


def fit(img: Any, target: int) -> Any:
    """Downscale so the long side is at most ``target`` (INTER_AREA)."""
    cv = cv2()
    h, w = img.shape[:2]
    if max(h, w) <= target:
        return img
    s = target / max(h, w)
    return cv.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv.INTER_AREA)


def _heif_module() -> Any:
    """pi-heif (decode-only, 4 MB: what the vision layer ships) or pillow-heif (same API, with encoders)."""
    for name in ("pi_heif", "pillow_heif"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise UnsupportedMediaError(
        "HEIF/HEIC scanning needs pi-heif or pillow-heif, which this environment lacks"
    )


def _heif_meta(data: bytes) -> tuple[Any, bytes, int, int] | None:
    """(walk context, meta box bytes, its offset, its header length) of a HEIF/AVIF, or None without one."""
    from tutela.scrub.core import BytesReader, Ctx, ScrubLimits
    from tutela.scrub.isobmff import top_level

    ctx = Ctx(BytesReader(data), ScrubLimits(), "heif")
    for btype, off, hdr, end in top_level(ctx):
        if btype == b"meta":
            return ctx, data[off:end], off, hdr
    return None


def heif_images(data: bytes) -> tuple[list[tuple[int, int]], bool]:
    """(width, height) of every top-level image of a HEIF/AVIF file (an iPhone burst, a collection), and
    whether any has an alpha plane: from the container, in one read, before any decoding. A grid or overlay
    whose data declares another size than its 'ispe' (which the limits were checked on) is refused here:
    libheif allocates the declared size and compares only after decoding every tile into it."""
    from tutela.scrub.isobmff import heif_declared_sizes

    found = _heif_meta(data)
    if found is not None:
        heif_declared_sizes(*found)
    heif_lib = _heif_module()
    try:
        images = list(heif_lib.open_heif(data, convert_hdr_to_8bit=True))
        return [(int(im.size[0]), int(im.size[1])) for im in images], any(bool(im.has_alpha) for im in images)
    except Exception as exc:  # the HEIF libraries raise plain ValueError/RuntimeError on bad input
        raise CorruptMediaError("heif image could not be read") from exc


def decode_heif_frames(data: bytes) -> list[Any]:
    """Every top-level image of a HEIF/AVIF file as BGR frames of at most FRAME_SIDE px."""
    import numpy as np

    heif_lib = _heif_module()
    out = []
    try:
        for im in heif_lib.open_heif(data, convert_hdr_to_8bit=True):
            pil = im.to_pillow()
            if pil.mode in ("RGBA", "LA", "PA") or "transparency" in pil.info:
                arr = np.asarray(pil.convert("RGBA"))  # alpha kept: alpha_views
                out.append(fit(cv2().cvtColor(arr, cv2().COLOR_RGBA2BGRA), FRAME_SIDE))
            else:
                arr = np.asarray(pil.convert("RGB"))
                out.append(fit(cv2().cvtColor(arr, cv2().COLOR_RGB2BGR), FRAME_SIDE))
    except Exception as exc:
        raise CorruptMediaError("heif image could not be decoded") from exc
    return out


def _decode_heif(data: bytes) -> Any:
    import numpy as np

    heif_lib = _heif_module()
    try:
        heif = heif_lib.open_heif(data, convert_hdr_to_8bit=True)
        arr = np.asarray(heif.to_pillow().convert("RGB"))
    except Exception as exc:  # the HEIF libraries raise plain ValueError/RuntimeError on bad input
        raise CorruptMediaError("heif image could not be decoded") from exc
    return cv2().cvtColor(arr, cv2().COLOR_RGB2BGR)


def encode_jpeg(img: Any, max_bytes: int, max_side: int = 4096) -> bytes:
    """Re-encode as JPEG under ``max_bytes`` (downscaling/lowering quality as needed)."""
    cv = cv2()
    img = fit(img, max_side)
    for quality in (90, 80, 70, 60):
        ok, enc = cv.imencode(".jpg", img, [cv.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(enc) <= max_bytes:
            return bytes(enc.tobytes())
    h, w = img.shape[:2]
    return encode_jpeg(fit(img, max(w, h) // 2), max_bytes, max_side)
