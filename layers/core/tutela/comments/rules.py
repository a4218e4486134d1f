"""Scoring: hits -> signals -> contributions -> per-category scores -> verdict.

1. Every hit carries the signals of its term/regex/emoji. A hit is cancelled when one of its
   ``unless`` signals occurs anywhere in the comment, or one of its ``except`` signals has a
   hit overlapping it (e.g. ``约吗`` inside ``预约吗``). Cancelled hits emit nothing.
2. Surviving hits with a ``category`` contribute their ``weight`` (once per term).
3. Rules fire on combinations of signals (and/or a minimum direct score of a category) in
   the contexts they list, and contribute their ``weight`` to their category.
4. A category's score is the noisy-or of its contributions, ``1 - prod(1 - w)``; the comment's
   score is the highest category score.
5. The verdict is the worst over categories of the policy thresholds for the context
   (``minor`` when the post features or may feature a minor, ``adult`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from tutela.comments.lexicon import Lexicon, Rule
from tutela.comments.match import Hit
from tutela.verdict import Severity, Verdict, worst


@dataclass(slots=True)
class Contribution:
    category: str
    weight: float
    rule: str
    hits: list[Hit] = field(default_factory=list)


@dataclass(slots=True)
class Assessment:
    verdict: Verdict
    severity: int
    score: float
    scores: dict[str, float]
    contributions: list[Contribution]


_Src = tuple[str, tuple[str, ...], str | None, float, tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: Rule
    all: frozenset[str]
    any: frozenset[str]
    unless: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sources: dict[str, tuple[_Src, ...]]
    by_signal: dict[str, tuple[_CompiledRule, ...]]  # keyed by a signal the rule cannot fire without
    score_only: tuple[_CompiledRule, ...]  # rules with only min_score conditions


@cache
def _compile(lex: Lexicon) -> _Compiled:
    sources: dict[str, tuple[_Src, ...]] = {
        "term": tuple((t.id, t.signals, t.category, t.weight, t.unless, t.except_) for t in lex.terms),
        "regex": tuple((r.id, r.signals, r.category, r.weight, r.unless, ()) for r in lex.regexes),
        "emoji": tuple((e.id, e.signals, e.category, e.weight, e.unless, ()) for e in lex.emoji),
    }
    by_signal: dict[str, list[_CompiledRule]] = {}
    score_only: list[_CompiledRule] = []
    for r in lex.rules:
        cr = _CompiledRule(r, frozenset(r.all), frozenset(r.any), frozenset(r.unless))
        if r.all:
            by_signal.setdefault(r.all[0], []).append(cr)
        elif r.any:
            for sig in r.any:
                by_signal.setdefault(sig, []).append(cr)
        else:
            score_only.append(cr)
    return _Compiled(sources, {k: tuple(v) for k, v in by_signal.items()}, tuple(score_only))


def _noisy_or(weights: list[float]) -> float:
    p = 1.0
    for w in weights:
        p *= 1.0 - w
    return 1.0 - p


def _overlapped(h: Hit, exc: tuple[str, ...], hits: list[Hit], srcs: dict[str, tuple[_Src, ...]]) -> bool:
    """Does a hit carrying one of the ``exc`` signals overlap ``h`` (same, normalised, coordinates)?"""
    for o in hits:
        if (
            o.kind != "emoji"
            and o.start < h.end
            and h.start < o.end
            and o is not h
            and not set(exc).isdisjoint(srcs[o.kind][o.source][1])
        ):
            return True
    return False


def assess(
    lex: Lexicon, hits: list[Hit], context: str, extra: list[Contribution] | None = None
) -> Assessment:
    comp = _compile(lex)
    srcs = comp.sources
    raw: set[str] = set()
    for h in hits:
        raw.update(srcs[h.kind][h.source][1])

    signals: dict[str, list[Hit]] = {}
    direct: dict[str, Contribution] = {}
    for h in hits:
        ident, sigs, category, weight, unless, exc = srcs[h.kind][h.source]
        if unless and not raw.isdisjoint(unless):
            continue
        if exc and not raw.isdisjoint(exc) and _overlapped(h, exc, hits, srcs):
            continue
        for s in sigs:
            if s in signals:
                signals[s].append(h)
            else:
                signals[s] = [h]
        if category is not None:
            c = direct.get(ident)
            if c is None:
                direct[ident] = Contribution(category, weight, ident, [h])
            else:
                c.hits.append(h)

    contributions = list(direct.values()) + list(extra or ())
    by_cat: dict[str, list[float]] = {}
    for c in contributions:
        by_cat.setdefault(c.category, []).append(c.weight)
    direct_scores = {k: _noisy_or(v) for k, v in by_cat.items()}

    present = signals.keys()
    candidates: list[_CompiledRule] = []
    for sig in present:
        candidates.extend(comp.by_signal.get(sig, ()))
    if direct_scores:
        candidates.extend(comp.score_only)
    fired: set[str] = set()
    if candidates:
        for cr in candidates:
            rule = cr.rule
            if rule.id in fired or context not in rule.contexts:
                continue
            if not cr.all <= present:
                continue
            if cr.any and cr.any.isdisjoint(present):
                continue
            if not cr.unless.isdisjoint(present):
                continue
            if any(direct_scores.get(k, 0.0) < v for k, v in rule.min_score):
                continue
            fired.add(rule.id)
            used: list[Hit] = []
            for s in (*rule.all, *rule.any):
                used.extend(signals.get(s, ()))
            for k, _ in rule.min_score:
                for c in direct.values():
                    if c.category == k:
                        used.extend(c.hits)
            contributions.append(Contribution(rule.category, rule.weight, rule.id, used))
            by_cat.setdefault(rule.category, []).append(rule.weight)

    scores = {k: round(_noisy_or(v), 4) for k, v in by_cat.items()}
    verdicts: list[Verdict] = ["allow"]
    severity = int(Severity.NONE)
    for cat, sc in scores.items():
        pol = lex.policy[cat]
        th = pol.thresholds[context]
        if th.block is not None and sc >= th.block:
            verdicts.append("block")
            severity = max(severity, pol.severity_block)
        elif th.review is not None and sc >= th.review:
            verdicts.append("review")
            severity = max(severity, pol.severity_review)
    verdict = worst(verdicts)
    if verdict == "allow" and any(v > 0 for v in scores.values()):
        severity = int(Severity.LOW)
    return Assessment(
        verdict=verdict,
        severity=severity,
        score=max(scores.values(), default=0.0),
        scores=scores,
        contributions=contributions,
    )
