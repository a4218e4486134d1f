"""Benchmark: tutela scrub vs exiftool batch (-all=), Pillow re-encode and plain copy (the floor).

    .venv/bin/python bench/bench_scrub.py [--jpegs 8] [--mp4-mb 300] [--rounds 3] [--keep DIR]
    .venv/bin/python bench/bench_scrub.py --batch 2000

Two honest comparisons, like against like:
- command vs command (``--batch N``): ``tutela scrub FILE... --out-dir D`` (one process, Python start-up
  included) vs ``exiftool -all= -o D/ FILE...`` (one process) on the same N small JPEGs with GPS;
- library vs library: ``scrub_file`` per file vs a plain read+write copy (``open().read()`` then
  ``write()``) of the same file, in the same process (the floor any scrubber that writes a new file pays).

Generates ~12 MP JPEGs carrying GPS/XMP/IPTC (Pillow + exiftool) and a large MP4 (OpenCV video whose
mdat is padded to --mp4-mb), all in a temporary directory that is removed afterwards. Every method runs
over the same files in the same run; exiftool runs once over all JPEGs (batch mode, per-file time =
total / N). Prints per-file medians and ratios. Not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "scrub"))
sys.path.insert(0, str(ROOT / "layers" / "core"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scrub_fixtures as gen  # noqa: E402

from tutela.scrub import Copy, find_location, plan_file, scrub_file  # noqa: E402


def make_jpegs(d: Path, n: int) -> list[Path]:
    from PIL import Image

    h, w = 3000, 4000  # 12 MP
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 255 // (w + h))], axis=-1).astype(
        np.uint8
    )
    rng = np.random.default_rng(0)
    icc = gen.icc_profile()
    files = []
    for i in range(n):
        noise = rng.integers(0, 24, (h, w, 1), dtype=np.uint8)
        im = Image.fromarray(base + noise)
        ex = Image.Exif()
        ex[274] = 6
        p = d / f"photo{i:02d}.jpg"
        im.save(p, quality=92, icc_profile=icc, exif=ex.tobytes())
        files.append(p)
    gen.exiftool_write(files, gen.IMAGE_TAGS)
    return files


def make_mp4(d: Path, mb: int) -> Path:
    p = d / "big.mp4"
    gen.make_video(p, frames=30)
    gen.exiftool_write([p], gen.VIDEO_TAGS)  # exiftool puts moov first; we append a padding mdat
    block = os.urandom(1 << 20)
    with p.open("ab") as f:
        f.write(struct.pack(">I4s", 8 + mb * (1 << 20), b"mdat"))
        for _ in range(mb):
            f.write(block)
    return p


def fresh(out: Path) -> None:
    """Same starting state for every method: no previous outputs to unlink, no pending writeback."""
    for p in out.iterdir():
        p.unlink()
    os.sync()


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def run_ours(files: list[Path], out: Path) -> list[float]:
    fresh(out)
    times = []
    for f in files:
        dst = out / f.name
        times.append(timed(lambda f=f, dst=dst: scrub_file(f, dst)))
        assert find_location(dst) == []
    return times


def run_copy(files: list[Path], out: Path) -> list[float]:
    """The floor: a plain read + write of the same bytes into a new file (what any tool that writes a new
    file pays; ``shutil.copyfile`` would use an in-kernel copy and is not what a scrubber can do)."""
    fresh(out)
    return [timed(lambda f=f: plain_copy(f, out / f.name)) for f in files]


def run_exiftool_batch(files: list[Path], out: Path) -> float:
    fresh(out)
    t = time.perf_counter()
    subprocess.run(
        ["exiftool", "-q", "-q", "-m", "-all=", "-o", f"{out}/", *map(str, files)],
        check=True,
        capture_output=True,
    )
    return (time.perf_counter() - t) * 1000 / len(files)


def run_pillow(files: list[Path], out: Path) -> list[float]:
    from PIL import Image

    def one(f: Path) -> None:
        with Image.open(f) as im:
            im.save(out / f.name, quality=92, icc_profile=im.info.get("icc_profile"))

    fresh(out)
    return [timed(lambda f=f: one(f)) for f in files]


def make_small_jpegs(d: Path, n: int) -> list[Path]:
    """N distinct 640x480 JPEGs (~40 KB) with EXIF GPS, an artist and an XMP city (Pillow only: fast)."""
    from PIL import Image

    from tests.hostile.media_corpus import _gps_exif

    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    exif = _gps_exif()
    files = []
    for i in range(n):
        im = Image.fromarray(np.roll(base, i, axis=1)).resize((640, 480))
        p = d / f"small{i:05d}.jpg"
        im.save(p, quality=85, exif=exif)
        files.append(p)
    return files


def plain_copy(src: Path, dst: Path) -> None:
    with src.open("rb") as f:
        data = f.read()
    with dst.open("wb") as g:
        g.write(data)


def bench_batch(n: int, rounds: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-scrub-batch-"))
    try:
        src, out = tmp / "src", tmp / "out"
        src.mkdir()
        out.mkdir()
        files = make_small_jpegs(src, n)
        kb = statistics.median(f.stat().st_size for f in files) / 1024
        print(f"{n} JPEGs 640x480 with EXIF GPS (median {kb:.0f} KB)")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "core"), str(ROOT / "dev")]),
        }
        ours_cmd = [
            sys.executable,
            "-c",
            "import sys; from tutela_dev.cli import main; sys.exit(main())",
            "scrub",
        ]
        res: dict[str, list[float]] = {"tutela scrub (batch)": [], "exiftool -all= (batch)": []}
        lib: dict[str, list[float]] = {"scrub_file": [], "read+write copy": []}
        for _ in range(rounds):
            fresh(out)
            t = time.perf_counter()
            subprocess.run([*ours_cmd, *map(str, files), "--out-dir", str(out)], env=env, check=True,
                           capture_output=True)  # fmt: skip
            res["tutela scrub (batch)"].append(time.perf_counter() - t)
            assert find_location(out / files[0].name) == []
            fresh(out)
            t = time.perf_counter()
            subprocess.run(["exiftool", "-q", "-q", "-m", "-all=", "-o", f"{out}/", *map(str, files)],
                           check=True, capture_output=True)  # fmt: skip
            res["exiftool -all= (batch)"].append(time.perf_counter() - t)
            for f in files[:500]:
                lib["read+write copy"].append(timed(lambda f=f: plain_copy(f, out / ("c" + f.name))))
                lib["scrub_file"].append(timed(lambda f=f: scrub_file(f, out / ("s" + f.name))))
        ours, ex = (
            statistics.median(res["tutela scrub (batch)"]),
            statistics.median(res["exiftool -all= (batch)"]),
        )
        print("\ncommand vs command (whole batch, median of rounds)")
        for k, v in res.items():
            m = statistics.median(v)
            print(f"  {k:<24} {m:8.2f} s   {m / n * 1000:6.2f} ms/file")
        print(f"  -> tutela batch is {ex / ours:.2f}x faster than exiftool batch (target >= 2x)")
        print("\nlibrary vs floor, same files, same process (median ms per file)")
        lc, ls = statistics.median(lib["read+write copy"]), statistics.median(lib["scrub_file"])
        print(
            f"  read+write copy {lc:6.3f} ms   scrub_file {ls:6.3f} ms"
            f"   -> {ls / lc:.2f}x a copy (target <= 1.5x)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, help="only command vs command on N small JPEGs (e.g. 2000)")
    ap.add_argument("--no-batch", action="store_true", help="skip the 2,000-file command-vs-command run")
    ap.add_argument("--jpegs", type=int, default=8)
    ap.add_argument("--mp4-mb", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="use this directory instead of a temporary one and keep it")
    args = ap.parse_args()
    if not shutil.which("exiftool"):
        print("exiftool is required", file=sys.stderr)
        return 2
    if args.batch:
        return bench_batch(args.batch, args.rounds)
    if not args.no_batch:
        bench_batch(2000, 1)
        print()
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-scrub-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        src, out = tmp / "src", tmp / "out"
        src.mkdir(exist_ok=True)
        out.mkdir(exist_ok=True)
        t = time.perf_counter()
        jpegs = make_jpegs(src, args.jpegs)
        mp4 = make_mp4(src, args.mp4_mb)
        sizes = [f.stat().st_size for f in jpegs]
        print(
            f"generated {len(jpegs)} JPEGs 4000x3000 (median {statistics.median(sizes) / 1e6:.1f} MB) and "
            f"a {mp4.stat().st_size / 1e6:.0f} MB MP4 in {time.perf_counter() - t:.1f}s"
        )
        res: dict[str, list[float]] = {k: [] for k in ("ours", "exiftool", "pillow", "copy")}
        vres: dict[str, list[float]] = {k: [] for k in ("ours", "exiftool", "copy")}
        for _ in range(args.rounds):
            res["copy"] += run_copy(jpegs, out)
            res["ours"] += run_ours(jpegs, out)
            res["exiftool"].append(run_exiftool_batch(jpegs, out))
            res["pillow"] += run_pillow(jpegs, out)
            vres["copy"] += run_copy([mp4], out)
            vres["ours"] += run_ours([mp4], out)
            vres["exiftool"].append(run_exiftool_batch([mp4], out))
            fresh(out)
        for f in (jpegs[0], mp4):
            plan, _ = plan_file(f)
            new = sum(
                p.length if not hasattr(p, "data") else len(p.data)
                for p in plan.pieces
                if not isinstance(p, Copy)
            )
            print(
                f"{f.name}: {len(plan.pieces)} plan pieces, "
                f"{new / 1024:.1f} KiB new bytes of {plan.size / 1e6:.1f} MB"
            )
        print(f"\nrounds={args.rounds}; median ms per file (lower is better); ratio = method / tutela scrub")
        for title, table in (("12 MP JPEG", res), (f"{args.mp4_mb} MB MP4", vres)):
            ours = statistics.median(table["ours"])
            print(f"\n{title}")
            for k, v in table.items():
                m = statistics.median(v)
                print(f"  {k:<10} {m:10.2f} ms   x{m / ours:6.2f}")
            ex = statistics.median(table["exiftool"])
            cp = statistics.median(table["copy"])
            print(
                f"  -> library per file vs exiftool batch per file (NOT like for like: see --batch): "
                f"{ex / ours:.1f}x; "
                f"{ours / cp:.2f}x plain copy (in-process library vs an in-process copy)"
            )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
