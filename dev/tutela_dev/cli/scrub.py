"""``tutela scrub IN OUT`` / ``tutela scrub IN... --out-dir DIR [--jobs N]``: lossless location scrubbing.

Batch mode prints one JSON line per input, in input order. With 8 or more inputs it forks one worker per
idle CPU (CPUs minus the 1-minute load average, like ``make -l``; measured on a loaded 2-core machine, a
second worker competing for a busy CPU cost 25% more CPU and was slower), ``--jobs N`` forces N. Workers
are forked *after* the scrubber is imported: a worker costs one ``fork`` (no re-import,
no pickling, no forkserver; each worker takes every k-th input and sends its finished output lines back
through a pipe; the parent prints them in input order). A worker that dies is reported per file. With
threads running (``fork`` would copy their locks) or one CPU, it scrubs in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator

from tutela.errors import TutelaError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up counts in every batch
if TYPE_CHECKING:
    from typing import Any

FORK_MIN_FILES = 8  # fewer small files: a fork costs more than it saves


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scrub",
        help="remove location and identifying metadata from media, losslessly",
        description="Remove every location trace (EXIF GPS, XMP, IPTC, QuickTime/MP4 location, GPS tracks) "
        "and identifying extras from photos and videos without re-encoding. Prints a JSON report.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="IN",
        help="input file(s); with one input and no --out-dir, the last positional argument is OUT",
    )
    p.add_argument("--out-dir", help="write each scrubbed file to DIR/<input name>")
    p.add_argument("--max-bytes", type=int, default=None, help="refuse inputs larger than this")
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        help=f"batch worker processes (default: one per idle CPU with {FORK_MIN_FILES} or more inputs)",
    )
    p.set_defaults(run=run)


def _one(src: str, dst: str, limits: Any) -> tuple[dict[str, Any] | None, str | None]:
    from tutela.scrub.api import scrub_file  # a module, not the package: no fromlist handling per file

    try:
        report = scrub_file(src, dst, limits=limits)
    except TutelaError as exc:
        return None, f"{exc.code}: {exc}"
    except OSError as exc:
        return None, f"io_error: {exc.strerror or exc.__class__.__name__}"
    return report.to_dict(), None


def run(args: argparse.Namespace) -> int:
    from tutela.scrub import ScrubLimits

    limits = ScrubLimits(max_file_bytes=args.max_bytes) if args.max_bytes else ScrubLimits()
    if args.out_dir is None:
        if len(args.inputs) != 2:
            print("tutela scrub: expected IN OUT, or IN... --out-dir DIR", file=sys.stderr)
            return 2
        src, dst = args.inputs
        report, err = _one(src, dst, limits)
        if err:
            print(f"tutela scrub: {os.path.basename(src)}: {err}", file=sys.stderr)
            return 1
        print(json.dumps({"input": src, "output": dst, **(report or {})}))
        return 0
    out_dir = args.out_dir
    os.makedirs(out_dir, exist_ok=True)
    jobs: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    # os.path.join(out_dir, name) and os.path.basename, per file without their generic code: a name never
    # holds a "/", so the join is the directory, a "/" unless it ends with one (or is empty), and the name.
    prefix = out_dir if not out_dir or out_dir.endswith("/") else out_dir + "/"
    for src in args.inputs:
        norm = os.path.normpath(src)
        name = norm[norm.rfind("/") + 1 :]
        jobs.append((src, None if name in seen else prefix + name))
        seen.add(name)
    failures = 0
    out: list[str] = []  # stdout lines, written in blocks (one write per line is a syscall each)
    for (src, _), (line, err) in zip(jobs, _run_all(jobs, limits, args.jobs), strict=True):
        out.append(line)
        if err:
            failures += 1
            sys.stdout.write("".join(out))
            out.clear()
            sys.stdout.flush()
            print(f"tutela scrub: {os.path.basename(src)}: {err}", file=sys.stderr)
        elif len(out) >= 256:
            sys.stdout.write("".join(out))
            out.clear()
    sys.stdout.write("".join(out))
    return 1 if failures else 0


def _job(src: str, dst: str | None, limits: Any) -> tuple[str, str | None]:
    """One input's stdout line (with its newline) and its error, if any."""
    report: dict[str, Any] | None = None
    err: str | None = "duplicate output name, skipped"
    if dst is not None:
        report, err = _one(src, dst, limits)
    if err:
        return _ENCODE({"input": src, "output": None, "error": err}) + "\n", err
    return _ENCODE({"input": src, "output": dst, **(report or {})}) + "\n", None


