"""What every step handler shares: Powertools logger/tracer/metrics, config, AWS error mapping.

Handlers stay thin: ``@step`` + parse + one domain call + return. Nothing here runs at import time
beyond creating the (lazy) Powertools objects; settings are parsed by ``tutela.aws.settings``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

from tutela.aws.errors import transient_errors

logger = Logger()
metrics = Metrics()
# inject_lambda_context adds these to every record; the log group already names the function, and they are
# ~250 of a record's ~500 bytes (CloudWatch Logs bills ingestion per byte). The request id stays.
_REDUNDANT_KEYS = ["function_name", "function_memory_size", "function_arn"]


def tracing_enabled() -> bool:
    """Tracing is on unless the template turned it off (its ``Tracing`` parameter sets
    POWERTOOLS_TRACE_DISABLED). Off, the X-Ray SDK is never imported: ~220 ms of every cold start."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() not in ("1", "true")


def step[F: Callable[..., Any]](fn: F) -> F:
    """Decorate a step handler: structured logs (never the event itself: it may name a child's post),
    traces without the response payload, EMF metrics, and retryable AWS errors as TransientError."""

    @functools.wraps(fn)
    def mapped(event: Any, context: Any) -> Any:
        logger.remove_keys(_REDUNDANT_KEYS)
        if metrics.namespace is None:  # imported before the environment was set (tests, tools): resolve now
            metrics.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Tutela"
        with transient_errors():
            return fn(event, context)

    wrapped = metrics.log_metrics(raise_on_empty_metrics=False)(mapped)
    if tracing_enabled():  # decided at INIT, when the handler module is imported
        from aws_lambda_powertools.tracing import Tracer

        wrapped = Tracer().capture_lambda_handler(capture_response=False)(wrapped)
    wrapped = logger.inject_lambda_context(log_event=False, clear_state=True)(wrapped)
    return functools.wraps(fn)(wrapped)  # type: ignore[return-value]
