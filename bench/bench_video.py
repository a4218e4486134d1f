"""Video scan vs decoding every frame, for the three shapes of upload the sampler has to bound.

    .venv/bin/python bench/bench_video.py [--repeat 3] [--quick]

1. ``clip``: bench_scan's generated 30 s 1920x1080 30 fps MPEG-4 (OpenCV's writer, a keyframe every 12
   frames; scene cuts at 9.3 s and 19.65 s): sampled by frame index (seeks). The issue's rule: the scan
   costs <= 0.35x decoding every frame.
2. ``screen``: a 55 s 1280x720 screen recording, H.264 (libx264 veryfast, default GOP of 250 frames: 3
   keyframes in 55 s) with a variable frame rate: scrolling text at 30 fps between still stretches of
   6-12 s, duplicate frames dropped (``mpdecimate``, ``-fps_mode vfr``) as screen recorders write them
   (597 frames). A frame dwells, so it is sampled by time.
3. ``screen15``: the same recording 16 times over (stream copy), 880 s: the duration limit is 900 s.

Each is timed in one process, interleaved, median of ``--repeat``, wall clock and process CPU time
(all threads: FFmpeg decodes with several; CPU time moves less with a shared machine's load):
``read()`` of every frame (the floor: what the time sampler used to pay, plus the analysis); ``grab()``
of every frame (decoding without the colour conversion: what a GOP longer than the sample interval forces
on any sampler); the sampler alone (``sample_frames``); ``scan_file`` with the local backend. Needs
``ffmpeg`` with libx264 for 2 and 3 (skipped without it; the tests make their movies with OpenCV and
byte edits instead).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tutela.vision import ScanLimits, get_backend, scan_file
from tutela.vision.limits import Deadline
from tutela.vision.video import dwells, sample_frames

sys.path.insert(0, str(Path(__file__).parent))
from bench_scan import make_clip  # the same 1080p clip as bench_scan --video

W, H, FPS = 1280, 720, 30
SEGMENTS = [
    ("scroll", 5),
    ("still", 6),
    ("scroll", 3),
    ("still", 10),
    ("type", 8),
    ("scroll", 4),
    ("still", 12),
]
SEGMENTS += [("scroll", 7)]


def make_screen_recording(path: Path) -> Path:
    """Text scrolling and being typed, with still stretches, piped to ffmpeg; duplicates dropped (VFR)."""
    lines = 400
    tall = np.full((lines * 36 + H, W, 3), 245, np.uint8)  # the whole page, rendered once
    for i in range(lines):
        cv2.putText(tall, f"line {i} chat message lorem ipsum {i * 7919 % 1000}", (30, 40 + i * 36),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.9, (30, 30, 30), 2)  # fmt: skip
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}"]
    cmd += ["-r", str(FPS), "-i", "-", "-vf", "mpdecimate", "-fps_mode", "vfr", "-c:v", "libx264"]
    cmd += ["-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    off = 0
    for kind, seconds in SEGMENTS:
        for i in range(seconds * FPS):
            off += 6 if kind == "scroll" else 1 if kind == "type" and i % 9 == 0 else 0
            frame = tall[off : off + H].copy()
            cv2.rectangle(frame, (900, 100), (1200, 400), (40, 120, 200), -1)
            proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("ffmpeg failed")
    return path


def repeat_recording(src: Path, times: int, path: Path) -> Path:
    listing = path.with_suffix(".txt")
    listing.write_text("".join(f"file '{src.name}'\n" for _ in range(times)))
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing)]
    subprocess.run([*cmd, "-c", "copy", str(path)], check=True, cwd=src.parent)
    return path


def every_frame(path: Path, convert: bool) -> int:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    n = 0
    while cap.read()[0] if convert else cap.grab():
        n += 1
    cap.release()
    return n


def bench(name: str, path: Path, backend: Any, repeat: int) -> None:
    frames = every_frame(path, False)
    runs: dict[str, Callable[[], object]] = {
        "read() every frame (floor)": lambda: every_frame(path, True),
        "grab() every frame": lambda: every_frame(path, False),
        "sample_frames": lambda: sum(1 for _ in sample_frames(path, ScanLimits(), Deadline(600))),
        "scan_file (local backend)": lambda: scan_file(path, backend=backend),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    report: Any = None
    for _ in range(repeat):
        for label, fn in runs.items():
            t, c = time.perf_counter(), time.process_time()
            out = fn()
            times[label].append(time.perf_counter() - t)
            cpu[label].append(time.process_time() - c)
            if label.startswith("scan_file"):
                report = out
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    floor, floor_cpu = med["read() every frame (floor)"], med_cpu["read() every frame (floor)"]
    whys = [s["why"] for s in report.samples or []]
    how = "by time" if dwells(path) else "by frame index"
    counts = f"{whys.count('rate')} rate, {whys.count('scene')} scene, {whys.count('end')} end"
    print(f"-- {name}: {frames} frames, sampled {how}; scanned {report.frames} ({counts})", flush=True)
    for label, s in med.items():
        c = med_cpu[label]
        wall = f"{s:7.2f} s {s / floor:5.2f}x the floor"
        print(f"   {label:30s} {wall} | CPU {c:7.2f} s {c / floor_cpu:5.2f}x", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip the 15-minute recording")
    args = ap.parse_args()
    backend = get_backend("local")
    backend.version()  # models loaded outside the timed region (a warm Lambda)
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        root = Path(tmp)
        bench("clip: 30 s 1080p MPEG-4, 30 fps", make_clip(root / "clip.mp4", 30), backend, args.repeat)
        if shutil.which("ffmpeg") is None:
            print("-- screen recordings skipped: no ffmpeg on PATH")
            return
        screen = make_screen_recording(root / "screen.mp4")
        bench("screen: 55 s 720p H.264 screen recording, variable frame rate", screen, backend, args.repeat)
        if not args.quick:
            long = repeat_recording(screen, 16, root / "screen15.mp4")
            bench("screen15: the recording 16 times over, 880 s", long, backend, args.repeat)


if __name__ == "__main__":
    main()
