"""Promise: the line parser's shortcuts (ASCII checks instead of regex searches, one search for bidi and
invisible characters) hold exactly the lines the plain regex rules hold, and keep the same text."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tutela.comments.lines import _BIDI, _INVISIBLE, _UNSAFE_ID, MAX_ID_CHARS, parse_line

_CHARS = st.sampled_from(
    ["a", "1", " ", "\x00", "\x1f", "\x7f", "\x80", "\x9f", "\u2028", "\u200b", "\u202e", "加", "😊"]
)
_TEXT = st.one_of(st.lists(_CHARS, max_size=8).map("".join), st.text(max_size=8))


@settings(max_examples=400, deadline=None)
@given(ident=_TEXT, text=_TEXT)
@example(ident="c1\x7f", text="ok")
@example(ident="c1", text="a\u200bb")
@example(ident="c\u2066", text="a\u202eb")
def test_held_lines_follow_the_plain_rules(ident: str, text: str) -> None:
    c = parse_line(1, json.dumps({"id": ident, "text": text}), None)
    assert c is not None
    unsafe = len(ident) > MAX_ID_CHARS or bool(
        _UNSAFE_ID.search(ident) or _BIDI.search(ident) or _INVISIBLE.search(ident)
    )
    if unsafe:
        assert c.code == "unsafe_id" and c.text is None
    elif _BIDI.search(text):
        assert c.code == "bidi_control" and c.text is None
    else:
        assert c.code is None and c.text == _INVISIBLE.sub("", text)
