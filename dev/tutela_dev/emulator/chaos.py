"""Chaos for the emulated stack: ``tutela local run FILES --out DIR --chaos SEED``.

Deterministically from SEED, for every Lambda step of every object:
- a transient failure *before* the handler runs (no side effect yet),
- a throttle (``ThrottlingException``) on one of the step's S3 / DynamoDB / EventBridge calls, raised by a
  botocore ``before-call`` hook, so the request is never sent and the handler sees a ClientError,
- a transient failure *after* the handler returned (every side effect done, the response lost),
and each upload may be delivered twice (EventBridge is at-least-once).

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
FAULT_KINDS = ("before", "throttle", "after", "duplicate")


class ChaosFault(Exception):
    """Raised into a handler invocation; the Lambda runtime reports it as ``TransientError``."""


@dataclass
class Invocation:
    function: str
    key: str
    attempt: int
    rng: random.Random
    fault: str | None = None  # before | throttle | after
    throttle_at: int | None = None  # the n-th AWS call of this invocation is throttled
    calls: int = 0


@dataclass
class Chaos:
    seed: int
    rate: float = 0.5  # probability that a step attempt (one of its first three) gets a fault
    injected: Counter[str] = field(default_factory=Counter)
    _attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _current: Invocation | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(str(p) for p in (self.seed, *parts)))

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
        # At most one fault per attempt, and only on the first three attempts (MaxAttempts: 3).
        if attempt <= 3 and inv.rng.random() < self.rate:
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
        parsed = {
            "Error": {"Code": "ThrottlingException", "Message": f"chaos: {op} throttled"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        return _Throttled(), parsed

    def install(self) -> Any:
        """Register the hook on boto3's default session (every client the handlers create). Returns an
        uninstaller."""
        import boto3

        session = boto3._get_default_session()
        events = session.events
        names = [f"before-call.{service}" for service in THROTTLED_SERVICES]
        for name in names:
            events.register_first(name, self.on_call, unique_id=f"tutela-chaos-{name}")

        def uninstall() -> None:
            for name in names:
                events.unregister(name, unique_id=f"tutela-chaos-{name}")

        return uninstall

    @property
    def total(self) -> int:
        return sum(self.injected.values())


class _Throttled:
    status_code = 400
    headers: ClassVar[dict[str, str]] = {}
    content = b""


def _object_key(event: Any) -> str:
    try:
        return str(event["detail"]["object"]["key"])  # not the version id: S3 makes up a new one per run
    except (KeyError, TypeError):
        return "?"
