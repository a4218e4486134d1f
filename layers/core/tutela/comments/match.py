"""Multi-pattern matching (pyahocorasick) over normalised text, built once per lexicon.

Every pattern is normalised with the same :func:`~tutela.comments.normalize.normalize` as
the comments, so evasion handling is symmetric. Latin edges of ``word`` patterns are padded
with a space (the normalised text is space-padded too), which is what keeps "Scunthorpe",
"cocktail", "assassin" and "Sussex" clean. Chinese has no word boundaries: Chinese edges
are matched as substrings, and false friends are handled by ``except``/``unless`` signals.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick

from tutela.comments import regexes
from tutela.comments.lexicon import Lexicon, Term
from tutela.comments.normalize import TEXTSPEAK, normalize

_CJK_RE = regexes.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DOUBLE = regexes.compile(r"([a-z])\1")
_ALNUM = regexes.compile(r"[a-z0-9]")


class Hit(NamedTuple):
    """``source`` indexes ``Lexicon.terms`` / ``.regexes`` / ``.emoji``; ``start``/``end`` are
    offsets in the normalised text (terms, regexes) or the original text (emoji, whole)."""

    kind: str  # "term" | "regex" | "emoji"
    source: int
    start: int
    end: int


_new_hit = tuple.__new__


def _is_word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


_MAX_VARIANTS = 256


def toneless_pinyin(word: str) -> list[str]:
    """Most common reading of each character, without tones or umlaut (绿 -> lu).

    Reads pypinyin's single-character table only (~11 MB) instead of its phrase dictionaries
    (~50 MB more): lexicon patterns are short and their characters' first readings are the ones
    evaders type (约 yue, 炮 pao, 几 ji).
    """
    from pypinyin.pinyin_dict import pinyin_dict  # build time only

    out: list[str] = []
    for ch in word:
        reading = pinyin_dict.get(ord(ch))
        if reading is None:
            out.append(ch)
            continue
        first = reading.split(",")[0]
        out.append("".join(c for c in unicodedata.normalize("NFKD", first) if not unicodedata.combining(c)))
    return out


_MAX_MIX = 4  # patterns up to this many characters also match every mix of characters and pinyin


def mixed_pinyin(pattern: str) -> list[str]:
    """Every mix of a short Chinese pattern's characters and their pinyin ("si聊", "luoli控", "私liao")."""
    if not 2 <= len(pattern) <= _MAX_MIX or not all(_CJK_RE.match(c) for c in pattern):
        return []
    syllables = toneless_pinyin(pattern)
    n = len(pattern)
    return [
        "".join(syllables[i] if mask >> i & 1 else pattern[i] for i in range(n))
        for mask in range(1, 2**n - 1)
    ]


@cache
def _regional_phrases() -> tuple[tuple[str, str], ...]:
    """OpenCC's Taiwan phrase table (mainland word -> Taiwan word), both sides normalised (Simplified)."""
    import opencc  # only for its data directory

    pairs: set[tuple[str, str]] = set()
    path = Path(opencc.__file__).parent / "dictionary" / "TWPhrases.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        cn, _, tw = line.partition("\t")
        for t in tw.split(" "):
            a, b = normalize(cn).strip(" "), normalize(t).strip(" ")
            if a and b and a != b and _CJK_RE.search(a):
                pairs.add((a, b))
    return tuple(sorted(pairs))


def regional_variants(pattern: str) -> set[str]:
    """A normalised Chinese pattern in Taiwan vocabulary (OpenCC TWPhrases: 视频 -> 影片, 软件 -> 软体)."""
    out: set[str] = set()
    if _CJK_RE.search(pattern):
        for a, b in _regional_phrases():
            if a in pattern:
                out.add(pattern.replace(a, b))
    return out


