"""Batch verdict policy for a comment batch: the worst comment decides, reasons carry counts (codes only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from tutela.held import INVALID_COMMENT, comment_code, reason
from tutela.record import FrozenRecord
from tutela.verdict import worst


class BatchVerdict(FrozenRecord):
    __slots__ = ("counts", "reasons", "severity", "verdict")

    def __init__(
        self,
        verdict: str,
        severity: int,
        reasons: list[dict[str, Any]] | None = None,
        counts: dict[str, int] | None = None,
    ) -> None:
        self.verdict = verdict
        self.severity = severity
        self.reasons = [] if reasons is None else reasons
        self.counts = {} if counts is None else counts


def summarize(results: Iterable[Mapping[str, Any]]) -> BatchVerdict:
    """The worst comment's verdict, the highest severity, and one reason per category / held-line code
    with its count. Never comment text."""
    results = list(results)
    verdicts = Counter(r["verdict"] for r in results)
    categories = Counter(c for r in results for c in r.get("categories", []))
    held = Counter(comment_code(r) for r in results if r.get("error"))
    reasons: list[dict[str, Any]] = [
        {"code": f"comment_{cat}", "message": f"{n} comment(s) matched {cat}", "count": n}
        for cat, n in sorted(categories.items())
    ]
    for code, n in sorted(held.items()):
        msg = f"{n} line(s) could not be read" if code == INVALID_COMMENT else f"{n} line(s) held: {code}"
        reasons.append(reason(code, msg, count=n))
    severity = max((int(r.get("severity") or 0) for r in results), default=0)
    return BatchVerdict(worst(verdicts), severity, reasons, dict(verdicts))
