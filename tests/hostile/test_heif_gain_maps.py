"""HDR gain maps in HEIF: a picture an HDR display multiplies into the base, kept in the published copy.

Apple's (an ``auxl`` image, auxC ``urn:com:apple:photo:2020:aux:hdrgainmap``) and ISO 21496-1's (the second
input of a ``tmap`` item) are scanned as more views of their frame unless they are a tone curve of the base's
luminance, as phones write them (vision/gainmap.py). Files are written from scratch (``heif_build``) around
pictures coded by pillow-heif; the gain map's hidden picture is noise, compared by correlation with what the
scan was handed.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import heif_build as hb
from tests.hostile.test_heif_derived_images import _meta_after, _tone_mapped
from tests.hostile.views import Views
from tutela.errors import CorruptMediaError, LimitExceededError, UnsupportedMediaError, VerificationError
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file
from tutela.vision.limits import ScanLimits

np = pytest.importorskip("numpy")
pi_heif = pytest.importorskip("pi_heif")
pytest.importorskip("pillow_heif")
cv2 = pytest.importorskip("cv2")

APPLE = b"urn:com:apple:photo:2020:aux:hdrgainmap"


def _apple(base: hb.Coded, gain: hb.Coded) -> bytes:
    auxc = hb.full(b"auxC", 0, 0, APPLE + b"\0")
    return hb.heif([hb.image(1, base), hb.image(2, gain, auxc, hidden=True)], 1, [(b"auxl", 2, [1])])


@pytest.fixture(scope="module")
def noise() -> Any:
    return np.random.default_rng(21).integers(0, 255, (64, 96, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def photo() -> Any:
    """A natural picture (the astronaut), and a gain map as phones write one: a smooth curve of its luminance
    (bright parts gain most), at half size, blurred, coded as grey."""
    data = pytest.importorskip("skimage.data")
    astronaut = np.ascontiguousarray(data.astronaut()[..., :3])
    rgb = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(float) / 255
    gain = np.clip((y - 0.3) / 0.7, 0, 1) ** 1.5 * 255
    gain = cv2.GaussianBlur(cv2.resize(gain, (128, 128), interpolation=cv2.INTER_AREA), (0, 0), 1.5)
    grey = np.repeat(np.round(gain).astype(np.uint8)[..., None], 3, axis=2)
    return {"base": hb.hevc(rgb), "gain": hb.hevc(grey), "rgb": rgb}


def _like(views: list[Any], picture: Any) -> bool:
    """Whether a view the scan was handed is ``picture`` (its grey levels, by correlation, at its size)."""
    want = picture.astype(float).mean(axis=2)
    for v in views:
        grey = cv2.resize(v, want.shape[::-1], interpolation=cv2.INTER_AREA).astype(float).mean(axis=2)
        if grey.std() > 1 and abs(np.corrcoef(grey.ravel(), want.ravel())[0, 1]) > 0.5:
            return True
    return False


def _scan(data: bytes, tmp_path: Path, **kw: Any) -> tuple[Views, dict[str, Any]]:
    path = tmp_path / "photo.heic"
    path.write_bytes(data)
    seen = Views()
    report = scan_file(path, backend=seen, **kw).to_dict()  # type: ignore[arg-type]
    return seen, report


# no ISO AVIF: libavif reads the tone map's metadata, which _tone_mapped leaves zero, and refuses the file
@pytest.mark.parametrize(("kind", "fmt"), [("apple", "heic"), ("iso", "heic"), ("apple", "avif")])
def test_a_gain_map_holding_a_picture_is_scanned_and_published(
    kind: str, fmt: str, noise: Any, tmp_path: Path
) -> None:
    """A flat grey base, a gain map holding a picture: the scan is handed the picture (the gain map, and the
    HDR rendering), as views of the one frame; the scrubber publishes the file with it (scanned =
    published)."""
    code = hb.hevc if fmt == "heic" else hb.av1  # AVIF: OpenCV (libavif) decodes base and gain map
    base, gain = code(np.full((64, 96, 3), 100, np.uint8)), code(noise)
    data = _apple(base, gain) if kind == "apple" else _tone_mapped(base, gain, base_hidden=False)
    if fmt == "avif":
        data = data.replace(b"ftypheic\0\0\0\0heic", b"ftypavif\0\0\0\0avif", 1)
    seen, report = _scan(data, tmp_path)
    assert report["media_type"] == fmt.replace("heic", "heif")
    assert report["frames"] == 1 and len(seen.views) == 3  # the base, the gain map, the HDR rendering
    assert not _like(seen.views[:1], noise)
    assert _like(seen.views[1:2], noise) and _like(seen.views[2:], noise)
    assert any("HDR gain map" in n for n in report["notes"])
    out, scrubbed = scrub_bytes(data)
    assert scrubbed.verified and scrubbed.frames == 1 and gain.data in out


@pytest.mark.parametrize("kind", ["apple", "iso"])
def test_a_phone_like_gain_map_adds_no_scan(kind: str, photo: dict[str, Any], tmp_path: Path) -> None:
    """No cost for an ordinary HDR photo: its gain map is a tone curve of the base, no view is added (with
    Rekognition: no call), and it is published byte for byte."""
    data = (
        _apple(photo["base"], photo["gain"])
        if kind == "apple"
        else _tone_mapped(photo["base"], photo["gain"], base_hidden=False)
    )
    seen, report = _scan(data, tmp_path)
    assert len(seen.views) == 1 and report["frames"] == 1
    assert any("tone curve of the base" in n for n in report["notes"])
    out, scrubbed = scrub_bytes(data)
    assert out == data and scrubbed.verified


def test_a_gain_map_amplifying_a_picture_hidden_in_the_base_is_scanned(tmp_path: Path) -> None:
    """A base that looks flat (a silhouette two levels of grey above the rest: 100 or 102) and a gain map that
    is an exact function of it (0 or 255): it fits a curve of the base's luminance, but one rising 127 gain
    levels per level, not a tone curve (GAIN_SLOPE). Scanned."""
    camera = pytest.importorskip("skimage.data").camera()
    bits = (cv2.resize(camera, (96, 64), interpolation=cv2.INTER_AREA) > 110).astype(np.uint8)
    flat = np.repeat((100 + 2 * bits)[..., None], 3, axis=2).astype(np.uint8)
    step = np.repeat((bits * 255)[..., None], 3, axis=2).astype(np.uint8)
    base = hb.hevc(flat, quality=100)
    decoded = np.asarray(pi_heif.open_heif(hb.heif([hb.image(1, base)], 1))[0].to_pillow())
    assert decoded.std() < 1  # nothing to see in the base
    seen, _ = _scan(_apple(base, hb.hevc(step)), tmp_path)
    assert len(seen.views) == 3 and _like(seen.views[1:2], step) and _like(seen.views[2:], step)


def test_a_gain_map_larger_than_the_limits_is_refused_before_decoding(
    noise: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gain map declares 192 x 128 (over a 100 x 100 limit) past the first MiB, where the header walk for
    the pixel limit does not look: refused from its 'ispe' before libheif decodes anything of it."""
    base = hb.hevc(np.full((64, 96, 3), 100, np.uint8))
    big = hb.hevc(np.repeat(np.repeat(noise, 2, axis=0), 2, axis=1))
    data = _meta_after(_apple(base, big), hb.box(b"free", hb.ispe(16, 16) + b"\0" * (1 << 20)))
    assert pi_heif.open_heif(data)[0].get_aux_image(2).size == (192, 128)
    decoded: list[str] = []
    real_aux = pi_heif.HeifImage.get_aux_image
    spy = lambda s, i: decoded.append("aux") or real_aux(s, i)  # noqa: E731
    monkeypatch.setattr(pi_heif.HeifImage, "get_aux_image", spy)
    with pytest.raises(LimitExceededError, match="192x128"):
        _scan(data, tmp_path, limits=ScanLimits(max_pixels=100 * 100))
    assert decoded == []


