"""Benchmark: tutela scrub against its peers, like for like, same files, same run (not a test).

    .venv/bin/python bench/bench_scrub.py [--batch 2000] [--rounds 5] [--mp4-mb 0]

Two targets (docs/scrub.md, issue 10), each printed as a ratio of medians over rounds:

- **command vs command, one process each**: ``tutela scrub FILE... --out-dir D --jobs 1`` (one command, one
  process: Python start-up and imports included) vs ``exiftool -all= -o D/ FILE...`` (one command, one
  process) on the same N generated 640x480 JPEGs with EXIF GPS. Target: tutela >= 2x faster (wall). The
  commands alternate (ABC, then CBA) so drifting load hits each alike; wall and CPU time (user + sys of the
  child) are printed, with their ratios. The default ``tutela scrub`` (forked workers on idle CPUs) is
  printed on its own line as the parallel mode: it is not the headline, exiftool has no such mode.
- **library vs library**: ``scrub_file`` vs a plain read + write copy (``open().read()``, then
  ``open("wb").write()``) of the same file into a new file, in this process, interleaved file by file, on an
  80 KB, a 1.5 MB and a 12 MP JPEG. Target: <= 1.5x the copy.

Outputs go to a tmpfs (``/dev/shm``; ``--out disk``: the temporary directory on disk), each command and each
library round into a new, empty directory. On this shared machine the ext4 disk's inode allocator was the
biggest source of noise, for every tool alike: it skips inodes freed in the last minute one by one
(``find_inode_bit`` / ``recently_deleted``), so any session deleting thousands of files made each new
file cost ~0.1 ms of kernel time (perf: ~30% of the library loop's CPU), and one 2,000-file command took
52 s instead of 3. On disk no output is deleted before the run is over (our own deletions would feed that
scan). The tutela command runs with its bytecode cached (in a
temporary ``PYTHONPYCACHEPREFIX``, after one warm-up run), as an installed package has it; this dev
environment sets ``PYTHONDONTWRITEBYTECODE``, which would make every run compile the scrubber from source
first. Load average is printed at the start and end of every round: on a shared machine only ratios from
the same run mean anything.

``--instructions``: instead, user-space instructions counted by valgrind (callgrind), the same on a busy
machine: ``scrub_file`` vs the copy on each photo (each in a child process run twice, with K operations and
with none: the difference over K), and ``scrub_file`` again with the Python scan (as a build without the
native marker scan), with the share it spends in the regex engine (``sre_search``: the scan of the
entropy-coded data for the image's end); and each command's start-up and per-file cost (one file, then N
files), with the ratio they give at the batch size. The kernel's share (page faults, the copy into and out of
the page cache) is not counted.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "scrub"))
sys.path.insert(0, str(ROOT / "layers" / "core"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tutela.scrub import find_location, scrub_file  # noqa: E402


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def make_small_jpegs(d: Path, n: int) -> list[Path]:
    """N distinct 640x480 JPEGs (~80 KB) with EXIF GPS and an artist (Pillow only: fast)."""
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


def make_photo(d: Path, name: str, size: tuple[int, int], detail: tuple[int, int], quality: int) -> Path:
    """A camera-like JPEG (noise upscaled from ``detail``) with EXIF GPS, an ICC profile and XMP/IPTC
    location written by exiftool."""
    import scrub_fixtures as gen
    from PIL import Image

    from tests.hostile.media_corpus import _gps_exif

    rng = np.random.default_rng(len(name))
    small = rng.integers(0, 255, (detail[1], detail[0], 3), dtype=np.uint8)
    p = d / name
    Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(
        p, quality=quality, exif=_gps_exif(), icc_profile=gen.icc_profile()
    )
    gen.exiftool_write([p], gen.IMAGE_TAGS)
    return p


def make_mp4(d: Path, mb: int) -> Path:
    import scrub_fixtures as gen

    p = d / "big.mp4"
    gen.make_video(p, frames=30)
    gen.exiftool_write([p], gen.VIDEO_TAGS)  # exiftool puts moov first; we append a padding mdat
    block = os.urandom(1 << 20)
    with p.open("ab") as f:
        f.write(struct.pack(">I4s", 8 + mb * (1 << 20), b"mdat"))
        for _ in range(mb):
            f.write(block)
    return p


def new_dir(parent: Path, name: str) -> Path:
    """An empty output directory, with nothing pending before the timed work."""
    d = parent / name
    d.mkdir(parents=True)
    os.sync()
    return d


KEEP_OUTPUTS = False  # on disk: see the module docstring


def done(d: Path) -> None:
    """Outputs on a tmpfs are removed at once; on disk they stay until the end of the run."""
    if not KEEP_OUTPUTS:
        shutil.rmtree(d)


def run_cmd(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall s, CPU s of the child and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def plain_copy(src: Path, dst: Path) -> None:
    with src.open("rb") as f:
        data = f.read()
    with dst.open("wb") as g:
        g.write(data)


def timed(cpu: list[float], fn: Callable[[Path, Path], object], src: Path, dst: Path) -> float:
    """Wall seconds of ``fn(src, dst)``; its CPU seconds (this thread, user + sys) are appended to ``cpu``."""
    c, t = time.thread_time(), time.perf_counter()
    fn(src, dst)
    w = time.perf_counter() - t
    cpu.append(time.thread_time() - c)
    return w


def bench_commands(files: list[Path], out: Path, rounds: int, pyc: Path) -> float:
    n = len(files)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "core"), str(ROOT / "dev")]),
        "PYTHONPYCACHEPREFIX": str(pyc),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    tutela = [sys.executable, "-c", "import sys; from tutela_dev.cli import main; sys.exit(main())", "scrub"]
    one, ex, par = "tutela scrub --jobs 1", "exiftool -all=", "tutela scrub (parallel)"
    cmds: dict[str, Callable[[Path], tuple[list[str], dict[str, str] | None]]] = {
        one: lambda d: ([*tutela, *map(str, files), "--out-dir", str(d), "--jobs", "1"], env),
        ex: lambda d: (["exiftool", "-q", "-q", "-m", "-all=", "-o", f"{d}/", *map(str, files)], None),
        par: lambda d: ([*tutela, *map(str, files), "--out-dir", str(d)], env),
    }
    run_cmd([*tutela, str(files[0]), str(new_dir(out, "warm") / "warm.jpg")], env)  # the bytecode cache
    wall: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}
    print(f"\ncommand vs command: {n} JPEGs 640x480 with EXIF GPS, {rounds} rounds (load avg 1/5/15 min)")
    for r in range(rounds):
        order = list(cmds) if r % 2 == 0 else list(reversed(cmds))
        line = [f"  round {r + 1}: load {load()}"]
        for k, name in enumerate(order):
            d = new_dir(out, f"r{r}-{k}")
            w, c = run_cmd(*cmds[name](d))
            wall[name].append(w)
            cpu[name].append(c)
            line.append(f"{name} {w:.2f}s (CPU {c:.2f}s)")
            if name != ex:
                assert len(list(d.iterdir())) == n and find_location(d / files[-1].name) == []
            done(d)
        print(", ".join(line) + f"; load {load()}")
    ew, ec = statistics.median(wall[ex]), statistics.median(cpu[ex])
    for name in cmds:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(
            f"  {name:<24} wall {w:6.2f} s ({w / n * 1000:5.2f} ms/file)   CPU {c:6.2f} s "
            f"({c / n * 1000:5.2f} ms/file)   exiftool/this: wall {ew / w:4.2f}x, CPU {ec / c:4.2f}x"
        )
    ratio = ew / statistics.median(wall[one])
    walls = [e / t for e, t in zip(wall[ex], wall[one], strict=True)]
    cpus = [e / t for e, t in zip(cpu[ex], cpu[one], strict=True)]
    cpu_ratio = ec / statistics.median(cpu[one])
    met = "met" if ratio >= 2 else "NOT met"
    print(
        f"  -> TARGET batch, one process each, >= 2x faster than exiftool: {ratio:.2f}x wall ({met}), "
        f"{cpu_ratio:.2f}x CPU (ratios of medians)"
    )
    print(
        f"     per round (paired, same load): wall {', '.join(f'{x:.2f}' for x in walls)} (median "
        f"{statistics.median(walls):.2f}x); CPU {', '.join(f'{x:.2f}' for x in cpus)} (median "
        f"{statistics.median(cpus):.2f}x)"
    )
    print(
        f"     parallel mode, reported apart (not like for like): "
        f"{ew / statistics.median(wall[par]):.2f}x wall, {ec / statistics.median(cpu[par]):.2f}x CPU"
    )
    return ratio


def bench_library(sets: dict[str, list[Path]], out: Path, rounds: int) -> dict[str, float]:
    print(f"\nlibrary vs library: scrub_file vs read+write copy, same file, interleaved, {rounds} rounds")
    ratios: dict[str, float] = {}
    for label, files in sets.items():
        copy: list[float] = []
        ours: list[float] = []
        copy_cpu: list[float] = []
        ours_cpu: list[float] = []
        scan_cpu: list[float] = []
        vec_cpu: list[float] = []
        scans = {f: _scan_args(f) for f in files}
        reps = max(1, 20 // len(files))  # one photo: 20 pairs a round, not one (a median of 5 was noise)
        for r in range(rounds):
            d = new_dir(out, f"{len(ratios)}-{r}")
            for k in range(reps):
                for i, f in enumerate(files):  # new output names: replacing a file costs ext4 a flush
                    copy.append(timed(copy_cpu, plain_copy, f, d / f"c{k}-{i}{f.name}"))
                    ours.append(timed(ours_cpu, scrub_file, f, d / f"s{k}-{i}{f.name}"))
                    timed(scan_cpu, _scan_regex, *scans[f])
                    timed(vec_cpu, _scan_now, *scans[f])
            done(d)
        mc, mo = statistics.median(copy), statistics.median(ours)
        cc, co = statistics.median(copy_cpu), statistics.median(ours_cpu)
        sc, vc = statistics.median(scan_cpu), statistics.median(vec_cpu)
        ratios[label] = mo / mc
        met = "met" if mo / mc <= 1.5 else "NOT met"
        print(
            f"  {label:<22} copy {mc * 1000:8.3f} ms   scrub_file {mo * 1000:8.3f} ms   "
            f"-> {mo / mc:4.2f}x a copy (TARGET <= 1.5x: {met}); CPU {cc * 1000:.3f} / {co * 1000:.3f} ms "
            f"= {co / cc:4.2f}x   load {load()}"
        )
        print(
            f"  {'':<22} of which the scan for the image's end (alone, CPU): now {vc * 1000:.3f} ms = "
            f"{vc / cc:4.2f}x a copy (the regex alone: {sc * 1000:.3f} ms = {sc / cc:4.2f}x); "
            f"scrub_file without it {(co - vc) / cc:4.2f}x"
        )
    return ratios


def _scan_args(f: Path) -> tuple[bytes, int]:
    """The photo's bytes and where its first scan's entropy-coded data starts (tutela's own layout walk)."""
    from tutela.scrub.layout import image_layout

    data = f.read_bytes()
    return data, image_layout(data, "jpeg").jpeg_ecs[0][0]


def _scan_regex(data: bytes, start: int) -> None:
    """The pass over the pixels for the image's end as it was before the vectorised scan: the regex, alone,
    from the first scan's data (a baseline photo has one scan, so this is its whole pass)."""
    from tutela.scrub.ecs import ECS_MARKER

    ECS_MARKER.search(data, start)


def _scan_now(data: bytes, start: int) -> None:
    """The same pass as ``scrub_file`` makes it now (``find_marker``: the native scan where it is built)."""
    from tutela.scrub.ecs import find_marker

    find_marker(data, start)


# A child for ``--instructions``: K operations of one kind on one file, after one uncounted warm-up (imports,
# caches); run with K and with 0, the difference over K is one operation.
_CHILD = """
import os, sys
from tutela.scrub import scrub_file
mode, src, k, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if mode == "scrub-python":
    from tutela.scrub import ecs
    ecs._native = False  # as a build without the native marker scan: memchr jumps and the regex
def copy(s, t):
    with open(s, "rb") as f:
        data = f.read()
    with open(t, "wb") as g:
        g.write(data)
fn = copy if mode == "copy" else scrub_file
fn(src, os.path.join(d, "warm"))
for i in range(k):
    fn(src, os.path.join(d, str(i)))
os._exit(0)
"""


def _env(pyc: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "core"), str(ROOT / "dev")]),
        "PYTHONPYCACHEPREFIX": str(pyc),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def callgrind(cmd: list[str], env: dict[str, str] | None, out: Path) -> tuple[int, int]:
    """(instructions, of which in ``sre_search``) of one command under valgrind."""
    prof = out / "callgrind.out"
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={prof}", *cmd],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True,
    )  # fmt: skip
    total = int(re.findall(r"Collected : (\d+)", proc.stderr)[-1])
    sre = 0
    if shutil.which("callgrind_annotate"):
        ann = subprocess.run(["callgrind_annotate", str(prof)], capture_output=True, text=True).stdout
        sre = sum(int(m.replace(",", "")) for m in re.findall(r"^\s*([\d,]+) .*:sre_search\b", ann, re.M))
    prof.unlink()
    return total, sre


