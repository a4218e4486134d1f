"""One boto3 client/resource per service per process: created on first use, reused by every adapter and
every warm invocation (creating one costs 10-30 ms). Nothing is created at import time."""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Any] = {}


def _get(kind: str, service: str) -> Any:
    key = (kind, service)
    with _LOCK:
        if key not in _CACHE:
            import boto3

            factory: Any = boto3.client if kind == "client" else boto3.resource
            _CACHE[key] = factory(service)
        return _CACHE[key]


def client(service: str) -> Any:
    return _get("client", service)


def resource(service: str) -> Any:
    return _get("resource", service)


def reset() -> None:
    """Forget every client (a new deployment, e.g. the local stack starting on a fresh moto)."""
    with _LOCK:
        _CACHE.clear()
