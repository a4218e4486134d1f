"""Video: sample frames at a fixed rate plus scene changes (capped), scan each, aggregate worst-case."""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
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
# packets a demux-only pass may list (~17 us each): 200k is 3.5 s, 15 min at 240 fps
MAX_INDEXED_FRAMES = 216_000


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
    path: Path, limits: ScanLimits, deadline: Deadline, *, timed: bool | None = None
) -> Iterator[SampledFrame]:
    """Fixed-rate samples (every ``sample_every_s``) reached by seeking, plus, wherever two consecutive
    samples differ (a scene change), the first frame of the new scene located at ``scene_check_every_s``
    resolution. Frames after the last declared frame are read too (a container cannot hide a tail by
    under-declaring its length). ``timed``: a movie whose frames last very different times (a screen
    recording writes a frame only when the screen changes) is sampled by its timestamps (``_by_time``);
    None: decided from the file's structure (``dwells``), so every caller (the scan, the hash-bank import,
    the review preview) samples a movie the same way."""
    cv = _cv.cv2()
    if timed is None:
        timed = dwells(path)
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
            cap.release()
            yield from _by_time(path, limits, deadline, sar)
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


def dwells(path: Path) -> bool:
    """Whether one frame of the movie lasts far longer than the others (``isobmff.movie_coverage``, the
    rule ``scan_file`` applies): such a movie is sampled by time."""
    from tutela.sniff import sniff

    with open(path, "rb") as f:
        media = sniff(f.read(64))
    return media is not None and media.kind == "video" and movie_coverage(path, media.name)[1]


def movie_coverage(path: Path, media_name: str) -> tuple[str | None, bool]:
    """``isobmff.movie_coverage`` of the movie at ``path``: (what a player could show that the sampled scan
    cannot cover, or None; whether a frame dwells)."""
    from tutela.scrub import isobmff
    from tutela.scrub.core import Ctx, FileReader, ScrubLimits

    fd = os.open(path, os.O_RDONLY)
    try:
        reader = FileReader(fd, os.fstat(fd).st_size)
        try:
            return isobmff.movie_coverage(Ctx(reader, ScrubLimits(), media_name))
        finally:
            reader.close()
    finally:
        os.close(fd)


def _timeline(path: Path, limits: ScanLimits, deadline: Deadline) -> tuple[list[float], list[int]]:
    """Presentation time (s) of every frame of the video stream, in presentation order, and the positions of
    its keyframes there, from a demux-only pass (OpenCV's raw mode: packets, no decoding; ~600 packets
    in 10 ms). The same demuxer feeds the decoder, so these are the times the decoded frames carry."""
    cv = _cv.cv2()
    cap = cv.VideoCapture(str(path), cv.CAP_FFMPEG, [cv.CAP_PROP_FORMAT, -1])
    packets: list[tuple[float, bool]] = []
    try:
        if not cap.isOpened():
            raise CorruptMediaError("video could not be opened (truncated or malformed container)")
        while cap.grab():
            if len(packets) % 1024 == 0:
                deadline.check("indexing video frames")
            if len(packets) >= MAX_INDEXED_FRAMES:
                raise LimitExceededError("video has more frames than the scan limit allows")
            key = bool(cap.get(cv.CAP_PROP_LRF_HAS_KEY_FRAME))
            packets.append((round(float(cap.get(cv.CAP_PROP_POS_MSEC)) / 1000.0, 6), key))
    finally:
        cap.release()
    if not packets:
        raise CorruptMediaError("video has no decodable frames")
    packets.sort()
    times = [t for t, _ in packets]
    if any(b <= a for a, b in itertools.pairwise(times)):
        # two frames at one instant: which one a player shows is the player's choice; fail closed
        raise CorruptMediaError("video frames without distinct presentation times")
    if times[-1] - times[0] > limits.max_video_seconds:
        raise LimitExceededError(
            f"video lasts {times[-1] - times[0]:.0f}s, over the {limits.max_video_seconds:.0f}s limit"
        )
    return times, [i for i, (_, key) in enumerate(packets) if key] or [0]


