"""Published = scanned for stills whose pixels a viewer may read in more than one way: alpha and sample types.

Three hostile shapes the transparency views (``_cv.alpha_views``: over black and over white) and the TIFF
page decode did not cover:

- **a picture under full transparency.** The colour planes hold the picture, the alpha is 0 everywhere: a
  page composes it to nothing, but every decoder that drops alpha (Pillow's ``convert("RGB")``, OpenCV's
  IMREAD_COLOR, a thumbnailer or re-encoder to JPEG) shows the picture itself. Both composites are blank, so
  the scan found nothing; it now scans the colour planes too when they are another picture.
- **a grey + alpha TIFF** (SamplesPerPixel 2, ExtraSamples alpha). libtiff's RGBA reader and Pillow show the
  alpha; OpenCV decodes the grey plane alone, so a picture drawn by the alpha (the shape of
  ``tests/unit/vision/test_alpha.py``) was scanned as a flat grey page. Held now.
- **TIFF samples that are not unsigned integers** (signed, floating point). OpenCV hands them over as they
  are and the scanner clipped them to 0..255: a signed-8-bit page lost every pixel above 127, a float page
  in 0..255 became white. Viewers disagree on how to show these (0..1, 0..255, auto-levels, signed read as
  unsigned), so no single rendering is "what the viewer shows": held.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tutela.errors import TutelaError, UnsupportedMediaError
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def astronaut_rgb() -> Any:
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.astronaut()[..., :3])


def _encode_rgba(rgba: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    kw = {"lossless": True, "exact": True} if fmt == "WEBP" else {}
    Image.fromarray(rgba, "RGBA").save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif")])
@pytest.mark.parametrize("alpha", [0, 1])
def test_a_picture_under_full_transparency_is_scanned(
    astronaut_rgb: Any, tmp_path: Path, fmt: str, suffix: str, alpha: int
) -> None:
    h, w = astronaut_rgb.shape[:2]
    data = _encode_rgba(np.dstack([astronaut_rgb, np.full((h, w), alpha, np.uint8)]), fmt)
    published, report = scrub_bytes(data)
    assert report.verified
    shown = np.asarray(Image.open(io.BytesIO(published)).convert("RGB"))  # an alpha-blind decoder
    assert np.abs(shown.astype(int) - astronaut_rgb).max() <= 1, "the published copy shows the portrait"
    p = tmp_path / f"transparent{suffix}"
    p.write_bytes(data)
    scan = scan_file(p, backend="local").to_dict()
    assert scan["frames"] == 1
    assert scan["Faces"], "the face an alpha-blind decoder shows was not scanned"


@pytest.mark.parametrize("extra", [1, 2])  # associated, unassociated alpha
def test_a_grey_alpha_tiff_is_not_scanned_without_its_alpha(
    astronaut_rgb: Any, tmp_path: Path, extra: int
) -> None:
    tifffile = pytest.importorskip("tifffile")
    grey = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY)
    buf = io.BytesIO()  # grey plane black, the alpha draws the portrait (over white: the portrait)
    tifffile.imwrite(buf, np.dstack([np.zeros_like(grey), 255 - grey]), photometric="minisblack",
                     extrasamples=[extra])  # fmt: skip
    data = buf.getvalue()
    if extra == 2:  # Pillow (libtiff's reading) shows the alpha
        im = Image.open(io.BytesIO(data))
        assert im.mode == "LA" and np.asarray(im)[..., 1].min() < 255
    p = tmp_path / "grey_alpha.tif"
    p.write_bytes(data)
    try:
        scan = scan_file(p, backend="local").to_dict()
    except TutelaError:
        return  # held: acceptable
    assert scan["Faces"], "the face drawn by the alpha channel was not scanned"


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: a.view(np.int8), id="int8"),
        pytest.param(lambda a: a.astype(np.int16) << 7, id="int16"),
        pytest.param(lambda a: a.astype(np.float32), id="float32_0_255"),
        pytest.param(lambda a: a.astype(np.float64) / 255, id="float64_0_1"),
    ],
)
def test_tiff_samples_that_are_not_unsigned_are_held(
    astronaut_rgb: Any, tmp_path: Path, convert: Any
) -> None:
    tifffile = pytest.importorskip("tifffile")
    buf = io.BytesIO()
    tifffile.imwrite(buf, convert(astronaut_rgb), photometric="rgb")
    p = tmp_path / "samples.tif"
    p.write_bytes(buf.getvalue())
    with pytest.raises(UnsupportedMediaError):
        scan_file(p, backend="local")


def test_an_ordinary_transparent_png_is_not_scanned_a_third_time(astronaut_rgb: Any) -> None:
    """A cut-out whose colour planes are black where it is transparent (premultiplied, as most encoders
    write it) shows nothing more to an alpha-blind decoder than over black: two views, as before."""
    from tutela.vision import _cv

    h, w = astronaut_rgb.shape[:2]
    alpha = np.zeros((h, w), np.uint8)
    alpha[100:400, 100:400] = 255
    bgr = np.where(alpha[..., None] == 255, astronaut_rgb[..., ::-1], 0).astype(np.uint8)
    assert len(_cv.alpha_views(np.dstack([bgr, alpha]))) == 2
    bgr[0:50, 0:50] = 200  # colour under transparency: an alpha-blind decoder shows it
    assert len(_cv.alpha_views(np.dstack([bgr, alpha]))) == 3


@pytest.mark.parametrize("under", [(0, 0, 0), (255, 255, 255), (90, 120, 200)])
def test_a_soft_edged_cut_out_is_not_scanned_a_third_time(under: tuple[int, int, int]) -> None:
    """Stickers and logos: an anti-aliased shape (its rim keeps the shape's colour under a low alpha) over a
    transparent background of one colour, whatever colour the tool left there. The colour planes show the
    same shape on a plain ground: no third view (with Rekognition, no third call per sticker)."""
    from PIL import ImageDraw

    from tutela.vision import _cv

    big = Image.new("RGBA", (1600, 1200), (*under, 0))
    ImageDraw.Draw(big).ellipse((200, 200, 1300, 1000), fill=(200, 120, 90, 255))
    rgba = np.asarray(big.resize((400, 300), Image.Resampling.LANCZOS))
    soft = (rgba[..., 3] > 0) & (rgba[..., 3] < 255)
    assert soft.sum() > 500  # a real anti-aliased rim
    assert len(_cv.alpha_views(np.ascontiguousarray(rgba[..., [2, 1, 0, 3]]))) == 2


def _png(ihdr: bytes, rows: list[bytes], before_idat: bytes) -> bytes:
    import struct
    import zlib

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    idat = zlib.compress(b"".join(b"\x00" + r for r in rows))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + before_idat + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("depth", [8, 16])
def test_a_grey_png_drawn_by_its_transparent_key_is_scanned(
    astronaut_rgb: Any, tmp_path: Path, depth: int
) -> None:
    """Greyscale with a tRNS key: every pixel equal to the key is transparent. The picture is drawn by the key
    alone (key 0 where the portrait is bright, 1 elsewhere: the raw page is black); a browser on a light page
    shows the portrait. OpenCV decodes a grey PNG without its key (an RGB or palette key it applies)."""
    import struct

    mask = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY) > 110
    h, w = mask.shape
    plane = np.where(mask, 0, 1).astype(">u2" if depth == 16 else np.uint8)
    rows = [plane[y].tobytes() for y in range(h)]
    trns = (
        struct.pack(">I", 2) + b"tRNS\x00\x00" + struct.pack(">I", __import__("zlib").crc32(b"tRNS\x00\x00"))
    )
    data = _png(struct.pack(">IIBBBBB", w, h, depth, 0, 0, 0, 0), rows, trns)
    shown = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))  # libpng applies the key
    assert (shown[..., 3] == 0).sum() == mask.sum()  # on a light page: the portrait, in black and white
    p = tmp_path / "grey_key.png"
    p.write_bytes(data)
    assert scan_file(p, backend="local").to_dict()["Faces"], "the face the transparent key draws"


@pytest.mark.parametrize("shape", ["lossless_alpha_bit_off", "vp8x_alpha_flag_off"])
def test_a_webp_alpha_its_header_does_not_declare_is_scanned(
    astronaut_rgb: Any, tmp_path: Path, shape: str
) -> None:
    """The alpha is in the file (a lossless bitstream's pixels, an ALPH chunk) but the header's hint says
    there is none (VP8L alpha_is_used, the VP8X alpha flag). libwebp then decodes without it; a decoder that
    takes the alpha where it is (it is in the published bytes) shows the portrait it draws."""
    grey = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY)
    rgba = np.zeros((*grey.shape, 4), np.uint8)
    rgba[..., 3] = 255 - grey
    buf = io.BytesIO()
    lossless = shape.startswith("lossless")
    Image.fromarray(rgba, "RGBA").save(buf, "WEBP", lossless=lossless, exact=True, quality=95)
    data = bytearray(buf.getvalue())
    if lossless:
        assert data[12:16] == b"VP8L" and data[24] & 0x10
        data[24] &= ~0x10
    else:
        assert data[12:16] == b"VP8X" and data[20] & 0x10 and b"ALPH" in data
        data[20] &= ~0x10
    published, report = scrub_bytes(bytes(data))
    assert report.verified and (b"ALPH" in published if not lossless else published[24] == data[24])
    p = tmp_path / f"{shape}.webp"
    p.write_bytes(bytes(data))
    assert scan_file(p, backend="local").to_dict()["Faces"], "the face the undeclared alpha draws"
