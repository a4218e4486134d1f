"""``scan_file``: sniff, enforce limits, run a backend on an image or sampled video frames."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutela.errors import (
    ConfigurationError,
    CorruptMediaError,
    InvalidInputError,
    LimitExceededError,
    UnsupportedMediaError,
)
from tutela.scrub.layout import image_layout, unsupported_animation
from tutela.sniff import SNIFF_BYTES, MediaType, sniff
from tutela.vision.backend import (
    Face,
    ImageScan,
    ModerationLabel,
    VisionBackend,
    merge_labels,
    youngest_faces,
)
from tutela.vision.limits import (
    ScanLimits,
    check_decode_bytes,
    check_jpeg_scans,
    check_pixels,
    image_size,
)

_BACKENDS: dict[str, VisionBackend] = {}


def get_backend(name: str = "local", client: Any | None = None) -> VisionBackend:
    """A backend by name. Without a client the instance is cached (models/clients reused when warm)."""
    if name not in ("local", "rekognition"):
        # A deployment's or a caller's choice, not the upload's fault.
        raise ConfigurationError(f"unknown vision backend {name!r} (expected 'local' or 'rekognition')")
    if client is not None and name == "rekognition":
        from tutela.vision.rekognition import RekognitionBackend

        return RekognitionBackend(client)
    if name not in _BACKENDS:
        if name == "local":
            from tutela.vision.local import LocalBackend

            _BACKENDS[name] = LocalBackend()
        else:
            from tutela.vision.rekognition import RekognitionBackend

            _BACKENDS[name] = RekognitionBackend()
    return _BACKENDS[name]


@dataclass
class ScanReport:
    media_type: str
    kind: str
    backend_name: str
    backend_version: str
    labels: list[ModerationLabel]
    faces: list[Face]
    width: int
    height: int
    timings_ms: dict[str, float]
    frames: int = 1  # frames/pages the scan covered (video: frames sampled)
    samples: list[dict[str, Any]] | None = None  # per sampled video frame: t, why, labels, faces
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "media_type": self.media_type,
            "kind": self.kind,
            "backend": {"name": self.backend_name, "version": self.backend_version},
            "ModerationLabels": self.labels,
            "Faces": self.faces,
            "image": {"width": self.width, "height": self.height},
            "timings_ms": self.timings_ms,
            "frames": self.frames,
        }
        if self.samples is not None:
            out["samples"] = self.samples
        if self.notes:
            out["notes"] = self.notes
        return out


def scan_file(
    path: str | Path,
    *,
    backend: str | VisionBackend = "local",
    limits: ScanLimits | None = None,
    frame_sink: Callable[[Any], None] | None = None,
) -> ScanReport:
    """Scan one image or video. Raises tutela.errors (Unsupported/Corrupt/LimitExceeded/...).

    ``frame_sink`` receives every frame the scanner decoded itself (video samples, the frames/pages of a
    multi-frame image), so a perceptual hash covers exactly what was scanned without decoding twice; a
    single still is decoded inside the backend (or not at all, by Rekognition) and is not passed."""
    t0 = time.perf_counter()
    limits = limits or ScanLimits()
    deadline = limits.deadline()
    be = get_backend(backend) if isinstance(backend, str) else backend
    p = Path(path)
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {p.name}: {exc.strerror or type(exc).__name__}") from exc
    media = sniff(head)
    if media is None:
        raise UnsupportedMediaError("not a supported image or video (type sniffed from content)")
    notes: list[str] = []
    if media.kind == "image":
        if size > limits.max_image_bytes:
            raise LimitExceededError(f"image is {size} bytes, over the {limits.max_image_bytes} byte limit")
        data = p.read_bytes()
        images = still_frames(data, media, limits)
        from tutela.vision import _cv

        shown = _cv.display_transform(data, media)  # an ICC profile that changes the picture a viewer sees
        gain_views: list[Any] = []  # HDR gain maps not explained by their base: more views of the frame
        if media.name in ("heif", "avif"):
            from tutela.vision.gainmap import gain_map_views

            gain_views, gain_notes = gain_map_views(data, media, limits, deadline)
            notes.extend(gain_notes)
        t1 = time.perf_counter()
        if len(images) == 1 and not isinstance(images[0], Decoded):
            result = be.scan_image_bytes(images[0], media, limits)
            if shown is not None:  # raw pixels scanned: now the picture a colour-managed viewer shows
                w, h = image_size(images[0], media)
                raw = _cv.decode_image(images[0], media, w, h, _cv.FRAME_SIDE)
                result = _one_frame([result, *(be.scan_frame(v) for v in _cv.colour_views(raw, shown)[1:])])
            if gain_views:  # not handed to frame_sink: the still itself is hashed from the file (bank.media)
                result = _one_frame([result, *(be.scan_frame(v) for v in gain_views)])
            width, height = result.width, result.height
            frame_results = [result]
        else:
            frame_results = []
            for frame in _decode_frames(images, media):
                # a transparent frame: over black and over white; each as a colour-managed viewer shows it
                views = [c for a in _cv.alpha_views(frame) for c in _cv.colour_views(a, shown)]
                for view in views:
                    if frame_sink is not None:
                        frame_sink(view)
                frame_results.append(_one_frame([be.scan_frame(v) for v in views]))
                deadline.check("scanning image frames")
            if gain_views:  # several top-level images: labels and faces are merged over frames anyway
                for view in gain_views:
                    if frame_sink is not None:
                        frame_sink(view)
                frame_results[0] = _one_frame([frame_results[0], *(be.scan_frame(v) for v in gain_views)])
            width, height = frame_results[0].width, frame_results[0].height
        deadline.check("scanning the image")
        t2 = time.perf_counter()
        labels: list[ModerationLabel] = (
            frame_results[0].labels
            if len(frame_results) == 1
            else merge_labels([lb for r in frame_results for lb in r.labels])
        )
        faces: list[Face] = [f for r in frame_results for f in r.faces]
        if len(frame_results) > 1:  # a crowd on 64 pages: bounded like a video's (the state's 256 KiB)
            faces = youngest_faces(faces)
        timings = {"read": round((t1 - t0) * 1000, 2), "total": round((t2 - t0) * 1000, 2)}
        if len(frame_results) == 1:
            timings = {"read": timings["read"], **frame_results[0].timings_ms, "total": timings["total"]}
        for r in frame_results:
            notes.extend(n for n in r.notes if n not in notes)
        return ScanReport(
            media.name, "image", be.name, be.version(), labels, faces,
            width, height, timings, len(frame_results), None, notes,
        )  # fmt: skip
    if size > limits.max_video_bytes:
        raise LimitExceededError(f"video is {size} bytes, over the {limits.max_video_bytes} byte limit")
    from tutela.vision.video import scan_video

    timed = _movie_coverage(p, media)
    video = scan_video(p, be, limits, deadline, frame_sink, timed=timed)
    if video.capped:
        notes.append(f"frame cap of {limits.max_frames} reached; samples spread to the end of the video")
    total = round((time.perf_counter() - t0) * 1000, 2)
    timings = {"frames_scan": video.scan_ms, "total": total}
    return ScanReport(
        media.name, "video", be.name, be.version(), video.labels, video.faces,
        video.width, video.height, timings, len(video.frames), video.frames, notes,
    )  # fmt: skip


def _one_frame(scans: list[ImageScan]) -> ImageScan:
    """The views of one frame (``alpha_views``) as one frame's scan: labels at their worst, every face."""
    if len(scans) == 1:
        return scans[0]
    first = scans[0]
    return ImageScan(
        labels=merge_labels([lb for s in scans for lb in s.labels]),
        faces=[f for s in scans for f in s.faces],
        width=first.width,
        height=first.height,
        timings_ms=first.timings_ms,
        notes=[n for s in scans for n in s.notes],
    )


