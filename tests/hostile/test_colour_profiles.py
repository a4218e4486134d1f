"""Published = scanned, in colour: an embedded ICC profile is part of the picture a viewer shows.

Browsers and phone galleries colour-manage: they map the raw pixels through the image's ICC profile. The
hostile shape: raw pixels that are a negative (or a channel swap) of the picture, plus a profile that maps
them back. The scrubber keeps the profile (display needs it), so the published copy shows the picture; a
scanner that decodes the raw pixels (OpenCV ignores profiles) scans the negative and finds no face and no
skin. The oracle for "what a viewer shows" is littlecms (Pillow's ImageCms), one colour-managing engine."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.icc import (
    cmyk_profile,
    negative_profile,
    rgb_profile,
    srgb_like_profile,
    srgb_to_linear,
    swapped_profile,
)
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")
ImageCms = pytest.importorskip("PIL.ImageCms")

FORMATS = [("JPEG", ".jpg", {"quality": 95}), ("PNG", ".png", {}), ("WEBP", ".webp", {"quality": 95}),
           ("TIFF", ".tif", {})]  # fmt: skip


@pytest.fixture(scope="module")
def astronaut_rgb() -> Any:
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.astronaut()[..., :3])


def _encode(rgb: Any, fmt: str, profile: bytes | None, **kw: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, fmt, **({"icc_profile": profile} if profile else {}), **kw)
    return buf.getvalue()


def _as_displayed(data: bytes) -> Any:
    """What a colour-managed viewer shows: the decoded pixels through the embedded profile to sRGB."""
    im = Image.open(io.BytesIO(data)).convert("RGB")
    src = ImageCms.ImageCmsProfile(io.BytesIO(Image.open(io.BytesIO(data)).info["icc_profile"]))
    return np.asarray(ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB"))


def _body_scene(face_rgb: Any) -> Any:
    """The astronaut's face over a synthetic 'body' block in her own skin colour (no imagery of bodies)."""
    face = face_rgb[20:240, 120:340]
    canvas = np.full((660, 440, 3), 90, np.uint8)
    canvas[:220, 110:330] = face
    canvas[230:, 37:403] = face_rgb[100:130, 230:260].reshape(-1, 3).mean(axis=0).astype(np.uint8)
    return canvas


@pytest.mark.parametrize(("fmt", "suffix", "kw"), FORMATS)
def test_a_face_drawn_by_the_colour_profile_is_found(
    astronaut_rgb: Any, tmp_path: Path, fmt: str, suffix: str, kw: dict[str, Any]
) -> None:
    data = _encode(255 - astronaut_rgb, fmt, negative_profile(), **kw)
    published, report = scrub_bytes(data)
    assert report.verified and Image.open(io.BytesIO(published)).info.get("icc_profile")  # published with it
    shown = _as_displayed(published)
    assert np.abs(shown.astype(int) - astronaut_rgb).mean() < 4  # a viewer shows the portrait
    p = tmp_path / f"negative{suffix}"
    p.write_bytes(data)
    scan = scan_file(p, backend="local").to_dict()
    assert scan["frames"] == 1
    assert scan["Faces"], "the face a colour-managed viewer shows was not scanned"
    if fmt != "TIFF":  # a still scanned from its bytes keeps its full size (TIFF is decoded as pages)
        assert (scan["image"]["width"], scan["image"]["height"]) == (512, 512)


@pytest.mark.parametrize(("fmt", "suffix", "kw"), FORMATS)
def test_a_big_profile_is_applied_too(
    astronaut_rgb: Any, tmp_path: Path, fmt: str, suffix: str, kw: dict[str, Any]
) -> None:
    """4 MiB: over Pillow's 1 MiB cap for a PNG iCCP (a viewer applies it; the layout's cap is 8 MiB)."""
    data = _encode(255 - astronaut_rgb, fmt, negative_profile(pad=4 << 20), **kw)
    p = tmp_path / f"negative_big{suffix}"
    p.write_bytes(data)
    assert scan_file(p, backend="local").to_dict()["Faces"], "the face a colour-managed viewer shows"


