"""Promise: the batch path of ``classify_lines`` (chunks scored by the model in one pass, ``_combine`` only
where it can change a result) gives, for every line of real comments, byte for byte the result of the
plain per-line path: the one line parser, then ``classify_text``.

Deterministic, over 1,600 lines of real writers (several chunks, every verdict, rules-only and
model-only flags, held lines) under each post context. The full before/after check of a speed change is
``bench/golden_comments.py`` (over a million results against another tree).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tutela.comments import classify_lines, classify_text
from tutela.comments.classify import CHUNK
from tutela.comments.lines import parse_line

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"


def _lines() -> list[bytes]:
    files = [
        EVAL / "dev.jsonl",
        EVAL / "heldout.jsonl",
        *sorted((EVAL / "sealed-2026-12-r5").rglob("*.jsonl")),
    ]
    out: list[bytes] = []
    for f in files:
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines()):
            row = json.loads(line)
            record: dict[str, Any] = {"id": row.get("id", i), "text": row["text"]}
            if i % 3 == 0 and "minor_context" in row:
                record["minor_context"] = row["minor_context"]
            out.append(json.dumps(record, ensure_ascii=i % 2 == 0).encode())
    out[::97] = [b"{broken", b'{"id": "a", "id": "b", "text": "x"}'] * (len(out[::97]) // 2) + [b"[]"] * (
        len(out[::97]) % 2
    )
    return out


LINES = _lines()[:1600]


@pytest.mark.parametrize("batch_ctx", [True, False, None])
def test_batch_path_is_byte_identical_to_the_plain_path(batch_ctx: bool | None) -> None:
    assert len(LINES) > 3 * CHUNK  # several chunks
    fast = list(classify_lines(LINES, minor_context=batch_ctx))
    assert [r["line"] for r in fast] == list(range(1, len(LINES) + 1))
    verdicts = {r["verdict"] for r in fast}
    assert verdicts == {"allow", "review", "block"}
    assert any("model" in r for r in fast) and any(r.get("code") for r in fast)
    for r, raw in zip(fast, LINES, strict=True):
        c = parse_line(r["line"], raw, batch_ctx)
        assert c is not None
        if c.text is None:  # held by the line parser: its one error result
            assert r["verdict"] == "review" and r["code"] == c.code
            continue
        plain = {"id": c.id, "line": c.line, **classify_text(c.text, minor_context=c.minor_context)}
        assert json.dumps(r, ensure_ascii=False) == json.dumps(plain, ensure_ascii=False)


def test_repeated_comments_in_a_chunk_get_the_same_result_each_their_own() -> None:
    """A chunk copies a line's result to its later lines with the same text and context: the copies
    are byte for byte what judging each line alone gives (own id and line), under every context a line can
    carry, and share no list or dict with one another (a caller may edit one result)."""
    flagged = [json.loads(x)["text"] for x in LINES[:400] if x.startswith(b"{") and b'"text"' in x][:60]
    rows: list[bytes] = []
    k = len(flagged)
    for i in range(4 * k):  # rounds 0-1 repeat (text, context); rounds 2-3 the texts under other contexts
        record: dict[str, Any] = {"id": f"r{i}", "text": flagged[i % k]}
        c = (i + (i >= 2 * k) + (i >= 3 * k)) % 4
        if c:
            record["minor_context"] = c == 1 if c < 3 else False
        rows.append(json.dumps(record).encode())
    rows += [b'{"id": "long", "text": "' + b"sexy " * 1100 + b'"}'] * 2  # over max_chars: judged one by one
    for ctx in (False, None):
        fast = list(classify_lines(rows, minor_context=ctx))
        assert len(fast) == len(rows)
        for r, raw in zip(fast, rows, strict=True):
            c = parse_line(r["line"], raw, ctx)
            assert c is not None
            if c.text is None:
                continue
            plain = {"id": c.id, "line": c.line, **classify_text(c.text, minor_context=c.minor_context)}
            assert json.dumps(r) == json.dumps(plain)
        assert any(r["evidence"] for r in fast) and any("model" in r for r in fast)
        for a in fast:
            for b in fast:
                if a is not b:
                    assert a["categories"] is not b["categories"] and a["evidence"] is not b["evidence"]
                    assert all(x is not y for x in a["evidence"] for y in b["evidence"])
        flagged_ids = {id(r.get("model")) for r in fast if "model" in r}
        assert len(flagged_ids) == sum("model" in r for r in fast)


@pytest.mark.parametrize("seen_max", [3, 4096])
def test_repeats_across_chunks_are_copies_a_caller_cannot_change(
    monkeypatch: pytest.MonkeyPatch, seen_max: int
) -> None:
    """Later chunks copy an earlier chunk's result for the same (text, context): byte for byte what judging
    the line alone gives, under each context, whether its cache of earlier results fills up (and starts
    over) or not, and unchanged when the caller edits a result it was given before the copy is made."""
    from tutela.comments import classify

    monkeypatch.setattr(classify, "CHUNK", 5)
    monkeypatch.setattr(classify, "SEEN_MAX", seen_max)
    candidates = [json.loads(x)["text"] for x in LINES[:600] if x.startswith(b"{") and b'"text"' in x]
    for ctx in (False, None):
        # plain allows (copied as a fresh literal), results only the model changed, and the rules stage's
        kinds: dict[str, list[str]] = {"plain": [], "model": [], "rules": []}
        for t in candidates:
            r = classify_text(t, minor_context=ctx)
            if "model" not in r and r["verdict"] == "allow" and not r["categories"]:
                kind = "plain"
            elif "model" in r and all(e["rule"].startswith("model:") for e in r["evidence"]):
                kind = "model"
            else:
                kind = "rules"
            if len(kinds[kind]) < 4:
                kinds[kind].append(t)
        assert all(len(v) == 4 for v in kinds.values())
        texts = [t for v in kinds.values() for t in v]
        rows: list[bytes] = []
        for i in range(120):
            record: dict[str, Any] = {"id": f"x{i}", "text": texts[(i * 7) % len(texts)]}
            if i % 5 == 1:
                record["minor_context"] = True
            rows.append(json.dumps(record).encode())
        fast = []
        for r in classify_lines(rows, minor_context=ctx):
            fast.append(json.dumps(r))
            r["verdict"] = "edited by the caller"  # the results handed out are the caller's to change
            r["categories"].append("edited")
            for e in r["evidence"]:
                e["text"] = "edited"
            if "model" in r:
                r["model"]["score"] = -1
        for out, raw in zip(fast, rows, strict=True):
            c = parse_line(json.loads(out)["line"], raw, ctx)
            assert c is not None and c.text is not None
            plain = {"id": c.id, "line": c.line, **classify_text(c.text, minor_context=c.minor_context)}
            assert out == json.dumps(plain)
        assert any('"evidence": [{' in out for out in fast) and any('"model"' in out for out in fast)
