"""Cold and warm start of every function, as Lambda starts them, from the built artifacts.

Cold: a fresh bare interpreter with only boto3 (the ``.make/lambda-python`` venv ``make build`` creates),
the function's built directory and its layers on ``sys.path``, the function's template environment; from
process start to ``app.lambda_handler`` imported. ``PYTHONDONTWRITEBYTECODE`` as on Lambda's read-only
``/var/task`` and ``/opt``: only the ``.pyc`` files that the build put in the artifacts are used.
Side by side: the same interpreter starting and importing only boto3 (the floor every function pays).

First and second request: after ready, the same process handles its ``events/`` file twice against a
seeded moto server (``bench/first_request.py``); the process's CPU time of each. Moving work out of INIT is
only a gain when ready + first request shrinks too: boto3 is imported and the clients are created there.

``--peer DIR``: another build (e.g. a copy of main's ``.aws-sam/build``) measured in the same run, process
for process alternately, so its CPU column is comparable under the same load. ``--instructions``: instead,
the instructions each process executes to ready, counted by valgrind (exact whatever the load; slow). The
probe ends with ``os._exit``: the interpreter's teardown (freeing every module, the automata) is not counted.

Run ``make build`` first. Output: one line per function, median and min wall time of N fresh processes,
the median process CPU time at ready, of the first request, ready + first request (and the peer's), and
of the second request. The target is judged on CPU time at ready: on this shared 2-core machine the wall
time mostly measures the other tenants (the load average is printed); on an idle machine wall time is CPU
time plus a few ms of page-cached reads.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
LAMBDA_PY = ROOT / ".make" / "lambda-python" / "bin" / "python"
# ScanMedia has no ready target: it loads OpenCV and its models at INIT, so its first request is as fast
# as its second (the warm column shows both).
# the two functions that load the comment classifier (its model and matcher) at INIT: 250 ms (issue 10)
TARGET_MS: dict[str, float | None] = {
    "ClassifyCommentsFunction": 250.0,
    "ClassifyPostFunction": 250.0,
    "ScanMediaFunction": None,
}
DEFAULT_TARGET_MS = 150.0

# Runs inside the fresh interpreter; "ready" is the wall clock when the handler is imported, compared with
# the parent's wall clock just before it started the process. Then, with an event file, two requests.
PROBE = r"""
import time, sys, json, os
{imports}
ready = time.time()
cpu = time.process_time()
first = second = None
if len(sys.argv) > 2:
    class C:
        function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        def get_remaining_time_in_millis(self):
            return 60000
    event = json.load(open(sys.argv[2]))
    handler(event, C())
    first = time.process_time() - cpu
    s = time.process_time(); handler(event, C()); second = time.process_time() - s
    first, second = 1000 * first, 1000 * second
report = {{"ready": ready, "cpu_ms": 1000 * cpu, "first_ms": first, "second_ms": second}}
print(json.dumps(report), flush=True)
os._exit(0)  # no interpreter teardown: Lambda never tears down a ready process, and valgrind would count it
"""

IMPORT_HANDLER = """
import importlib.util
spec = importlib.util.spec_from_file_location("app", os.path.join(sys.argv[1], "app.py"))
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
handler = module.lambda_handler
"""


def function_env(name: str, build: Path = BUILD) -> dict[str, str]:
    """The function's environment in the built template with the default parameters (what Lambda would
    set; the build's own template, so a peer build gets its own)."""
    sys.path.insert(0, str(ROOT / "layers" / "core"))
    sys.path.insert(0, str(ROOT / "dev"))  # tutela_dev: the emulated stack and CLI
    from tutela_dev.emulator.cfn_yaml import load_template

    built = build / "template.yaml"
    template = load_template(built if built.is_file() else ROOT / "template.yaml")
    params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    glob = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][name]["Properties"].get("Environment", {}).get("Variables", {})
    env: dict[str, str] = {}
    for k, v in {**glob, **own}.items():
        if isinstance(v, dict) and "Ref" in v:
            v = params.get(v["Ref"], "x")
        elif isinstance(v, dict) and "Fn::If" in v:
            v = _if(template, params, v["Fn::If"])
        elif not isinstance(v, str | int | float):
            v = "placeholder"
        env[k] = str(v)
    return env


