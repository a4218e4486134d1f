"""Fixture generators for the scrub tests and the benchmark: small media files carrying GPS, XMP, IPTC,
owner/serial, orientation and ICC, built with Pillow/pillow-heif/OpenCV, exiftool and hand-made boxes."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

EXIFTOOL = shutil.which("exiftool")

IMAGE_TAGS = [
    "-GPSLatitude=51.5007",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=0.1246",
    "-GPSLongitudeRef=W",
    "-GPSAltitude=12",
    "-XMP-photoshop:City=London",
    "-XMP-photoshop:State=Greater London",
    "-XMP-photoshop:Country=United Kingdom",
    "-XMP-exif:GPSLatitude=51.5007N",
    "-XMP-exif:GPSLongitude=0.1246W",
    "-XMP-iptcCore:Location=Westminster",
    "-XMP-iptcExt:LocationShownCity=Paris",
    "-XMP-iptcExt:LocationCreatedCity=Paris",
    "-XMP-dc:Creator=Alice Example",
    "-XMP-dc:Title=holiday",
    "-IPTC:City=London",
    "-IPTC:Sub-location=Westminster",
    "-IPTC:Province-State=England",
    "-IPTC:Country-PrimaryLocationName=United Kingdom",
    "-IPTC:By-line=Alice Example",
    "-IPTC:Keywords=kept-keyword",
    "-Artist=Alice Example",
    "-SerialNumber=SN12345",
    "-LensSerialNumber=LSN999",
    "-OwnerName=Bob Owner",
    "-ImageUniqueID=0123456789abcdef",
    "-Orientation#=6",
]
VIDEO_TAGS = [
    "-Keys:GPSCoordinates=51.5007, -0.1246, 12",
    "-UserData:GPSCoordinates=51.5007, -0.1246, 12",
    "-ItemList:GPSCoordinates=51.5007, -0.1246, 12",
    "-XMP-exif:GPSLatitude=51.5007N",
    "-XMP-photoshop:City=London",
    "-Keys:Author=Alice Example",
    "-UserData:Artist=Alice Example",
    "-Keys:Make=TestCam",
    "-Rotation=90",
]

LOCATION_TAG = re.compile(r"(?i)gps|^city$|country|location|province|^state$|coordinates|latitude|longitude")
IDENTITY_TAG = re.compile(r"(?i)serial|artist|owner|creator|by-line|author|imageuniqueid")


def tag_hits(tags: dict[str, object], pattern: re.Pattern[str]) -> list[str]:
    """exiftool -G1 keys ("Group:Name") whose tag name matches."""
    return [
        k
        for k in tags
        if ":" in k and not k.startswith(("ICC", "System:")) and pattern.search(k.split(":", 1)[1])
    ]


def pixels(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    img = base + rng.normal(0, 20, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def icc_profile() -> bytes:
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def exiftool_write(files: list[Path], tags: list[str]) -> None:
    assert EXIFTOOL, "exiftool is required"
    subprocess.run(
        [EXIFTOOL, "-q", "-q", "-m", "-overwrite_original", *tags, *map(str, files)],
        check=True,
        capture_output=True,
    )


def exiftool_json(files: list[Path]) -> dict[str, dict[str, object]]:
    import json

    assert EXIFTOOL
    out = subprocess.run(
        [EXIFTOOL, "-j", "-G1", "-a", "-ee", "-m", *map(str, files)], capture_output=True, check=False
    )
    return {Path(d["SourceFile"]).name: d for d in json.loads(out.stdout)}


def make_images(d: Path) -> dict[str, Path]:
    """Images in every still format, then tagged by exiftool (one process for all)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    im = Image.fromarray(pixels())
    icc = icc_profile()
    exif = Image.Exif()
    exif[274] = 6
    eb = exif.tobytes()
    files = {
        "baseline.jpg": lambda p: im.save(p, quality=90, icc_profile=icc, exif=eb),
        "progressive.jpg": lambda p: im.save(p, quality=85, progressive=True, icc_profile=icc, exif=eb),
        "image.png": lambda p: im.save(p, icc_profile=icc),
        "lossy.webp": lambda p: im.save(p, quality=80, icc_profile=icc, exif=eb),
        "lossless.webp": lambda p: im.save(p, lossless=True, icc_profile=icc, exif=eb),
        "image.tif": lambda p: im.save(p, icc_profile=icc, exif=eb),
        "image.heic": lambda p: im.save(p, quality=90, icc_profile=icc, exif=eb),
        "image.avif": lambda p: im.save(p, quality=90, icc_profile=icc, exif=eb),
    }
    out = {}
    for name, save in files.items():
        p = d / name
        save(p)
        out[name] = p
    exiftool_write(list(out.values()), IMAGE_TAGS)
    return out


# -- ISO BMFF builders -------------------------------------------------------------------------------------
def box(t: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), t) + payload