def textspeak_variants(pattern: str) -> set[str]:
    """Every spelling of a normalised pattern under the TEXTSPEAK equivalences ("are you" -> "r u")."""
    out = {pattern}
    for group in TEXTSPEAK:
        for v in list(out):
            padded = f" {v} "
            for member in group:
                if f" {member} " in padded:
                    for other in group:
                        if other != member and len(out) < _MAX_VARIANTS:
                            out.add(padded.replace(f" {member} ", f" {other} ").strip(" "))
    return out


def pattern_keys(term: Term, benign: frozenset[str]) -> set[str]:
    """The automaton keys for one term: normalised, with pinyin/collapsed variants and boundaries."""
    variants: list[str] = list(term.patterns)
    if term.pinyin:
        for p in term.patterns:
            if _CJK_RE.search(p):
                syllables = toneless_pinyin(p)
                variants.append(" ".join(syllables))
                variants.append("".join(syllables))
                variants.extend(mixed_pinyin(p))
    keys: set[str] = set()
    for v in variants:
        n = normalize(v).strip(" ")
        if not n:
            continue
        forms = textspeak_variants(n) | regional_variants(n)
        if term.collapse:
            for f in list(forms):
                c = _DOUBLE.sub(r"\1", f)
                if c != f and c not in benign:
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
        # Regexes are grouped by gate; gate substrings are keys of the same automaton, so a group
        # runs only when one of its gates was seen (most comments: none); ungated groups always run.
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, r in enumerate(lexicon.regexes):
            groups.setdefault(r.gate, []).append(i)
        self._regex_groups: list[re.Pattern[str]] = []
        self._ungated: list[int] = []
        gate_of: dict[str, list[int]] = {}
        for gate, idxs in groups.items():
            g = len(self._regex_groups)
            self._regex_groups.append(
                regexes.compile("|".join(f"(?P<r{i}>{lexicon.regexes[i].pattern})" for i in idxs))
            )
            if not gate:
                self._ungated.append(g)
            for lit in gate:
                key = normalize(lit).strip(" ")
                if key:
                    gate_of.setdefault(key, []).append(g)
        # A hit is relevant when it can change a verdict on its own: its source has a category or
        # carries a signal that a rule is indexed by. Comments without one are allowed straight away.
        triggers = {s for r in lexicon.rules for s in (r.all[:1] or r.any)}
        self.term_relevant = tuple(
            t.category is not None or not triggers.isdisjoint(t.signals) for t in lexicon.terms
        )
        self.regex_relevant = tuple(
            r.category is not None or not triggers.isdisjoint(r.signals) for r in lexicon.regexes
        )
        self.emoji_relevant = tuple(
            e.category is not None or not triggers.isdisjoint(e.signals) for e in lexicon.emoji
        )
        # Most comments have no relevant hit: a second, smaller automaton of only the keys that can
        # make a hit relevant or open a regex gate decides that without building the other hits.
        entries: dict[str, tuple[Any, Any]] = {}
        for key in by_key.keys() | gate_of.keys():
            idxs = by_key.get(key, [])
            rel = any(self.term_relevant[i] for i in idxs)
            gates = tuple(gate_of.get(key, ()))
            entries[key] = (
                (len(key), key[0] == " ", key[-1] == " ", tuple(idxs)) if idxs else None,
                (rel, gates) if rel or gates else None,
            )
        self._split(entries)
        self.n_keys = len(by_key)
        self._emoji_index: dict[str, list[int]] = {}
        for idx, e in enumerate(lexicon.emoji):
            for ch in e.chars:
                self._emoji_index.setdefault(ch, []).append(idx)
        chars = sorted(self._emoji_index, key=len, reverse=True)
        if chars and all(len(c) == 1 for c in chars):
            self._emoji_re: re.Pattern[str] | None = regexes.compile(
                "[" + "".join(re.escape(c) for c in chars) + "]"
            )
        else:
            self._emoji_re = regexes.compile("|".join(re.escape(c) for c in chars)) if chars else None

    def _split(self, entries: dict[str, tuple[Any, Any]]) -> None:
        """The automata, each in two: keys of ASCII characters only, and the others.

        pyahocorasick finds a node's child by a linear scan of its children, and the root of the whole
        automaton has ~300 (the first characters of the Chinese keys): every character of a comment that
        falls back to the root paid that scan (~11k instructions per English comment). An ASCII text can
        only hold ASCII keys, so it walks the ASCII automata alone (a root with a few children) and finds
        exactly the same matches, in the same order. Other texts walk the non-ASCII automata, and the
        ASCII ones too when they hold a character every ASCII key has (see ``find``)."""
        self._automaton = ahocorasick.Automaton()
        self._triggers = ahocorasick.Automaton()
        self._ascii_automaton = ahocorasick.Automaton()
        self._ascii_triggers = ahocorasick.Automaton()
        for key in sorted(entries):  # sorted: the same automata (and speed) in every process
            hit, trigger = entries[key]
            ascii_key = key.isascii()
            if hit is not None:
                (self._ascii_automaton if ascii_key else self._automaton).add_word(key, hit)
            if trigger is not None:
                (self._ascii_triggers if ascii_key else self._triggers).add_word(key, trigger)
        # an ASCII key can only be in a non-ASCII text that has one of its letters or digits
        self._ascii_alnum = all(_ALNUM.search(k) for k in entries if k.isascii())
        for a, empty in (
            (self._automaton, (0, False, False, ())),
            (self._triggers, (False, ())),
            (self._ascii_automaton, (0, False, False, ())),
            (self._ascii_triggers, (False, ())),
        ):
            if len(a) == 0:  # an automaton needs a key to be made; no normalised text has a NUL
                a.add_word("\x00", empty)
            a.make_automaton()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_ascii_triggers" not in state:  # pickled before the split: its automata hold every key
            hits = dict(self._automaton.items())
            triggers = dict(self._triggers.items())
            self._split({k: (hits.get(k), triggers.get(k)) for k in hits.keys() | triggers.keys()})

    def _walks(self, norm: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(trigger automata, hit automata) that can match in ``norm``."""
        if norm.isascii():
            return (self._ascii_triggers,), (self._ascii_automaton,)
        if not self._ascii_alnum or _ALNUM.search(norm) is not None:
            return (self._triggers, self._ascii_triggers), (self._automaton, self._ascii_automaton)
        return (self._triggers,), (self._automaton,)

    def find(self, norm: str, original: str) -> tuple[list[Hit], bool]:
        """All hits, and whether any is relevant; without a relevant hit the list is empty."""
        relevant = False
        gated: set[int] | None = None
        triggers, automata = self._walks(norm)
        for automaton in triggers:
            for _, (rel, gates) in automaton.iter(norm):
                if rel:
                    relevant = True
                if gates:
                    if gated is None:
                        gated = set(gates)
                    else:
                        gated.update(gates)
        extra: list[Hit] = []
        run = self._ungated if gated is None else sorted(gated.union(self._ungated))
        if run:  # usually empty
            groups = self._regex_groups
            for g in run:
                for m in groups[g].finditer(norm):
                    name = m.lastgroup
                    if name is not None:
                        idx = int(name[1:])
                        relevant = relevant or self.regex_relevant[idx]
                        extra.append(Hit("regex", idx, m.start(), m.end()))
        emoji_re = self._emoji_re
        if emoji_re is not None and not original.isascii() and emoji_re.search(original) is not None:
            for m in emoji_re.finditer(original):
                for idx in self._emoji_index[m.group()]:
                    relevant = relevant or self.emoji_relevant[idx]
                    extra.append(Hit("emoji", idx, m.start(), m.end()))
        if not relevant:
            return [], False
        hits: list[Hit] = []
        append = hits.append
        new = _new_hit  # tuple.__new__: the same Hit as Hit(...), without its Python-level __new__
        for automaton in automata:
            for end, (length, lead, trail, idxs) in automaton.iter(norm):
                start = end - length + 1 + lead
                stop = end + 1 - trail
                for idx in idxs:
                    append(new(Hit, ("term", idx, start, stop)))
        hits.extend(extra)
        return hits, True
