"""Which comment results get their own decision record, and how the batch's record accounts for the rest.

A comment batch is one decision item (``v#{version}``) plus one item per comment that carries information:
any verdict other than allow, or an allow with categories, evidence, or an error. A plain allow (no signal
at all: the large majority) has no item of its own; the batch item lists those lines in
``allowed_lines`` ("1-9,11-19"), and its ``analyzers`` / ``minor_context`` say under which lexicon and
context they were judged. So every line of every batch still has exactly one answer in the table - its own
item, or its line number in its batch's ``allowed_lines`` (``expand``) - at a tenth of the write units.

Results of up to ``INLINE_RESULTS_MAX_BYTES`` travel in the execution state instead of a staged S3 object
(one PUT and two GETs fewer); bigger batches are still staged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

INLINE_RESULTS_MAX_BYTES = 64 * 1024  # well under Step Functions' 256 KB state, with the rest of the state
# A blocked line's uploaded bytes are the evidence for a report. For a batch whose results travel inline,
# RecordDecision stores them in the line's own record (``uploaded``), which is written anyway, so Act writes
# no quarantine object for them (a PUT per batch). A bigger line (DynamoDB items are at most 400 KB, and the
# record also holds the evidence spans) or a staged batch still goes to the quarantine bucket.
UPLOADED_IN_RECORD_MAX_BYTES = 96 * 1024


def informative(result: Mapping[str, Any]) -> bool:
    """Does this comment's result say more than "allowed, nothing found"?"""
    return bool(
        result.get("verdict") != "allow"
        or result.get("categories")
        or result.get("evidence")
        or result.get("error")
        or result.get("code")
    )


def fits_inline(results: Sequence[Mapping[str, Any]]) -> bool:
    size = sum(len(json.dumps(r, ensure_ascii=False).encode()) + 1 for r in results)
    return size <= INLINE_RESULTS_MAX_BYTES


def line_ranges(lines: Iterable[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3,5"``."""
    out: list[str] = []
    ordered = sorted(set(lines))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def parse_ranges(text: str) -> list[int]:
    lines: list[int] = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        first, _, last = part.partition("-")
        lines.extend(range(int(first), int(last or first) + 1))
    return lines


def allowed_lines(results: Iterable[Mapping[str, Any]]) -> str:
    return line_ranges(
        int(r["line"]) for r in results if not informative(r) and isinstance(r.get("line"), int)
    )


def expand(batch: Mapping[str, Any], comment_items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every judged line of a batch, in line order: its own item, or the batch's plain allow."""
    by_line: dict[int, dict[str, Any]] = {int(c["line"]): dict(c) for c in comment_items}
    analyzer = (batch.get("analyzers") or {}).get("comments") or {}
    lexicon = analyzer.get("lexicon_version")
    # Which stages judged a plain allow: the batch's, the LLM's only on the lines it covered.
    stages = [str(s) for s in analyzer.get("stages") or []]
    base = [s for s in stages if not s.startswith("llm:")]
    llm_lines = set(parse_ranges(str((analyzer.get("llm") or {}).get("lines") or "")))
    for line in parse_ranges(str(batch.get("allowed_lines") or "")):
        entry: dict[str, Any] = {
            "line": line,
            "verdict": "allow",
            "severity": 0,
            "categories": [],
            "minor_context": batch.get("minor_context"),
            "lexicon_version": lexicon,
            "recorded_in": batch.get("sk"),
        }
        if stages:
            entry["stages"] = stages if line in llm_lines else base
        by_line.setdefault(line, entry)
    return [by_line[n] for n in sorted(by_line)]


def without_text(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Results as they travel in the state: evidence keeps its spans, rules and categories but not the
    comment text nor a model's reason, which may quote it (the state carries verdicts, never what a child
    was told)."""
    return [
        {
            **r,
            "evidence": [
                {k: v for k, v in e.items() if k not in ("text", "reason")} for e in r.get("evidence") or []
            ],
        }
        if r.get("evidence")
        else dict(r)
        for r in results
    ]


def with_text(results: Iterable[Mapping[str, Any]], batch: bytes) -> list[dict[str, Any]]:
    """Put the evidence text back from the uploaded batch (the spans index the judged text of each line)."""
    from tutela.comments.lines import parse_batch, split_batch

    lines = {c.line: c.text for c in parse_batch(split_batch(batch), None)}
    out = []
    for r in results:
        number = r.get("line")
        text = lines.get(number) if isinstance(number, int) else None
        evidence = []
        for e in r.get("evidence") or []:
            start, end = e.get("start"), e.get("end")
            if isinstance(text, str) and isinstance(start, int) and isinstance(end, int):
                e = {**e, "text": text[start:end]}
            evidence.append(e)
        out.append({**r, "evidence": evidence} if r.get("evidence") else dict(r))
    return out


def needs_text(results: Iterable[Mapping[str, Any]]) -> bool:
    return any(informative(r) and r.get("evidence") for r in results)


def kept_in_record(raw: bytes) -> bool:
    """Is this blocked line's uploaded evidence kept in its record (instead of a quarantine object)? The one
    predicate RecordDecision (writing it) and Act (then not quarantining it) share."""
    if len(raw) > UPLOADED_IN_RECORD_MAX_BYTES:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def with_uploaded(results: Iterable[Mapping[str, Any]], batch: bytes) -> list[dict[str, Any]]:
    """Blocked lines carry their uploaded line (``uploaded``) when :func:`kept_in_record` says so."""
    from tutela.comments.lines import split_batch

    raw = split_batch(batch)
    out = []
    for r in results:
        number = r.get("line")
        line = raw[number - 1] if isinstance(number, int) and 1 <= number <= len(raw) else None
        if r.get("verdict") == "block" and line is not None and kept_in_record(line):
            r = {**r, "uploaded": line.decode("utf-8")}
        out.append(dict(r))
    return out


def evidence_text(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A comment record's evidence spans with their text: stored in the record, or (a record that keeps its
    uploaded line stores the spans only) cut from that line's judged text, as :func:`with_text` cut it."""
    evidence = [dict(e) for e in record.get("evidence") or [] if isinstance(e, Mapping)]
    uploaded = record.get("uploaded")
    if not isinstance(uploaded, str) or all("text" in e for e in evidence):
        return evidence
    from tutela.comments.lines import parse_line

    parsed = parse_line(1, uploaded.encode("utf-8"), None)
    text = parsed.text if parsed is not None else None
    for e in evidence:
        start, end = _index(e.get("start")), _index(e.get("end"))
        if "text" not in e and isinstance(text, str) and start is not None and end is not None:
            e["text"] = text[start:end]
    return evidence


def _index(value: Any) -> int | None:
    """An int, or a whole Decimal (as the DynamoDB resource API returns numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if type(value).__name__ == "Decimal" and value == int(value):
        return int(value)
    return None


def has_block(results: Iterable[Mapping[str, Any]]) -> bool:
    return any(r.get("verdict") == "block" for r in results)
