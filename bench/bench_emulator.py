"""Emulated stack overhead per object: `tutela local run`'s wall time per upload minus the time its
handlers ran (the floor: what the same handlers cost without moto, the rule, the ASL interpreter and
the polling).

One deployment (timed apart), then N photos and N/4 comment batches delivered one at a time; the handler
time comes from the cost meter (`tutela_dev.emulator.meter`).
Target (issue 10): <= 0.15 s of overhead per object.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "core"))
sys.path.insert(0, str(ROOT / "dev"))  # tutela_dev: the emulated stack and CLI

from tutela_dev.emulator import samples  # noqa: E402
from tutela_dev.emulator.cost import comment_batch  # noqa: E402
from tutela_dev.emulator.meter import Meter  # noqa: E402
from tutela_dev.emulator.runner import Runner  # noqa: E402
from tutela_dev.emulator.stack import EmulatedStack  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=8, help="photos (and n/4 comment batches)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-local-"))
    photo = samples.photo(tmp / "p.jpg", size=(640, 480))
    batch = comment_batch(tmp / "b.jsonl")
    meter = Meter()
    started = time.perf_counter()
    with (tmp / "lambda.log").open("w") as log, EmulatedStack(ROOT, log=log, meter=meter) as stack:
        deploy = time.perf_counter() - started
        runner = Runner(stack)
        runner.deliver(runner.upload(photo, "media/warm/p.jpg"))  # first executions: imports, clients
        runner.deliver(runner.upload(batch, "comments/warm/b.jsonl"))
        rows: dict[str, list[tuple[float, float]]] = {"photo": [], "batch": []}
        jobs = [("photo", photo, f"media/p{i}/p.jpg") for i in range(args.n)]
        jobs += [("batch", batch, f"comments/p{i}/b.jsonl") for i in range(max(1, args.n // 4))]
        for kind, path, key in jobs:
            upload = runner.upload(path, key)
            mark = meter.snapshot()
            t0 = time.perf_counter()
            runner.deliver(upload)
            wall = time.perf_counter() - t0
            _, invocations = meter.since(mark)
            rows[kind].append((wall, sum(i.duration_ms for i in invocations) / 1000))
    print(f"deploy (template -> moto stack): {deploy:.2f} s")
    print(f"{'object':8s} {'n':>3s} {'wall s':>8s} {'handlers s':>11s} {'overhead s':>11s}  target 0.15")
    for kind, values in rows.items():
        wall = statistics.median(w for w, _ in values)
        handlers = statistics.median(h for _, h in values)
        over = statistics.median(w - h for w, h in values)
        mark = "ok" if over <= 0.15 else "OVER"
        print(f"{kind:8s} {len(values):3d} {wall:8.3f} {handlers:11.3f} {over:11.3f}  {mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
