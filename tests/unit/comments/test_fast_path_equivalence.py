"""Promise: ``classify_lines``' fast path (the common case inlined, with the memoised rule plan and the
model's flag gate) judges every comment exactly as the plain path does — ``classify_text`` on the same
text and context — byte for byte in the serialised result, whatever the batch holds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tutela.comments import classify_lines, classify_text
from tutela.comments.lexicon import default_lexicon
from tutela.comments.lines import parse_line

_LEX = default_lexicon()
# Building blocks that reach every stage: lexicon patterns (rules, negations, CJK, pinyin), the emoji the
# lexicon knows, digits for the phone regexes, and filler the model scores on its own.
_PATTERNS = sorted({p for t in _LEX.terms for p in t.patterns} | {c for e in _LEX.emoji for c in e.chars})
_FILLER = [
    "so",
    "cute",
    "lol",
    "!!",
    "你好",
    "😂",
    "13812345678",
    "ur",
    "u",
    "my",
    "this",
    "  ",
    "\u200b",
    "ＡＢ",
]

_word = st.one_of(st.sampled_from(_PATTERNS), st.sampled_from(_FILLER), st.text(max_size=6))
_case = st.sampled_from([str, str.upper, str.title])
_text = st.builds(
    lambda words, sep, case: case(sep.join(words)),
    st.lists(_word, max_size=8),
    st.sampled_from([" ", "", ".", " - ", "\n"]),
    _case,
)
_line_ctx = st.sampled_from([None, True, False, "yes"])


@st.composite
def _line(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["comment", "comment", "comment", "comment", "broken", "long"]))
    if kind == "broken":
        return draw(st.sampled_from([b"{not json", b'{"id": "x", "text": "\xff\xfe"}', b'{"id": 1}', b"[]"]))
    text = draw(_text) if kind == "comment" else "a" * (_LEX.max_chars + draw(st.integers(0, 3)))
    record: dict[str, Any] = {"id": draw(st.text(max_size=4)), "text": text}
    ctx = draw(_line_ctx)
    if ctx is not None:
        record["minor_context"] = ctx
    return json.dumps(record, ensure_ascii=draw(st.booleans())).encode()


def _plain(n: int, raw: bytes, batch_ctx: bool | None) -> dict[str, Any]:
    """The plain per-line path: the one line parser, then ``classify_text`` on the text it kept."""
    c = parse_line(n, raw, batch_ctx)
    assert c is not None and c.text is not None
    return {"id": c.id, "line": n, **classify_text(c.text, minor_context=c.minor_context)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line(), min_size=1, max_size=6), batch_ctx=st.sampled_from([None, True, False]))
@example(lines=[b'{"id": "a", "text": "are you home alone? dm me \xf0\x9f\x8d\x86"}'], batch_ctx=None)
@example(lines=[b'{"id": "a", "text": "which school do you go to", "minor_context": false}'], batch_ctx=False)
@example(lines=[b'{"id": "a", "text": "yummy peach cobbler recipe \xf0\x9f\x8d\x91"}'], batch_ctx=True)
def test_fast_path_output_is_byte_identical_to_the_plain_path(
    lines: list[bytes], batch_ctx: bool | None
) -> None:
    fast = list(classify_lines(lines, minor_context=batch_ctx))
    assert [r["line"] for r in fast] == list(range(1, len(lines) + 1))  # every line answered, in order
    for r, raw in zip(fast, lines, strict=True):
        if "code" in r:  # held by the line parser: both paths share the one error result
            continue
        assert json.dumps(r, ensure_ascii=False) == json.dumps(
            _plain(r["line"], raw, batch_ctx), ensure_ascii=False
        )


def test_the_property_reaches_the_fast_paths_interesting_branches() -> None:
    """What the property compares is not all trivially allowed: rule plan, model and evidence spans run."""
    lines = [
        json.dumps({"id": str(i), "text": t}).encode()
        for i, t in enumerate(["are you home alone? dm me", "nice legs 🍆", "so cute lol", "你好"])
    ]
    fast = list(classify_lines(lines, minor_context=True))
    verdicts = {r["verdict"] for r in fast}
    assert "allow" in verdicts and verdicts & {"review", "block"}, verdicts
    assert any(r["evidence"] for r in fast)
    for r, raw in zip(fast, lines, strict=True):
        assert json.dumps(r, ensure_ascii=False) == json.dumps(
            _plain(r["line"], raw, True), ensure_ascii=False
        )
