"""Map AWS failures to what the state machine should do: retry (TransientError) or catch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from tutela.errors import TransientError

_RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "SlowDown",
    "RequestTimeout",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestTimeTooSkewed",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "TransactionInProgressException",
    "LimitExceededException",
}


def is_retryable(exc: BaseException) -> bool:
    """The one classification of AWS failures: throttling, 5xx and network errors are retried."""
    if isinstance(exc, ConnectionError | HTTPClientError):  # connect/read timeouts, dropped streams
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return err.get("Code") in _RETRYABLE_CODES or int(status or 0) >= 500
    return False


@contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise retryable AWS errors as TransientError so the ASL retries them with backoff."""
    try:
        yield
    except (ClientError, ConnectionError, HTTPClientError) as exc:
        if is_retryable(exc):
            raise TransientError(f"retryable AWS error: {type(exc).__name__}: {exc}") from exc
        raise