@dataclass(frozen=True, slots=True)
class Decoded:
    """A frame range the scanner decodes itself (multi-frame images): ``data`` in ``media`` format."""

    data: bytes
    frames: int


def still_frames(data: bytes, media: MediaType, limits: ScanLimits) -> list[bytes | Decoded]:
    """Walk the structure (no decoder yet), apply every limit, and return what to decode: the encoded
    bytes of each frame, trimmed to the image's end exactly as the scrubber trims it.

    One element that is ``bytes``: a single still for ``scan_image_bytes``. Otherwise the frames are
    decoded here (``Decoded``: a multi-frame container; ``bytes``: one JPEG of an MPF file each)."""
    if media.name in ("heif", "avif"):
        width, height = image_size(data, media)
        check_pixels(width, height, limits)
        _no_image_sequence(data, media)
        from tutela.vision import _cv

        try:
            sizes, alpha = _cv.heif_images(data)
        except UnsupportedMediaError:
            return [data]  # no HEIF decoder here: the backend (Rekognition re-encode) raises or copes
        for w, h in sizes:  # as libheif reads them (the header walk above only looks at the first MiB)
            check_pixels(w, h, limits)
        if len(sizes) <= 1 and not alpha:
            return [data]
        _check_frames(len(sizes), sizes, limits)
        return [Decoded(data, len(sizes))]
    lay = image_layout(data, media.name)
    unsupported_animation(lay)
    check_pixels(lay.width, lay.height, limits)
    _check_frames(lay.frames, lay.frame_sizes, limits)
    for w, h in lay.frame_sizes:
        check_decode_bytes(data, media, w, h, limits)
    if media.name == "jpeg":
        images = [data[a : a + n] for a, n in lay.jpeg_images]
        for image in images:
            check_jpeg_scans(image, limits)
        return list(images)
    if lay.frames == 1 and not _may_have_alpha(data, media):
        return [data[: lay.end]]
    return [Decoded(data[: lay.end], lay.frames)]


