"""Promise: the matcher's automata split by script (ASCII keys apart, for speed) find exactly the hits one
automaton of every key finds: the same list for ASCII text, the same hits for any other; and a matcher
pickled before the split still finds them."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import ahocorasick

from tutela.comments import default_matcher
from tutela.comments.match import Hit, Matcher
from tutela.comments.normalize import normalize

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"
_M = default_matcher()


def _merged(a: Any, b: Any) -> Any:
    out = ahocorasick.Automaton()
    for k, v in [*a.items(), *b.items()]:
        if k != "\x00":
            out.add_word(k, v)
    out.make_automaton()
    return out


def _unsplit(m: Matcher) -> dict[str, Any]:
    """The matcher's state as it was before the split: one automaton of every key, one of the triggers."""
    state = dict(m.__dict__)
    state["_automaton"] = _merged(m._automaton, m._ascii_automaton)
    state["_triggers"] = _merged(m._triggers, m._ascii_triggers)
    for k in ("_ascii_automaton", "_ascii_triggers", "_ascii_alnum"):
        del state[k]
    return state


def _reference(state: dict[str, Any], norm: str, text: str) -> tuple[list[Hit], bool]:
    """``find`` as it was: the single automata, walked once each."""
    old = Matcher.__new__(Matcher)
    old.__dict__.update(state)
    old._walks = lambda _: ((old._triggers,), (old._automaton,))  # type: ignore[method-assign,assignment]
    return old.find(norm, text)


def _texts() -> list[str]:
    rows = [json.loads(line) for line in (EVAL / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    rows += [json.loads(line) for line in (EVAL / "heldout.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [r["text"] for r in rows]
    return [*texts, "si聊吗", "加vx", "luoli控", "send pics 加我", "dm me 😏", "你好 13800138000", "hello"]


def test_split_automata_find_the_hits_of_one_automaton() -> None:
    state = _unsplit(_M)
    walked_both = 0
    for text in _texts():
        norm = normalize(text)
        got, want = _M.find(norm, text), _reference(state, norm, text)
        if norm.isascii():
            assert got == want, text
        else:
            assert (sorted(got[0]), got[1]) == (sorted(want[0]), want[1]), text
            walked_both += len(_M._walks(norm)[0]) == 2
    assert walked_both  # mixed Chinese and Latin texts walk both halves


def test_a_matcher_pickled_before_the_split_is_split_when_loaded() -> None:
    old = Matcher.__new__(Matcher)
    old.__dict__.update(_unsplit(_M))
    loaded = pickle.loads(pickle.dumps(old))
    assert hasattr(loaded, "_ascii_triggers")
    for text in _texts():
        norm = normalize(text)
        assert loaded.find(norm, text) == _M.find(norm, text), text
