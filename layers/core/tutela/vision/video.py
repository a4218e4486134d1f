"""Video: sample frames at a fixed rate plus scene changes (capped), scan each, aggregate worst-case."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutela.errors import CorruptMediaError, LimitExceededError
from tutela.vision import _cv
from tutela.vision.backend import (
    MAX_FACES,
    Face,
    ImageScan,
    ModerationLabel,
    VisionBackend,
    merge_labels,
    youngest_faces,
)
from tutela.vision.limits import Deadline, ScanLimits, check_pixels

SAMPLE_FACES = 5  # faces kept per sampled frame (youngest first; ``faces`` counts them all)


@dataclass
class SampledFrame:
    t: float
    index: int
    why: str  # "rate" | "scene" | "end" (the last frame)
    image: Any


def _hist(cv: Any, frame: Any) -> Any:
    hsv = cv.cvtColor(cv.resize(frame, (64, 36), interpolation=cv.INTER_AREA), cv.COLOR_BGR2HSV)
    hist = cv.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    cv.normalize(hist, hist)
    return hist


class _Reader:
    """Frame access that decodes only what is sampled: a forward jump of more than ``seek_after`` frames
    is a container seek (FFmpeg decodes from the keyframe before the target), a short one is ``grab()``s
    (demux + decode without the colour conversion); only sampled frames are ``retrieve``d."""

    def __init__(self, cap: Any, limits: ScanLimits, seek_after: int, sar: float = 1.0) -> None:
        self.cap = cap
        self.limits = limits
        self.sar = sar  # sample aspect ratio: how much wider than tall a player draws each coded pixel
        self.pos = 0  # index of the frame the next grab() returns
        self.seek_after = seek_after
        self.decoded = 0

    def at(self, index: int) -> Any | None:
        cv = _cv.cv2()
        if index < self.pos or index - self.pos > self.seek_after:
            self.cap.set(cv.CAP_PROP_POS_FRAMES, index)
            self.pos = index
        while self.pos < index:
            if not self.cap.grab():
                return None
            self.pos += 1
            self._count()
        ok, frame = self.cap.read()
        if not ok or frame is None:
            return None
        self.pos += 1
        self._count()
        check_pixels(frame.shape[1], frame.shape[0], self.limits, per_frame=True)
        return as_shown(frame, self.sar)

    def _count(self) -> None:
        self.decoded += 1
        if self.decoded > self.limits.max_decoded_frames:
            raise LimitExceededError("video has more frames than the scan limit allows")


def as_shown(frame: Any, sar: float) -> Any:
    """The frame at the shape players show it: a ``pasp`` box or the codec's own aspect ratio makes each
    coded pixel ``sar`` times as wide as tall, so a face stored squeezed to a sliver (which no detector
    finds) is shown whole. Stretched along one side, then scaled so the long side stays as decoded: a frame
    never grows, whatever the ratio."""
    if abs(sar - 1.0) < 0.01:
        return frame
    h, w = frame.shape[:2]
    shown_w, shown_h = w * sar, float(h)
    k = max(w, h) / max(shown_w, shown_h)
    size = (max(1, round(shown_w * k)), max(1, round(shown_h * k)))
    return _cv.cv2().resize(frame, size, interpolation=_cv.cv2().INTER_AREA)


def sample_frames(
    path: Path, limits: ScanLimits, deadline: Deadline, *, timed: bool = False
) -> Iterator[SampledFrame]:
    """Fixed-rate samples (every ``sample_every_s``) reached by seeking, plus, wherever two consecutive
    samples differ (a scene change), the first frame of the new scene located at ``scene_check_every_s``
    resolution. Frames after the last declared frame are read too (a container cannot hide a tail by
    under-declaring its length). ``timed``: a movie whose frames last very different times (a screen
    recording writes a frame only when the screen changes) is sampled by its timestamps (``_by_time``)."""
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
        count = max(0, int(cap.get(cv.CAP_PROP_FRAME_COUNT) or 0))
        if count / fps > limits.max_video_seconds:
            raise LimitExceededError(
                f"video lasts {count / fps:.0f}s, over the {limits.max_video_seconds:.0f}s limit"
            )
        rate = max(1, round(fps * limits.sample_every_s))
        rate_slots = max(1, limits.max_frames * 3 // 4)
        if count:  # spread the fixed-rate samples over the whole video (3/4 of the cap; the rest: scenes)
            rate = max(rate, -(-count // rate_slots))
        # Scene samples get only what the fixed-rate ones (and the last frame) leave: taken from the same
        # budget, a video changing scene between every two samples used it up long before its end.
        scene_slots = max(0, limits.max_frames - rate_slots - 1)
        scenes = 0
        step = max(1, round(fps * limits.scene_check_every_s))
        num, den = float(cap.get(cv.CAP_PROP_SAR_NUM) or 0), float(cap.get(cv.CAP_PROP_SAR_DEN) or 0)
        sar = num / den if num > 0 and den > 0 else 1.0
        if round(float(cap.get(cv.CAP_PROP_ORIENTATION_META) or 0)) % 180 == 90:
            sar = 1.0 / sar  # OpenCV hands over frames already rotated: the coded width is now the height
        if timed:
            yield from _by_time(cap, fps, count, limits, deadline, sar)
            return
        reader = _Reader(cap, limits, seek_after=max(step, rate // 2), sar=sar)
        emitted = 0
        prev: tuple[int, Any] | None = None
        index = 0
        tail_done = False
        while True:
            deadline.check("sampling video frames")
            if index / fps > limits.max_video_seconds:
                raise LimitExceededError("video is longer than the scan limit allows")
            frame = reader.at(index)
            if frame is None:
                if not tail_done and prev is not None and prev[0] < count - 1:
                    tail_done = True  # the last frame too: the end of a video is never left unsampled
                    index = count - 1
                    continue
                break
            hist = _hist(cv, frame)
            if (
                scenes < scene_slots
                and prev is not None
                and cv.compareHist(prev[1], hist, cv.HISTCMP_BHATTACHARYYA) > limits.scene_threshold
            ):
                cut = _first_of_new_scene(reader, prev, index, hist, step, limits)
                if cut is not None:
                    yield SampledFrame(round(cut[0] / fps, 3), cut[0], "scene", cut[1])
                    emitted += 1
                    scenes += 1
            # The budgets above fit any declared length; only a length the container under-declares can
            # reach the cap with frames left, which would never be scanned.
            if emitted >= limits.max_frames:
                raise LimitExceededError("video has more frames than the scan limit covers")
            yield SampledFrame(round(index / fps, 3), index, "end" if tail_done else "rate", frame)
            emitted += 1
            if emitted >= limits.max_frames:
                if index < count - 1 or reader.at(index + 1) is not None:
                    raise LimitExceededError("video has more frames than the scan limit covers")
                return
            prev = (index, hist)
            index += rate
        if emitted == 0:
            raise CorruptMediaError("video has no decodable frames")
    finally:
        cap.release()


def _by_time(
    cap: Any, fps: float, count: int, limits: ScanLimits, deadline: Deadline, sar: float
) -> Iterator[SampledFrame]:
    """Samples by presentation time: every frame is decoded in order and the one on screen at each tick
    (every ``sample_every_s``, spread over the declared length like the index samples) is scanned, and so
    is the one on screen at a ``scene_check_every_s`` tick that no longer looks like the last one checked
    (a scene change), and the last frame. A frame shown for seconds is on screen at a tick, however few
    frames surround it: index sampling (every n-th frame) steps over it. Costs a decode of every frame
    (bounded by ``max_decoded_frames``), so only movies whose frame durations vary that much take it."""
    cv = _cv.cv2()
    rate_slots = max(1, limits.max_frames * 3 // 4)
    every = max(limits.sample_every_s, count / fps / rate_slots)
    scene_slots = max(0, limits.max_frames - rate_slots - 1)
    scenes = emitted = decoded = 0
    next_rate = next_scene = 0.0
    last_hist: Any = None
    held: tuple[int, float, Any] | None = None  # the frame decoded last: index, start time, pixels

    def judge(index: int, start: float, end: float, frame: Any) -> Iterator[SampledFrame]:
        """The frame shown from ``start`` until ``end``: scanned if a tick falls in that time."""
        nonlocal next_rate, next_scene, scenes, emitted, last_hist
        why = "end" if end == float("inf") else None  # the end of a video is never left unsampled
        if why is None and next_rate < end:
            why = "rate"
            while next_rate < end:
                next_rate += every
        if end != float("inf") and next_scene < end:
            while next_scene < end:
                next_scene += limits.scene_check_every_s
            hist = _hist(cv, frame)
            changed = last_hist is not None and (
                cv.compareHist(last_hist, hist, cv.HISTCMP_BHATTACHARYYA) > limits.scene_threshold
            )
            last_hist = hist
            if why is None and changed and scenes < scene_slots:
                why = "scene"
                scenes += 1
        if why is not None:
            if emitted >= limits.max_frames:
                raise LimitExceededError("video has more frames than the scan limit covers")
            emitted += 1
            yield SampledFrame(round(start, 3), index, why, as_shown(frame, sar))

    while True:
        deadline.check("sampling video frames")
        ok, frame = cap.read()
        if not ok or frame is None:
            break
        decoded += 1
        if decoded > limits.max_decoded_frames:
            raise LimitExceededError("video has more frames than the scan limit allows")
        check_pixels(frame.shape[1], frame.shape[0], limits, per_frame=True)
        # FFmpeg's presentation time (edit lists applied); a file without one, or going back, steps at fps
        start = float(cap.get(cv.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
        if held is not None and not start > held[1]:
            start = held[1] + 1.0 / fps
        if start > limits.max_video_seconds:
            raise LimitExceededError("video is longer than the scan limit allows")
        if held is None:
            next_rate = next_scene = start
        else:
            yield from judge(held[0], held[1], start, held[2])
        held = (decoded - 1, start, frame)
    if held is None:
        raise CorruptMediaError("video has no decodable frames")
    yield from judge(held[0], held[1], float("inf"), held[2])


def _first_of_new_scene(
    reader: _Reader, prev: tuple[int, Any], index: int, new_hist: Any, step: int, limits: ScanLimits
) -> tuple[int, Any] | None:
    """Between two differing samples: the first checkpoint (every ``step`` frames) that no longer looks
    like ``prev``; None when the change is at ``index`` itself."""
    cv = _cv.cv2()
    for k in range(prev[0] + step, index, step):
        frame = reader.at(k)
        if frame is None:
            return None
        if cv.compareHist(prev[1], _hist(cv, frame), cv.HISTCMP_BHATTACHARYYA) > limits.scene_threshold:
            return k, frame
    return None


@dataclass
class VideoScan:
    labels: list[ModerationLabel]
    faces: list[Face]
    frames: list[dict[str, Any]]
    width: int
    height: int
    scan_ms: float
    capped: bool


_DONE = object()


def prefetch[T](items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run ``items`` in a worker thread, at most ``depth`` ahead: the next sample is decoded while the
    current one is analysed (FFmpeg and OpenCV release the GIL), so a scan costs about max(decode,
    analysis) instead of their sum. Errors are re-raised here; closing the iterator stops the worker."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            q.put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # releases the VideoCapture in the worker that used it

    worker = threading.Thread(target=run, name="video-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get_nowait()
            worker.join(timeout=0.05)


@dataclass
class _Failure:
    exc: BaseException


def scan_video(
    path: Path,
    backend: VisionBackend,
    limits: ScanLimits,
    deadline: Deadline,
    frame_sink: Callable[[Any], None] | None = None,
    *,
    timed: bool = False,
) -> VideoScan:
    frames: list[dict[str, Any]] = []
    all_labels: list[ModerationLabel] = []
    all_faces: list[Face] = []
    width = height = 0
    scan_ms = 0.0
    for sample in prefetch(sample_frames(path, limits, deadline, timed=timed)):
        if frame_sink is not None:
            frame_sink(sample.image)
        result: ImageScan = backend.scan_frame(sample.image)
        deadline.check("scanning video frames")
        width, height = result.width, result.height
        scan_ms += sum(result.timings_ms.values())
        frames.append(
            {
                "t": sample.t,
                "why": sample.why,
                "ModerationLabels": result.labels,
                "Faces": youngest_faces(result.faces, SAMPLE_FACES),
                "faces": len(result.faces),
            }
        )
        all_labels.extend(result.labels)
        all_faces.extend(result.faces)
    return VideoScan(
        labels=merge_labels(all_labels),
        faces=youngest_faces(all_faces, MAX_FACES),
        frames=frames,
        width=width,
        height=height,
        scan_ms=round(scan_ms, 2),
        capped=len(frames) >= limits.max_frames,
    )
