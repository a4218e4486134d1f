"""Video: sample frames at a fixed rate plus scene changes (capped), scan each, aggregate worst-case."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutela.errors import CorruptMediaError, LimitExceededError
from tutela.vision import _cv
from tutela.vision.backend import Face, ImageScan, ModerationLabel, VisionBackend, merge_labels
from tutela.vision.limits import Deadline, ScanLimits, check_pixels

MAX_FACES = 50  # faces kept in the aggregate (youngest first)


@dataclass
class SampledFrame:
    t: float
    index: int
    why: str  # "rate" | "scene"
    image: Any


def sample_frames(path: Path, limits: ScanLimits, deadline: Deadline) -> Iterator[SampledFrame]:
    cv = _cv.cv2()
    # FFmpeg's own log (e.g. "moov atom not found" on hostile files) would go to stderr: the error we
    # raise says it once. An explicit setting by the operator wins.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cap = cv.VideoCapture(str(path), cv.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise CorruptMediaError("video could not be opened (truncated or malformed container)")
        fps = float(cap.get(cv.CAP_PROP_FPS) or 0.0)
        if not 0.5 <= fps <= 1000.0:
            fps = 30.0
        w, h = int(cap.get(cv.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv.CAP_PROP_FRAME_HEIGHT))
        if w or h:
            check_pixels(w, h, limits, per_frame=True)
        declared = float(cap.get(cv.CAP_PROP_FRAME_COUNT) or 0.0) / fps
        if declared > limits.max_video_seconds:
            raise LimitExceededError(
                f"video lasts {declared:.0f}s, over the {limits.max_video_seconds:.0f}s limit"
            )
        rate_step = max(1, round(fps * limits.sample_every_s))
        scene_step = max(1, round(fps * limits.scene_check_every_s))
        index = emitted = 0
        last_hist: Any = None
        while True:
            deadline.check("sampling video frames")
            if index >= limits.max_decoded_frames or index / fps > limits.max_video_seconds:
                raise LimitExceededError("video has more frames than the scan limit allows")
            if index % scene_step and index % rate_step:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            check_pixels(frame.shape[1], frame.shape[0], limits, per_frame=True)
            why = "rate" if index % rate_step == 0 else ""
            if index % scene_step == 0:
                hsv = cv.cvtColor(cv.resize(frame, (64, 36), interpolation=cv.INTER_AREA), cv.COLOR_BGR2HSV)
                hist = cv.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
                cv.normalize(hist, hist)
                if last_hist is not None and not why:
                    dist = cv.compareHist(last_hist, hist, cv.HISTCMP_BHATTACHARYYA)
                    if dist > limits.scene_threshold:
                        why = "scene"
                last_hist = hist
            if why:
                yield SampledFrame(round(index / fps, 3), index, why, frame)
                emitted += 1
                if emitted >= limits.max_frames:
                    return
            index += 1
        if emitted == 0:
            raise CorruptMediaError("video has no decodable frames")
    finally:
        cap.release()


@dataclass
class VideoScan:
    labels: list[ModerationLabel]
    faces: list[Face]
    frames: list[dict[str, Any]]
    width: int
    height: int
    scan_ms: float
    capped: bool


def scan_video(path: Path, backend: VisionBackend, limits: ScanLimits, deadline: Deadline) -> VideoScan:
    frames: list[dict[str, Any]] = []
    all_labels: list[ModerationLabel] = []
    all_faces: list[Face] = []
    width = height = 0
    scan_ms = 0.0
    for sample in sample_frames(path, limits, deadline):
        result: ImageScan = backend.scan_frame(sample.image)
        deadline.check("scanning video frames")
        width, height = result.width, result.height
        scan_ms += sum(result.timings_ms.values())
        frames.append(
            {"t": sample.t, "why": sample.why, "ModerationLabels": result.labels, "Faces": result.faces}
        )
        all_labels.extend(result.labels)
        all_faces.extend(result.faces)
    all_faces.sort(key=lambda f: (f.get("AgeRange", {}).get("High", -1), -f["Confidence"]))
    return VideoScan(
        labels=merge_labels(all_labels),
        faces=all_faces[:MAX_FACES],
        frames=frames,
        width=width,
        height=height,
        scan_ms=round(scan_ms, 2),
        capped=len(frames) >= limits.max_frames,
    )