def _encoder() -> Any:
    """json.dumps' output, without checking plain dicts for cycles nor building an encoder per line:
    ``JSONEncoder.encode`` makes its C encoder anew on every call; this one is made once, with the same
    settings (``iterencode``'s one-shot path)."""
    enc = json.JSONEncoder(check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the encoder's own path
        return enc.encode
    c_encode = make(
        None, enc.default, json.encoder.encode_basestring_ascii, None,
        enc.key_separator, enc.item_separator, enc.sort_keys, enc.skipkeys, enc.allow_nan,
    )  # fmt: skip
    return lambda o: "".join(c_encode(o, 0))


_ENCODE = _encoder()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _idle_cpus() -> int:
    cpus = _cpus()
    try:
        busy = os.getloadavg()[0]
    except OSError:
        return cpus
    return max(1, min(cpus, round(cpus - busy + 1)))  # our own process counts in the load: + 1


def _run_all(
    jobs: list[tuple[str, str | None]], limits: Any, workers: int
) -> Iterator[tuple[str, str | None]]:
    if not workers:  # auto: the idle CPUs (like ``make -l``): on a busy machine a worker only adds overhead
        workers = _idle_cpus() if len(jobs) >= FORK_MIN_FILES else 1
    workers = min(workers, len(jobs))
    threading = sys.modules.get("threading")  # never imported: no thread was started with it
    if workers <= 1 or not hasattr(os, "fork") or (threading is not None and threading.active_count() > 1):
        for src, dst in jobs:
            yield _job(src, dst, limits)
        return
    yield from _forked(jobs, limits, workers)


def _forked(jobs: list[tuple[str, str | None]], limits: Any, k: int) -> Iterator[tuple[str, str | None]]:
    """k forked workers, worker w scrubbing jobs w, w+k, ...; their lines are read back in input order.
    Each result travels as one line: ``O`` + stdout line, or ``E`` + error + tab + stdout line."""
    from tutela.scrub import scrub_file  # noqa: F401  (imported once, before the fork)

    sys.stdout.flush()
    sys.stderr.flush()
    readers: list[Any] = []
    pids: list[int] = []
    try:
        for w in range(k):
            r, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:  # worker: never returns
                code = 1
                try:
                    os.close(r)
                    for f in readers:
                        f.close()
                    with os.fdopen(
                        wfd, "w", encoding="utf-8", buffering=1
                    ) as pipe:  # a line per file: none lost
                        for src, dst in jobs[w::k]:
                            line, err = _job(src, dst, limits)
                            if err:
                                err = " ".join(err.split())  # one line, no tab: the framing below
                            pipe.write(f"E{err}\t{line}" if err else f"O{line}")
                    code = 0
                except BaseException as exc:  # a bug, not a bad file: say so (no path, no bytes)
                    sys.stderr.write(f"tutela scrub: worker stopped: {type(exc).__name__}\n")
                finally:
                    os._exit(code)
            os.close(wfd)
            pids.append(pid)
            readers.append(os.fdopen(r, "r", encoding="utf-8"))
        for i, (src, _dst) in enumerate(jobs):
            msg = readers[i % k].readline()
            if msg.startswith("O"):
                yield msg[1:], None
            elif msg.startswith("E"):
                err, _, line = msg[1:].partition("\t")
                yield line, err
            else:  # the worker died: this input and its remaining ones are reported, not lost
                err = "internal_error: scrub worker stopped"
                yield json.dumps({"input": src, "output": None, "error": err}) + "\n", err
    finally:
        for f in readers:
            f.close()
        for pid in pids:
            os.waitpid(pid, 0)
