"""Hash a media file the way the scanner sees it: one PDQ per image, one per sampled video frame.

Images go through the scanner's own guards (sniffed type, header-only dimensions, pixel limits)
and its reduced decode: PDQ works on a 64x64 reduction, so a 512-pixel decode changes a hash by a
few bits at most while costing a fraction of a full decode. Videos use the scanner's frame sampler
(fixed rate plus scene changes), which decides from the file itself whether to sample by frame index or by
time (a screen recording's frames last very different times: ``video.dwells``), so a banked file and the
same file uploaded are sampled alike; near-identical consecutive frames are hashed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tutela.bank.pdq import PdqHash, distance, hash_frame, hash_frame_dihedral
from tutela.errors import LimitExceededError, UnsupportedMediaError
from tutela.sniff import sniff
from tutela.vision.limits import ScanLimits, check_pixels, image_size

HASH_SIDE = 512
SNIFF_BYTES = 64
SAME_FRAME_DISTANCE = 8  # consecutive frames closer than this are the same shot (vPDQ dedups likewise)
MAX_STORED_HASHES = 64  # per upload: the scanner samples at most 48 video frames


@dataclass(frozen=True)
class MediaHashes:
    """``hashes``: what is stored and added to banks (one per image, one per distinct video shot);
    ``queries``: what is matched — for images also the 7 rotations/flips, so a mirrored or rotated
    re-upload of banked content still matches (PDQ computes all 8 from one transform, nearly free)."""

    hashes: list[PdqHash]
    queries: list[PdqHash]
    video: bool = False


def hash_file(path: str | Path, limits: ScanLimits | None = None) -> MediaHashes:
    from tutela.vision import _cv

    limits = limits or ScanLimits()
    p = Path(path)
    with p.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    media = sniff(head)
    if media is None:
        raise UnsupportedMediaError("not a supported image or video (type sniffed from content)")
    size = p.stat().st_size
    if media.kind == "image":
        if size > limits.max_image_bytes:
            raise LimitExceededError(f"image is {size} bytes, over the {limits.max_image_bytes} byte limit")
        data = p.read_bytes()
        width, height = image_size(data, media)
        check_pixels(width, height, limits)
        variants = hash_frame_dihedral(_cv.decode_image(data, media, width, height, HASH_SIDE))
        return MediaHashes(variants[:1], variants)
    if size > limits.max_video_bytes:
        raise LimitExceededError(f"video is {size} bytes, over the {limits.max_video_bytes} byte limit")
    from tutela.vision.video import sample_frames

    hashes: list[PdqHash] = []
    for frame in sample_frames(p, limits, limits.deadline()):  # by time or index, as the scan samples it
        h = hash_frame(frame.image)
        if not hashes or distance(h.hex, hashes[-1].hex) > SAME_FRAME_DISTANCE:
            hashes.append(h)
    return MediaHashes(hashes, hashes, video=True)


class FrameHasher:
    """A ``scan_file`` frame sink: PDQ of each frame the scanner decoded, consecutive repeats dropped."""

    def __init__(self, max_hashes: int = MAX_STORED_HASHES) -> None:
        self.max_hashes = max_hashes
        self.hashes: list[PdqHash] = []

    def __call__(self, frame: object) -> None:
        if len(self.hashes) >= self.max_hashes:
            return
        h = hash_frame(frame)  # type: ignore[arg-type]
        if not self.hashes or distance(h.hex, self.hashes[-1].hex) > SAME_FRAME_DISTANCE:
            self.hashes.append(h)


def scanned_hashes(path: str | Path, sink: FrameHasher, limits: ScanLimits | None = None) -> MediaHashes:
    """The hashes of what the scan covered: the sink's frames, or for a single still (decoded inside
    the backend) a reduced decode of it, with its 8 rotations/flips as queries."""
    if sink.hashes:
        return MediaHashes(list(sink.hashes), list(sink.hashes))
    return hash_file(path, limits)