def test_skin_shown_through_a_channel_swapping_profile_is_scanned(astronaut_rgb: Any, tmp_path: Path) -> None:
    scene = _body_scene(astronaut_rgb)
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(_encode(scene, "JPEG", None, quality=95))
    want = {lb["Name"] for lb in scan_file(plain, backend="local").to_dict()["ModerationLabels"]}
    assert "Swimwear or Underwear" in want  # the fixture does show exposed skin
    data = _encode(np.ascontiguousarray(scene[..., ::-1]), "JPEG", swapped_profile(), quality=95)
    assert np.abs(_as_displayed(data).astype(int) - scene).mean() < 4
    p = tmp_path / "swapped.jpg"
    p.write_bytes(data)
    got = {lb["Name"] for lb in scan_file(p, backend="local").to_dict()["ModerationLabels"]}
    assert want <= got, "skin a colour-managed viewer shows was not scanned"


def test_a_multi_frame_image_is_scanned_as_displayed_too(astronaut_rgb: Any, tmp_path: Path) -> None:
    frames = [Image.fromarray(255 - astronaut_rgb), Image.fromarray(np.full_like(astronaut_rgb, 128))]
    buf = io.BytesIO()
    profile = negative_profile()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100, icc_profile=profile)
    p = tmp_path / "negative_apng.png"
    p.write_bytes(buf.getvalue())
    scan = scan_file(p, backend="local").to_dict()
    assert scan["frames"] == 2 and scan["Faces"]


def _views(data: bytes) -> int:
    """How many pictures the scan takes of this still: 1 (raw) or 2 (raw and as a viewer shows it)."""
    from tutela.sniff import sniff
    from tutela.vision import _cv

    media = sniff(data[:64])
    assert media is not None
    img = _cv.fit(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), _cv.FRAME_SIDE)
    return len(_cv.colour_views(img, _cv.display_transform(data, media)))


def test_a_profile_that_shows_the_raw_pixels_adds_no_view(astronaut_rgb: Any) -> None:
    """An sRGB(-like) profile, what cameras embed, shows the raw pixels: scanned once, as before."""
    for profile in (srgb_like_profile(), ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()):
        assert _views(_encode(astronaut_rgb, "JPEG", profile, quality=95)) == 1
    assert _views(_encode(255 - astronaut_rgb, "JPEG", negative_profile(), quality=95)) == 2


# The D50-adapted colorants their published profiles carry (Apple's Display P3; Adobe RGB (1998)).
P3_D50 = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
ADOBE_D50 = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))


@pytest.mark.parametrize("space", ["display-p3", "display-p3-gamma-2.2", "adobe-rgb"])
def test_a_wide_gamut_photo_is_scanned_once(space: str) -> None:
    """Every recent phone tags its photos Display P3, cameras Adobe RGB: a viewer shows them more saturated
    than the raw pixels (up to ~120 levels on saturated colours), the same picture. A second scan of each
    would double the vision calls for most uploads."""
    data_mod = pytest.importorskip("skimage.data")
    if space == "adobe-rgb":
        profile = rgb_profile([(i / 255) ** (563 / 256) for i in range(256)], ADOBE_D50)
    else:
        curve = [srgb_to_linear(i / 255) if space == "display-p3" else (i / 255) ** 2.2 for i in range(256)]
        profile = rgb_profile(curve, P3_D50)
    for name in ("astronaut", "coffee", "chelsea", "rocket", "retina", "colorwheel"):
        rgb = np.ascontiguousarray(getattr(data_mod, name)()[..., :3])
        assert _views(_encode(rgb, "JPEG", profile, quality=92)) == 1, name