def count_library(files: dict[str, Path], out: Path, pyc: Path) -> None:
    print("\nlibrary vs library, user-space instructions (callgrind): scrub_file vs read+write copy")
    env = _env(pyc)
    warm = new_dir(out, "i-warm-lib")  # the bytecode cache of every module used, written before any count
    for f in files.values():
        for mode in ("scrub", "scrub-python"):
            run_cmd([sys.executable, "-c", _CHILD, mode, str(f), "0", str(warm)], env)
    done(warm)
    for label, f in files.items():
        k = 20 if f.stat().st_size < 1 << 20 else 5
        per: dict[str, tuple[float, float]] = {}
        for mode in ("copy", "scrub", "scrub-python"):
            counts = []
            for n in (0, k):
                d = new_dir(out, f"i-{mode}-{n}-{f.name}")
                counts.append(callgrind([sys.executable, "-c", _CHILD, mode, str(f), str(n), str(d)], env, d))
                done(d)
            per[mode] = ((counts[1][0] - counts[0][0]) / k, (counts[1][1] - counts[0][1]) / k)
        (c, _), (s, _), (v, sre) = per["copy"], per["scrub"], per["scrub-python"]
        print(
            f"  {label:<24} copy {c / 1e3:7,.0f} k   scrub_file {s / 1e3:7,.0f} k (native scan);   "
            f"with the Python scan {v / 1e3:7,.0f} k, of which the regex (sre_search) {sre / 1e3:6,.0f} k "
            f"({sre / v:4.0%}, {sre / f.stat().st_size:.1f}/B), the rest {(v - sre) / 1e3:6,.0f} k"
        )