def _if(template: dict, params: dict[str, str], args: list) -> str:
    name, yes, no = args
    cond = template.get("Conditions", {}).get(name, {})
    ok = False
    if "Fn::Equals" in cond:
        a, b = cond["Fn::Equals"]
        a = params.get(a["Ref"], "") if isinstance(a, dict) else a
        b = params.get(b["Ref"], "") if isinstance(b, dict) else b
        ok = str(a) == str(b)
    value = yes if ok else no
    if isinstance(value, dict) and "Ref" in value:
        return params.get(value["Ref"], "")
    return str(value)


def layers_of(name: str, build: Path = BUILD) -> list[Path]:
    out = [build / "CoreLayer" / "python"]
    if name in ("ScanMediaFunction", "ReviewApiFunction"):
        out.append(build / "VisionLayer" / "python")
    return out


def run_once(
    name: str,
    build: Path = BUILD,
    event: Path | None = None,
    aws: dict[str, str] | None = None,
    wrapper: tuple[str, ...] = (),
) -> dict[str, object]:
    fn_dir = build / name
    paths = [str(fn_dir), *(str(p) for p in layers_of(name, build))]
    imports = f"sys.path[:0] = {paths!r}\n" + IMPORT_HANDLER
    code = PROBE.format(imports=imports)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        **function_env(name, build),
    }
    if aws is not None:  # the seeded moto server's endpoint, credentials and the events' resource names
        env.update({k: v for k, v in aws.items() if k.startswith("AWS_") or k in env})
    started = time.time()
    out = subprocess.run(
        [*wrapper, str(LAMBDA_PY), "-c", code, str(fn_dir), *([str(event)] if event is not None else [])],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{name}: {out.stderr[-2000:]}")
    data: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    counted = re.search(r"Collected : (\d+)", out.stderr)
    if counted:
        data["instructions"] = int(counted.group(1))
    data["ready_ms"] = 1000 * (float(data["ready"]) - started)  # type: ignore[arg-type]
    return data


def ready_after(code: str) -> float:
    """Process start to the end of ``code`` (wall clock), in a fresh bare interpreter."""
    started = time.time()
    out = subprocess.run(
        [str(LAMBDA_PY), "-c", f"{code}\nimport time; print(time.time())"],
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )
    return 1000 * (float(out.stdout.strip()) - started)


def instructions(names: list[str], build: Path, peer: Path | None) -> int:
    """Instructions executed from process start to ready (valgrind's callgrind): the same on a busy machine
    as on an idle one, so two builds compare exactly (CPU time at this load moves +-20%)."""
    if shutil.which("valgrind") is None:
        print("bench_cold --instructions: needs valgrind (Debian package valgrind)")
        return 1
    wrapper = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
    print(f"{'function':26s} {'M instr.':>9s}" + (f" {'peer':>9s} {'ratio':>6s}" if peer else ""))
    for name in names:
        own = int(str(run_once(name, build, wrapper=wrapper)["instructions"])) / 1e6
        line = f"{name:26s} {own:9.1f}"
        if peer is not None:
            theirs = int(str(run_once(name, peer, wrapper=wrapper)["instructions"])) / 1e6
            line += f" {theirs:9.1f} {own / theirs:6.2f}"
        print(line, flush=True)
    return 0


def _median(runs: list[dict[str, object]], key: str) -> float | None:
    values = [float(str(r[key])) for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _to_first_request(runs: list[dict[str, object]]) -> float | None:
    """Median CPU time from process start to the end of the first request."""
    return _median(
        [
            {"t": float(str(r["cpu_ms"])) + float(str(r["first_ms"]))}
            for r in runs
            if r.get("first_ms") is not None
        ],
        "t",
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=5, help="fresh processes per function (median)")
    parser.add_argument("--only", default=None, help="one function's logical id")
    parser.add_argument("--build", type=Path, default=BUILD, help="the build to measure")
    parser.add_argument("--peer", type=Path, default=None, help="another build, measured alternately")
    parser.add_argument("--no-requests", action="store_true", help="ready only (no moto server)")
    parser.add_argument("--instructions", action="store_true", help="instructions to ready (valgrind), once")
    args = parser.parse_args()
    build: Path = args.build
    if not LAMBDA_PY.exists() or not build.is_dir():
        print("bench_cold: run `make build` first (needs .aws-sam/build and .make/lambda-python)")
        return 0
    from first_request import EVENT_OF, Seeded

    built = {p.name for p in build.iterdir() if p.name.endswith("Function")}
    names = [n for n in EVENT_OF if n in built] + sorted(built - set(EVENT_OF))  # the pipeline's order
    if args.only:
        names = [args.only]
    if args.instructions:
        return instructions(names, build, args.peer)
    seeded = None if args.no_requests else Seeded()
    try:
        start = statistics.median(ready_after("pass") for _ in range(args.n))
        floor = statistics.median(ready_after("import boto3") for _ in range(args.n))
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
        print(f"bare interpreter ready: {start:.0f} ms; with boto3 imported (the floor): {floor:.0f} ms")
        peer = f" {'peer cpu':>8s}" if args.peer else ""
        head = f"{'function':26s} {'ready ms':>9s} {'min':>6s} {'cpu ms':>7s}{peer} {'x floor':>8s}"
        reqs_head = f"{'1st req':>7s} {'ready+1st':>9s}{' peer' if args.peer else '':>6s} {'2nd req':>7s}"
        print(f"{head} {'target':>7s}      {reqs_head}  (CPU ms)")
        over = []
        for name in names:
            event = seeded.event_file(name) if seeded is not None else None
            aws = seeded.env() if seeded is not None else None
            runs: list[dict[str, object]] = []
            peers: list[dict[str, object]] = []
            for _ in range(args.n):
                runs.append(run_once(name, build, event, aws))
                if args.peer:
                    peers.append(run_once(name, args.peer, event, aws))
            times = sorted(float(r["ready_ms"]) for r in runs)  # type: ignore[arg-type]
            cpu = statistics.median(float(r["cpu_ms"]) for r in runs)  # type: ignore[arg-type]
            ready = statistics.median(times)
            first, second = _median(runs, "first_ms"), _median(runs, "second_ms")
            total, peer_total = _to_first_request(runs), _to_first_request(peers)
            peer_cpu = _median(peers, "cpu_ms")
            target = TARGET_MS.get(name, DEFAULT_TARGET_MS)
            if target is not None and cpu > target:
                over.append(name)
            mark = "-" if target is None else "ok" if cpu <= target else "OVER"
            shown = "INIT" if target is None else f"{target:.0f}"
            peer_col = f" {_ms(peer_cpu):>8s}" if args.peer else ""
            cols = f"{name:26s} {ready:9.0f} {times[0]:6.0f} {cpu:7.0f}{peer_col} {ready / floor:7.2f}x"
            peer_req = _ms(peer_total) if args.peer else ""
            reqs = f"{_ms(first):>7s} {_ms(total):>9s}{peer_req:>6s} {_ms(second):>7s}"
            print(f"{cols} {shown:>7s} {mark:>4s} {reqs}")
        print(f"(median and min of {args.n} fresh processes each; target: handler ready in a fresh process)")
        if over:
            print(f"over target: {', '.join(over)}")
    finally:
        if seeded is not None:
            seeded.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
