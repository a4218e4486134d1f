"""Chaos for the emulated stack: ``tutela local run FILES --out DIR --chaos SEED``.

Deterministically from SEED, for every Lambda step of every object:
- a transient failure *before* the handler runs (no side effect yet),
- a throttle (S3 ``SlowDown`` 503, DynamoDB ``ProvisionedThroughputExceededException``, else
  ``ThrottlingException``) on one of the step's S3 / DynamoDB / EventBridge calls, raised by a
  botocore ``before-call`` hook, so the request is never sent and the handler sees a ClientError,
- a transient failure *after* the handler returned (every side effect done, the response lost),
and each upload may be delivered twice (EventBridge is at-least-once).

``mode="writes"`` (``--chaos-mode writes``) is the second family: faults *between* side effects. An
``after-call`` hook counts the step's successful writes (S3 puts/copies/deletes/tags, DynamoDB
puts/updates/deletes/batch and transactional writes, EventBridge PutEvents) and, after the n-th one,
- ``crash``: the invocation dies right there (a timeout, an out-of-memory kill): nothing after that write
  runs, and nothing in the handler can catch it (:class:`ChaosCrash` is a ``BaseException``);
- ``lost``: the write happened but its response is lost: the handler sees a ``ThrottlingException`` for a
  request that the service did carry out (what a read timeout or a dropped connection does).

``mode="sweep"`` (``--chaos-mode sweep``) is the same fault, systematically instead of drawn: the k-th object
of a kind (``media/.jpg``, ``comments/.jsonl``...) a step sees fails on its first attempt right after write
``1 + k % 8``, a crash for the first eight objects and a lost response for the next eight (the seed's parity
swaps them), and so on. Give it 16+ uploads of each kind and every step is cut after each of its first eight
writes both ways; ``fired`` says where.

At most one fault is drawn per (step, object, attempt), only on a step's first three attempts, so the ASL's
``MaxAttempts: 3`` always leaves one clean attempt: a chaos run must end in the same decisions, published
bytes, object versions and events as a clean run. What it ended in is measured, not assumed (see
``tutela_dev.emulator.runner.audit``).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

THROTTLED_SERVICES = ("s3", "dynamodb", "eventbridge")
FAULT_KINDS = ("before", "throttle", "after", "duplicate", "crash", "lost")
MODES = ("classic", "writes", "sweep")
OWN_THREADS = "tutela-"  # thread-name prefix of the handlers' own pools (tutela.act)
# Each service's own way of saying "slow down": S3's 503 SlowDown, DynamoDB's ProvisionedThroughputExceeded.
THROTTLES = {
    "s3": ("SlowDown", 503),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "": ("ThrottlingException", 400),
}
SWEEP_DEPTH = 8  # mode "sweep": writes 1..8 of every step
WRITE_PREFIXES = (
    "Put", "Copy", "Delete", "Update", "BatchWrite", "TransactWrite", "CompleteMultipart", "UploadPart",
)  # fmt: skip


class ChaosFault(Exception):
    """Raised into a handler invocation; the Lambda runtime reports it as ``TransientError``."""


class ChaosCrash(BaseException):
    """The invocation dies after a write (``mode="writes"``): a BaseException, so no handler code can catch
    it (the sandbox is gone); reported like a timeout, as a transient error."""


@dataclass
class Invocation:
    function: str
    key: str
    attempt: int
    rng: random.Random
    fault: str | None = None  # before | throttle | after
    throttle_at: int | None = None  # the n-th AWS call of this invocation is throttled
    calls: int = 0
    write_at: int | None = None  # mode "writes": the fault comes after the n-th successful write
    writes: int = 0
    thread: int = 0


@dataclass
class Chaos:
    seed: int
    rate: float = 0.5  # probability that a step attempt (one of its first three) gets a fault
    mode: str = "classic"  # classic: before/throttle/after a step; writes: crash or lost response mid-step
    injected: Counter[str] = field(default_factory=Counter)
    _attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _objects: Counter[tuple[str, str]] = field(default_factory=Counter)  # mode "sweep": per step and kind
    fired: list[tuple[str, int, str, str]] = field(default_factory=list)  # (step, write n, operation, kind)
    _current: Invocation | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"chaos mode must be one of {MODES}, not {self.mode!r}")

    def _rng(self, *parts: object) -> random.Random:
        prefix = (self.seed,) if self.mode == "classic" else (self.seed, self.mode)
        return random.Random("|".join(str(p) for p in (*prefix, *parts)))

    # ----------------------------------------------------------------- deliveries
    def deliveries(self, key: str) -> int:
        """How many times the "Object Created" event for ``key`` is delivered (1 or 2)."""
        if self._rng("deliver", key).random() < self.rate:
            self.injected["duplicate"] += 1
            return 2
        return 1

    # ----------------------------------------------------------------- invocations
    def start(self, function: str, event: Any) -> Invocation:
        key = _object_key(event)
        with self._lock:
            self._attempts[function, key] += 1
            attempt = self._attempts[function, key]
        inv = Invocation(function, key, attempt, self._rng("invoke", function, key, attempt))
        inv.thread = threading.get_ident()
        # At most one fault per attempt, and only on the first three attempts (MaxAttempts: 3).
        if self.mode == "sweep":
            if attempt == 1:
                kind = (function, _object_kind(key))  # own cycle per kind: a mix of uploads must not alias
                with self._lock:
                    k = self._objects[kind]
                    self._objects[kind] += 1
                inv.fault = ("crash", "lost")[(k // SWEEP_DEPTH + self.seed) % 2]
                inv.write_at = 1 + k % SWEEP_DEPTH
        elif attempt <= 3 and inv.rng.random() < self.rate:
            if self.mode == "writes":
                inv.fault = inv.rng.choice(("crash", "lost"))
                inv.write_at = 1 + inv.rng.randrange(4)  # steps write 1-6 times; later writes are rarer
            else:
                inv.fault = inv.rng.choice(("before", "throttle", "after"))
            if inv.fault == "throttle":
                inv.throttle_at = 1 + inv.rng.randrange(8)
        self._current = inv
        return inv

    def before(self, inv: Invocation) -> None:
        if inv.fault == "before":
            self.injected["before"] += 1
            raise ChaosFault(f"chaos: {inv.function} failed before its side effects")

    def after(self, inv: Invocation) -> None:
        self._current = None
        if inv.fault == "after":
            self.injected["after"] += 1
            raise ChaosFault(f"chaos: {inv.function} failed after its side effects")

    def end(self) -> None:
        self._current = None

    # ----------------------------------------------------------------- botocore hook
    def on_call(self, model: Any = None, **_: Any) -> Any:
        """``before-call`` hook: a throttle instead of the request (never sent, so no side effect)."""
        inv = self._current
        if inv is None or inv.throttle_at is None:
            return None
        inv.calls += 1
        if inv.calls != inv.throttle_at:
            return None
        inv.throttle_at = None
        self.injected["throttle"] += 1
        op = getattr(model, "name", "call")
        service = getattr(getattr(model, "service_model", None), "service_name", "")
        code, status = THROTTLES.get(service, THROTTLES[""])
        parsed = {
            "Error": {"Code": code, "Message": f"chaos: {op} throttled"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        return _Throttled(), parsed

    def on_response(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        """``after-call`` hook (mode "writes"): after the n-th successful write of the invocation, crash or
        lose the response. Only in the invocation's own thread or a pool thread of ours (Act's retire runs
        beside its events and record; the handler waits for it and re-raises what it raised); a transfer
        manager's workers are left be. Which write is the n-th then depends on timing; how many there are
        does not."""
        inv = self._current
        if inv is None or inv.write_at is None:
            return
        ours = threading.current_thread().name.startswith(OWN_THREADS)
        if inv.thread != threading.get_ident() and not ours:
            return
        op = str(getattr(model, "name", ""))
        status = getattr(http_response, "status_code", 200)
        if not op.startswith(WRITE_PREFIXES) or status >= 300 or (parsed or {}).get("Error"):
            return
        with self._lock:  # two threads of one invocation may write at once
            inv.writes += 1
            n = inv.writes
            if n != inv.write_at:
                return
            inv.write_at = None
            self.injected[str(inv.fault)] += 1
            self.fired.append((inv.function, n, op, str(inv.fault)))
        if inv.fault == "crash":
            raise ChaosCrash(f"chaos: {inv.function} died after write {n} ({op})")
        from botocore.exceptions import ClientError

        error = {"Error": {"Code": "ThrottlingException", "Message": f"chaos: {op} response lost"}}
        raise ClientError(error, op)  # type: ignore[arg-type]

    def install(self) -> Any:
        """Register the hooks on boto3's default session (every client the handlers create). Returns an
        uninstaller."""
        import boto3

        session = boto3._get_default_session()
        events = session.events
        hooks: list[tuple[str, Any]] = [
            (f"before-call.{service}", self.on_call) for service in THROTTLED_SERVICES
        ]
        hooks += [(f"after-call.{service}", self.on_response) for service in THROTTLED_SERVICES]
        for name, hook in hooks:
            events.register_first(name, hook, unique_id=f"tutela-chaos-{name}")

        def uninstall() -> None:
            for name, _hook in hooks:
                events.unregister(name, unique_id=f"tutela-chaos-{name}")

        return uninstall

    @property
    def total(self) -> int:
        return sum(self.injected.values())


class _Throttled:
    status_code = 400
    headers: ClassVar[dict[str, str]] = {}
    content = b""


def _object_kind(key: str) -> str:
    """``media/.jpg``, ``comments/.jsonl``...: what decides which writes a step makes for an object."""
    name = key.rsplit("/", 1)[-1]
    return key.split("/", 1)[0] + "/" + (name[name.rfind(".") :].lower() if "." in name else "")


def _object_key(event: Any) -> str:
    try:
        return str(event["detail"]["object"]["key"])  # not the version id: S3 makes up a new one per run
    except (KeyError, TypeError):
        return "?"