def _png_with_chunks(rgb: Any, chunks: list[tuple[bytes, bytes]]) -> bytes:
    import struct
    import zlib

    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "PNG")
    png = buf.getvalue()
    extra = b"".join(
        struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks
    )
    return png[:33] + extra + png[33:]  # after IHDR


def _labels(p: Path) -> set[str]:
    return {lb["Name"] for lb in scan_file(p, backend="local").to_dict()["ModerationLabels"]}


def test_skin_shown_bright_by_a_png_gamma_is_scanned(astronaut_rgb: Any, tmp_path: Path) -> None:
    """``gAMA`` 1.818 (browsers apply it without iCCP/sRGB): shown ~ raw ** 0.25, so the raw pixels are the
    picture ** 4, dark enough that the skin statistic misses what the viewer shows bright."""
    import struct

    scene = _body_scene(astronaut_rgb)
    plain = tmp_path / "plain.png"
    plain.write_bytes(_png_with_chunks(scene, []))
    want = _labels(plain)
    assert "Swimwear or Underwear" in want
    dark = np.round((scene / 255.0) ** 4 * 255).astype(np.uint8)
    p = tmp_path / "gamma.png"
    p.write_bytes(_png_with_chunks(dark, [(b"gAMA", struct.pack(">I", 181818))]))
    assert want <= _labels(p), "skin a viewer shows through the PNG's gamma was not scanned"


def test_skin_shown_through_swapped_png_chromaticities_is_scanned(astronaut_rgb: Any, tmp_path: Path) -> None:
    import struct

    scene = _body_scene(astronaut_rgb)
    srgb = (31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
    swapped = srgb[:2] + srgb[6:8] + srgb[4:6] + srgb[2:4]  # red and blue primaries exchanged
    p = tmp_path / "chrm.png"
    chunks = [(b"gAMA", struct.pack(">I", 45455)), (b"cHRM", struct.pack(">8I", *swapped))]
    p.write_bytes(_png_with_chunks(np.ascontiguousarray(scene[..., ::-1]), chunks))
    assert "Swimwear or Underwear" in _labels(p), "skin a viewer shows through cHRM was not scanned"


def test_the_usual_png_gamma_adds_no_view(astronaut_rgb: Any) -> None:
    import struct

    data = _png_with_chunks(astronaut_rgb, [(b"gAMA", struct.pack(">I", 45455))])  # what many encoders write
    assert _views(data) == 1


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("TIFF", ".tif")])
def test_a_face_drawn_by_a_cmyk_profile_is_found(
    astronaut_rgb: Any, tmp_path: Path, fmt: str, suffix: str
) -> None:
    """Ink planes that decode (naively, as OpenCV does) as a negative, shown as the portrait by their CMYK
    profile. Such a still was held (``unsupported_media``): print exports with their press profile were
    held with it. The profile is now applied to the ink planes and that picture scanned too."""
    ink = Image.fromarray(255 - astronaut_rgb, "RGB").convert("CMYK")
    buf = io.BytesIO()
    ink.save(buf, fmt, icc_profile=cmyk_profile(negative=True), **({"quality": 95} if fmt == "JPEG" else {}))
    data = buf.getvalue()
    published, report = scrub_bytes(data)
    assert report.verified and Image.open(io.BytesIO(published)).info.get("icc_profile")
    src = ImageCms.ImageCmsProfile(io.BytesIO(cmyk_profile(negative=True)))
    shown = ImageCms.applyTransform(
        Image.open(io.BytesIO(published)),
        ImageCms.buildTransform(src, ImageCms.createProfile("sRGB"), "CMYK", "RGB"),
    )
    assert np.abs(np.asarray(shown).astype(int) - astronaut_rgb).mean() < 8  # a viewer shows the portrait
    p = tmp_path / f"cmyk_negative{suffix}"
    p.write_bytes(data)
    scan = scan_file(p, backend="local").to_dict()
    assert scan["frames"] == 1
    assert scan["Faces"], "the face a colour-managed viewer shows was not scanned"
