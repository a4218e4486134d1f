"""A comment's evidence is bounded whatever the comment repeats: each result becomes one decision record, and
a DynamoDB item holds at most 400 KB (with the blocked line's uploaded bytes, up to 96 KB, beside it). One
span per occurrence made a 5,000-character comment of one repeated emoji ~5,000 spans (~570 KB): Act could
not write its record, the execution failed, and the blocked comment had no record at all."""

from __future__ import annotations

import json

import pytest

from tutela.comments import classify_lines, classify_text
from tutela.comments.classify import MAX_EVIDENCE_CHARS, MAX_EVIDENCE_SPANS

EVIDENCE_MAX_BYTES = 128 * 1024  # well inside an item with the uploaded line and the rest of the record

REPEATS = [
    "\U0001f346" * 4999,  # one pictograph, repeated: a span per occurrence
    ("nudes " * 833)[:5000],
    "\u6027\u611f" * 2500,  # CJK: 3 bytes a character
    ("sexy snap nudes pics dm " * 208)[:5000],
]


@pytest.mark.parametrize("text", REPEATS, ids=["emoji", "en", "zh", "mixed"])
@pytest.mark.parametrize("ctx", [True, None, False])
def test_evidence_of_a_repetitive_comment_is_bounded(text: str, ctx: bool | None) -> None:
    one = classify_text(text, minor_context=ctx)
    line = json.dumps({"id": "c", "text": text}, ensure_ascii=False)
    [batched] = list(classify_lines([line], minor_context=ctx))  # the batch path (chunks, the model pass)
    for result in (one, batched):
        evidence = result["evidence"]
        if ctx is not False:
            assert result["verdict"] != "allow" and evidence
        spans = [e for e in evidence if not str(e["rule"]).startswith("model:")]
        assert len(spans) <= MAX_EVIDENCE_SPANS
        assert sum(e["end"] - e["start"] for e in spans) <= MAX_EVIDENCE_CHARS
        assert len(json.dumps(evidence, ensure_ascii=False).encode()) <= EVIDENCE_MAX_BYTES
        # what is kept is the comment's first spans, in order, and each one still quotes the text
        assert [(e["start"], e["end"]) for e in spans] == sorted((e["start"], e["end"]) for e in spans)
        assert all(e["text"] == text[e["start"] : e["end"]] for e in spans)
    assert {k: v for k, v in one.items() if k not in ("id", "line")} == {
        k: v for k, v in batched.items() if k not in ("id", "line")
    }


def test_a_comment_with_few_spans_keeps_them_all() -> None:
    text = "you are so sexy, send nudes and add me on snap, dont tell ur parents"
    spans = [e for e in classify_text(text, minor_context=True)["evidence"] if e["rule"][:6] != "model:"]
    assert 3 <= len(spans) < MAX_EVIDENCE_SPANS
    assert {e["text"] for e in spans} >= {"so sexy", "send nudes", "add me on snap"}
