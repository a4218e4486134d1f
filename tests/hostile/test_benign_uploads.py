"""The other side of trust: ordinary uploads, written the way phones, cameras and common tools write them,
must be published (scrubbed, verified, every frame scanned as a viewer shows it), not held by a rule made
for hostile files. Each test names the rule it keeps and the hostile test that motivated it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

from tests.hostile.benign_corpus import with_durations
from tests.hostile.exiftool_oracle import location_tags
from tests.hostile.icc import cmyk_profile
from tests.hostile.media_corpus import _gps_exif
from tests.hostile.views import Views
from tests.unit.vision import movies
from tests.unit.vision.movies import GREY, RED, Seen
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

cv2 = pytest.importorskip("cv2")
BLUE = (255, 0, 0)


def skimage_data() -> Any:
    return pytest.importorskip("skimage.data")


def test_a_screen_recording_with_still_stretches_is_published_and_scanned(tmp_path: Path) -> None:
    """Screen recorders (iOS, Android, OBS, browsers) write a frame only when the screen changes: a screen
    left still for seconds is one sample lasting seconds among 1/30 s ones. The dwell rule
    (test_fragment_dwell, test_movie_coverage) held every such recording; the movie is now sampled by
    time, and each still stretch (red for 3 s, blue for 2.5 s, between moving grey) is scanned."""
    colours = [GREY] * 12 + [RED] + [GREY] * 12 + [BLUE] + [GREY] * 12
    seconds = [1 / 30] * 12 + [3.0] + [1 / 30] * 12 + [2.5] + [1 / 30] * 12
    data = with_durations(movies.video(colours, fps=30), seconds)
    published, report = scrub_bytes(data)
    assert report.verified and published == data
    p = tmp_path / "screen.mp4"
    p.write_bytes(published)
    seen = Seen()
    scan_file(p, backend=seen)
    assert seen.saw_red()
    assert any(b > 200 and r < 40 for b, _g, r in seen.colours)  # the blue stretch


def _ycck(rgb: Any) -> bytes:
    """A YCCK JPEG (Adobe transform 2, what Photoshop writes for CMYK): the colour planes as Y, Cb, Cr and
    K, encoded as four planes, then the APP14 transform byte set (byte surgery). Checked by decoding: Pillow
    (libjpeg, Adobe's inverted ink) reads it back as the photo."""
    f = rgb.astype(np.float32)
    k = (255 - f).min(axis=2)  # full black generation
    r, g, b = (f[..., i] + k for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    planes = np.dstack([y, cb, cr, k]).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(planes, "CMYK").save(buf, "JPEG", quality=92, icc_profile=cmyk_profile())
    out = bytearray(buf.getvalue())
    at = out.index(b"\x00\x0eAdobe")  # APP14's length, then Adobe, version, flags0, flags1, transform
    out[at + 13] = 2
    return bytes(out)


@pytest.mark.parametrize("kind", ["jpeg_cmyk", "jpeg_ycck", "tiff_cmyk"])
def test_a_print_export_with_its_cmyk_profile_is_published_and_scanned(tmp_path: Path, kind: str) -> None:
    """Print exports (InDesign, Photoshop, Affinity) are CMYK with the press profile embedded. Every one was
    held (``unsupported_media``: test_colour_profiles' CMYK rule); the profile is now applied to the ink
    planes. The picture shown is the photo (within the stand-in profile's grid error), scanned at full
    size, published as it was uploaded (GPS removed)."""
    rgb = np.asarray(Image.fromarray(skimage_data().astronaut()[..., :3]).resize((256, 256)))
    if kind == "jpeg_ycck":
        data = _ycck(rgb)
    else:
        buf = io.BytesIO()
        fmt = "JPEG" if kind == "jpeg_cmyk" else "TIFF"
        extra = {"quality": 92, "exif": _gps_exif()} if fmt == "JPEG" else {"compression": "tiff_lzw"}
        Image.fromarray(rgb).convert("CMYK").save(buf, fmt, icc_profile=cmyk_profile(), **extra)
        data = buf.getvalue()
    published, report = scrub_bytes(data)
    assert report.verified and report.frames == 1
    assert report.location_found == (kind == "jpeg_cmyk")
    p = tmp_path / f"print.{kind}"
    p.write_bytes(published)
    assert not location_tags([p])
    seen = Views()
    scan = scan_file(p, backend=seen).to_dict()
    assert scan["frames"] == 1
    src = ImageCms.ImageCmsProfile(io.BytesIO(cmyk_profile()))
    with Image.open(p) as im:
        shown = ImageCms.applyTransform(
            im.convert("CMYK"), ImageCms.buildTransform(src, ImageCms.createProfile("sRGB"), "CMYK", "RGB")
        )
    want = np.asarray(shown)[..., ::-1].astype(int)  # BGR, as scanned
    assert np.abs(want - rgb[..., ::-1]).mean() < 12  # what a viewer shows: the photo (a negative: ~110)
    assert any(v.shape == want.shape and np.abs(v.astype(int) - want).mean() < 3 for v in seen.views)


# -- the corpus: every class of ordinary upload ---------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every benign file, its scrub (or error) and the exiftool location tags of every published copy."""
    from tests.hostile.benign_corpus import generate
    from tutela.errors import TutelaError
    from tutela.scrub import scrub_file

    base = tmp_path_factory.mktemp("benign")
    cases = {c.name: c for c in generate(base / "in")}
    (base / "out").mkdir()
    scrubs: dict[str, Any] = {}
    for name, case in cases.items():
        try:
            scrubs[name] = scrub_file(case.path, base / "out" / name).to_dict()
        except TutelaError as exc:
            scrubs[name] = exc
    tags = location_tags(base / "out" / n for n, s in scrubs.items() if isinstance(s, dict))
    return {"cases": cases, "scrubs": scrubs, "tags": tags, "out": base / "out"}


def _names() -> list[str]:
    from tests.hostile.benign_corpus import _cases

    return [c[0] for c in _cases()]


@pytest.mark.parametrize("name", _names())
def test_an_ordinary_upload_is_published(corpus: dict[str, Any], name: str) -> None:
    """Scrubbed and verified (its location found and removed: exiftool reads none in the copy), scanned
    with the real local backend over the same frames, and allowed by the media policy: nothing holds it."""
    from tutela.policy.media import decide_media

    case = corpus["cases"].get(name)
    if case is None:
        pytest.skip("encoder not installed (pillow-heif)")
    scrub = corpus["scrubs"][name]
    assert isinstance(scrub, dict), f"held by the scrub: {scrub!r}"
    assert scrub["verified"] and scrub["location_found"] == case.gps
    assert name not in corpus["tags"], corpus["tags"].get(name)
    scan = scan_file(case.path).to_dict()  # the pipeline scans the upload, publishes the scrubbed copy
    if case.frames is not None:
        assert scan["frames"] == scrub["frames"] == case.frames
    decision = decide_media(scan, scrub)
    assert decision["verdict"] == "allow", decision["reasons"]


def _marked(w: int, h: int) -> Any:
    """Grey with a red block in the top-left corner: where it lands says how the picture was turned."""
    img = np.full((h, w, 3), 128, np.uint8)
    img[: h // 4, : w // 4] = (0, 0, 255)
    return img


def _corner(img: Any) -> str:
    h, w = img.shape[:2]
    spots = {"TL": img[: h // 8, : w // 8], "TR": img[: h // 8, -w // 8 :], "BL": img[-h // 8 :, : w // 8]}
    spots["BR"] = img[-h // 8 :, -w // 8 :]
    return next(k for k, v in spots.items() if v[..., 2].mean() > 200 and v[..., 0].mean() < 60)


@pytest.mark.parametrize(("degrees", "corner"), [(90, "TR"), (180, "BR"), (270, "BL")])
def test_a_phone_clip_held_upright_is_scanned_as_played(tmp_path: Path, degrees: int, corner: str) -> None:
    """Phones record sideways and write the turn as the track matrix (with its translation): the matrix rule
    (test_track_matrix) keeps pure rotations, and every sampled frame is scanned turned as players show it."""
    from tests.hostile.benign_corpus import with_phone_rotation

    frames = [_marked(96, 64)] * 5
    data = with_phone_rotation(_movie_of(frames, tmp_path), degrees)
    published, report = scrub_bytes(data)
    assert report.verified and published == data
    p = tmp_path / "clip.mp4"
    p.write_bytes(published)
    seen = Views()
    scan_file(p, backend=seen)
    assert seen.views and all(v.shape[:2] == ((96, 64) if degrees != 180 else (64, 96)) for v in seen.views)
    assert {_corner(v) for v in seen.views} == {corner}


def _movie_of(frames: list[Any], tmp_path: Path) -> bytes:
    p = tmp_path / "w.mp4"
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return p.read_bytes()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_phone_photo_is_scanned_upright(tmp_path: Path, orientation: int) -> None:
    """EXIF orientation 1-8 (kept by the scrub): scanned as viewers show it (Pillow's exif_transpose)."""
    from PIL import ImageOps

    from tests.hostile.benign_corpus import _phone_exif

    buf = io.BytesIO()
    Image.fromarray(_marked(96, 64)[..., ::-1]).save(buf, "JPEG", quality=95, exif=_phone_exif(orientation))
    published, report = scrub_bytes(buf.getvalue())
    assert report.verified and report.location_found
    p = tmp_path / "photo.jpg"
    p.write_bytes(published)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(p)))[..., ::-1]
    seen = Views()
    scan_file(p, backend=seen)
    assert [(v.shape, _corner(v)) for v in seen.views] == [(shown.shape, _corner(shown))]