class _TimeReader:
    """The frames of a timeline (``_timeline``), by position, decoding only what reaching them needs: forward
    ``grab()``s (decode without the colour conversion), ``retrieve()`` of the wanted frame only, and a seek
    when a keyframe lies between here and the target (or the target is behind). Frames are identified by
    their presentation time, never by counting: OpenCV's seek counts frames at the average rate after
    landing, which in a variable-rate movie overshoots by seconds (asked for 27.0 s, it stopped at 32.9 s).
    So a seek is asked for far enough before the target that its count cannot pass it, and checked: a
    landing past the target is undone by reopening the file and reading forward from its start."""

    SEEK_COUNT = 16  # frames OpenCV's seek may count forward from the keyframe it lands on (cap_ffmpeg)

    def __init__(
        self,
        path: Path,
        times: list[float],
        keys: list[int],
        limits: ScanLimits,
        deadline: Deadline,
        sar: float,
    ) -> None:
        self.path, self.times, self.keys, self.limits, self.sar = path, times, keys, limits, sar
        self.deadline = deadline
        self.decoded = 0
        self.cap: Any = None
        self.pos = -1  # position (in ``times``) of the frame grabbed last; -1: before the first
        self._open()

    def _open(self) -> None:
        cv = _cv.cv2()
        if self.cap is not None:
            self.cap.release()
        self.cap = cv.VideoCapture(str(self.path), cv.CAP_FFMPEG)
        if not self.cap.isOpened():
            raise CorruptMediaError("video could not be opened (truncated or malformed container)")
        self.pos = -1

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    def _grab(self) -> int:
        """Grab the next frame; its position in the timeline (frames the index lists but the decoder does
        not produce are stepped over, a frame the index does not list is an error)."""
        if not self.cap.grab():
            raise CorruptMediaError("video frames listed by the container could not be decoded")
        self._count(1)
        t = round(float(self.cap.get(_cv.cv2().CAP_PROP_POS_MSEC)) / 1000.0, 6)
        at = bisect.bisect_left(self.times, t - 1e-6)
        if at >= len(self.times) or abs(self.times[at] - t) > 1e-6 or at <= self.pos:
            raise CorruptMediaError("decoded video frames do not match the container's timeline")
        self.pos = at
        return at

    def _key(self, target: int) -> int | None:
        """The last keyframe far enough before ``target`` that OpenCV's count after landing cannot pass it."""
        k = bisect.bisect_right(self.keys, target - self.SEEK_COUNT - 2) - 1
        return self.keys[k] if k >= 0 else None

    def seeks_for(self, target: int) -> bool:
        key = self._key(target)
        return target < self.pos or (key is not None and key - self.pos > self.SEEK_COUNT)

    def at(self, target: int) -> Any:
        if self.seeks_for(target):
            self._seek(self._key(target), target)
        while self.pos < target:
            self._grab()
        if self.pos != target:  # the decoder skipped the wanted frame
            raise CorruptMediaError("video frames listed by the container could not be decoded")
        ok, frame = self.cap.retrieve()
        if not ok or frame is None:
            raise CorruptMediaError("video frames listed by the container could not be decoded")
        check_pixels(frame.shape[1], frame.shape[0], self.limits, per_frame=True)
        return as_shown(frame, self.sar)

    def _seek(self, key: int | None, target: int) -> None:
        cv = _cv.cv2()
        fps = float(self.cap.get(cv.CAP_PROP_FPS) or 0.0)
        if key is not None and key > 0 and 0.5 <= fps <= 1000.0:
            # OpenCV seeks to the keyframe before (n - 16) / fps, then counts frames up to n
            n = math.ceil(self.times[key] * fps - 1e-6) + self.SEEK_COUNT
            self.cap.set(cv.CAP_PROP_POS_FRAMES, n)
            self.pos = -1
            landed = self._grab()
            self._count(max(0, landed - key))  # what OpenCV decoded getting there (at least)
            if landed <= target:
                return
        self._open()  # from the start: nothing is skipped

    def _count(self, n: int) -> None:
        if self.decoded // 64 != (self.decoded + n) // 64:
            self.deadline.check("sampling video frames")
        self.decoded += n
        if self.decoded > self.limits.max_decoded_frames:
            raise LimitExceededError("video has more frames than the scan limit allows")