def _may_have_alpha(data: bytes, media: MediaType) -> bool:
    """A still that may be transparent is decoded here with its alpha (``alpha_views``): a backend that
    decodes it without (OpenCV's IMREAD_COLOR, a JPEG re-encode) would scan colour planes a viewer may never
    show. PNG: colour type with alpha, or a tRNS chunk; WebP: VP8X alpha flag or an ALPH chunk, or lossless
    (its alpha_is_used bit is a hint decoders may ignore); TIFF: always."""
    if media.name == "png":
        return (len(data) > 25 and data[25] in (4, 6)) or b"tRNS" in data
    if media.name == "webp":  # an ALPH chunk the VP8X flag does not declare: see _cv.webp_alpha_declared
        extended = data[12:16] == b"VP8X" and len(data) > 20
        return data[12:16] == b"VP8L" or (extended and (bool(data[20] & 0x10) or b"ALPH" in data[30:]))
    return media.name == "tiff"


def _check_frames(frames: int, sizes: list[tuple[int, int]], limits: ScanLimits) -> None:
    if frames > limits.max_image_frames:
        raise LimitExceededError(
            f"image has {frames} frames/pages, over the limit of {limits.max_image_frames}"
        )
    for w, h in sizes:
        check_pixels(w, h, limits)
    total = sum(w * h for w, h in sizes)
    if total > limits.max_total_pixels:
        raise LimitExceededError(
            f"{frames} frames of {total} pixels in all, over the limit of {limits.max_total_pixels} pixels"
        )


def _no_image_sequence(data: bytes, media: MediaType) -> None:
    """HEIF/AVIF image sequences (animations) keep their frames in a movie track no still decoder reads."""
    from tutela.scrub.core import BytesReader, Ctx, ScrubLimits
    from tutela.scrub.isobmff import top_level

    if any(t == b"moov" for t, *_ in top_level(Ctx(BytesReader(data), ScrubLimits(), media.name))):
        raise UnsupportedMediaError(f"{media.name} image sequence (animation) is not supported")


def _movie_coverage(path: Path, media: MediaType) -> bool:
    """Hold a movie whose structure lets a player show frames the sampled scan cannot cover
    (``isobmff.movie_coverage``: a second video track, an edit list that is more than a start offset);
    True when a frame dwells (the movie is then sampled by time)."""
    from tutela.vision.video import movie_coverage

    problem, dwells = movie_coverage(path, media.name)
    if problem:
        raise UnsupportedMediaError(f"{problem} is not supported")
    return dwells


def _decode_frames(images: list[bytes | Decoded], media: MediaType) -> Iterator[Any]:
    from tutela.vision import _cv

    for item in images:
        if isinstance(item, Decoded):
            frames = _cv.decode_multi(item.data, media)
            if len(frames) != item.frames:
                raise CorruptMediaError(
                    f"decoder found {len(frames)} frames where the structure declares {item.frames}"
                )
            yield from frames
        else:
            w, h = image_size(item, media)
            yield _cv.decode_image(item, media, w, h, _cv.FRAME_SIDE)
