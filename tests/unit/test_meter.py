"""The cost meter counts what handlers do (and only that), and prices it from the prices file."""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import create_decisions_table
from tutela.aws import clients
from tutela_dev.emulator.cost import Execution, comment_batch, price
from tutela_dev.emulator.meter import Call, Invocation, Meter, item_size

ROOT = Path(__file__).resolve().parents[2]
PRICES = tomllib.loads((ROOT / "cost" / "prices.toml").read_text())


@pytest.fixture
def meter(aws: None, template: dict[str, Any]) -> Any:
    m = Meter()
    m.configure(template)
    uninstall = m.install()
    clients.reset()  # clients copy the session's hooks when created: make them after install
    yield m
    uninstall()


def test_counts_only_calls_made_inside_an_invocation(meter: Meter) -> None:
    s3 = clients.client("s3")
    s3.create_bucket(Bucket="bkt")  # outside: the runner's/test's own bookkeeping
    with meter.invocation("ActFunction", 1024):
        s3.put_object(Bucket="bkt", Key="k", Body=b"x")
        s3.head_object(Bucket="bkt", Key="k")
        s3.get_object(Bucket="bkt", Key="k")["Body"].read()
    s3.delete_object(Bucket="bkt", Key="k")
    assert [(c.function, c.service, c.operation) for c in meter.calls] == [
        ("ActFunction", "s3", "PutObject"),
        ("ActFunction", "s3", "HeadObject"),
        ("ActFunction", "s3", "GetObject"),
    ]
    (inv,) = meter.invocations
    assert inv.function == "ActFunction" and inv.memory_mb == 1024 and inv.duration_ms > 0
    assert 0 < inv.api_ms <= inv.duration_ms and 0 <= inv.cpu_ms <= inv.duration_ms


def test_a_separate_session_is_never_metered(meter: Meter) -> None:
    own = boto3.session.Session(region_name="us-east-1").client("s3")
    with meter.invocation("ScanMediaFunction", 2048):
        own.create_bucket(Bucket="mine")
        own.list_buckets()
    assert meter.calls == []


def test_dynamodb_write_units_follow_item_size_and_indexes(meter: Meter, template: dict[str, Any]) -> None:
    ddb = clients.resource("dynamodb")
    create_decisions_table(ddb.meta.client, template)
    table = ddb.Table("decisions")
    with meter.invocation("RecordDecisionFunction", 512):
        table.put_item(Item={"pk": "a", "sk": "1", "verdict": "allow"})  # no index keys: 1 unit
        # A key of no index (post_id: the table has no post index): still 1 unit
        table.put_item(Item={"pk": "a", "sk": "2", "post_id": "p", "decided_at": "t", "kind": "media"})
        # 2.5 KB item in no index: 3 units
        table.put_item(Item={"pk": "a", "sk": "3", "blob": "x" * 2500})
        # ReviewQueueIndex projects ALL: the 2.5 KB item counts twice
        table.put_item(Item={"pk": "a", "sk": "4", "queue": "q", "decided_at": "t", "blob": "x" * 2500})
        table.get_item(Key={"pk": "a", "sk": "3"}, ConsistentRead=True)
        table.get_item(Key={"pk": "a", "sk": "3"})
    units = [c.write_units for c in meter.calls if c.operation == "PutItem"]
    assert units == [1, 1, 3, 6]
    reads = [c.read_units for c in meter.calls if c.operation == "GetItem"]
    assert reads == [1.0, 0.5]


def test_batch_write_counts_every_item(meter: Meter, template: dict[str, Any]) -> None:
    ddb = clients.resource("dynamodb")
    create_decisions_table(ddb.meta.client, template)
    with meter.invocation("RecordDecisionFunction", 512), ddb.Table("decisions").batch_writer() as batch:
        for i in range(30):
            batch.put_item(Item={"pk": "a", "sk": f"c#{i}", "verdict": "allow"})
    writes = [c for c in meter.calls if c.operation == "BatchWriteItem"]
    assert len(writes) == 2 and sum(c.write_units for c in writes) == 30


def test_events_are_counted_per_entry(meter: Meter) -> None:
    events = clients.client("events")
    with meter.invocation("ActFunction", 1024):
        events.put_events(
            Entries=[
                {"Source": "s", "DetailType": "d", "Detail": "{}"},
                {"Source": "s", "DetailType": "e", "Detail": "{}"},
            ]
        )
    (call,) = meter.calls
    assert call.events == 2


