"""``make cost``: one metered local run (1 photo + one 20-comment batch on the same post) turned into a
cost table at the list prices of ``cost/prices.toml``.

Everything counted is measured in the run (``tutela_dev.emulator.meter`` and the execution history); the only
inputs that are not are the prices, the typical latency of one AWS call per service (moto answers in-process,
so its time is not AWS's: ``[latency_ms]``, billed as the handlers' waiting; moto's measured time is printed
beside it) and, for CloudWatch Logs, the sizes of the records the emulated stack cannot see (Lambda's own
START/END/REPORT lines, one record per state machine event), all in the prices file. Not included: storage
(GB-months, not per request), KMS (S3 Bucket Keys and the services' data-key caching make it
per-key-per-period, not per upload), data transfer (in-region), the $1/month key.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutela_dev.emulator.meter import Call, Invocation, Meter

PER_MILLION = 1_000_000
BENIGN = [
    "What a lovely day at the beach!",
    "Beautiful photo, the colours are amazing.",
    "Happy holidays to all of you",
    "love this place, we went there last summer",
    "好可爱的照片,周末愉快!",
    "the sunset looks unreal 🌅",
    "congrats on the swim meet!",
    "see you all at practice on monday",
    "great shot, which camera?",
    "so proud of you 💪",
    "this made my day",
    "wow the water is so clear",
    "miss you guys, come back soon",
    "the dog in the back 😂",
    "that sandcastle is huge",
    "天气真好,玩得开心",
    "lol same hat as last year",
    "can't wait for the next trip",
]
BAD = [
    "hey cutie how old are you? add me on snap, don't tell your parents 🤫",
    "加我薇信聊聊,别告诉你爸妈",
]


def comment_batch(path: Path) -> Path:
    """20 comments, 2 of them grooming (10%): a typical batch under a child's post."""
    texts = BENIGN[:9] + BAD[:1] + BENIGN[9:18] + BAD[1:]
    lines = [json.dumps({"id": f"c{i:02d}", "text": t}, ensure_ascii=False) for i, t in enumerate(texts, 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Execution:
    """What one upload's execution did: the metered calls and invocations, and its history."""

    key: str
    status: str
    calls: list[Call]
    invocations: list[Invocation]
    history: list[dict[str, Any]]
    machine_type: str = "STANDARD"

    @property
    def transitions(self) -> int:
        """Billed state transitions: every state entered, plus every retry of a task."""
        entered = [e for e in self.history if e["type"].endswith("StateEntered")]
        tasks = sum(1 for e in entered if e["type"] == "TaskStateEntered")
        scheduled = sum(1 for e in self.history if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
        return len(entered) + max(0, scheduled - tasks)

    @property
    def duration_ms(self) -> float:
        times = [e["timestamp"] for e in self.history]
        return (max(times) - min(times)).total_seconds() * 1000 if times else 0.0

    @property
    def integrations(self) -> list[str]:
        """Service integrations the state machine called itself (not Lambda): e.g. sqs:sendMessage."""
        out = []
        for e in self.history:
            if e["type"] == "TaskScheduled":
                d = e.get("taskScheduledEventDetails") or {}
                out.append(f"{d.get('resourceType')}:{d.get('resource')}")
        return out


@dataclass
class Line:
    service: str
    what: str
    quantity: float
    unit: str
    dollars: float  # per upload


@dataclass
class Bill:
    lines: list[Line] = field(default_factory=list)

    def add(self, service: str, what: str, quantity: float, unit: str, dollars: float) -> None:
        if quantity:
            self.lines.append(Line(service, what, quantity, unit, dollars))

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines)


def price(
    executions: Sequence[Execution],
    prices: Mapping[str, Any],
    parameters: Mapping[str, str],
    *,
    platform_logs: bool = True,
    wait: str = "modeled",
) -> Bill:
    """The cost of ``executions`` (together: one "upload" of the issue = 1 photo + 1 comment batch).

    ``wait="modeled"``: a handler's time in AWS calls is the prices file's typical latency per call
    (``[latency_ms]``); ``wait="moto"``: moto's measured in-process wall time (raw, moves with load)."""
    bill = Bill()
    sfn, lam, s3p, ddb = prices["stepfunctions"], prices["lambda"], prices["s3"], prices["dynamodb"]
    latency = prices.get("latency_ms") if wait == "modeled" else None
    express = [e for e in executions if e.machine_type == "EXPRESS"]
    if express:
        rnd = sfn["express_duration_round_ms"]
        billed_s = sum(math.ceil(max(execution_ms(e, latency, lam), 1) / rnd) * rnd / 1000 for e in express)
        gb_s = billed_s * sfn["express_memory_mb"] / 1024
        n = len(express)
        bill.add("Step Functions", "EXPRESS executions", n, "req", n * sfn["express_per_request"])
        what = f"EXPRESS duration, {billed_s * 1000:.0f} ms"
        if latency is not None:
            what += f" (modeled; moto's wall {sum(e.duration_ms for e in express):.0f})"
        bill.add("Step Functions", what, gb_s, "GB-s", gb_s * sfn["express_per_gb_second"])
    n = sum(e.transitions for e in executions if e.machine_type != "EXPRESS")
    each = sfn["standard_per_transition"]
    bill.add("Step Functions", "STANDARD state transitions", n, "transitions", n * each)

    invocations = [i for e in executions for i in e.invocations]
    gb_price = lam[f"per_gb_second_{parameters.get('Architecture', 'x86_64')}"]
    rnd = lam["duration_round_ms"]
    by_fn: dict[tuple[str, int], list[Invocation]] = defaultdict(list)
    for inv in invocations:
        by_fn[inv.function, inv.memory_mb].append(inv)
    bill.add("Lambda", "requests", len(invocations), "req", len(invocations) * lam["per_request"])
    for (fn, mem), invs in sorted(by_fn.items()):
        waits = [None if latency is None else modeled_wait_ms(i, latency) for i in invs]
        billed = [billed_ms(i, lam["full_vcpu_mb"], rnd, w) for i, w in zip(invs, waits, strict=True)]
        gb_s = sum(ms / 1000 * mem / 1024 for ms in billed)
        cpu = sum(i.cpu_ms for i in invs)
        moto = sum(min(i.api_ms, i.duration_ms) for i in invs)
        what = f"{fn.removesuffix('Function')} {mem} MB, {sum(billed):.0f} ms: CPU {cpu:.0f}"
        what += (
            f", wait {sum(w or 0 for w in waits):.0f} (moto {moto:.0f})" if latency else f", moto {moto:.0f}"
        )
        bill.add("Lambda", what, gb_s, "GB-s", gb_s * gb_price)

    calls = [c for e in executions for c in e.calls]
    ops: dict[tuple[str, str], list[Call]] = defaultdict(list)
    for c in calls:
        ops[c.service, c.operation].append(c)
    for (service, op), cs in sorted(ops.items()):
        n = len(cs)
        if service == "s3":
            if op in s3p["free"]:
                bill.lines.append(Line("S3", op, n, "req", 0.0))
                continue
            each = s3p["put_class_per_request"] if op in s3p["put_class"] else s3p["get_class_per_request"]
            bill.add("S3", op, n, "req", n * each)
        elif service == "dynamodb":
            wru, rru = sum(c.write_units for c in cs), sum(c.read_units for c in cs)
            if wru:
                bill.add("DynamoDB", f"{op} x{n}", wru, "WRU", wru * ddb["per_write_unit"])
            if rru:
                bill.add("DynamoDB", f"{op} x{n}", rru, "RRU", rru * ddb["per_read_unit"])
        elif service == "events":
            ev = sum(c.events for c in cs)
            bill.add("EventBridge", f"{op} x{n}", ev, "events", ev * prices["events"]["per_custom_event"])
        elif service == "sqs":
            bill.add("SQS", op, n, "req", n * prices["sqs"]["per_request"])
        elif service == "rekognition":
            bill.add("Rekognition", op, n, "images", n * prices["rekognition"]["per_image"])
        elif service == "comprehend":
            bill.add("Comprehend", op, n, "req", n * 3 * prices["comprehend"]["per_unit"])
        else:
            bill.add(service, f"{op} (unpriced)", n, "req", 0.0)
    for e in executions:
        for integration in e.integrations:
            service = integration.split(":", 1)[0]
            if service == "sqs":
                bill.add("SQS", f"state machine {integration}", 1, "req", prices["sqs"]["per_request"])

    logs = prices["logs"]
    handler_bytes = sum(i.log_bytes for i in invocations)
    # Lambda's own START/END/REPORT records are INFO: not ingested when the functions' SystemLogLevel is WARN.
    platform_bytes = len(invocations) * logs["lambda_platform_bytes_per_invocation"] if platform_logs else 0
    events = sum(len(e.history) for e in executions)
    machine_bytes = events * logs["state_machine_bytes_per_event"] if _logs_all(parameters) else 0
    per_byte = logs["per_gb_ingested"] / 1024**3
    bill.add(
        "CloudWatch Logs", "handler log records (measured)", handler_bytes, "bytes", handler_bytes * per_byte
    )
    bill.add(
        "CloudWatch Logs",
        "Lambda START/END/REPORT (est.)",
        platform_bytes,
        "bytes",
        platform_bytes * per_byte,
    )
    bill.add(
        "CloudWatch Logs",
        f"state machine, {events} events (est.)",
        machine_bytes,
        "bytes",
        machine_bytes * per_byte,
    )
    return bill


def billed_ms(inv: Invocation, full_vcpu_mb: int, round_ms: int, wait_ms: float | None = None) -> float:
    """Lambda duration at the function's memory size: the handler's CPU time measured here (a full core)
    takes ``full_vcpu_mb / memory`` times longer on the smaller CPU share Lambda gives below one vCPU; time
    in AWS calls is waiting and does not stretch: ``wait_ms`` (the modeled latency of its calls), or without
    it moto's in-process wall time (not AWS's latency; on a busy machine it jumps)."""
    stretch = max(1.0, full_vcpu_mb / inv.memory_mb)
    waited = min(inv.api_ms, inv.duration_ms) if wait_ms is None else wait_ms
    ms = inv.cpu_ms * stretch + waited
    return math.ceil(ms / round_ms) * round_ms


def call_latency_ms(service: str, operation: str, latency: Mapping[str, Any]) -> float:
    """The modeled wait of one call: ``service:Operation``, else ``service``, else ``default``."""
    for key in (f"{service}:{operation}", service, "default"):
        if key in latency:
            return float(latency[key])
    raise KeyError(f"no latency for {service}:{operation} and no default in [latency_ms]")


def modeled_wait_ms(inv: Invocation, latency: Mapping[str, Any]) -> float:
    """What the invocation's AWS calls would keep it waiting on Lambda: the longest chain of its calls.

    A call waits for every call that had ended (in moto) before it started - the ones before it on its own
    thread, and any other that happened to finish first (an overestimate, never an underestimate, of what
    concurrent calls wait on AWS); calls that overlapped in moto overlap in the model. Without measured
    spans (or when they disagree with the calls), the calls are one after another."""
    waits = [call_latency_ms(service, op, latency) for service, op in inv.calls]
    if len(inv.spans) != len(waits):
        return sum(waits)
    ends: list[float] = []  # the modeled end of each call, in the order of ``inv.calls``
    for i, (start, _) in enumerate(inv.spans):
        after = [ends[j] for j in range(i) if inv.spans[j][1] <= start]
        ends.append(max(after, default=0.0) + waits[i])
    return max(ends, default=0.0)


def execution_ms(execution: Execution, latency: Mapping[str, Any] | None, lam: Mapping[str, Any]) -> float:
    """An execution's billed duration. Without ``latency``: its measured wall time in moto (which includes
    moto's own ASL interpreter on this machine). With it: what it would take on AWS - its invocations one
    after another (overlapping ones, a Parallel state's branches, count as the longest), each its billed
    Lambda duration plus the modeled latency of the state machine invoking it (``lambda:Invoke``)."""
    if latency is None:
        return execution.duration_ms
    invocations = sorted(execution.invocations, key=lambda i: i.started)
    parallel = parallel_of_invocations(execution.history, len(invocations))
    total, group_end, group_ms, group_parallel = 0.0, -math.inf, 0.0, -1
    for inv, in_parallel in zip(invocations, parallel, strict=True):
        ms = billed_ms(inv, lam["full_vcpu_mb"], lam["duration_round_ms"], modeled_wait_ms(inv, latency))
        ms += call_latency_ms("lambda", "Invoke", latency)
        # The emulated stack runs a Parallel state's branches one after the other (the handlers share
        # os.environ); on AWS they run side by side: the invocations of one Parallel state overlap.
        if inv.started < group_end or (in_parallel >= 0 and in_parallel == group_parallel):
            group_ms = max(group_ms, ms)
        else:
            total, group_ms = total + group_ms, ms
        group_end, group_parallel = max(group_end, inv.started + inv.duration_ms / 1000), in_parallel
    return total + group_ms


def parallel_of_invocations(history: Sequence[Mapping[str, Any]], invocations: int) -> list[int]:
    """For each Lambda invocation of an execution, in the order they were scheduled: the number of the
    outermost Parallel state it ran in, or -1. (Each branch of ours is one Task.) All -1 when the history's
    Lambda events do not match the metered invocations one to one."""
    out: list[int] = []
    depth, parallels = 0, 0
    for e in history:
        if e["type"] == "ParallelStateEntered":
            depth += 1
            parallels += depth == 1
        elif e["type"] == "ParallelStateExited" and depth:
            depth -= 1
        elif e["type"] == "LambdaFunctionScheduled":
            out.append(parallels if depth else -1)
    return out if len(out) == invocations else [-1] * invocations


def _logs_all(parameters: Mapping[str, str]) -> bool:
    return parameters.get("StateMachineLogLevel", "ALL") == "ALL"


WHAT = 64  # width of the "what" column


def render(
    bill: Bill,
    executions: Sequence[Execution],
    prices: Mapping[str, Any],
    parameters: Mapping[str, str],
    *,
    verbose: bool = False,
) -> str:
    """The cost table (without the summary: see :func:`summary`)."""
    meta = prices["meta"]
    out = [
        f"prices: {meta['region']}, list, as of {meta['date']} (cost/prices.toml)",
        "parameters: "
        + (", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "template defaults"),
    ]
    for e in executions:
        if verbose:
            counts: dict[str, int] = defaultdict(int)
            for c in e.calls:
                counts[f"{c.function.removesuffix('Function')} {c.service}:{c.operation}"] += 1
            out.extend(f"    {n} x {what}" for what, n in counts.items())
        if verbose:
            out.extend(
                f"    {i.function}: {i.duration_ms:.0f} ms wall, {i.cpu_ms:.0f} ms CPU, "
                f"{i.api_ms:.0f} ms in moto's AWS calls"
                for i in e.invocations
            )
        fns = ", ".join(
            f"{i.function.removesuffix('Function')} {i.duration_ms:.0f} ms" for i in e.invocations
        )
        out.append(
            f"  {e.key}: {e.machine_type} {e.status}, {e.transitions} transitions, {e.duration_ms:.0f} ms, "
            f"{len(e.calls)} API calls; {fns}"
        )
    out.append("")
    if "latency_ms" in prices:
        lat = ", ".join(f"{k} {v} ms" for k, v in prices["latency_ms"].items())
        out.append(
            "Lambda lines: billed ms = CPU ms (measured, stretched below 1 vCPU) + wait, the modeled latency "
            f"of each AWS call ({lat}; cost/prices.toml [latency_ms]); moto = the same calls' measured "
            "in-process wall time, not billed"
        )
    out.append(f"{'service':16s} {'what':{WHAT}s} {'quantity':>10s} {'unit':<6s} {'$ per 1M uploads':>17s}")
    for line in bill.lines:
        qty = f"{line.quantity:.3f}" if line.quantity % 1 else f"{line.quantity:.0f}"
        dollars = line.dollars * PER_MILLION
        out.append(
            f"{line.service:16s} {line.what[:WHAT]:{WHAT}s} {qty:>10s} {line.unit:<6s} {dollars:17.2f}"
        )
    return "\n".join(out)


def summary(bill: Bill, parameters: Mapping[str, str], *, raw: Bill | None = None) -> str:
    """Totals per service, then (with ``raw``) the total with moto's measured call time, then the line
    ``cost per million uploads: $X.XX (...)``, always last."""
    out = []
    totals: dict[str, float] = defaultdict(float)
    for line in bill.lines:
        totals[line.service] += line.dollars
    for service, dollars in sorted(totals.items(), key=lambda kv: -kv[1]):
        share = dollars / bill.total if bill.total else 0
        out.append(f"{service:16s} {dollars * PER_MILLION:10.2f}  ({share:4.0%})")
    if raw is not None:
        out.append(
            f"(with moto's measured in-process call time instead of the modeled latency: "
            f"${raw.total * PER_MILLION:.2f}; it moves with the machine's load)"
        )
    setting = ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "default parameters"
    out.append(
        f"cost per million uploads: ${bill.total * PER_MILLION:.2f} (1 photo + 20 comments, {setting})"
    )
    return "\n".join(out)


def template_defaults(root: Path) -> dict[str, str]:
    from tutela_dev.emulator.cfn_yaml import load_template

    params = load_template(root / "template.yaml").get("Parameters", {})
    return {k: str(v.get("Default", "")) for k, v in params.items() if "Default" in v}


def platform_logs(root: Path) -> bool:
    """Does Lambda ingest its platform records (the template's SystemLogLevel is DEBUG or INFO)?"""
    from tutela_dev.emulator.cfn_yaml import load_template

    fn = load_template(root / "template.yaml").get("Globals", {}).get("Function", {})
    return str((fn.get("LoggingConfig") or {}).get("SystemLogLevel", "INFO")) in ("DEBUG", "INFO")


def measure(root: Path, work: Path, parameters: Mapping[str, str]) -> list[Execution]:
    """One local run: the photo, then the comment batch under the same post (so it reads the photo's
    minor context). Returns each upload's metered execution."""
    from tutela_dev.emulator import samples
    from tutela_dev.emulator.runner import Runner
    from tutela_dev.emulator.stack import EmulatedStack

    work.mkdir(parents=True, exist_ok=True)
    photo = samples.photo(work / "photo.jpg")
    batch = comment_batch(work / "batch.jsonl")
    meter = Meter()
    out = []
    with (
        (work / "lambda.log").open("w", encoding="utf-8") as log,
        EmulatedStack(root, parameters=dict(parameters), log=log, meter=meter) as stack,
    ):
        runner = Runner(stack)
        sfn = stack.client("stepfunctions")
        # Steady state: one unmetered upload of each kind first, so every function is warm (clients made,
        # models loaded) as it is for all but a container's first request.
        for path, key in ((photo, "media/post-warm/photo.jpg"), (batch, "comments/post-warm/batch.jsonl")):
            runner.deliver(runner.upload(path, key))
        for path, key in ((photo, "media/post-cost/photo.jpg"), (batch, "comments/post-cost/batch.jsonl")):
            upload = runner.upload(path, key)
            mark = meter.snapshot()
            (result,) = runner.deliver(upload)
            calls, invocations = meter.since(mark)
            history = sfn.get_execution_history(executionArn=result["executionArn"], maxResults=1000)[
                "events"
            ]
            machine = stack.machine_types.get(str(result.get("stateMachineArn")), "STANDARD")
            out.append(Execution(key, result["status"], calls, invocations, history, machine))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tutela_dev.emulator.cost", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--prices", type=Path, default=None, help="default: ROOT/cost/prices.toml")
    parser.add_argument("--work", type=Path, default=Path(".cost-run"))
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a template parameter override"
    )
    parser.add_argument("--calls", action="store_true", help="list every upload's API calls per function")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    prices = tomllib.loads((args.prices or root / "cost" / "prices.toml").read_text(encoding="utf-8"))
    overrides = dict(p.split("=", 1) for p in args.param)
    from tutela_dev.emulator.stack import EmulatorError

    try:
        executions = measure(root, args.work, overrides)
    except EmulatorError as exc:  # e.g. CommentsLLM: no Bedrock here (its estimate is printed without it)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from tutela_dev.emulator.stack import EMULATOR_PARAMETERS

    effective = {**template_defaults(root), **EMULATOR_PARAMETERS, **overrides}
    failed = [e.key for e in executions if e.status != "SUCCEEDED"]
    logs = platform_logs(root)
    bill = price(executions, prices, effective, platform_logs=logs)
    raw = (
        price(executions, prices, effective, platform_logs=logs, wait="moto")
        if "latency_ms" in prices
        else None
    )
    print(render(bill, executions, prices, overrides, verbose=args.calls))
    if "bedrock" in prices:
        from tutela_dev.emulator.llm_cost import per_million, render_table

        sample = [(t, False) for t in BENIGN] + [(t, True) for t in BAD]  # the measured batch's 10% bad
        print()
        print(render_table(per_million(sample, prices["bedrock"]["models"]), prices["bedrock"]["date"]))
    print()
    print(summary(bill, overrides, raw=raw))
    if failed:
        print(f"executions did not succeed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
