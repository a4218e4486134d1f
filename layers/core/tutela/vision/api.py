"""``scan_file``: sniff, enforce limits, run a backend on an image or sampled video frames."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutela.errors import InvalidInputError, LimitExceededError, UnsupportedMediaError
from tutela.sniff import SNIFF_BYTES, sniff
from tutela.vision.backend import Face, ModerationLabel, VisionBackend
from tutela.vision.limits import ScanLimits, check_jpeg_scans, check_pixels, image_size

_BACKENDS: dict[str, VisionBackend] = {}


def get_backend(name: str = "local", client: Any | None = None) -> VisionBackend:
    """A backend by name. Without a client the instance is cached (models/clients reused when warm)."""
    if name not in ("local", "rekognition"):
        raise InvalidInputError(f"unknown vision backend {name!r} (expected 'local' or 'rekognition')")
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
    frames: list[dict[str, Any]] | None = None
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
        }
        if self.frames is not None:
            out["frames"] = self.frames
        if self.notes:
            out["notes"] = self.notes
        return out


def scan_file(
    path: str | Path,
    *,
    backend: str | VisionBackend = "local",
    limits: ScanLimits | None = None,
) -> ScanReport:
    """Scan one image or video. Raises tutela.errors (Unsupported/Corrupt/LimitExceeded/...)."""
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
        width, height = image_size(data, media)
        check_pixels(width, height, limits)
        if media.name == "jpeg":
            check_jpeg_scans(data, limits)
        t1 = time.perf_counter()
        result = be.scan_image_bytes(data, media, limits)
        deadline.check("scanning the image")
        t2 = time.perf_counter()
        timings = {
            "read": round((t1 - t0) * 1000, 2),
            **result.timings_ms,
            "total": round((t2 - t0) * 1000, 2),
        }
        notes.extend(result.notes)
        return ScanReport(
            media.name, "image", be.name, be.version(), result.labels, result.faces,
            result.width or width, result.height or height, timings, None, notes,
        )  # fmt: skip
    if size > limits.max_video_bytes:
        raise LimitExceededError(f"video is {size} bytes, over the {limits.max_video_bytes} byte limit")
    from tutela.vision.video import scan_video

    video = scan_video(p, be, limits, deadline)
    if video.capped:
        notes.append(f"frame cap of {limits.max_frames} reached; later frames were not scanned")
    total = round((time.perf_counter() - t0) * 1000, 2)
    timings = {"frames_scan": video.scan_ms, "total": total}
    return ScanReport(
        media.name, "video", be.name, be.version(), video.labels, video.faces,
        video.width, video.height, timings, video.frames, notes,
    )  # fmt: skip
