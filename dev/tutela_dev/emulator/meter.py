"""Meter the emulated stack: what one upload costs, counted from what the pipeline actually does.

- every AWS API call a *handler* makes (a botocore ``before-call``/``after-call`` hook on boto3's default
  session, counted only while a handler invocation is running; ``lambda:Invoke`` is the state machine
  calling the function, billed as a Lambda request, not an API call). The runner's own calls go through
  its own session (``EmulatedStack.client``) and are never seen here;
- DynamoDB capacity units from the items themselves (write units per 1 KB of item, again for each global
  secondary index the item appears in; read units per 4 KB, halved when eventually consistent), since
  DynamoDB bills a failed conditional write like a successful one;
- each handler invocation's duration (the handler call only: INIT is reported apart) and its memory size
  from the template, i.e. Lambda GB-seconds;
- CloudWatch Logs bytes the handlers write.

State transitions and execution durations come from the execution history (``tutela_dev.emulator.cost``).
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

KB = 1024


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key attributes and which other attributes it projects."""

    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()


@dataclass
class Call:
    function: str
    service: str
    operation: str
    write_units: float = 0.0
    read_units: float = 0.0
    events: int = 0  # EventBridge PutEvents entries, in 64 KB chunks
    consistent: bool = False  # a DynamoDB read asked for strong consistency
    bucket: str | None = None  # an S3 call's bucket (whose object a HEAD or GET was about)


@dataclass
class Invocation:
    function: str
    memory_mb: int
    duration_ms: float = 0.0
    init_ms: float = 0.0
    log_bytes: int = 0
    # wall time inside AWS calls as moto answered them in-process: not AWS's latency (it is moto's Python on
    # this machine, and it jumps with the machine's load); ``make cost`` prices a modeled wait per call
    # (``cost/prices.toml`` [latency_ms]) and shows this raw number beside it
    api_ms: float = 0.0
    thread_cpu_ms: float = 0.0  # the process's CPU time during the invocation, AWS calls excluded
    thread: int = 0
    started: float = 0.0  # perf_counter() at the start (which invocations overlapped)
    started_at: float = 0.0  # time.time() at the start (inside which state of the execution history)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (service, operation) of each AWS call
    # perf_counter() (start, end) of each call, in the order of ``calls``: which calls overlapped (a handler
    # that makes independent calls concurrently waits for the longest chain, not the sum)
    spans: list[tuple[float, float]] = field(default_factory=list)
    _api_cpu_ms: float = 0.0

    @property
    def cpu_ms(self) -> float:
        """The handler's own compute: the process's CPU time during the invocation (all its threads: OpenCV
        workers, a video prefetch thread) minus the CPU each thread spent inside its AWS calls (moto answers
        in-process, on the calling thread). CPU time, not wall time, so other processes on a busy machine do
        not inflate it."""
        return max(0.0, self.thread_cpu_ms)


