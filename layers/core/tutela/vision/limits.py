"""Safety limits for scanning, and header-only image dimensions (decompression-bomb guard).

``image_size(data, media)`` reads width and height from the container header without decoding
pixels, so a 100 000 x 100 000 PNG of a few kilobytes is refused before any allocation.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from tutela.errors import CorruptMediaError, LimitExceededError
from tutela.sniff import MediaType


@dataclass(frozen=True, slots=True)
class ScanLimits:
    max_image_bytes: int = 50 * 1024 * 1024
    max_video_bytes: int = 500 * 1024 * 1024
    max_pixels: int = 120_000_000  # per still image (108 MP phone sensors exist)
    max_dimension: int = 30_000
    max_video_pixels: int = 8192 * 4320  # per frame (8K)
    max_video_seconds: float = 15 * 60.0
    max_frames: int = 48  # frames scanned per video (fixed-rate + scene changes)
    max_decoded_frames: int = 20_000  # frames read while sampling
    sample_every_s: float = 2.0
    scene_check_every_s: float = 0.25
    scene_threshold: float = 0.45  # Bhattacharyya distance of small HSV histograms
    max_seconds: float = 60.0  # wall clock per file
    max_jpeg_scans: int = 64  # progressive JPEGs use ~10; thousands of scans are a CPU bomb
    max_image_frames: int = 64  # frames/pages of one still image (APNG, animated WebP, TIFF, MPO, HEIF)
    max_total_pixels: int = 160_000_000  # summed over every frame/page of one still image
    max_decode_bytes: int = 768 * 1024 * 1024  # declared pixels x channels x sample bytes, per frame

    def deadline(self) -> Deadline:
        return Deadline(self.max_seconds)

    @property
    def max_file_bytes(self) -> int:
        """The largest file any scan accepts: a download for scanning can stop there."""
        return max(self.max_image_bytes, self.max_video_bytes)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()

    def check(self, what: str) -> None:
        if time.monotonic() - self.start > self.seconds:
            raise LimitExceededError(f"scan time limit of {self.seconds:g}s exceeded while {what}")


def check_pixels(width: int, height: int, limits: ScanLimits, *, per_frame: bool = False) -> None:
    if width <= 0 or height <= 0:
        raise CorruptMediaError(f"image header declares an empty size {width}x{height}")
    cap = limits.max_video_pixels if per_frame else limits.max_pixels
    if width > limits.max_dimension or height > limits.max_dimension or width * height > cap:
        raise LimitExceededError(
            f"{width}x{height} pixels exceeds the limit ({cap} pixels, {limits.max_dimension} per side)"
        )


def check_decode_bytes(data: bytes, media: MediaType, width: int, height: int, limits: ScanLimits) -> None:
    """Cap what a decoder will allocate for one frame: pixels x channels x bytes per sample (PNG and TIFF
    can declare 16-bit RGBA, 8 bytes a pixel), plus the 3-byte BGR copy handed to the analysis."""
    per_pixel = 4
    if media.name == "png" and len(data) >= 26:
        depth, color = data[24], data[25]
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color, 4)
        per_pixel = channels * max(1, depth // 8)
    elif media.name == "tiff":
        per_pixel = 8
    need = width * height * (per_pixel + 3)
    if need > limits.max_decode_bytes:
        raise LimitExceededError(
            f"{width}x{height} pixels would need {need >> 20} MiB to decode, over the "
            f"{limits.max_decode_bytes >> 20} MiB limit"
        )


def check_jpeg_scans(data: bytes, limits: ScanLimits) -> None:
    """Byte stuffing guarantees FF DA only appears as a start-of-scan marker: count them cheaply."""
    scans = data.count(b"\xff\xda")
    if scans > limits.max_jpeg_scans:
        raise LimitExceededError(f"jpeg has {scans} scans, over the limit of {limits.max_jpeg_scans}")


def image_size(data: bytes, media: MediaType) -> tuple[int, int]:
    """(width, height) from the header; CorruptMediaError if the header cannot be read."""
    try:
        size = _PARSERS[media.name](data)
    except (struct.error, IndexError, KeyError, ValueError) as exc:
        raise CorruptMediaError(f"{media.name} header is truncated or malformed") from exc
    if size is None:
        raise CorruptMediaError(f"{media.name} header has no image dimensions")
    return size


def display_size(data: bytes, media: MediaType) -> tuple[int, int]:
    """Like ``image_size`` but as displayed: JPEG EXIF orientations 5-8 swap width and height (decoders
    and Rekognition apply the orientation, so bounding boxes are relative to the displayed image)."""
    w, h = image_size(data, media)
    if media.name == "jpeg" and jpeg_orientation(data) in (5, 6, 7, 8):
        return h, w
    return w, h


def jpeg_orientation(data: bytes) -> int:
    """EXIF orientation (1..8) from a JPEG's APP1 segment; 1 when absent or unreadable."""
    try:
        i = 2
        while i + 4 <= min(len(data), 1 << 20) and data[i] == 0xFF:
            marker = data[i + 1]
            (seglen,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker == 0xE1 and data[i + 4 : i + 10] == b"Exif\x00\x00":
                tiff = data[i + 10 : i + 2 + seglen]
                endian = "<" if tiff[:2] == b"II" else ">"
                (ifd,) = struct.unpack(endian + "I", tiff[4:8])
                (count,) = struct.unpack(endian + "H", tiff[ifd : ifd + 2])
                for k in range(min(count, 256)):
                    e = ifd + 2 + 12 * k
                    tag, typ = struct.unpack(endian + "HH", tiff[e : e + 4])
                    if tag == 0x0112 and typ == 3:
                        value = int(struct.unpack(endian + "H", tiff[e + 8 : e + 10])[0])
                        return value if 1 <= value <= 8 else 1
                return 1
            if marker in (0xDA, 0xD9):
                return 1
            i += 2 + seglen
    except (struct.error, IndexError):
        return 1
    return 1


# Markers, segments and fill bytes walked before the frame header. A camera JPEG has a few dozen; without
# a cap, 50 MB of empty COM segments or FF fill kept image_size busy for seconds (bank hashing and review
# previews call it with no layout walk first).
JPEG_MAX_HEADER_STEPS = 4096


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    n = len(data)
    steps = 0
    while i + 4 <= n:
        steps += 1
        if steps > JPEG_MAX_HEADER_STEPS:
            raise CorruptMediaError(
                f"jpeg has more than {JPEG_MAX_HEADER_STEPS} markers or fill bytes before its frame header"
            )
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (seglen,) = struct.unpack(">H", data[i + 2 : i + 4])
        if seglen < 2:
            raise ValueError("bad segment length")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        if marker in (0xD9, 0xDA):
            return None
        i += 2 + seglen
    return None


def _png(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        b = data[21:25]
        bits = int.from_bytes(b, "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    endian = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(endian + "I", data[4:8])
    (count,) = struct.unpack(endian + "H", data[offset : offset + 2])
    w = h = None
    for k in range(min(count, 512)):
        e = offset + 2 + 12 * k
        tag, typ = struct.unpack(endian + "HH", data[e : e + 4])
        if tag in (256, 257):
            value = (
                struct.unpack(endian + "H", data[e + 8 : e + 10])[0]
                if typ == 3
                else struct.unpack(endian + "I", data[e + 8 : e + 12])[0]
            )
            if tag == 256:
                w = value
            else:
                h = value
    return (w, h) if w and h else None


def _isobmff(data: bytes) -> tuple[int, int] | None:
    """HEIF/AVIF: the largest ``ispe`` (image spatial extents) property in the meta box."""
    best: tuple[int, int] | None = None
    start = 0
    head = data[: 1 << 20]
    while True:
        i = head.find(b"ispe", start)
        if i < 0:
            return best
        w, h = struct.unpack(">II", head[i + 8 : i + 16])
        if best is None or w * h > best[0] * best[1]:
            best = (w, h)
        start = i + 4


_PARSERS = {"jpeg": _jpeg, "png": _png, "webp": _webp, "tiff": _tiff, "heif": _isobmff, "avif": _isobmff}
