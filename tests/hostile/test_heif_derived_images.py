"""HEIF/AVIF derived images and transformative properties: what a viewer can show vs what the scan decoded.

The scan decodes each top-level image as libheif renders it (grids and overlays composed, 'clap' applied;
AVIF through OpenCV's libavif, which applies no property). Every file here is written from scratch
(``heif_build``) around pictures coded by pillow-heif (HEVC) or OpenCV (AV1):

- a grid whose declared output is far larger than its 'ispe' (the size the limits were checked on):
  libheif allocated the declared size and compared it with 'ispe' only after decoding every tile into it;
- a grid tile wholly outside the grid's output, overlay inputs off the canvas or under another input, a
  clean aperture cropping all but a corner: pictures kept in the published bytes (hidden items, or the part
  outside the crop) that the composition the scan saw never shows - any reader that ignores the hidden flag
  or 'clap' does;
- an AVIF stored sideways with 'irot': browsers and libheif show it upright, OpenCV handed the scan the
  stored pixels, a face on its side that no detector finds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hostile import heif_build as hb
from tests.hostile.views import Views
from tutela.errors import CorruptMediaError, LimitExceededError, UnsupportedMediaError
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

np = pytest.importorskip("numpy")
pi_heif = pytest.importorskip("pi_heif")
pytest.importorskip("pillow_heif")
cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def pictures() -> dict[str, Any]:
    rng = np.random.default_rng(15)
    return {
        "hidden": hb.hevc(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)),  # the picture nobody scanned
        "grey": hb.hevc(np.full((64, 96, 3), 100, np.uint8)),
    }


def _shown(data: bytes) -> Any:
    return np.asarray(pi_heif.open_heif(data)[0].to_pillow())


def _extracted(coded: hb.Coded) -> Any:
    """A coded item as a reader that extracts it, or ignores its hidden flag, shows it."""
    return _shown(hb.heif([hb.image(1, coded)], 1))


def _grid_with_a_cropped_tile(p: dict[str, Any]) -> bytes:
    """One row of two 96 x 64 tiles, output 96 x 64: the second (the hidden picture) is never composed."""
    grid = hb.Item(1, b"grid", hb.grid_data(1, 2, 96, 64), [hb.ispe(96, 64)])
    tiles = [hb.image(2, p["grey"], hidden=True), hb.image(3, p["hidden"], hidden=True)]
    return hb.heif([grid, *tiles], 1, [(b"dimg", 1, [2, 3])])


def _overlay(p: dict[str, Any], hidden_at: tuple[int, int]) -> bytes:
    """A 96 x 64 canvas: the hidden picture first (at ``hidden_at``), the grey picture over it at (0, 0)."""
    ov = hb.Item(1, b"iovl", hb.overlay_data(96, 64, [hidden_at, (0, 0)]), [hb.ispe(96, 64)])
    inputs = [hb.image(2, p["hidden"], hidden=True), hb.image(3, p["grey"], hidden=True)]
    return hb.heif([ov, *inputs], 1, [(b"dimg", 1, [2, 3])])


def _cropped(p: dict[str, Any], identity: bool, iden_size: tuple[int, int] = (96, 64)) -> bytes:
    """The hidden picture shown through a 16 x 16 clean aperture in its top-left corner (on the coded item
    itself, or on an 'iden' item derived from it)."""
    crop = hb.clap(16, 16, -40, -24)
    if not identity:
        return hb.heif([hb.image(1, p["hidden"], crop)], 1)
    iden = hb.Item(1, b"iden", b"", [hb.ispe(*iden_size), crop])  # libheif crops its input's pixels
    return hb.heif([iden, hb.image(2, p["hidden"], hidden=True)], 1, [(b"dimg", 1, [2])])


HIDING = {
    "grid tile outside the output": lambda p: _grid_with_a_cropped_tile(p),
    "overlay input off the canvas": lambda p: _overlay(p, (-5000, -5000)),
    "overlay input under another": lambda p: _overlay(p, (0, 0)),
    "clean aperture on the image": lambda p: _cropped(p, False),
    "clean aperture on an identity item": lambda p: _cropped(p, True),
    "clean aperture on an identity item sized as the crop": lambda p: _cropped(p, True, (16, 16)),
}


@pytest.mark.parametrize("shape", list(HIDING))
def test_a_picture_the_composition_never_shows_is_not_published(shape: str, pictures: dict[str, Any]) -> None:
    data = HIDING[shape](pictures)
    hidden = pictures["hidden"]
    assert hidden.data in data and _extracted(hidden).std() > 40  # a picture, whole in the file
    shown = _shown(data)
    if shape.startswith("clean"):
        assert shown.shape[:2] == (16, 16)  # the scan's view: a corner of the 96 x 64 picture
    else:
        assert shown.std() < 2  # the scan's view: the grey picture alone
    with pytest.raises(UnsupportedMediaError, match="not supported"):
        scrub_bytes(data)


@pytest.mark.parametrize("fmt", ["heic", "avif"])
@pytest.mark.parametrize("aux", ["urn:com:apple:photo:2020:aux:hdrgainmap", "urn:mpeg:hevc:2015:auxid:2"])
def test_a_primary_item_that_is_an_auxiliary_image_is_held(fmt: str, aux: str) -> None:
    """pitm names item 1, an auxiliary image (gain map, depth) of item 2: libavif (Chrome; OpenCV, the
    AVIF scan) shows item 1, libheif (the HEIF scan, pillow-heif, GIMP) lists item 2 alone. Either way
    one of the two pictures was never scanned and both were published."""
    rng = np.random.default_rng(5)
    pix = [np.full((64, 96, 3), 100, np.uint8), rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)]
    code = hb.hevc if fmt == "heic" else hb.av1
    auxc = hb.full(b"auxC", 0, 0, aux.encode() + b"\0")
    items = [hb.image(1, code(pix[0]), auxc), hb.image(2, code(pix[1]))]
    brands = (b"heic", b"mif1") if fmt == "heic" else (b"avif", b"mif1")
    data = hb.heif(items, 1, [(b"auxl", 1, [2])], brands=brands)
    assert len(pi_heif.open_heif(data)) == 1  # libheif lists item 2, the one image not auxiliary
    if fmt == "heic":
        assert _shown(data).std() > 40  # the picture, not pitm's flat grey
    else:
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).std() < 2  # libavif: item 1
    with pytest.raises(UnsupportedMediaError, match="primary item"):
        scrub_bytes(data)


def test_an_encoders_own_clean_aperture_and_grid_are_published_unchanged() -> None:
    """No false hold: libheif crops an odd-sized picture's padding pixel with 'clap'; pillow-heif's grids
    crop their last tiles (every tile partly shown). Published byte for byte."""
    import io

    import pillow_heif
    from PIL import Image

    rng = np.random.default_rng(3)
    for size, kw in (((95, 63), {}), ((300, 200), {"tile_size": 128})):
        pix = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        buf = io.BytesIO()
        pillow_heif.from_pillow(Image.fromarray(pix)).save(buf, quality=80, **kw)
        data = buf.getvalue()
        out, report = scrub_bytes(data)
        assert out == data and report.verified and report.frames == 1


def test_a_grid_declaring_more_than_its_ispe_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 x 8 tiles of 1024 px (a 67 MP canvas) behind an 'ispe' of 64 x 64: libheif allocated the canvas and
    decoded all 64 tiles into it before comparing sizes (measured: 22 tiles a side, 868 MB peak RSS and 15 s
    for a 168 KB file). 31 tiles a side is libheif's reference limit: ~1 GP."""
    tile = hb.hevc(np.full((1024, 1024, 3), 90, np.uint8), quality=10)
    n = 8
    grid = hb.Item(1, b"grid", hb.grid_data(n, n, 1024 * n, 1024 * n), [hb.ispe(64, 64)])
    tiles = [hb.image(2 + i, tile, hidden=True) for i in range(n * n)]
    path = tmp_path / "grid.heic"
    path.write_bytes(hb.heif([grid, *tiles], 1, [(b"dimg", 1, [2 + i for i in range(n * n)])]))
    decoded: list[int] = []
    real = pi_heif.HeifImage.to_pillow
    monkeypatch.setattr(pi_heif.HeifImage, "to_pillow", lambda self: decoded.append(1) or real(self))
    with pytest.raises(CorruptMediaError, match="another size than its ispe"):
        scan_file(path)
    assert decoded == []


