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
