"""One boto3 client/resource per service per process: created on first use, reused by every adapter and
every warm invocation (creating one costs 10-30 ms). Nothing is created at import time.

A client that needs its own botocore ``Config`` (timeouts, retries) passes a module-level constant: the
cache keys on that object. ``override`` puts a given client in front of every lookup of its service (the
emulated stack's stubbed services, which moto does not emulate)."""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_OVERRIDES: dict[str, Any] = {}


def _get(kind: str, service: str, config: Any = None) -> Any:
    key = (kind, service, id(config))
    with _LOCK:
        if kind == "client" and service in _OVERRIDES:
            return _OVERRIDES[service]
        if key not in _CACHE:
            import boto3

            factory: Any = boto3.client if kind == "client" else boto3.resource
            made = factory(service) if config is None else factory(service, config=config)
            _CACHE[key] = (made, config)  # the config is kept alive: its id stays its own
        return _CACHE[key][0]


def client(service: str, config: Any = None) -> Any:
    return _get("client", service, config)


def resource(service: str) -> Any:
    return _get("resource", service)


def override(service: str, made: Any | None) -> None:
    """Serve ``made`` for every ``client(service)`` until ``override(service, None)``."""
    with _LOCK:
        if made is None:
            _OVERRIDES.pop(service, None)
        else:
            _OVERRIDES[service] = made


def reset() -> None:
    """Forget every client (a new deployment, e.g. the emulated stack starting on a fresh moto); overrides
    stay until their owner removes them."""
    with _LOCK:
        _CACHE.clear()
