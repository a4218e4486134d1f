"""Post-only signals (``data/signals.toml``) found with the comment classifier's normaliser and matcher.

The comment lexicon is not touched: the post data is loaded by the same loader into its own
:class:`~tutela.comments.lexicon.Lexicon`, compiled by the same :class:`~tutela.comments.match.Matcher`, and
its hits are mapped back to spans of the original text the same way comment evidence is.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from tutela.comments.lexicon import Lexicon, load_lexicon
from tutela.comments.match import Matcher
from tutela.comments.normalize import normalize, normalize_mapped
from tutela.record import FrozenRecord

DATA_DIR = Path(__file__).parent / "data"
SIGNALS = ("declares_minor", "sexual_framing", "location_text")


class Span(FrozenRecord):
    __slots__ = ("end", "rule", "signal", "start", "text")

    def __init__(self, signal: str, start: int, end: int, text: str, rule: str) -> None:
        self.signal = signal
        self.start = start
        self.end = end
        self.text = text
        self.rule = rule

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "rule": self.rule,
        }


@cache
def post_lexicon() -> Lexicon:
    return _matcher().lexicon


@cache
def _matcher() -> Matcher:
    """Pickled at build time next to the data (``python -m tutela.comments.prebuilt tutela/posts/data``, as
    the comment matcher is) and loaded only while it matches the data files; otherwise built from them."""
    from tutela.comments.prebuilt import load

    return load(DATA_DIR) or Matcher(load_lexicon(DATA_DIR))


def warm() -> None:
    """Load the data and build the automaton now (a Lambda's INIT), not in the first request."""
    _matcher()
    post_policy()


@cache
def post_policy() -> dict[str, Any]:
    policy: dict[str, Any] = tomllib.loads((DATA_DIR / "posts.toml").read_text(encoding="utf-8"))[
        "post_policy"
    ]
    return policy


def find_signals(text: str) -> list[Span]:
    """Every post signal in ``text``, as spans of the original text (sorted, one per span and signal)."""
    norm = normalize(text)
    hits, _relevant = _matcher().find(norm, text)
    if not hits:
        return []
    lex = post_lexicon()
    _, omap = normalize_mapped(text)
    seen: dict[tuple[int, int, str], str] = {}
    for kind, source, start, end in hits:
        if kind == "term":
            item: Any = lex.terms[source]
        elif kind == "regex":
            item = lex.regexes[source]
        else:
            continue
        a, b = omap.original(start, end)
        while a < b and text[a].isspace():  # regexes match the padding spaces of the normalised text
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        for signal in item.signals:
            if signal in SIGNALS and b > a:
                seen.setdefault((a, b, signal), item.id)
    spans = [Span(sig, a, b, text[a:b], rule) for (a, b, sig), rule in seen.items()]
    return sorted(spans, key=lambda s: (s.start, s.end, s.signal))
