"""Emulated stack overhead per object: `tutela local run`'s wall time per upload minus the time its handlers
ran (the floor: what the same handlers cost without moto, the rule, the ASL interpreter and the runner).

One deployment (timed apart), then N photos and N/4 comment batches delivered one at a time; the handler
time comes from the cost meter (`tutela_dev.emulator.meter`).
Target (issue 10): <= 0.15 s of overhead per object.

`--against REF` runs the same benchmark on the tree of git REF (e.g. `main`, exported with `git archive`
into a temporary directory) and on this tree, alternately in fresh processes, and prints both side by side:
the machine is shared, so only numbers taken in the same run compare.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(root: Path, n: int) -> dict[str, object]:
    sys.path.insert(0, str(root / "layers" / "core"))
    sys.path.insert(0, str(root / "dev"))  # tutela_dev: the emulated stack and CLI
    from tutela_dev.emulator import samples
    from tutela_dev.emulator.cost import comment_batch
    from tutela_dev.emulator.meter import Meter
    from tutela_dev.emulator.runner import Runner

    try:
        from tutela_dev.emulator.stack import EmulatedStack
    except ImportError:  # a tree from before the rename (--against an older REF)
        from tutela_dev.emulator.stack import LocalStack as EmulatedStack  # type: ignore[attr-defined,no-redef]

    tmp = Path(tempfile.mkdtemp(prefix="bench-emulator-"))
    photo = samples.photo(tmp / "p.jpg", size=(640, 480))
    batch = comment_batch(tmp / "b.jsonl")
    meter = Meter()
    started = time.perf_counter()
    with (tmp / "lambda.log").open("w") as log, EmulatedStack(root, log=log, meter=meter) as stack:
        deploy = time.perf_counter() - started
        runner = Runner(stack)
        runner.deliver(runner.upload(photo, "media/warm/p.jpg"))  # first executions: imports, clients
        runner.deliver(runner.upload(batch, "comments/warm/b.jsonl"))
        rows: dict[str, list[tuple[float, float]]] = {"photo": [], "batch": []}
        jobs = [("photo", photo, f"media/p{i}/p.jpg") for i in range(n)]
        jobs += [("batch", batch, f"comments/p{i}/b.jsonl") for i in range(max(1, n // 4))]
        for kind, path, key in jobs:
            upload = runner.upload(path, key)
            mark = meter.snapshot()
            t0 = time.perf_counter()
            runner.deliver(upload)
            wall = time.perf_counter() - t0
            _, invocations = meter.since(mark)
            rows[kind].append((wall, sum(i.duration_ms for i in invocations) / 1000))
    return {"deploy": deploy, "rows": rows}


def summarise(rows: list[tuple[float, float]]) -> tuple[float, float, float]:
    return (
        statistics.median(w for w, _ in rows),
        statistics.median(h for _, h in rows),
        statistics.median(w - h for w, h in rows),
    )


def against(ref: str, n: int, rounds: int) -> int:
    """This tree and REF's, alternately in fresh processes; medians over all rounds, side by side."""
    peer = Path(tempfile.mkdtemp(prefix="bench-emulator-peer-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(peer, filter="data")
    trees = {f"{ref}": peer, "this tree": ROOT}
    got: dict[str, dict[str, list[tuple[float, float]]]] = {k: {"photo": [], "batch": []} for k in trees}
    deploys: dict[str, list[float]] = {k: [] for k in trees}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for _ in range(rounds):
        for name, tree in trees.items():
            out = subprocess.run(
                [sys.executable, "-W", "ignore", __file__, "-n", str(n), "--json", "--root", str(tree)],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            data = json.loads(out.stdout.strip().splitlines()[-1])
            deploys[name].append(data["deploy"])
            for kind, rows in data["rows"].items():
                got[name][kind].extend(tuple(r) for r in rows)
    load = os.getloadavg()[0]
    print(
        f"{rounds} rounds x {n} photos + {max(1, n // 4)} batches per tree, alternating; "
        f"load average {load:.1f}"
    )
    print(f"{'tree':12s} {'object':7s} {'n':>3s} {'wall s':>8s} {'handlers s':>11s} {'overhead s':>11s}")
    for name in trees:
        for kind, rows in got[name].items():
            wall, handlers, over = summarise(rows)
            print(f"{name:12s} {kind:7s} {len(rows):3d} {wall:8.3f} {handlers:11.3f} {over:11.3f}")
        print(f"{name:12s} deploy  {statistics.median(deploys[name]):8.2f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=8, help="photos (and n/4 comment batches)")
    parser.add_argument("--against", metavar="REF", help="also run git REF's tree, side by side")
    parser.add_argument("--rounds", type=int, default=2, help="with --against: alternations")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against:
        return against(args.against, args.n, args.rounds)
    result = measure(args.root, args.n)
    if args.json:
        print(json.dumps(result))
        return 0
    rows = result["rows"]
    assert isinstance(rows, dict)
    print(f"deploy (template -> moto stack): {result['deploy']:.2f} s")
    print(f"{'object':8s} {'n':>3s} {'wall s':>8s} {'handlers s':>11s} {'overhead s':>11s}  target 0.15")
    for kind, values in rows.items():
        wall, handlers, over = summarise(values)
        mark = "ok" if over <= 0.15 else "OVER"
        print(f"{kind:8s} {len(values):3d} {wall:8.3f} {handlers:11.3f} {over:11.3f}  {mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
