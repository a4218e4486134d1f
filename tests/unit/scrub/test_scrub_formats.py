"""Every format, scrubbed, checked by exiftool (independent oracle), by our verifier, and by decoding."""

from __future__ import annotations

from pathlib import Path

import pytest
import scrub_fixtures as gen

from tutela.scrub import find_location, scrub_bytes

IMAGES = [
    "baseline.jpg",
    "progressive.jpg",
    "image.png",
    "lossy.webp",
    "lossless.webp",
    "image.tif",
    "image.heic",
    "image.avif",
]
VIDEOS = ["video.mp4", "video.mov", "camm.mp4", "gpmd.mp4"]
ALL = IMAGES + VIDEOS


@pytest.mark.parametrize("name", ALL)
def test_input_really_has_location(name: str, corpus: dict[str, Path], oracle: dict) -> None:
    assert gen.tag_hits(oracle["in"][name], gen.LOCATION_TAG), "fixture must carry location"
    assert find_location(corpus[name])


@pytest.mark.parametrize("name", ALL)
def test_exiftool_finds_no_location_or_identity(name: str, oracle: dict, scrubbed: dict) -> None:
    tags = oracle["out"][name]
    assert gen.tag_hits(tags, gen.LOCATION_TAG) == []
    assert gen.tag_hits(tags, gen.IDENTITY_TAG) == []
    assert not [k for k in tags if k.endswith(":Error")]
    _, report = scrubbed[name]
    assert report["verified"] is True
    assert report["location_found"] is True


@pytest.mark.parametrize("name", ALL)
def test_our_verifier_agrees(name: str, scrubbed: dict) -> None:
    out, _ = scrubbed[name]
    assert find_location(out) == []


@pytest.mark.parametrize("name", IMAGES)
def test_pixels_orientation_icc_kept(name: str, corpus: dict, scrubbed: dict, oracle: dict) -> None:
    out, report = scrubbed[name]
    assert gen.decode_image(corpus[name]) == gen.decode_image(out)
    tin, tout = oracle["in"][name], oracle["out"][name]
    assert tout.get("ICC_Profile:ProfileDescription") == tin.get("ICC_Profile:ProfileDescription") is not None
    assert "icc_profile" in report["kept"]
    orient_in = {k: v for k, v in tin.items() if k.endswith(":Orientation")}
    orient_out = {k: v for k, v in tout.items() if k.endswith(":Orientation")}
    assert orient_out == orient_in
    if name != "image.avif":  # pillow-heif moves AVIF orientation into irot
        assert "exif.orientation" in report["kept"]
        assert "Rotate 90 CW" in orient_out.values()


@pytest.mark.parametrize("name", IMAGES)
def test_kept_harmless_metadata(name: str, oracle: dict) -> None:
    tout = oracle["out"][name]
    if name.endswith(".jpg") or name.endswith(".tif"):
        assert tout.get("IPTC:Keywords") == "kept-keyword"  # IPTC filtered, not dropped
    if name != "image.png":
        assert tout.get("XMP-dc:Title") == "holiday"  # XMP filtered, not dropped


def test_jpeg_scan_data_byte_identical(corpus: dict, scrubbed: dict) -> None:
    for name in ("baseline.jpg", "progressive.jpg"):
        a, b = corpus[name].read_bytes(), scrubbed[name][0].read_bytes()
        assert a[a.index(b"\xff\xda") :] == b[b.index(b"\xff\xda") :]


@pytest.mark.parametrize("name", ["image.tif", "image.heic", "image.avif", *VIDEOS])
def test_in_place_formats_keep_size_and_offsets(name: str, corpus: dict, scrubbed: dict) -> None:
    a, b = corpus[name].read_bytes(), scrubbed[name][0].read_bytes()
    assert len(a) == len(b)  # free-box / padding design: no offset moves


@pytest.mark.parametrize("name", VIDEOS)
def test_video_frames_identical(name: str, corpus: dict, scrubbed: dict, oracle: dict) -> None:
    fin, fout = gen.decode_video(corpus[name]), gen.decode_video(scrubbed[name][0])
    assert fin and fin == fout
    assert oracle["out"][name].get("QuickTime:ImageWidth") == 96 or oracle["out"][name].get(
        "Track1:ImageWidth"
    )


@pytest.mark.parametrize("name,code", [("camm.mp4", "track.gps"), ("gpmd.mp4", "track.gps")])
def test_gps_track_removed_and_samples_zeroed(name: str, code: str, corpus: dict, scrubbed: dict) -> None:
    out, report = scrubbed[name]
    assert code in report["removed"]
    data = out.read_bytes()
    assert b"GPS5" not in data and b"DEVC" not in data
    assert gen.camm_sample()[4:] not in data
    assert b"trak" in data  # video track still there


def test_mp4_removed_codes(scrubbed: dict) -> None:
    _, report = scrubbed["video.mp4"]
    for code in ("keys.location", "qt.location", "udta.loci", "xmp.location", "keys.identity"):
        assert code in report["removed"], code


def test_report_shape(scrubbed: dict) -> None:
    _, r = scrubbed["baseline.jpg"]
    assert set(r) == {
        "media_type",
        "removed",
        "kept",
        "location_found",
        "verified",
        "bytes_in",
        "bytes_out",
        "frames",
        "timings_ms",
    }
    assert r["media_type"] == "jpeg"
    assert {"exif.gps", "xmp.location", "iptc.location", "exif.serial", "exif.owner", "exif.artist"} <= set(
        r["removed"]
    )
    assert {"exif.orientation", "icc_profile"} <= set(r["kept"])
    assert set(r["timings_ms"]) == {"scrub", "verify"}


@pytest.mark.parametrize("name", ["baseline.jpg", "image.png", "lossy.webp", "image.heic", "video.mov"])
def test_scrub_bytes_matches_scrub_file(name: str, corpus: dict, scrubbed: dict) -> None:
    data, report = scrub_bytes(corpus[name].read_bytes())
    assert data == scrubbed[name][0].read_bytes()
    assert report.verified


def test_clean_file_is_idempotent(scrubbed: dict, tmp_path: Path) -> None:
    from tutela.scrub import scrub_file

    for name in ("baseline.jpg", "video.mp4", "image.tif"):
        src = scrubbed[name][0]
        r = scrub_file(src, tmp_path / name)
        assert r.location_found is False
        assert (tmp_path / name).read_bytes() == src.read_bytes() or name == "baseline.jpg"


def test_exiftool_validate_reports_no_new_problems(corpus: dict, scrubbed: dict) -> None:
    import subprocess

    files = [*corpus.values(), *(p for p, _ in scrubbed.values())]
    res = subprocess.run(
        [gen.EXIFTOOL, "-validate", "-warning", "-error", "-a", "-s", "-s", *map(str, files)],
        capture_output=True,
        check=False,
        text=True,
    )
    found: dict[str, dict[str, set[str]]] = {}
    current: Path | None = None
    for line in res.stdout.splitlines():
        if line.startswith("======== "):
            current = Path(line[9:])
            side = "in" if current in corpus.values() else "out"
            found.setdefault(current.name, {}).setdefault(side, set())
        elif current is not None and line.startswith(("Warning", "Error")):
            msg = line.split(":", 1)[1].strip()
            if "GPS" not in msg:
                found[current.name][side].add(msg)
    assert len(found) == len(corpus)
    assert any(sides["in"] for sides in found.values())  # the check can see warnings at all
    for name, sides in found.items():
        assert sides["out"] <= sides["in"], name