@dataclass
class Meter:
    """Install with ``meter.install()`` (returns the uninstaller); the emulated stack wraps every handler
    invocation in ``meter.invocation(...)``. ``snapshot()``/``since()`` cut the record per upload."""

    table_keys: tuple[str, ...] = ("pk", "sk")
    indexes: tuple[Index, ...] = ()
    calls: list[Call] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    _current: Invocation | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _submitted: threading.local = field(
        default_factory=threading.local
    )  # .at: when a pool task was submitted
    _params: threading.local = field(default_factory=threading.local)  # .bucket: the S3 call being made

    # ------------------------------------------------------------------ invocations
    def configure(self, template: Mapping[str, Any], table: str = "DecisionsTable") -> None:
        """Key schema and indexes of the decisions table, from the template being deployed."""
        self.table_keys = table_keys_from_template(template, table)
        self.indexes = indexes_from_template(template, table)

    @contextmanager
    def invocation(
        self, function: str, memory_mb: int, *, init_ms: float = 0.0, sink: Any = None
    ) -> Iterator[Invocation]:
        inv = Invocation(function, memory_mb, init_ms=init_ms, thread=threading.get_ident())
        logged = _position(sink)
        self._current = inv
        started, cpu = time.perf_counter(), time.process_time()
        inv.started, inv.started_at = started, time.time()
        try:
            yield inv
        finally:
            inv.duration_ms = 1000 * (time.perf_counter() - started)
            inv.thread_cpu_ms = 1000 * (time.process_time() - cpu) - inv._api_cpu_ms
            self._current = None
            inv.log_bytes = max(0, _position(sink) - logged)
            with self._lock:
                self.invocations.append(inv)

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return len(self.calls), len(self.invocations)

    def since(self, mark: tuple[int, int]) -> tuple[list[Call], list[Invocation]]:
        with self._lock:
            return self.calls[mark[0] :], self.invocations[mark[1] :]

    # ------------------------------------------------------------------ botocore hooks
    def on_before_call(self, model: Any = None, params: Any = None, context: Any = None, **_: Any) -> None:
        inv = self._current
        if inv is None or model is None:
            return
        service = model.service_model.service_name
        if service == "lambda":
            return  # the state machine invoking a function (a Lambda request, counted per invocation)
        call = Call(inv.function, service, model.name)
        if service == "s3":
            call.bucket, self._params.bucket = getattr(self._params, "bucket", None), None
        # A call that a pool thread makes can start when its task was submitted: in-process, the thread often
        # gets the GIL only after the submitter's next call (moto's Python) is done, which AWS's I/O would
        # not wait for.
        started = getattr(self._submitted, "at", None) or time.perf_counter()
        self._submitted.at = None
        with self._lock:
            inv.calls.append((service, model.name))
            inv.spans.append((started, math.inf))
            index = len(inv.calls) - 1
        if isinstance(context, dict):
            context["tutela_meter_call"] = index
            context["tutela_meter_started"] = time.perf_counter()
            context["tutela_meter_cpu"] = time.thread_time()  # this thread's: moto runs on the caller's
        if service == "dynamodb":
            body = _json_body(params)
            call.write_units = self._write_units(model.name, body)
            call.consistent = bool(body.get("ConsistentRead"))
        elif service == "events" and model.name == "PutEvents":
            entries = _json_body(params).get("Entries") or []
            call.events = sum(max(1, math.ceil(len(json.dumps(e).encode()) / (64 * KB))) for e in entries)
        with self._lock:
            self.calls.append(call)

    def on_after_call(self, model: Any = None, parsed: Any = None, context: Any = None, **_: Any) -> None:
        """API time; read units depend on what came back (attributed to the call recorded just before)."""
        inv = self._current
        if inv is None or model is None:
            return
        ctx = context if isinstance(context, dict) else {}
        started, cpu, index = (
            ctx.get(k) for k in ("tutela_meter_started", "tutela_meter_cpu", "tutela_meter_call")
        )
        now = time.perf_counter()
        with self._lock:
            if started is not None:
                inv.api_ms += 1000 * (now - started)
            if cpu is not None:
                inv._api_cpu_ms += 1000 * (time.thread_time() - cpu)
            if isinstance(index, int) and index < len(inv.spans):
                inv.spans[index] = (inv.spans[index][0], now)
        if model.service_model.service_name != "dynamodb":
            return
        if model.name not in ("GetItem", "Query", "Scan", "BatchGetItem"):
            return
        with self._lock:
            call = next(
                (c for c in reversed(self.calls) if c.service == "dynamodb" and c.operation == model.name),
                None,
            )
        if call is None:
            return
        items = _returned_items(model.name, parsed or {})
        if model.name == "BatchGetItem":
            units = sum(max(1, math.ceil(item_size(i) / (4 * KB))) for i in items)
        else:  # a Query/Scan is billed on the summed size of what it read
            units = max(1, math.ceil(sum(item_size(i) for i in items) / (4 * KB)))
        call.read_units = float(units) if call.consistent else units / 2

    def install(self) -> Any:
        """Register on boto3's default session (the one every handler client comes from), and time the tasks
        handed to thread pools (when each could start)."""
        import boto3

        events = boto3._get_default_session().events
        events.register("before-call", self.on_before_call, unique_id="tutela-meter-before")
        events.register("after-call", self.on_after_call, unique_id="tutela-meter-after")
        events.register("before-parameter-build.s3", self.on_s3_params, unique_id="tutela-meter-s3")
        pool = concurrent.futures.ThreadPoolExecutor
        submit, local = pool.submit, self._submitted

        def timed_submit(executor: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            at = time.perf_counter()

            def task(*a: Any, **k: Any) -> Any:
                local.at = at  # the task's first AWS call could have started here
                try:
                    return fn(*a, **k)
                finally:
                    local.at = None

            return submit(executor, task, *args, **kwargs)

        pool.submit = timed_submit  # type: ignore[method-assign]

        def uninstall() -> None:
            events.unregister("before-call", unique_id="tutela-meter-before")
            events.unregister("after-call", unique_id="tutela-meter-after")
            events.unregister("before-parameter-build.s3", unique_id="tutela-meter-s3")
            pool.submit = submit  # type: ignore[method-assign]

        return uninstall

    def on_s3_params(self, params: Any = None, **_: Any) -> None:
        """``before-parameter-build.s3``: the bucket of the call about to be made (this thread's next
        ``before-call``)."""
        self._params.bucket = params.get("Bucket") if isinstance(params, dict) else None

    # ------------------------------------------------------------------ DynamoDB capacity
    def _write_units(self, operation: str, body: Mapping[str, Any]) -> float:
        if operation == "PutItem":
            return self._item_write_units(body.get("Item") or {})
        if operation == "BatchWriteItem":
            total = 0.0
            for requests in (body.get("RequestItems") or {}).values():
                for r in requests:
                    if "PutRequest" in r:
                        total += self._item_write_units(r["PutRequest"].get("Item") or {})
                    else:
                        total += 1 + len(self.indexes)  # a delete: at least one unit per copy
            return total
        if operation in ("UpdateItem", "DeleteItem"):
            return 1.0 + len(self.indexes)  # sizes unknown from the request: the minimum
        return 0.0

    def _item_write_units(self, item: Mapping[str, Any]) -> float:
        units = max(1, math.ceil(item_size(item) / KB))
        for index in self.indexes:
            if all(k in item for k in index.keys):
                units += max(1, math.ceil(item_size(self._projected(index, item)) / KB))
        return float(units)

    def _projected(self, index: Index, item: Mapping[str, Any]) -> dict[str, Any]:
        if index.projection == "ALL":
            return dict(item)
        names = set(self.table_keys) | set(index.keys)
        if index.projection == "INCLUDE":
            names |= set(index.include)
        return {k: v for k, v in item.items() if k in names}


def item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's item size rules on a low-level (typed) item: attribute names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


def _value_size(value: Any) -> int:
    """Size of a typed (``{"S": ...}``) or plain Python value, as DynamoDB counts it."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPES:
        ((kind, v),) = value.items()
        if kind in ("S", "B"):
            return _value_size(v) if kind == "S" else math.ceil(len(str(v)) * 3 / 4)  # base64 on the wire
        if kind == "N":
            return _number_size(str(v))
        if kind in ("BOOL", "NULL"):
            return 1
        if kind in ("SS", "NS", "BS"):
            return sum(_value_size({kind[0]: x}) for x in v)
        if kind == "L":
            return 3 + sum(1 + _value_size(x) for x in v)
        return 3 + sum(1 + len(k.encode()) + _value_size(x) for k, x in v.items())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, int | float) or type(value).__name__ == "Decimal":
        return _number_size(str(value))
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(1 + _value_size(x) for x in value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(str(k).encode()) + _value_size(x) for k, x in value.items())
    return len(str(value).encode())


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


class CountingSink:
    """A text stream that counts the UTF-8 bytes written through it (``tell()``): a file's own ``tell()``
    flushes and rebuilds its decoder state, which cost the emulated stack ~10 ms per invocation."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.written = 0

    def write(self, text: str) -> int:
        self.written += len(text.encode("utf-8", "surrogatepass"))
        return int(self.stream.write(text))

    def tell(self) -> int:
        return self.written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _position(sink: Any) -> int:
    try:
        return int(sink.tell()) if sink is not None else 0
    except (OSError, ValueError, AttributeError):
        return 0


def _json_body(params: Any) -> dict[str, Any]:
    body = (params or {}).get("body") if isinstance(params, dict) else None
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _returned_items(operation: str, parsed: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if operation == "GetItem":
        return [parsed["Item"]] if parsed.get("Item") else []
    if operation in ("Query", "Scan"):
        return list(parsed.get("Items") or [])
    return [i for items in (parsed.get("Responses") or {}).values() for i in items]


def indexes_from_template(
    template: Mapping[str, Any], logical_id: str = "DecisionsTable"
) -> tuple[Index, ...]:
    props = template["Resources"][logical_id]["Properties"]
    out = []
    for gsi in props.get("GlobalSecondaryIndexes", []):
        proj = gsi.get("Projection", {})
        out.append(
            Index(
                gsi["IndexName"],
                tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                str(proj.get("ProjectionType", "ALL")),
                tuple(proj.get("NonKeyAttributes", [])),
            )
        )
    return tuple(out)


def table_keys_from_template(
    template: Mapping[str, Any], logical_id: str = "DecisionsTable"
) -> tuple[str, ...]:
    props = template["Resources"][logical_id]["Properties"]
    return tuple(k["AttributeName"] for k in props["KeySchema"])
