"""What every step handler shares: Powertools logger/tracer/metrics, config, AWS error mapping.

Handlers stay thin: ``@step`` + parse + one domain call + return. Nothing here runs at import time
beyond creating the (lazy) Powertools objects.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from tutela.aws.errors import transient_errors
from tutela.errors import ConfigurationError

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def setting(name: str, default: str | None = None) -> str:
    """A configuration value from the function's environment (read per call, never at import)."""
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigurationError(f"configuration {name} is not set")
    return value


def int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ConfigurationError(f"configuration {name} must be an integer") from exc


def step[F: Callable[..., Any]](fn: F) -> F:
    """Decorate a step handler: structured logs (never the event itself: it may name a child's post),
    traces without the response payload, EMF metrics, and retryable AWS errors as TransientError."""

    @functools.wraps(fn)
    def mapped(event: Any, context: Any) -> Any:
        with transient_errors():
            return fn(event, context)

    wrapped = metrics.log_metrics(raise_on_empty_metrics=False)(mapped)
    wrapped = tracer.capture_lambda_handler(capture_response=False)(wrapped)
    wrapped = logger.inject_lambda_context(log_event=False, clear_state=True)(wrapped)
    return functools.wraps(fn)(wrapped)  # type: ignore[return-value]
