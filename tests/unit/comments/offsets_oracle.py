"""Test oracles for comment-text normalisation (never shipped: the layer runs ``normalize`` and
``normalize_mapped``).

- :func:`staged`: every stage of :data:`STAGES` applied in order behind coarse gates, with plain
  ``re.sub`` -- what ``normalize``'s inlined, finer-gated stages must equal;
- :func:`normalize_with_offsets`: the same stages applied with ``finditer``, carrying an eager
  ``(start, end)`` span of original text for every character -- what ``normalize_mapped``'s lazy
  :class:`~tutela.comments.normalize.OffsetMap` must equal, position by position.
"""

from __future__ import annotations

from collections.abc import Callable

from tutela.comments.normalize import (
    _DIGSYM,
    _LATIN,
    SEP,
    STAGES,
    TABLE,
    Span,
    Stage,
    _align_index,
    flip_spans,
    translate,
    unflip,
)


def run_stages(s: str, apply: Callable[[Stage, str], str]) -> str:
    """Apply every stage whose (coarse) gate holds, in order: the plain reading of the stages."""
    cjk = not s.isascii()
    if cjk:
        s = apply(STAGES[0], s)
    digsym = _DIGSYM.search(s) is not None
    latin = not cjk or _LATIN.search(s) is not None  # ASCII text: assume letters, skip the search
    if cjk and (latin or digsym):
        s = apply(STAGES[1], s)
    if digsym:
        s = apply(STAGES[2], s)
        s = apply(STAGES[3], s)
    if latin:
        s = apply(STAGES[4], s)
    if SEP in s:
        s = apply(STAGES[9], s)
    if cjk:
        s = apply(STAGES[5], s)
        s = apply(STAGES[6], s)
    if digsym:
        s = apply(STAGES[7], s)
    if "  " in s:
        s = apply(STAGES[8], s)
    return s


def apply_plain(stage: Stage, s: str) -> str:
    return stage[0].sub(stage[1], s)


def normalize_with_offsets(text: str) -> tuple[str, list[Span]]:
    """Like :func:`normalize`, plus the original ``(start, end)`` span of every output character."""
    n = len(text)
    t = translate(text)
    if len(t) == n and text.isascii():  # ASCII maps one to one unless something was deleted
        applier = OffsetApplier([(0, 0), *((i, i + 1) for i in range(n)), (n, n)])
        return run_stages(" " + t + " ", applier), applier.spans
    chars: list[str] = [" "]
    spans: list[Span] = [(0, 0)]
    # upside-down runs are read reversed: the character at i of the turned-back text is a + b - 1 - i
    flips = flip_spans(text)
    where = list(range(n))
    for a, b in flips:
        where[a:b] = range(b - 1, a - 1, -1)
    for i, ch in enumerate(unflip(text, flips)):
        r = TABLE[ord(ch)]
        o = where[i]
        if len(r) == 1:
            chars.append(r)
            spans.append((o, o + 1))
        else:
            for c in r:
                chars.append(c)
                spans.append((o, o + 1))
    chars.append(" ")
    spans.append((n, n))
    applier = OffsetApplier(spans)
    return run_stages("".join(chars), applier), applier.spans


def align(s: str, a: int, b: int, r: str, spans: list[Span]) -> list[Span]:
    """Spans for a replacement ``r`` of ``s[a:b]``: when ``r`` keeps characters of the match in
    order (letters joined, repeats collapsed) each keeps its own span; otherwise (digits spelled
    out, spaces inserted) every character gets the span of the whole match."""
    kept = _align_index(s, a, b, r)
    if kept is None:  # (min/max: in upside-down text the spans run backwards)
        hit = spans[a:b]
        whole = (min(x for x, _ in hit), max(y for _, y in hit)) if b > a else (spans[a][0], spans[a][0])
        return [whole] * len(r)
    return [spans[j] for j in kept]


class OffsetApplier:
    """Applies a stage with ``finditer`` and carries the span list along."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans

    def __call__(self, stage: Stage, s: str) -> str:
        spans = self.spans
        rx, fn, _ = stage
        out: list[str] = []
        new_spans: list[Span] = []
        pos = 0
        for m in rx.finditer(s):
            a, b = m.span()
            out.append(s[pos:a])
            new_spans.extend(spans[pos:a])
            r = fn if isinstance(fn, str) else fn(m)
            out.append(r)
            if len(r) == b - a:
                new_spans.extend(spans[a:b])
            elif r:
                new_spans.extend(align(s, a, b, r, spans))
            pos = b
        if pos == 0:
            return s
        out.append(s[pos:])
        new_spans.extend(spans[pos:])
        self.spans = new_spans
        return "".join(out)


def staged(text: str) -> str:
    """The plain staged reference for ``normalize(text)``."""
    return run_stages(" " + translate(text) + " ", apply_plain)