def _corrupt(data: bytes, gain: hb.Coded) -> bytes:
    at = data.index(gain.data)
    junk = np.random.default_rng(4).integers(0, 255, len(gain.data), dtype=np.uint8).tobytes()
    return data[:at] + junk + data[at + len(gain.data) :]


@pytest.mark.parametrize("kind", ["apple", "iso"])
def test_a_corrupt_gain_map_is_a_clear_error(kind: str, noise: Any, tmp_path: Path) -> None:
    """The base decodes, the gain map does not: corrupt_media (held for review), not a traceback."""
    base, gain = hb.hevc(np.full((64, 96, 3), 100, np.uint8)), hb.hevc(noise)
    data = _apple(base, gain) if kind == "apple" else _tone_mapped(base, gain, base_hidden=False)
    bad = _corrupt(data, gain)
    assert np.asarray(pi_heif.open_heif(bad)[0].to_pillow()).std() < 2  # the base alone is fine
    with pytest.raises(CorruptMediaError, match="gain map could not be decoded"):
        _scan(bad, tmp_path)


@pytest.mark.integration
def test_a_corrupt_gain_map_is_a_stored_decision(noise: Any, tmp_path: Path) -> None:
    """Through the local stack (the real template and state machine): one decision, review, none published."""
    import json

    from tutela_dev.cli import main

    base, gain = hb.hevc(np.full((64, 96, 3), 100, np.uint8)), hb.hevc(noise)
    path = tmp_path / "hdr.heic"
    path.write_bytes(_corrupt(_apple(base, gain), gain))
    out = tmp_path / "out"
    assert main(["local", "run", str(path), "--out", str(out)]) == 0
    [line] = [json.loads(x) for x in (out / "decisions.jsonl").read_text().splitlines()]
    assert line["verdict"] == "review" and "corrupt_media" in line["reasons"]
    assert not (out / "published" / "media/local/hdr.heic").exists()