@pytest.mark.parametrize("depth", [64, 900])
def test_a_deep_chain_of_derived_images_is_refused_before_libheif_walks_it(
    depth: int, pictures: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'iden' items each derived from the next: libheif took 2 s to open a 900-deep chain (57 KB), and the
    scan opened it three times (7.2 s measured)."""
    chain = [hb.Item(i, b"iden", b"", [hb.ispe(96, 64)], hidden=i > 1) for i in range(1, depth + 1)]
    refs = [(b"dimg", i, [i + 1]) for i in range(1, depth + 1)]
    path = tmp_path / "chain.heic"
    path.write_bytes(hb.heif([*chain, hb.image(depth + 1, pictures["grey"], hidden=True)], 1, refs))
    opened: list[int] = []
    real = pi_heif.open_heif
    monkeypatch.setattr(pi_heif, "open_heif", lambda *a, **k: opened.append(1) or real(*a, **k))
    with pytest.raises(LimitExceededError, match="nested"):
        scan_file(path)
    assert opened == []


@pytest.fixture(scope="module")
def astronaut_rgb() -> Any:
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.astronaut()[..., :3])


@pytest.mark.parametrize(
    ("stored", "props"),
    [
        (lambda a: np.rot90(a, -1), [hb.irot(1)]),  # stored turned clockwise, shown turned back
        (lambda a: a[::-1], [hb.box(b"imir", bytes([0]))]),  # stored upside down; axis 0: top <-> bottom
        (lambda a: np.rot90(a, 1)[::-1], [hb.box(b"imir", bytes([0])), hb.irot(1)]),
    ],
    ids=["irot", "imir", "irot+imir"],
)
def test_an_avif_is_scanned_as_its_rotation_and_mirror_show_it(
    stored: Any, props: list[bytes], astronaut_rgb: Any, tmp_path: Path
) -> None:
    """The astronaut stored sideways or flipped, its properties turning it upright: Chrome, Safari and
    libheif show the upright portrait; the scan found no face in the stored pixels."""
    coded = hb.av1(np.ascontiguousarray(stored(astronaut_rgb)))
    data = hb.heif([hb.image(1, coded, *props)], 1, brands=(b"avif", b"mif1"))
    assert pi_heif.open_heif(data)[0].size == (512, 512)  # libheif parses the transforms (no AV1 decoder)
    path = tmp_path / "portrait.avif"
    path.write_bytes(data)
    report = scan_file(path).to_dict()
    assert report["media_type"] == "avif" and len(report["Faces"]) == 1
    _out, scrubbed = scrub_bytes(data)
    assert scrubbed.verified and scrubbed.frames == 1


def test_a_gain_map_holding_another_picture_is_scanned_or_held(
    pictures: dict[str, Any], tmp_path: Path
) -> None:
    auxc = hb.full(b"auxC", 0, 0, b"urn:com:apple:photo:2020:aux:hdrgainmap\0")
    gain = hb.image(2, pictures["hidden"], auxc, hidden=True)
    data = hb.heif([hb.image(1, pictures["grey"]), gain], 1, [(b"auxl", 2, [1])])
    assert pi_heif.open_heif(data)[0].info["aux"] == {"urn:com:apple:photo:2020:aux:hdrgainmap": [2]}
    path = tmp_path / "hdr.heic"
    path.write_bytes(data)
    seen = Views()
    try:
        scan_file(path, backend=seen)  # type: ignore[arg-type]
        out, _ = scrub_bytes(data)
    except (UnsupportedMediaError, CorruptMediaError):
        return  # held
    assert pictures["hidden"].data in out
    picture = _extracted(pictures["hidden"]).astype(float).mean(axis=2).ravel()

    def like(v: Any) -> bool:
        grey = v.astype(float).mean(axis=2).ravel()
        return v.shape[:2] == (64, 96) and grey.std() > 1 and abs(np.corrcoef(grey, picture)[0, 1]) > 0.5

    assert seen.views and any(like(v) for v in seen.views)


def _tone_mapped(base: hb.Coded, gain: hb.Coded, base_hidden: bool) -> bytes:
    """An ISO 21496-1 gain-map HEIC as iPhones (iOS 18) and Samsung phones write one: the base picture, a
    hidden gain map, a 'tmap' item derived from both, and an 'altr' group preferring the tone-mapped one
    (brand 'tmap'). ``base_hidden``: the tone map's base is a hidden picture and the primary another one."""
    import struct

    tmap = hb.Item(3, b"tmap", bytes([0]) + b"\0" * 60, [hb.ispe(base.width, base.height)])
    altr = hb.box(b"grpl", hb.full(b"altr", 0, 0, struct.pack(">II", 100, 2) + struct.pack(">II", 3, 1)))
    items = [hb.image(1, base, hidden=base_hidden), hb.image(2, gain, hidden=True), tmap]
    primary = 1
    if base_hidden:
        items.append(hb.image(4, gain))
        primary = 4
    return hb.heif(
        items, primary, refs=[(b"dimg", 3, [1, 2])], brands=(b"heic", b"mif1", b"tmap"), extra_meta=altr
    )


def test_an_iso_gain_map_photo_is_one_picture_not_a_frame_mismatch(
    pictures: dict[str, Any], tmp_path: Path
) -> None:
    """No false hold: libheif lists the base alone (the 'tmap' item is its HDR rendering), and the scrubber
    counted the 'tmap' too, so every such phone photo was held as a frame mismatch."""
    data = _tone_mapped(pictures["hidden"], pictures["grey"], base_hidden=False)
    assert len(pi_heif.open_heif(data)) == 1
    path = tmp_path / "iphone.heic"
    path.write_bytes(data)
    scanned = scan_file(path).to_dict()
    _out, scrubbed = scrub_bytes(data)
    assert scrubbed.verified and scrubbed.frames == 1 == scanned["frames"]


def test_a_tone_map_of_a_picture_nobody_lists_is_still_counted(pictures: dict[str, Any]) -> None:
    """A 'tmap' whose base is a hidden picture (an HDR viewer shows it; libheif lists only the primary) is not
    excused: it stays a picture of its own, so the frame counts differ and the upload is held."""
    data = _tone_mapped(pictures["hidden"], pictures["grey"], base_hidden=True)
    try:
        _out, scrubbed = scrub_bytes(data)
    except UnsupportedMediaError:
        return
    assert scrubbed.frames != len(pi_heif.open_heif(data))


def _meta_after(data: bytes, gap: bytes) -> bytes:
    """``data`` (ftyp, meta, mdat as heif_build writes it) with ``gap`` (a 'free' box) between ftyp and meta:
    the meta box and its 'ispe' past the first MiB, the items' iloc offsets moved by the gap."""
    import struct

    n_ftyp = struct.unpack(">I", data[:4])[0]
    n_meta = struct.unpack(">I", data[n_ftyp : n_ftyp + 4])[0]
    meta = bytearray(data[n_ftyp : n_ftyp + n_meta])
    at = meta.index(b"iloc") + 4 + 4 + 2  # version/flags, sizes, then the item count
    count = struct.unpack(">H", meta[at : at + 2])[0]
    pos = at + 2
    for _ in range(count):  # heif_build's entries: id, data ref, extent count 1, offset, length
        off = struct.unpack(">I", meta[pos + 6 : pos + 10])[0]
        meta[pos + 6 : pos + 10] = struct.pack(">I", off + len(gap))
        pos += 14
    return data[:n_ftyp] + gap + bytes(meta) + data[n_ftyp + n_meta :]


def test_an_image_larger_than_the_limits_is_refused_when_its_header_is_past_the_first_mib(
    pictures: dict[str, Any],
) -> None:
    """The header walk for the pixel limit reads the first MiB only (the largest 'ispe' there): a meta box
    after a 1 MiB 'free' box holding a small fake 'ispe' passed it, and libheif then decoded the grid's
    real size. The sizes libheif reads are checked before any decode."""
    from tutela.sniff import sniff
    from tutela.vision.api import still_frames
    from tutela.vision.limits import ScanLimits

    tile = pictures["grey"]  # 96 x 64
    items = [hb.image(i, tile, hidden=True) for i in (2, 3, 4, 5)]
    grid = hb.Item(1, b"grid", hb.grid_data(2, 2, 192, 128), [hb.ispe(192, 128)])
    data = hb.heif([grid, *items], 1, refs=[(b"dimg", 1, [2, 3, 4, 5])])
    fake = hb.ispe(16, 16)
    gap = hb.box(b"free", fake + b"\0" * (1 << 20))
    shifted = _meta_after(data, gap)
    assert pi_heif.open_heif(shifted)[0].size == (192, 128)  # a valid file: libheif reads the real size
    limits = ScanLimits(max_pixels=100 * 100)
    with pytest.raises(LimitExceededError):
        still_frames(shifted, sniff(shifted[:64]), limits)
