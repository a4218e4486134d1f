"""Reviewer feedback -> training rows (``tutela comments export-labels``).

The decisions table is append-only: a reviewer's outcome for a comment is a record of its own,
next to the machine's decision. A review outcome is any record (a DynamoDB item or a line of a
``decisions.jsonl``) with a ``comment_id`` and either

- ``kind == "comment_review"`` and ``outcome`` (``allow`` | ``review`` | ``block``), or
- a ``review`` object ``{"outcome", "categories"?}`` (a comment decision annotated by a tool),

plus optionally ``categories`` (what the reviewer found), ``minor_context``, ``text`` and
``reviewed_at``/``decided_at`` (the latest outcome per comment wins). The machine's own decision
for the same comment (``kind == "comment"``) supplies the categories when the reviewer gave none
and the context when the outcome has none.

Comment text is not stored in the decisions table (only evidence spans), so it comes from the
comment batches (``{"id", "text"}`` lines) or the record's own ``text``. The rows are the training
format: ``{"text", "labels", "minor_context", "lang", "style": "review", "source"}`` where
``labels`` is ``[]`` for an ``allow`` outcome (a false positive: exactly what the model must learn).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tutela.comments.lexicon import CATEGORIES
from tutela.verdict import VERDICTS

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Outcome:
    key: str  # the batch object key ("" when unknown)
    comment_id: str
    verdict: str
    categories: tuple[str, ...]
    minor_context: bool | None
    text: str | None
    at: str


def _outcome(item: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    if item.get("kind") == "comment_review":
        return str(item.get("outcome", "")), list(item.get("categories") or [])
    review = item.get("review")
    if isinstance(review, Mapping):
        return str(review.get("outcome", "")), list(review.get("categories") or [])
    return None


def review_outcomes(items: Iterable[Mapping[str, Any]]) -> list[Outcome]:
    """The latest reviewer outcome per comment, completed from the machine's decision."""
    machine: dict[tuple[str, str], Mapping[str, Any]] = {}
    found: dict[tuple[str, str], Outcome] = {}
    for item in items:
        cid = item.get("comment_id")
        if cid in (None, ""):
            continue
        k = (str(item.get("key", "")), str(cid))
        got = _outcome(item)
        if got is None:
            if item.get("kind") == "comment":
                machine[k] = item
            continue
        verdict, cats = got
        if verdict not in VERDICTS:
            continue
        ctx = item.get("minor_context")
        text = item.get("text")
        o = Outcome(
            key=k[0],
            comment_id=k[1],
            verdict=verdict,
            categories=tuple(c for c in cats if c in CATEGORIES),
            minor_context=ctx if isinstance(ctx, bool) else None,
            text=text if isinstance(text, str) else None,
            at=str(item.get("reviewed_at") or item.get("decided_at") or ""),
        )
        if k not in found or o.at >= found[k].at:
            found[k] = o
    out = []
    for k, o in found.items():
        m = machine.get(k)
        if m is not None:
            if not o.categories and o.verdict != "allow":
                o = _replace(o, categories=tuple(c for c in m.get("categories") or [] if c in CATEGORIES))
            if o.minor_context is None and isinstance(m.get("minor_context"), bool):
                o = _replace(o, minor_context=m["minor_context"])
        out.append(o)
    return sorted(out, key=lambda o: (o.key, o.comment_id))


def _replace(o: Outcome, **kw: Any) -> Outcome:
    return Outcome(**{**o.__dict__, **kw})


def comment_texts(lines: Iterable[str | bytes], key: str = "") -> dict[tuple[str, str], str]:
    """``{(key, id): text}`` from a comment batch (invalid lines are skipped)."""
    out: dict[tuple[str, str], str] = {}
    for raw in lines:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("text"), str) and obj.get("id") not in (None, ""):
            out[key, str(obj["id"])] = obj["text"]
    return out


def training_rows(
    outcomes: Iterable[Outcome], texts: Mapping[tuple[str, str], str]
) -> tuple[list[dict[str, Any]], int]:
    """Training rows for the outcomes whose text is known, and how many had no text.

    Texts are looked up by (batch key, comment id), then by (batch file name, id), then by
    ("", id). A flagged outcome without any category cannot be a training label and is skipped.
    """
    rows: list[dict[str, Any]] = []
    missing = 0
    for o in outcomes:
        text = o.text
        if text is None:
            name = o.key.rsplit("/", 1)[-1]
            for k in ((o.key, o.comment_id), (name, o.comment_id), ("", o.comment_id)):
                if k in texts:
                    text = texts[k]
                    break
        if text is None:
            missing += 1
            continue
        labels = [] if o.verdict == "allow" else sorted(set(o.categories))
        if o.verdict != "allow" and not labels:
            continue
        rows.append(
            {
                "text": text,
                "labels": labels,
                "minor_context": o.minor_context,
                "lang": "zh" if _CJK.search(text) else "en",
                "style": "review",
                "source": f"{o.key}#{o.comment_id}",
            }
        )
    return rows, missing
