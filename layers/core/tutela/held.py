"""Held results: the one home of every refusal the pipeline records (fail closed: held for review).

Whatever refuses — a step that raised (the ASL's HoldOnError), a step payload without a valid verdict, a
comment line the parser cannot read, a batch no longer stored, a CLI input that cannot be judged — the
record says it the same way: verdict ``review`` and reasons ``{"code", "message"}``, a stable code and a
clipped message that names the problem, never the content. Pure: no AWS, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from tutela.verdict import Severity

MAX_REASON_CHARS = 500
INVALID_COMMENT = "invalid_comment"  # a comment line the parser could not read
UNKNOWN_ERROR_CODE = "analyzer_error"  # an error class that is not ours (a bug, a runtime fault)


def clip(text: Any, limit: int = MAX_REASON_CHARS) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def reason(code: str, message: Any, **extra: Any) -> dict[str, Any]:
    """One stored reason: a stable code and a clipped message (``extra``: e.g. a count)."""
    return {"code": code, "message": clip(message), **extra}


@cache
def _error_codes() -> dict[str, str]:
    """Our error classes (matched by name in the ASL) carry stable reason codes."""
    from tutela import errors

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.TutelaError)]
    codes = {c.__name__: c.code for c in classes if c is not errors.TutelaError}
    codes["States.Timeout"] = "analyzer_timeout"
    return codes


def error_code(error_name: str | None) -> str:
    """The reason code of an error by its class name (how Step Functions reports it)."""
    return _error_codes().get(error_name or "", UNKNOWN_ERROR_CODE)


def step_error_reason(error: str | None, cause: str | None) -> dict[str, str]:
    """A Step Functions Catch (``Error``/``Cause``) as a stored reason.

    A Lambda's Cause is JSON with errorMessage/errorType/stackTrace: keep the message, drop the trace.
    """
    message = cause or ""
    try:
        parsed = json.loads(cause) if cause else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        message = parsed.get("errorMessage") or parsed.get("errorType") or ""
    return {"code": error_code(error), "error": clip(error or "Unknown"), "message": clip(message)}


def exception_reason(exc: BaseException, limit: int = MAX_REASON_CHARS) -> dict[str, str]:
    """An exception caught in-process (the CLI) as the reason the pipeline would record for it."""
    from tutela.errors import TutelaError

    code = exc.code if isinstance(exc, TutelaError) else "internal_error"
    return {"code": code, "message": clip(exc, limit)}


def held_decision(kind: str, reasons: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A step decision that holds the object for review with these reasons."""
    return {"kind": kind, "verdict": "review", "severity": int(Severity.MEDIUM), "reasons": reasons, **extra}


def held_comment(
    ident: str | None,
    line: int,
    message: str,
    code: str | None,
    *,
    minor_context: bool | None,
    lexicon_version: str,
) -> dict[str, Any]:
    """The result of a comment line that could not be judged: held for review, with why."""
    return {
        "code": code or INVALID_COMMENT,
        "id": ident,
        "line": line,
        "verdict": "review",
        "error": message,
        "categories": [],
        "score": 0.0,
        "severity": int(Severity.LOW),
        "evidence": [],
        "minor_context": minor_context,
        "lexicon_version": lexicon_version,
    }


def comment_code(result: Mapping[str, Any]) -> str:
    return str(result.get("code") or INVALID_COMMENT)


def comment_reason(result: Mapping[str, Any]) -> dict[str, Any] | None:
    """What is recorded for a comment result that was held (``None`` when it was judged)."""
    if not result.get("error"):
        return None
    return reason(comment_code(result), result["error"])