def full(t: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(t, struct.pack(">I", (version << 24) | flags) + payload)


def loci_box() -> bytes:
    fx = lambda v: struct.pack(">i", int(v * 65536))  # noqa: E731
    return full(
        b"loci", b"\x15\xc7" + b"Home\x00" + b"\x00" + fx(-0.1246) + fx(51.5007) + fx(12) + b"Earth\x00\x00"
    )


def camm_sample() -> bytes:
    return struct.pack("<HH3d", 0, 5, 51.5007, -0.1246, 12.0)


def gpmf_sample() -> bytes:
    def klv(key: bytes, typ: bytes, size: int, data: bytes) -> bytes:
        repeat = len(data) // size if size else 0
        pad = (-len(data)) % 4
        return key + typ + struct.pack(">BH", size, repeat) + data + b"\x00" * pad

    gps5 = struct.pack(">5i", 515007000, -1246000, 12000, 0, 0)
    scal = struct.pack(">5i", 10000000, 10000000, 1000, 1000, 100)
    strm = klv(b"SCAL", b"l", 4, scal) + klv(b"GPS5", b"l", 20, gps5)
    devc = klv(b"STRM", b"\x00", 1, strm)
    return klv(b"DEVC", b"\x00", 1, devc)


def meta_trak(track_id: int, fmt: bytes, offsets: list[int], sizes: list[int]) -> bytes:
    n = len(sizes)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = full(
        b"tkhd", struct.pack(">IIIII8xhhhh", 0, 0, track_id, 0, n, 0, 0, 0, 0) + matrix + b"\x00" * 8, 0, 7
    )
    mdhd = full(b"mdhd", struct.pack(">IIIIHH", 0, 0, 1, n, 0x55C4, 0))
    hdlr = full(b"hdlr", b"\x00" * 4 + b"meta" + b"\x00" * 12 + b"GPS\x00")
    entry = box(fmt, b"\x00" * 6 + struct.pack(">H", 1))
    stsd = full(b"stsd", struct.pack(">I", 1) + entry)
    stts = full(b"stts", struct.pack(">III", 1, n, 1))
    stsc = full(b"stsc", struct.pack(">IIII", 1, 1, 1, 1))
    stsz = full(b"stsz", struct.pack(">II", 0, n) + struct.pack(f">{n}I", *sizes))
    stco = full(b"stco", struct.pack(">I", n) + struct.pack(f">{n}I", *offsets))
    stbl = box(b"stbl", stsd + stts + stsc + stsz + stco)
    dinf = box(b"dinf", full(b"dref", struct.pack(">I", 1) + full(b"url ", b"", 0, 1)))
    minf = box(b"minf", full(b"nmhd", b"") + dinf + stbl)
    return box(b"trak", tkhd + box(b"mdia", mdhd + hdlr + minf))


def make_video(path: Path, frames: int = 8, seed: int = 1) -> None:
    import cv2

    a = pixels(64, 96, seed)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 64))
    for i in range(frames):
        w.write(np.roll(a, i * 3, axis=1))
    w.release()


def add_to_moov(path: Path, extra_moov_children: bytes = b"", gps_track: bytes | None = None) -> None:
    """Append boxes to moov (moov is last in OpenCV's files). With ``gps_track`` (``camm``/``gpmd``) a second
    mdat holding the samples is inserted before moov and a timed-metadata trak appended."""
    d = path.read_bytes()
    pos = 0
    while pos < len(d):
        size, t = struct.unpack(">I4s", d[pos : pos + 8])
        if t == b"moov":
            break
        pos += size
    assert d[pos + 4 : pos + 8] == b"moov" and pos + size == len(d)
    moov_body = d[pos + 8 : pos + size]
    head = d[:pos]
    if gps_track:
        samples = [camm_sample() if gps_track == b"camm" else gpmf_sample() for _ in range(3)]
        offsets, off = [], pos + 8
        for s in samples:
            offsets.append(off)
            off += len(s)
        head += box(b"mdat", b"".join(samples))
        extra_moov_children += meta_trak(2, gps_track, offsets, [len(s) for s in samples])
    path.write_bytes(head + box(b"moov", moov_body + extra_moov_children))


def set_major_brand(path: Path, brand: bytes) -> None:
    d = bytearray(path.read_bytes())
    assert d[4:8] == b"ftyp"
    d[8:12] = brand
    path.write_bytes(bytes(d))


def make_videos(d: Path) -> dict[str, Path]:
    out = {}
    for name in ("video.mp4", "video.mov", "camm.mp4", "gpmd.mp4"):
        p = d / name
        make_video(p)
        out[name] = p
    add_to_moov(out["video.mp4"], box(b"udta", loci_box()))
    add_to_moov(out["camm.mp4"], gps_track=b"camm")
    add_to_moov(out["gpmd.mp4"], gps_track=b"gpmd")
    exiftool_write([out["video.mp4"], out["video.mov"]], VIDEO_TAGS)
    set_major_brand(out["video.mov"], b"qt  ")
    return out


def decode_image(path: Path) -> tuple[tuple[int, int], bytes]:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    with Image.open(path) as im:
        im.load()
        return im.size, im.tobytes()


def decode_video(path: Path) -> list[bytes]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f.tobytes())
    cap.release()
    return frames