def _gain_map_of_a_tile(noise: Any, target: int) -> bytes:
    """A 2 x 1 grid (item 1) of hidden tiles 3 and 4, an Apple gain map (item 2) attached to ``target``."""
    tile = hb.hevc(np.full((64, 96, 3), 100, np.uint8))
    grid = hb.Item(1, b"grid", hb.grid_data(1, 2, 192, 64), [hb.ispe(192, 64)])
    auxc = hb.full(b"auxC", 0, 0, APPLE + b"\0")
    items = [grid, hb.image(2, hb.hevc(noise), auxc, hidden=True), hb.image(3, tile, hidden=True)]
    items.append(hb.image(4, tile, hidden=True))
    return hb.heif(items, 1, [(b"dimg", 1, [3, 4]), (b"auxl", 2, [target])])


def test_a_gain_map_of_a_tile_is_held_by_scan_and_scrubber(noise: Any, tmp_path: Path) -> None:
    """A gain map attached to a grid tile (kept with it, applied by no rule the scan knows): both sides hold
    it, and the verifier refuses an output that has one (the same bytes but the reference, as if written
    so)."""
    data = _gain_map_of_a_tile(noise, 3)
    with pytest.raises(UnsupportedMediaError, match="gain map"):
        scrub_bytes(data)
    with pytest.raises(UnsupportedMediaError, match="gain map"):
        _scan(data, tmp_path)
    from tutela.scrub import api as scrub_api
    from tutela.scrub.core import BytesReader

    good = _gain_map_of_a_tile(noise, 1)
    out, report = scrub_bytes(good)
    assert report.verified and len(out) == len(data)
    ref = struct.pack(">HH", 2, 1) + struct.pack(">H", 1)
    bad = out.replace(b"auxl" + ref, b"auxl" + struct.pack(">HHH", 2, 1, 3), 1)
    assert bad != out
    with pytest.raises(VerificationError, match="gain map"):
        scrub_api.verify_reader(BytesReader(bad), report)


