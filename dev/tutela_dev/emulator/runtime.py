"""The fake Lambda runtime of the emulated stack: our handlers run in-process (instead of moto's Docker) with
their function's template environment, a Lambda-like context, warm module caching, and the chaos hooks."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tutela_dev.emulator.chaos import Chaos, ChaosFault
from tutela_dev.emulator.meter import Meter

REGION = "us-east-1"
ACCOUNT = "123456789012"


class EmulatorError(RuntimeError):
    """The emulated stack could not be deployed or did not behave; the message says what and where."""


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int


@dataclass
class _Registry:
    """Physical function name -> where its code is. One stack at a time per process."""

    functions: dict[str, Function] = field(default_factory=dict)
    modules: dict[str, ModuleType] = field(default_factory=dict)
    log: Any = None  # a text stream (the stack wraps it in a meter.CountingSink)
    chaos: Chaos | None = None
    meter: Meter | None = None


_REGISTRY = _Registry()
_INVOKE_LOCK = threading.RLock()  # handlers share os.environ: one invocation at a time


class FakeContext:
    """The attributes of a Lambda context object that Powertools and our handlers read."""

    def __init__(self, name: str, timeout_s: int = 60, memory_mb: int = 512) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(code_dir: Path, handler: str, *, cold: bool = False) -> Callable[[Any, Any], Any]:
    """Import ``module.func`` from a function's code directory under a unique module name.

    Modules are cached like a warm Lambda container (module-level clients persist); ``cold=True`` starts a
    new one, as every deployment does."""
    module_name, _, func = handler.rpartition(".")
    unique = f"tutela_fn_{code_dir.name}_{module_name}".replace("-", "_")
    module = None if cold else _REGISTRY.modules.get(unique)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            unique, code_dir / f"{module_name.replace('.', '/')}.py"
        )
        if spec is None or spec.loader is None:
            raise EmulatorError(f"cannot load handler {handler} from {code_dir}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        _REGISTRY.modules[unique] = module
    return getattr(module, func)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def function_environment(name: str, variables: Mapping[str, Any] | None, memory: int) -> dict[str, str]:
    """What a function's process sees: its template variables and what the Lambda runtime adds."""
    return {
        **{k: str(v) for k, v in (variables or {}).items()},
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def import_handler_module(name: str, variables: Mapping[str, Any] | None) -> ModuleType:
    """The handler module of function ``name``, imported (if it is not yet) inside that function's own
    environment, as its INIT would be: settings parsed at import see the function's variables."""
    target = _REGISTRY.functions[name]
    with _INVOKE_LOCK, _environment(function_environment(name, variables, target.memory)):
        handler = load_handler(target.code_dir, target.handler)
    return sys.modules[handler.__module__]


def invoke_in_process(fn: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for moto's ``LambdaFunction._invoke_lambda``: (payload, errored, logs)."""
    target = _REGISTRY.functions.get(fn.function_name)
    if target is None:
        return json.dumps({"errorType": "ResourceNotFound", "errorMessage": fn.function_name}), True, ""
    if isinstance(event, str | bytes):
        event = json.loads(event or "{}")
    env = function_environment(fn.function_name, fn.environment_vars, target.memory)
    chaos, meter = _REGISTRY.chaos, _REGISTRY.meter
    with _INVOKE_LOCK, _environment(env):
        sink = _REGISTRY.log or io.StringIO()
        try:
            started = time.perf_counter()
            loaded = len(_REGISTRY.modules)
            handler = load_handler(target.code_dir, target.handler)
            init_ms = 1000 * (time.perf_counter() - started)
            if len(_REGISTRY.modules) > loaded:
                gc.freeze()  # the function's INIT (modules, models) lives as long as the stack: see stack.py
            _route_logs(sink)
            invocation = chaos.start(target.logical_id, event) if chaos else None
            metered = (
                meter.invocation(target.logical_id, target.memory, init_ms=init_ms, sink=sink)
                if meter
                else contextlib.nullcontext()
            )
            with contextlib.redirect_stdout(sink), metered:
                if chaos and invocation:
                    chaos.before(invocation)
                result = handler(event, FakeContext(fn.function_name, target.timeout, target.memory))
                if chaos and invocation:
                    chaos.after(invocation)
            return json.dumps(result, default=str), False, ""
        except Exception as exc:  # the Lambda runtime's error contract: errorType is the class name
            # An injected fault stands for a timeout or a lost response: what the ASL retries.
            name = "TransientError" if isinstance(exc, ChaosFault) else type(exc).__name__
            trace = traceback.format_exception(exc)
            sink.write(json.dumps({"function": target.logical_id, "error": name, "trace": trace}) + "\n")
            payload = {"errorType": name, "errorMessage": str(exc), "stackTrace": []}
            return json.dumps(payload), True, ""
        finally:
            if chaos:
                chaos.end()


def _route_logs(sink: Any) -> None:
    """Powertools' logger binds sys.stdout at import; point its handlers at the run's log file."""
    for handler in logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "tutela")).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.stream = sink  # not setStream(): it flushes the old stream, which a past run closed
