"""Cold and warm start of every function, as Lambda starts them, from the built artifacts.

Cold: a fresh bare interpreter with only boto3 (the ``.make/lambda-python`` venv ``make build`` creates),
the function's built directory and its layers on ``sys.path``, the function's template environment; from
process start to ``app.lambda_handler`` imported. ``PYTHONDONTWRITEBYTECODE`` as on Lambda's read-only
``/var/task`` and ``/opt``: only the ``.pyc`` files that the build put in the artifacts are used.
Side by side: the same interpreter starting and importing only boto3 (the floor every function pays).

Warm: a second request in the same process, for the functions that run without AWS here (Decide on its
sample event; ClassifyComments' and ScanMedia's domain calls as their handlers make them).

Run ``make build`` first. Output: one line per function, median and min wall time of N fresh processes,
and the median process CPU time at ready. The target is judged on CPU time: on this shared 2-core machine
the wall time mostly measures the other tenants (the load average is printed); on an idle machine wall
time is CPU time plus a few ms of page-cached reads.
"""

from __future__ import annotations

import argparse
import json
import os
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
TARGET_MS: dict[str, float | None] = {"ClassifyCommentsFunction": 250.0, "ScanMediaFunction": None}
DEFAULT_TARGET_MS = 150.0

# Runs inside the fresh interpreter; "ready" is the wall clock when the handler is imported, compared with
# the parent's wall clock just before it started the process.
PROBE = r"""
import time, sys, json, os
{imports}
ready = time.time()
cpu = time.process_time()
warm = None
{warm}
print(json.dumps({{"ready": ready, "cpu_ms": 1000 * cpu, "warm_ms": warm}}))
"""

IMPORT_HANDLER = """
import importlib.util
spec = importlib.util.spec_from_file_location("app", os.path.join(sys.argv[1], "app.py"))
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
handler = module.lambda_handler
"""

WARM = {
    "DecideFunction": """
class C:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 256, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
event = json.load(open(sys.argv[2]))
handler(event, C())
s = time.perf_counter(); handler(event, C()); warm = 1000 * (time.perf_counter() - s)
""",
    "ClassifyCommentsFunction": """
from tutela.comments import classify_lines
from tutela.comments.lines import split_batch
data = "".join(json.dumps({"id": f"c{i}", "text": t}) + "\\n" for i, t in enumerate(
    ["what a lovely day", "add me on snap, don't tell your parents", "好可爱的照片"] * 7)).encode()
list(classify_lines(split_batch(data), minor_context=True, comprehend=None))
s = time.perf_counter(); list(classify_lines(split_batch(data), minor_context=True, comprehend=None))
warm = 1000 * (time.perf_counter() - s)
""",
    "ScanMediaFunction": """
import tempfile, pathlib
import cv2, numpy as np
from tutela.vision import scan_file
p = pathlib.Path(tempfile.mkdtemp()) / "x.jpg"
cv2.imwrite(str(p), np.full((960, 1280, 3), 160, np.uint8))
s = time.perf_counter(); scan_file(p, backend="local"); first = 1000 * (time.perf_counter() - s)
s = time.perf_counter(); scan_file(p, backend="local"); warm = 1000 * (time.perf_counter() - s)
warm = {"first_request_ms": first, "second_request_ms": warm}
""",
}


def function_env(name: str) -> dict[str, str]:
    """The function's template environment with the default parameters (what Lambda would set)."""
    sys.path.insert(0, str(ROOT / "layers" / "core"))
    sys.path.insert(0, str(ROOT / "dev"))  # tutela_dev: the emulated stack and CLI
    from tutela_dev.emulator.cfn_yaml import load_template

    template = load_template(ROOT / "template.yaml")
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


def _if(template: dict, params: dict[str, str], args: list) -> str:  # type: ignore[type-arg]
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


def layers_of(name: str) -> list[Path]:
    out = [BUILD / "CoreLayer" / "python"]
    if name == "ScanMediaFunction":
        out.append(BUILD / "VisionLayer" / "python")
    return out


def run_once(name: str, warm: bool) -> dict[str, object]:
    fn_dir = BUILD / name
    paths = [str(fn_dir), *(str(p) for p in layers_of(name))]
    imports = f"sys.path[:0] = {paths!r}\n" + IMPORT_HANDLER
    code = PROBE.format(imports=imports, warm=WARM.get(name, "") if warm else "")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        **function_env(name),
    }
    started = time.time()
    out = subprocess.run(
        [str(LAMBDA_PY), "-c", code, str(fn_dir), str(ROOT / "events" / "decide.json")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{name}: {out.stderr[-2000:]}")
    data: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=5, help="fresh processes per function (median)")
    parser.add_argument("--only", default=None, help="one function's logical id")
    args = parser.parse_args()
    if not LAMBDA_PY.exists() or not BUILD.is_dir():
        print("bench_cold: run `make build` first (needs .aws-sam/build and .make/lambda-python)")
        return 0
    names = sorted(p.name for p in BUILD.iterdir() if p.name.endswith("Function"))
    if args.only:
        names = [args.only]
    start = statistics.median(ready_after("pass") for _ in range(args.n))
    floor = statistics.median(ready_after("import boto3") for _ in range(args.n))
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"bare interpreter ready: {start:.0f} ms; with boto3 imported (the floor): {floor:.0f} ms")
    head = f"{'function':26s} {'ready ms':>9s} {'min':>6s} {'cpu ms':>7s} {'x floor':>8s} {'target':>7s}"
    print(f"{head}  warm request")
    over = []
    for name in names:
        warm = run_once(name, warm=True).get("warm_ms")
        runs = [run_once(name, warm=False) for _ in range(args.n)]
        times = sorted(float(r["ready_ms"]) for r in runs)  # type: ignore[arg-type]
        cpu = statistics.median(float(r["cpu_ms"]) for r in runs)  # type: ignore[arg-type]
        ready = statistics.median(times)
        target = TARGET_MS.get(name, DEFAULT_TARGET_MS)
        if target is not None and cpu > target:
            over.append(name)
        if isinstance(warm, dict):
            warm_text = ", ".join(f"{k} {v:.1f}" for k, v in warm.items())
        else:
            warm_text = f"{warm:.1f} ms" if isinstance(warm, float) else "-"
        mark = "-" if target is None else "ok" if cpu <= target else "OVER"
        shown = "INIT" if target is None else f"{target:.0f}"
        cols = f"{name:26s} {ready:9.0f} {times[0]:6.0f} {cpu:7.0f} {ready / floor:7.2f}x {shown:>7s}"
        print(f"{cols} {mark:>4s}  {warm_text}")
    print(f"(median and min of {args.n} fresh processes each; target: handler ready in a fresh process)")
    if over:
        print(f"over target: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