def test_item_size_follows_dynamodb_rules() -> None:
    assert item_size({"ab": {"S": "xyz"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert item_size({"ok": {"BOOL": True}}) == 3
    assert item_size({"s": "日本"}) == 1 + 6


def _execution(key: str, invocations: list[Invocation], calls: list[Call], states: int) -> Execution:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    history = [{"type": "ExecutionStarted", "timestamp": t0}]
    history += [{"type": "TaskStateEntered", "timestamp": t0} for _ in range(states)]
    history += [{"type": "LambdaFunctionScheduled", "timestamp": t0} for _ in range(states)]
    history += [{"type": "ExecutionSucceeded", "timestamp": t0 + timedelta(milliseconds=250)}]
    return Execution(key, "SUCCEEDED", calls, invocations, history)


def test_price_standard_vs_express() -> None:
    inv = [
        Invocation(
            "ActFunction",
            1024,
            duration_ms=100.0,
            api_ms=10.0,
            thread_cpu_ms=60.0,
            calls=[("s3", "PutObject"), ("s3", "HeadObject")],
        )
    ]
    calls = [Call("ActFunction", "s3", "PutObject"), Call("ActFunction", "s3", "HeadObject")]
    ex = [_execution("media/p/x.jpg", inv, calls, states=4)]
    standard = price(ex, PRICES, {"StateMachineLogLevel": "ALL"})
    ex[0].machine_type = "EXPRESS"
    express = price(ex, PRICES, {"StateMachineLogLevel": "ERROR"})
    by = {line.what.split(":")[0]: line.dollars for line in standard.lines}
    assert by["STANDARD state transitions"] == pytest.approx(4 * 0.000025)
    assert by["PutObject"] == pytest.approx(0.000005) and by["HeadObject"] == pytest.approx(0.0000004)
    # 60 ms of CPU on a full core is 60 * 1769/1024 = 103.6 ms at 1024 MB, + 2 S3 calls of 20 ms (modeled)
    assert by["Act 1024 MB, 144 ms"] == pytest.approx(0.144 * 0.0000166667)
    # with moto's measured 10 ms in the calls instead (the raw number, shown beside the modeled one)
    raw = {line.what.split(":")[0]: line.dollars for line in price(ex, PRICES, {}, wait="moto").lines}
    assert raw["Act 1024 MB, 114 ms"] == pytest.approx(0.114 * 0.0000166667)
    ex_by = {line.what.split(",")[0]: line.dollars for line in express.lines}
    assert ex_by["EXPRESS executions"] == pytest.approx(0.000001)
    # modeled: the invocation's 144 ms + 20 ms for the state machine invoking it: 200 ms at 64 MB
    assert ex_by["EXPRESS duration"] == pytest.approx(0.2 * 64 / 1024 * 0.00001667)
    # measured: moto's 250 ms wall rounds up to 300 ms
    raw_ex = {line.what.split(",")[0]: line.dollars for line in price(ex, PRICES, {}, wait="moto").lines}
    assert raw_ex["EXPRESS duration"] == pytest.approx(0.3 * 64 / 1024 * 0.00001667)
    assert express.total < standard.total


def test_modeled_latency_is_per_call_from_the_prices_file() -> None:
    from tutela_dev.emulator.cost import call_latency_ms, modeled_wait_ms

    lat = {"s3": 20, "s3:DeleteObject": 7, "dynamodb": 5, "default": 30}
    assert call_latency_ms("s3", "GetObject", lat) == 20 and call_latency_ms("s3", "DeleteObject", lat) == 7
    assert call_latency_ms("sqs", "SendMessage", lat) == 30
    inv = Invocation("f", 256, calls=[("s3", "GetObject"), ("dynamodb", "PutItem"), ("dynamodb", "Query")])
    assert modeled_wait_ms(inv, lat) == 30
    with pytest.raises(KeyError):
        call_latency_ms("sqs", "SendMessage", {"s3": 20})
    # every service the pipeline calls has a figure (or the default) in the real prices file
    assert all(call_latency_ms(s, "X", PRICES["latency_ms"]) > 0 for s in ("s3", "dynamodb", "events", "sqs"))


def test_a_parallel_states_branches_count_as_the_longest() -> None:
    from tutela_dev.emulator.cost import execution_ms

    lam, lat = PRICES["lambda"], {"default": 20, "lambda:Invoke": 10}
    a = Invocation("Scan", 1769, duration_ms=50.0, thread_cpu_ms=30.0, started=0.0)  # 30 ms
    b = Invocation("Scrub", 1769, duration_ms=50.0, thread_cpu_ms=10.0, started=0.01)  # overlaps a: 10 ms
    c = Invocation("Act", 1769, duration_ms=5.0, thread_cpu_ms=5.0, calls=[("s3", "X")], started=0.2)  # 25
    ex = Execution("k", "SUCCEEDED", [], [a, b, c], [])
    assert execution_ms(ex, lat, lam) == (30 + 10) + (25 + 10)


def test_the_output_ends_with_the_cost_line() -> None:
    from tutela_dev.emulator.cost import Bill, summary

    bill = Bill()
    bill.add("S3", "PutObject", 2, "req", 0.00001)
    text = summary(bill, {}, raw=bill)
    assert text.splitlines()[-1] == (
        "cost per million uploads: $10.00 (1 photo + 20 comments, default parameters)"
    )


def test_comment_batch_is_twenty_lines_with_two_bad(tmp_path: Path) -> None:
    lines = comment_batch(tmp_path / "b.jsonl").read_text().splitlines()
    assert len(lines) == 20 and len({line for line in lines}) == 20


def test_cpu_time_stretches_below_one_vcpu_and_waiting_does_not() -> None:
    from tutela_dev.emulator.cost import billed_ms

    assert billed_ms(Invocation("f", 1769, duration_ms=50.0, thread_cpu_ms=50.0), 1769, 1) == 50
    assert (
        billed_ms(Invocation("f", 3008, duration_ms=50.0, thread_cpu_ms=50.0), 1769, 1) == 50
    )  # more CPU is not assumed faster
    assert billed_ms(Invocation("f", 256, duration_ms=50.0, api_ms=50.0), 1769, 1) == 50
    assert billed_ms(Invocation("f", 256, duration_ms=50.0, thread_cpu_ms=50.0), 1769, 1) == math.ceil(
        50 * 1769 / 256
    )


def test_the_branches_of_a_parallel_state_overlap_although_the_emulator_runs_them_in_turn() -> None:
    """moto's Parallel runs its branches' handlers one after the other (they share os.environ); the history
    says which invocations were branches of one Parallel state, and those count as the longest."""
    from tutela_dev.emulator.cost import execution_ms

    lam, lat = PRICES["lambda"], {"default": 20, "lambda:Invoke": 10}
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    history = [
        {"type": t, "timestamp": t0}
        for t in (
            "ParallelStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionScheduled",
            "ParallelStateExited",
            "LambdaFunctionScheduled",
        )
    ]
    a = Invocation("Scan", 1769, duration_ms=50.0, thread_cpu_ms=30.0, started=0.0)  # 30 ms
    b = Invocation("Scrub", 1769, duration_ms=10.0, thread_cpu_ms=10.0, started=0.06)  # after a: 10 ms
    c = Invocation("Act", 1769, duration_ms=5.0, thread_cpu_ms=5.0, calls=[("s3", "X")], started=0.2)  # 25
    assert execution_ms(Execution("k", "SUCCEEDED", [], [a, b, c], history), lat, lam) == (30 + 10) + (
        25 + 10
    )
    # without the Parallel state they are one after the other
    serial = [{**e, "type": "LambdaFunctionScheduled"} for e in history[1:3] + history[4:]]
    assert execution_ms(Execution("k", "SUCCEEDED", [], [a, b, c], serial), lat, lam) == 40 + 20 + 35


def test_concurrent_calls_wait_for_the_longest_chain() -> None:
    """A handler that makes independent calls side by side waits for the longest chain of them (spans
    measured in moto), one after another otherwise."""
    from tutela_dev.emulator.cost import modeled_wait_ms

    lat = {"s3": 20, "events": 20, "dynamodb": 5}
    calls = [("s3", "GetObject"), ("events", "PutEvents"), ("s3", "DeleteObject"), ("dynamodb", "PutItem")]
    serial = Invocation("Act", 384, calls=calls, spans=[(0, 1), (1, 2), (2, 3), (3, 4)])
    assert modeled_wait_ms(serial, lat) == 65
    # the delete ran beside events -> put: GET, then the longer of (events + put, delete)
    side = Invocation("Act", 384, calls=calls, spans=[(0, 1), (1, 2), (1.1, 1.5), (2, 3)])
    assert modeled_wait_ms(side, lat) == 20 + max(20 + 5, 20)
    # a call that finished first in moto is conservatively a predecessor of what started after it
    fast = Invocation("Act", 384, calls=calls, spans=[(0, 1), (1, 3), (1.1, 1.2), (1.5, 4)])
    assert modeled_wait_ms(fast, lat) == 20 + 20 + 5
    # no spans (or not one per call): one after another
    assert modeled_wait_ms(Invocation("Act", 384, calls=calls), lat) == 65


def test_calls_on_other_threads_are_metered_and_their_cpu_is_not_the_handlers(meter: Meter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    s3 = clients.client("s3")
    s3.create_bucket(Bucket="bkt")
    with meter.invocation("ActFunction", 384), ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket="bkt", Key=f"k{i}", Body=b"x"), range(6)))
    (inv,) = meter.invocations
    assert [op for _, op in inv.calls] == ["PutObject"] * 6 and len(inv.spans) == 6
    assert all(start <= end < math.inf for start, end in inv.spans)
    assert inv._api_cpu_ms > 0 and inv.cpu_ms < inv.duration_ms


def test_a_pool_tasks_first_call_could_start_when_the_task_was_submitted(meter: Meter) -> None:
    """In-process, a pool thread may get the GIL only after the submitter's next call (moto's Python) is
    done; on AWS that call is I/O and the task's call starts at once: its span starts at the submission."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    s3 = clients.client("s3")
    s3.create_bucket(Bucket="bkt")

    def late() -> None:
        time.sleep(0.2)
        s3.put_object(Bucket="bkt", Key="k", Body=b"x")

    with meter.invocation("ActFunction", 384), ThreadPoolExecutor(1) as pool:
        submitted = time.perf_counter()
        pool.submit(late).result()
    ((start, end),) = meter.invocations[0].spans
    assert start - submitted < 0.1 and end - start >= 0.2
