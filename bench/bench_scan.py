"""Local vision backend vs a plain full-resolution ``cv2.imread`` (the floor), on 12 MP JPEGs; and a
video scan vs decoding every frame of the same clip (``--video``).

    .venv/bin/python bench/bench_scan.py [--images 6] [--repeat 3] [--memory-mb 2048]
    .venv/bin/python bench/bench_scan.py --video [--video-seconds 30]

Video: a generated 1920x1080 30 fps MPEG-4 clip (OpenCV's writer, a keyframe every 12 frames) of three
colour-distinct scenes with motion (cuts at 9.3 s and 19.65 s, between two samples); the floor is
``VideoCapture.read()`` of every frame (what the old sampler paid: it decoded every frame to look for
scene changes), the scan is ``scan_file`` with the local backend (seeks to the 2 s samples, locates each
scene change at 0.25 s resolution, decodes the next sample while analysing the current one). Same file,
same process, interleaved, median of ``--repeat``.

Images are generated: scikit-image sample photos (portrait, animals, objects) upscaled to 4000x3000 with
mild sensor-like noise, JPEG quality 90, plus a synthetic scene when scikit-image is missing. Each file
is timed interleaved (floor, then scan) and the median of the repeats is kept. The cost table prices the
local backend on Lambda (measured duration x memory) against Rekognition's two calls per image.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tutela.policy.media import decide_media
from tutela.vision import get_backend, scan_file

# Prices assumed (us-east-1, list prices; check https://aws.amazon.com/lambda/pricing/ and
# https://aws.amazon.com/rekognition/pricing/ before quoting):
LAMBDA_GB_S_X86 = 0.0000166667  # USD per GB-second, x86_64, first 6 billion GB-s/month
LAMBDA_REQUEST = 0.20 / 1_000_000  # USD per request
REKOGNITION_IMAGE_TIER1 = 0.001  # USD per image per API call, first 1M images/month (Group 2 APIs)
REKOGNITION_CALLS = 2  # DetectModerationLabels + DetectFaces
REKOGNITION_LAMBDA_MS = 400.0  # assumed wall time of a ScanMedia Lambda waiting on the two calls
REKOGNITION_LAMBDA_MB = 512


def make_images(root: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(12)
    sources: list[Any] = []
    try:
        from skimage import data

        for name in ("astronaut", "chelsea", "coffee", "rocket", "camera", "immunohistochemistry"):
            img = getattr(data, name)()
            if img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
            sources.append(cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2BGR))
    except ImportError:
        yy, xx = np.mgrid[0:300, 0:400]
        sources.append(np.dstack([xx % 256, yy % 256, (xx + yy) % 256]).astype(np.uint8))
    paths = []
    for i in range(count):
        src = sources[i % len(sources)]
        big = cv2.resize(src, (4000, 3000), interpolation=cv2.INTER_CUBIC)
        noise = rng.normal(0, 3.0, big.shape).astype(np.int16)
        big = np.clip(big.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        path = root / f"img{i:02d}.jpg"
        cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def make_clip(path: Path, seconds: int, w: int = 1920, h: int = 1080, fps: int = 30) -> Path:
    rng = np.random.default_rng(3)
    base = cv2.resize(rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8), (w, h))
    tints = [(1.0, 0.3, 0.1), (0.1, 1.0, 0.2), (0.2, 0.1, 1.0)]
    scenes = [(base * np.array(t, dtype=np.float32)).astype(np.uint8) for t in tints]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    for i in range(seconds * fps):
        t = i / fps / seconds  # scene cuts at 31% and 65.5% of the clip: between two 2 s samples
        vw.write(np.roll(scenes[0 if t < 0.31 else 1 if t < 0.655 else 2], i * 4, axis=1))
    vw.release()
    return path


def decode_every_frame(path: Path) -> int:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n


def bench_video(seconds: int, repeat: int) -> None:
    backend = get_backend("local")
    backend.version()
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        t = time.perf_counter()
        clip = make_clip(Path(tmp) / "clip.mp4", seconds)
        print(f"generated a {seconds} s 1920x1080 clip ({clip.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t:.1f}s")  # fmt: skip
        floor, scan, frames = [], [], 0
        for _ in range(repeat):
            t = time.perf_counter()
            frames = decode_every_frame(clip)
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            report = scan_file(clip, backend=backend)
            scan.append(time.perf_counter() - t)
        f, s = statistics.median(floor), statistics.median(scan)
        whys = [x["why"] for x in report.samples or []]
        print(f"decode every frame ({frames} frames, floor)  {f:7.2f} s")
        rate, scene = whys.count("rate"), whys.count("scene")
        label = f"tutela video scan ({report.frames} frames: {rate} rate, {scene} scene)"
        print(f"{label}  {s:7.2f} s  = {s / f:.2f}x the floor (target <= 0.35x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", action="store_true", help="only the video benchmark")
    ap.add_argument("--images-only", action="store_true", help="skip the video benchmark")
    ap.add_argument("--video-seconds", type=int, default=30)
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory-mb", type=int, default=2048, help="Lambda memory for the cost table")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.video:
        bench_video(args.video_seconds, args.repeat)
        return

    backend = get_backend("local")
    backend.version()  # load models outside the timed region (a warm Lambda)
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        paths = make_images(Path(tmp), args.images)
        scan_file(paths[0], backend=backend)  # warm-up
        floor_ms: list[float] = []
        scan_ms: list[float] = []
        verdicts: list[str] = []
        mb = statistics.mean(p.stat().st_size for p in paths) / 1e6
        for path in paths:
            f_runs, s_runs = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                img = cv2.imread(str(path), cv2.IMREAD_COLOR)
                f_runs.append((time.perf_counter() - t) * 1000)
                assert img is not None and img.shape[:2] == (3000, 4000)
                del img
                t = time.perf_counter()
                report = scan_file(path, backend=backend).to_dict()
                s_runs.append((time.perf_counter() - t) * 1000)
            floor_ms.append(statistics.median(f_runs))
            scan_ms.append(statistics.median(s_runs))
            verdicts.append(decide_media(report, None)["verdict"])

    floor = statistics.mean(floor_ms)
    scan = statistics.mean(scan_ms)
    gb = args.memory_mb / 1024
    local_per_m = 1e6 * (gb * scan / 1000 * LAMBDA_GB_S_X86 + LAMBDA_REQUEST)
    rek_lambda = 1e6 * (
        REKOGNITION_LAMBDA_MB / 1024 * REKOGNITION_LAMBDA_MS / 1000 * LAMBDA_GB_S_X86 + LAMBDA_REQUEST
    )
    rek_per_m = 1e6 * REKOGNITION_IMAGE_TIER1 * REKOGNITION_CALLS + rek_lambda
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''} cpus={cv2.getNumberOfCPUs()}".strip(),
        "opencv": cv2.__version__,
        "images": len(floor_ms),
        "avg_jpeg_mb": round(mb, 2),
        "floor_imread_full_ms": round(floor, 1),
        "local_scan_ms": round(scan, 1),
        "ratio_scan_to_floor": round(scan / floor, 2),
        "per_image": [
            {"floor_ms": round(f, 1), "scan_ms": round(s, 1), "verdict": v}
            for f, s, v in zip(floor_ms, scan_ms, verdicts, strict=True)
        ],
        "cost_per_million_usd": {
            "local_on_lambda": round(local_per_m, 2),
            "rekognition": round(rek_per_m, 2),
            "assumptions": {
                "lambda_gb_s": LAMBDA_GB_S_X86,
                "lambda_request": LAMBDA_REQUEST,
                "lambda_memory_mb": args.memory_mb,
                "rekognition_per_call_tier1": REKOGNITION_IMAGE_TIER1,
                "rekognition_calls": REKOGNITION_CALLS,
                "rekognition_lambda": f"{REKOGNITION_LAMBDA_MB} MB x {REKOGNITION_LAMBDA_MS:.0f} ms",
            },
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['images']} x 12 MP JPEG (avg {mb:.1f} MB), OpenCV {cv2.__version__}, {result['machine']}")
    print(f"{'':24s}{'ms/image':>10s}")
    print(f"{'cv2.imread full (floor)':24s}{floor:10.1f}")
    print(f"{'tutela emulator scan':24s}{scan:10.1f}   = {scan / floor:.2f}x the floor")
    print()
    print("cost per 1 million images (USD)")
    print(
        f"  local backend on Lambda  {local_per_m:10.2f}   ({args.memory_mb} MB x {scan:.0f} ms"
        f" x ${LAMBDA_GB_S_X86}/GB-s + $0.20/M requests)"
    )
    print(
        f"  Rekognition (2 calls)    {rek_per_m:10.2f}   (2 x ${REKOGNITION_IMAGE_TIER1}/image,"
        f" first-1M tier, + {REKOGNITION_LAMBDA_MB} MB x {REKOGNITION_LAMBDA_MS:.0f} ms Lambda)"
    )
    print(f"verdicts: {sorted(set(verdicts))}")
    if not args.images_only:
        print()
        bench_video(args.video_seconds, args.repeat)


if __name__ == "__main__":
    main()
