"""JPEG thumbnails, trailers and MPF secondary images; video rotation; streaming of big files."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import pytest
import scrub_fixtures as gen

from tutela.scrub import find_location, plan_file, scrub_bytes, scrub_file
from tutela.scrub.core import Copy


def _jpeg_with_gps(tmp_path: Path, name: str = "t.jpg") -> Path:
    from PIL import Image

    im = Image.fromarray(gen.pixels())
    ex = Image.Exif()
    ex[274] = 8
    gps = ex.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 0.0), "W", (0.0, 7.0, 12.0)
    p = tmp_path / name
    im.save(p, quality=90, exif=ex.tobytes())
    return p


def test_exif_thumbnail_goes_with_the_exif(tmp_path: Path) -> None:
    from PIL import Image

    src = _jpeg_with_gps(tmp_path)
    thumb = tmp_path / "thumb.jpg"
    Image.fromarray(gen.pixels(16, 16, seed=9)).save(thumb)
    gen.exiftool_write([src], [f"-ThumbnailImage<={thumb}"])
    tin = gen.exiftool_json([src])["t.jpg"]
    assert any(k.endswith("ThumbnailImage") for k in tin)
    out = tmp_path / "o.jpg"
    report = scrub_file(src, out).to_dict()
    assert "exif.thumbnail" in report["removed"]
    tout = gen.exiftool_json([out])["o.jpg"]
    assert not any("Thumbnail" in k for k in tout)
    assert tout["IFD0:Orientation"] == tin["IFD0:Orientation"]
    assert gen.tag_hits(tout, gen.LOCATION_TAG) == []


def test_jpeg_trailer_dropped_without_mpf(tmp_path: Path) -> None:
    src = _jpeg_with_gps(tmp_path)
    data = src.read_bytes() + b"SEFH\x00\x00location-ish vendor trailer 51.5,-0.12 SEFT"
    out, report = scrub_bytes(data)
    assert "jpeg.trailer" in report.removed
    assert out.endswith(b"\xff\xd9") and b"SEFT" not in out


def test_mpf_secondary_image_gps_removed(tmp_path: Path) -> None:
    from PIL import Image

    im = Image.fromarray(gen.pixels())
    ex = Image.Exif()
    ex[274] = 3
    gps = ex.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 0.0)
    src = tmp_path / "m.jpg"
    im.save(src, format="MPO", save_all=True, append_images=[im.rotate(90)], exif=ex.tobytes())
    tin = gen.exiftool_json([src])["m.jpg"]
    assert "GPS:GPSLatitude" in tin
    out = tmp_path / "o.jpg"
    report = scrub_file(src, out)
    assert report.bytes_in == report.bytes_out  # MPF offsets stay valid
    tout = gen.exiftool_json([out])["o.jpg"]
    assert gen.tag_hits(tout, gen.LOCATION_TAG) == []
    assert tout["MPImage2:MPImageStart"] == tin["MPImage2:MPImageStart"]
    with Image.open(out) as a, Image.open(src) as b:
        for i in range(2):
            a.seek(i)
            b.seek(i)
            assert a.tobytes() == b.tobytes()


def test_video_rotation_matrix_kept(oracle: dict) -> None:
    for name in ("video.mp4", "video.mov"):
        assert oracle["in"][name].get("Composite:Rotation") == 90
        assert oracle["out"][name].get("Composite:Rotation") == 90


def test_big_mp4_is_streamed_with_bounded_memory(corpus: dict[str, Path], tmp_path: Path) -> None:
    """A 256 MiB (sparse) mdat is range-copied, never read into memory."""
    base = corpus["video.mov"].read_bytes()
    big = tmp_path / "big.mov"
    pad = 256 * 1024 * 1024
    with big.open("wb") as f:
        f.write(base)
        f.write(struct.pack(">I4sQ", 1, b"mdat", 16 + pad))
        f.truncate(len(base) + 16 + pad)  # sparse
    plan, _ = plan_file(big)
    assert sum(p.length for p in plan.pieces if isinstance(p, Copy)) > pad
    tracemalloc.start()
    try:
        report = scrub_file(big, tmp_path / "out.mov")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.verified and report.bytes_out == big.stat().st_size
    assert peak < 16 * 1024 * 1024
    assert find_location(tmp_path / "out.mov") == []


def test_plan_is_mostly_copies_for_video(corpus: dict[str, Path]) -> None:
    plan, report = plan_file(corpus["camm.mp4"])
    assert report.media_type == "mp4"
    assert plan.size == corpus["camm.mp4"].stat().st_size


@pytest.mark.parametrize("brand,expect", [(b"qt  ", "mov"), (b"M4V ", "m4v"), (b"3gp5", "3gp")])
def test_brands(brand: bytes, expect: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    p = tmp_path / "v.bin"
    p.write_bytes(corpus["video.mp4"].read_bytes())
    gen.set_major_brand(p, brand)
    report = scrub_file(p, tmp_path / "o.bin")
    assert report.media_type == expect and report.verified


def test_mpf_with_xmp_and_iptc_keeps_every_offset(tmp_path: Path) -> None:
    from PIL import Image

    im = Image.fromarray(gen.pixels())
    src = tmp_path / "m.jpg"
    im.save(src, format="MPO", save_all=True, append_images=[im.rotate(90)])
    gen.exiftool_write(
        [src], ["-XMP-photoshop:City=London", "-IPTC:City=London", "-Artist=Alice", "-Comment=hi"]
    )
    tin = gen.exiftool_json([src])["m.jpg"]
    assert tin.get("XMP-photoshop:City") == "London"
    out = tmp_path / "o.jpg"
    report = scrub_file(src, out)
    assert report.bytes_in == report.bytes_out
    tout = gen.exiftool_json([out])["o.jpg"]
    assert gen.tag_hits(tout, gen.LOCATION_TAG) == [] and gen.tag_hits(tout, gen.IDENTITY_TAG) == []
    for k in ("MPImage1:MPImageLength", "MPImage2:MPImageStart", "MPImage2:MPImageLength"):
        assert tout[k] == tin[k]
    with Image.open(out) as a:
        a.seek(1)
        a.load()


def test_handmade_apple_style_moov(tmp_path: Path) -> None:
    """trak/udta ©xyz, trak/meta keys with location, moov/meta keys renumbered, 3GPP auth."""
    box, full = gen.box, gen.full

    def keys(*names: bytes) -> bytes:
        return full(b"keys", struct.pack(">I", len(names)) + b"".join(box(b"mdta", n) for n in names))

    def item(idx: int, text: bytes) -> bytes:
        return (
            struct.pack(">I", 8 + 8 + 8 + len(text))
            + struct.pack(">I", idx)
            + box(b"data", struct.pack(">II", 1, 0) + text)
        )

    hdlr_mdta = full(b"hdlr", b"\x00" * 4 + b"mdta" + b"\x00" * 12 + b"\x00")
    loc = b"com.apple.quicktime.location.ISO6709"
    meta = box(
        b"meta",
        hdlr_mdta
        + keys(loc, b"com.apple.quicktime.make", b"com.apple.quicktime.location.name")
        + box(b"ilst", item(1, b"+51.5007-000.1246+012.000/") + item(2, b"Apple") + item(3, b"Home")),
    )
    xyz = box(b"\xa9xyz", struct.pack(">HH", 18, 0x15C7) + b"+51.5007-000.1246/")
    auth = full(b"auth", b"\x15\xc7Alice Example\x00")
    vide = full(b"hdlr", b"\x00" * 4 + b"vide" + b"\x00" * 12 + b"\x00")
    trak = box(b"trak", box(b"mdia", vide) + box(b"udta", xyz + auth) + meta)
    moov = box(b"moov", box(b"mvhd", b"\x00" * 100) + trak + meta)
    data = box(b"ftyp", b"qt  \x00\x00\x02\x00qt  ") + moov + box(b"mdat", b"\x00" * 64)
    src = tmp_path / "apple.mov"
    src.write_bytes(data)
    assert set(find_location(src)) >= {"qt.location", "keys.location"}
    out, report = scrub_bytes(data)
    assert {"qt.location", "keys.location", "udta.other"} <= set(report.removed)
    assert len(out) == len(data) and b"+51.5007" not in out and b"Alice" not in out and b"Home" not in out
    assert b"Apple" in out and b"com.apple.quicktime.make" in out
    # The surviving key is renumbered to 1 and its item points at it.
    i = out.index(b"ilst")
    assert struct.unpack(">I", out[i + 8 : i + 12])[0] == 1
    p = tmp_path / "o.mov"
    p.write_bytes(out)
    tags = gen.exiftool_json([p])["o.mov"]
    assert gen.tag_hits(tags, gen.LOCATION_TAG) == []
    assert tags.get("Keys:Make") == "Apple"
