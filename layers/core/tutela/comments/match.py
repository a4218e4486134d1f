"""Multi-pattern matching (pyahocorasick) over normalised text, built once per lexicon.

Every pattern is normalised with the same :func:`~tutela.comments.normalize.normalize` as
the comments, so evasion handling is symmetric. Latin edges of ``word`` patterns are padded
with a space (the normalised text is space-padded too), which is what keeps "Scunthorpe",
"cocktail", "assassin" and "Sussex" clean. Chinese has no word boundaries: Chinese edges
are matched as substrings, and false friends are handled by ``except``/``unless`` signals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from tutela.comments.lexicon import Lexicon, Term
from tutela.comments.normalize import normalize

_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DOUBLE = re.compile(r"([a-z])\1")


@dataclass(frozen=True, slots=True)
class Hit:
    """``source`` indexes ``Lexicon.terms`` / ``.regexes`` / ``.emoji``; ``start``/``end`` are
    offsets in the normalised text (terms, regexes) or the original text (emoji)."""

    kind: str  # "term" | "regex" | "emoji"
    source: int
    start: int
    end: int


def _is_word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


def pattern_keys(term: Term, benign: frozenset[str]) -> set[str]:
    """The automaton keys for one term: normalised, with pinyin/collapsed variants and boundaries."""
    variants: list[str] = list(term.patterns)
    if term.pinyin:
        from pypinyin import lazy_pinyin  # build time only

        for p in term.patterns:
            if _CJK_RE.search(p):
                syllables = lazy_pinyin(p)
                variants.append(" ".join(syllables))
                variants.append("".join(syllables))
    keys: set[str] = set()
    for v in variants:
        n = normalize(v).strip(" ")
        if not n:
            continue
        forms = {n}
        if term.collapse:
            c = _DOUBLE.sub(r"\1", n)
            if c != n and c not in benign:
                forms.add(c)
        for f in forms:
            lead = " " if term.match in ("word", "prefix") and _is_word_char(f[0]) else ""
            trail = " " if term.match == "word" and _is_word_char(f[-1]) else ""
            keys.add(lead + f + trail)
    return keys


class Matcher:
    """The compiled form of a :class:`Lexicon`; immutable and shared by all comments."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        by_key: dict[str, list[int]] = {}
        for idx, term in enumerate(lexicon.terms):
            for key in pattern_keys(term, lexicon.benign_words):
                by_key.setdefault(key, []).append(idx)
        self._automaton = ahocorasick.Automaton()
        for key, idxs in by_key.items():
            self._automaton.add_word(key, (len(key), key[0] == " ", key[-1] == " ", tuple(idxs)))
        self._automaton.make_automaton()
        self.n_keys = len(by_key)
        # Regexes grouped by gate; a group runs only when its gate matches (most comments: none).
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(lexicon.regexes):
            groups.setdefault(r.gate, []).append(i)
        self._regex_groups: list[tuple[re.Pattern[str] | None, re.Pattern[str]]] = [
            (
                re.compile(gate) if gate else None,
                re.compile("|".join(f"(?P<r{i}>{lexicon.regexes[i].pattern})" for i in idxs)),
            )
            for gate, idxs in groups.items()
        ]
        gates = [g for g in groups if g]
        # One search decides whether any regex can run; most comments stop here.
        self._any_gate: re.Pattern[str] | None = (
            None if "" in groups or not gates else re.compile("|".join(f"(?:{g})" for g in gates))
        )
        self._emoji_index: dict[str, list[int]] = {}
        for idx, e in enumerate(lexicon.emoji):
            for ch in e.chars:
                self._emoji_index.setdefault(ch, []).append(idx)
        chars = sorted(self._emoji_index, key=len, reverse=True)
        if chars and all(len(c) == 1 for c in chars):
            self._emoji_re: re.Pattern[str] | None = re.compile(
                "[" + "".join(re.escape(c) for c in chars) + "]"
            )
        else:
            self._emoji_re = re.compile("|".join(re.escape(c) for c in chars)) if chars else None

    def find(self, norm: str, original: str) -> list[Hit]:
        hits: list[Hit] = []
        for end, (length, lead, trail, idxs) in self._automaton.iter(norm):
            start = end - length + 1 + lead
            stop = end + 1 - trail
            for idx in idxs:
                hits.append(Hit("term", idx, start, stop))
        if self._any_gate is not None and self._any_gate.search(norm) is None:
            return self._emoji(original, hits)
        for gate, rx in self._regex_groups:
            if gate is not None and gate.search(norm) is None:
                continue
            for m in rx.finditer(norm):
                name = m.lastgroup
                if name is not None:
                    hits.append(Hit("regex", int(name[1:]), m.start(), m.end()))
        return self._emoji(original, hits)

    def _emoji(self, original: str, hits: list[Hit]) -> list[Hit]:
        if self._emoji_re is not None and not original.isascii():
            for m in self._emoji_re.finditer(original):
                for idx in self._emoji_index[m.group()]:
                    hits.append(Hit("emoji", idx, m.start(), m.end()))
        return hits