def test_a_gain_map_of_the_second_image_of_a_collection_is_scanned(noise: Any, tmp_path: Path) -> None:
    """Two top-level images (a burst, a collection), the second with a gain map holding a picture: the two
    frames and the gain map's two views are scanned, and the views reach the frame hashes (frame_sink)."""
    grey = hb.hevc(np.full((64, 96, 3), 100, np.uint8))
    auxc = hb.full(b"auxC", 0, 0, APPLE + b"\0")
    items = [hb.image(1, grey), hb.image(2, grey), hb.image(3, hb.hevc(noise), auxc, hidden=True)]
    data = hb.heif(items, 1, [(b"auxl", 3, [2])])
    assert len(pi_heif.open_heif(data)) == 2
    hashed: list[Any] = []
    seen, report = _scan(data, tmp_path, frame_sink=hashed.append)
    assert report["frames"] == 2 and len(seen.views) == 4
    assert _like(seen.views[2:3], noise) and _like(hashed, noise)
    _out, scrubbed = scrub_bytes(data)
    assert scrubbed.verified and scrubbed.frames == 2


def test_a_gain_map_of_a_thumbnail_is_zeroed_not_held(noise: Any, tmp_path: Path) -> None:
    """A gain map attached to the thumbnail (which the scrubber zeroes, and every image attached to it): not
    a picture of the published copy, so nothing to judge and no reason to hold the photo."""
    grey = hb.hevc(np.full((64, 96, 3), 100, np.uint8))
    auxc = hb.full(b"auxC", 0, 0, APPLE + b"\0")
    gain = hb.hevc(noise)
    items = [hb.image(1, grey), hb.image(2, grey, hidden=True), hb.image(3, gain, auxc, hidden=True)]
    data = hb.heif(items, 1, [(b"thmb", 2, [1]), (b"auxl", 3, [2])])
    seen, report = _scan(data, tmp_path)
    assert report["frames"] == 1 and len(seen.views) == 1
    out, scrubbed = scrub_bytes(data)
    assert scrubbed.verified and gain.data not in out and "heif.thumbnail" in scrubbed.removed


def test_more_gain_maps_than_the_frame_limit_are_refused_before_decoding(
    noise: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each gain map costs a decode and a fit: a primary with more of them than an image may have frames
    (here 3 over a limit of 2) is refused from the structure, nothing decoded."""
    grey = hb.hevc(np.full((64, 96, 3), 100, np.uint8))
    auxc = hb.full(b"auxC", 0, 0, APPLE + b"\0")
    gains = [hb.image(i, hb.hevc(noise), auxc, hidden=True) for i in (2, 3, 4)]
    data = hb.heif([hb.image(1, grey), *gains], 1, [(b"auxl", i, [1]) for i in (2, 3, 4)])
    decoded: list[str] = []
    real_aux = pi_heif.HeifImage.get_aux_image
    spy = lambda s, i: decoded.append("aux") or real_aux(s, i)  # noqa: E731
    monkeypatch.setattr(pi_heif.HeifImage, "get_aux_image", spy)
    with pytest.raises(LimitExceededError, match="3 HDR gain maps"):
        _scan(data, tmp_path, limits=ScanLimits(max_image_frames=2))
    assert decoded == []
    seen, _ = _scan(data, tmp_path)  # within the limit: each is scanned (three gain maps, two views each)
    assert len(seen.views) == 7 and decoded == ["aux"] * 3


def test_a_jpeg_gain_map_holding_a_picture_is_scanned_as_its_own_frame(noise: Any, tmp_path: Path) -> None:
    """The JPEG form (Ultra HDR, Apple's MPF gain map) stays as it was: the MPF image is a listed frame,
    scanned on every photo (one more view whatever it holds), and published with the primary."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    gain = Image.fromarray(noise).convert("L").convert("RGB")
    Image.fromarray(np.full((64, 96, 3), 100, np.uint8)).save(
        buf, "MPO", save_all=True, append_images=[gain], quality=95
    )
    data = buf.getvalue()
    path = tmp_path / "hdr.jpg"
    path.write_bytes(data)
    seen = Views()
    report = scan_file(path, backend=seen).to_dict()  # type: ignore[arg-type]
    assert report["frames"] == 2 and len(seen.views) == 2 and _like(seen.views[1:], noise)
    _out, scrubbed = scrub_bytes(data)
    assert scrubbed.verified and scrubbed.frames == 2
