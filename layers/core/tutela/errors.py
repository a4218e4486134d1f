"""Error classes shared by the domain, the handlers and the state machine.

The ASL ``Retry``/``Catch`` blocks match on the exception *class name* (Lambda reports it as
``errorType``), so these names are part of the contract with ``statemachine/moderation.asl.json``.
"""

from __future__ import annotations


class TutelaError(Exception):
    """Base class. ``code`` is the stable reason code stored in decisions."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class UnsupportedMediaError(TutelaError):
    """The bytes are not a format this analyzer handles (sniffed, not by extension)."""

    code = "unsupported_media"


class CorruptMediaError(TutelaError):
    """The file claims a supported format but its structure is broken or hostile."""

    code = "corrupt_media"


class LimitExceededError(TutelaError):
    """A safety limit (bytes, pixels, frames, boxes, time) was hit; the file is held."""

    code = "limit_exceeded"


class VerificationError(TutelaError):
    """Post-condition failed, e.g. location still present after scrubbing. Fail closed."""

    code = "verification_failed"


class VisionUnavailableError(TutelaError):
    """OpenCV (the vision layer) or a vision plugin is not installed where the scan runs."""

    code = "vision_unavailable"


class InvalidInputError(TutelaError):
    """A step received an event or payload that does not match its model."""

    code = "invalid_input"


class UnsafeKeyError(TutelaError):
    """The object key has path tricks (``..``, empty segments, control characters): held, never published."""

    code = "unsafe_key"


class ConfigurationError(TutelaError):
    """A function's setting is missing or invalid: a deployment fault, not the upload's."""

    code = "configuration_error"


class TransientError(TutelaError):
    """A retryable dependency failure (throttling, 5xx). The ASL retries it with backoff."""

    code = "transient"