def count_commands(files: list[Path], out: Path, pyc: Path) -> None:
    n = len(files)
    print(f"\ncommand vs command, user-space instructions (callgrind): 1 file, then {n} files")
    tutela = [sys.executable, "-c", "import sys; from tutela_dev.cli import main; sys.exit(main())", "scrub"]
    one, ex = "tutela scrub --jobs 1", "exiftool -all="
    cmds: dict[str, tuple[Callable[[list[Path], Path], list[str]], dict[str, str] | None]] = {
        one: (lambda fs, d: [*tutela, *map(str, fs), "--out-dir", str(d), "--jobs", "1"], _env(pyc)),
        ex: (lambda fs, d: ["exiftool", "-q", "-q", "-m", "-all=", "-o", f"{d}/", *map(str, fs)], None),
    }
    warm = new_dir(out, "i-warm")
    run_cmd(cmds[one][0](files[:1], warm), _env(pyc))  # the bytecode cache
    done(warm)
    cost: dict[str, tuple[float, float]] = {}
    for name, (cmd, env) in cmds.items():
        counts = []
        for fs in (files[:1], files):
            d = new_dir(out, f"i-{len(cost)}-{len(fs)}")
            counts.append(callgrind(cmd(fs, d), env, d)[0])
            done(d)
        per_file = (counts[1] - counts[0]) / (n - 1)
        cost[name] = (counts[0] - per_file, per_file)
        print(f"  {name:<24} start-up {cost[name][0] / 1e6:6.1f} M   per 80 KB JPEG {per_file / 1e3:6,.0f} k")
    (ts, tf), (es, ef) = cost[one], cost[ex]
    for batch in (n, 2000):
        print(f"  {batch} files: exiftool / tutela {(es + batch * ef) / (ts + batch * tf):.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=2000, help="small JPEGs for command vs command")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mp4-mb", type=int, default=0, help="also a video of this size (library vs copy)")
    ap.add_argument("--out", choices=("tmpfs", "disk"), default="tmpfs", help="where the outputs go")
    ap.add_argument("--instructions", action="store_true", help="instructions (valgrind) instead of times")
    args = ap.parse_args()
    if not shutil.which("exiftool"):
        print("exiftool is required", file=sys.stderr)
        return 2
    global KEEP_OUTPUTS
    tmp = Path(tempfile.mkdtemp(prefix="bench-scrub-"))
    shm = Path("/dev/shm")
    KEEP_OUTPUTS = args.out == "disk" or not shm.is_dir()
    out_parent = tmp if KEEP_OUTPUTS else Path(tempfile.mkdtemp(prefix="bench-scrub-", dir=shm))
    try:
        src, out = tmp / "src", out_parent / "out"
        src.mkdir()
        t = time.perf_counter()
        small = make_small_jpegs(src, args.batch)
        mid = make_photo(src, "mid.jpg", (2000, 1500), (500, 375), 92)
        big = make_photo(src, "12mp.jpg", (4000, 3000), (1000, 750), 85)
        sets = {
            f"80 KB JPEG (x{min(300, len(small))})": small[:300],
            f"{mid.stat().st_size / 1e6:.1f} MB JPEG (2000x1500)": [mid],
            f"12 MP JPEG ({big.stat().st_size / 1e6:.1f} MB)": [big],
        }
        if args.mp4_mb:
            sets[f"{args.mp4_mb} MB MP4"] = [make_mp4(src, args.mp4_mb)]
        kb = statistics.median(f.stat().st_size for f in small) / 1024
        print(
            f"generated {len(small)} small JPEGs (median {kb:.0f} KB) and the photos in "
            f"{time.perf_counter() - t:.1f}s; {os.cpu_count()} CPUs; load avg {load()}; outputs in "
            f"{out_parent} ({'disk, kept to the end' if KEEP_OUTPUTS else 'tmpfs'})"
        )
        if args.instructions:
            if not shutil.which("valgrind"):
                print("--instructions needs valgrind (Debian package valgrind)", file=sys.stderr)
                return 2
            count_library(
                {"80 KB JPEG": small[0], **{k: v[0] for k, v in list(sets.items())[1:]}}, out, tmp / "pyc"
            )
            count_commands(small[: min(len(small), 100)], out, tmp / "pyc")
            return 0
        bench_commands(small, out, args.rounds, tmp / "pyc")
        # Single files: more rounds for a stable median.
        bench_library(
            {k: v if len(v) > 1 else v * 10 for k, v in sets.items()}, out, args.rounds
        )  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(out_parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