def _by_time(path: Path, limits: ScanLimits, deadline: Deadline, sar: float) -> Iterator[SampledFrame]:
    """Samples by presentation time: the frame on screen at each tick (every ``sample_every_s``, spread
    over the length like the index samples) and the last frame; wherever two consecutive samples differ,
    the first frame on screen at a ``scene_check_every_s`` tick between them that no longer looks like the
    earlier one (a scene change). A frame shown for seconds is on screen at a tick, however few frames
    surround it: index sampling (every n-th frame) steps over it. The frame times come from the container
    (``_timeline``), so only the frames scanned (and what decoding them needs) are decoded."""
    cv = _cv.cv2()
    times, keys = _timeline(path, limits, deadline)
    start, last = max(times[0], min(0.0, times[-1])), len(times) - 1
    rate_slots = max(1, limits.max_frames * 3 // 4)
    every = max(limits.sample_every_s, (times[-1] - start) / rate_slots)
    scene_slots = max(0, limits.max_frames - rate_slots - 1)

    first = bisect.bisect_left(times, 0.0) if times[-1] >= 0 else 0  # before 0: hidden by an edit list

    def shown(t: float) -> int:
        return max(first, bisect.bisect_right(times, t + 1e-9) - 1)

    targets: list[tuple[float, int]] = []  # (tick, frame on screen), each frame once
    k = 0
    while start + k * every <= times[-1] + 1e-9:
        i = shown(start + k * every)
        if not targets or targets[-1][1] != i:
            targets.append((start + k * every, i))
        k += 1
    reader = _TimeReader(path, times, keys, limits, deadline, sar)
    try:
        emitted = scenes = 0
        prev: tuple[float, int, Any] | None = None  # tick, frame, histogram of the last rate sample

        def out(i: int, why: str, image: Any) -> SampledFrame:
            nonlocal emitted
            if emitted >= limits.max_frames:
                raise LimitExceededError("video has more frames than the scan limit covers")
            emitted += 1
            return SampledFrame(round(times[i], 3), i, why, image)

        for tick, i in targets:
            deadline.check("sampling video frames")
            checks = _checkpoints(prev, tick, i, shown, limits) if scenes < scene_slots else []
            cut: tuple[int, Any] | None = None
            if checks and not reader.seeks_for(i):  # decoded on the way anyway: checked now, not gone back to
                cut = _first_change(reader, prev, checks, deadline)
                checks = []
            frame = reader.at(i)
            hist = _hist(cv, frame)
            if prev is not None and _differ(prev[2], hist, limits):
                if checks:  # stepped over by a seek: back to them
                    cut = _first_change(reader, prev, checks, deadline)
                if cut is not None:
                    scenes += 1
                    yield out(cut[0], "scene", cut[1])
            yield out(i, "end" if i == last else "rate", frame)
            prev = (tick, i, hist)
        if targets[-1][1] != last:
            yield out(last, "end", reader.at(last))
    finally:
        reader.close()


def _differ(a: Any, b: Any, limits: ScanLimits) -> bool:
    return bool(_cv.cv2().compareHist(a, b, _cv.cv2().HISTCMP_BHATTACHARYYA) > limits.scene_threshold)


def _checkpoints(
    prev: tuple[float, int, Any] | None,
    tick: float,
    index: int,
    shown: Callable[[float], int],
    limits: ScanLimits,
) -> list[int]:
    """The frames on screen at the ``scene_check_every_s`` ticks between the last sample and the next one
    (``index``, at ``tick``), each once, neither sample included."""
    if prev is None:
        return []
    out: list[int] = []
    k = 1
    while prev[0] + k * limits.scene_check_every_s < tick - 1e-9:
        i = shown(prev[0] + k * limits.scene_check_every_s)
        k += 1
        if i >= index:
            break
        if i != prev[1] and (not out or out[-1] != i):
            out.append(i)
    return out


def _first_change(
    reader: _TimeReader, prev: Any, checks: list[int], deadline: Deadline
) -> tuple[int, Any] | None:
    """The first of ``checks`` that no longer looks like the sample ``prev``; None: the change is at the
    next sample itself."""
    for i in checks:
        deadline.check("locating a scene change")
        frame = reader.at(i)
        if _differ(prev[2], _hist(_cv.cv2(), frame), reader.limits):
            return i, frame
    return None


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
