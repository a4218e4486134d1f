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

from functools import cache, lru_cache

from tutela.comments.lexicon import Lexicon, Rule
from tutela.comments.match import Hit
from tutela.record import FrozenRecord, Record
from tutela.verdict import Severity, Verdict, worst


class Contribution(Record):
    __slots__ = ("category", "hits", "rule", "weight")

    def __init__(self, category: str, weight: float, rule: str, hits: list[Hit] | None = None) -> None:
        self.category = category
        self.weight = weight
        self.rule = rule
        self.hits = [] if hits is None else hits


class Assessment(Record):
    __slots__ = ("contributions", "features", "score", "scores", "severity", "verdict")

    def __init__(
        self,
        verdict: Verdict,
        severity: int,
        score: float,
        scores: dict[str, float],
        contributions: list[Contribution],
        features: tuple[str, ...] = (),
    ) -> None:
        self.verdict = verdict
        self.severity = severity
        self.score = score
        self.scores = scores
        self.contributions = contributions
        self.features = features


_Src = tuple[str, tuple[str, ...], str | None, float, tuple[str, ...], tuple[str, ...]]


class _CompiledRule(FrozenRecord):
    __slots__ = ("all", "any", "rule", "unless")

    def __init__(self, rule: Rule, all: frozenset[str], any: frozenset[str], unless: frozenset[str]) -> None:
        self.rule = rule
        self.all = all
        self.any = any
        self.unless = unless


class _Compiled(FrozenRecord):
    __slots__ = ("by_signal", "conditional", "score_only", "sources")

    def __init__(
        self,
        sources: dict[str, tuple[_Src, ...]],
        by_signal: dict[str, tuple[_CompiledRule, ...]],
        score_only: tuple[_CompiledRule, ...],
        conditional: dict[str, tuple[bool, ...]],
    ) -> None:
        self.sources = sources
        self.by_signal = by_signal  # keyed by a signal the rule cannot fire without
        self.score_only = score_only  # rules with only min_score conditions
        self.conditional = conditional  # per source: has unless/except signals


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
    conditional = {kind: tuple(bool(src[4] or src[5]) for src in ss) for kind, ss in sources.items()}
    return _Compiled(sources, {k: tuple(v) for k, v in by_signal.items()}, tuple(score_only), conditional)


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


_Key = tuple[str, int]  # (hit kind, source index)
_Recipe = tuple[tuple[str, float, str, frozenset[_Key]], ...]  # (category, weight, rule, sources used)


class _Plan(FrozenRecord):
    __slots__ = (
        "categories",
        "evidence",
        "features",
        "recipe",
        "rounded_score",
        "score",
        "scores",
        "severity",
        "verdict",
    )

    def __init__(
        self,
        verdict: Verdict,
        severity: int,
        score: float,
        scores: dict[str, float],
        recipe: _Recipe,
        rounded_score: float,
        categories: tuple[str, ...],
        evidence: tuple[tuple[_Key, str, str], ...],
        features: tuple[str, ...] = (),
    ) -> None:
        self.verdict = verdict
        self.severity = severity
        self.score = score
        self.scores = scores
        self.recipe = recipe
        self.rounded_score = rounded_score  # round(score, 4), as reported
        self.categories = categories  # non-zero categories, highest score first, then by name
        # (source, category, rule) in recipe order, first per (source, category): what evidence walks
        self.evidence = evidence
        # what the learned stage reads of this stage: matched term/regex/emoji ids, fired rules, each
        # category's level (low/review/block), the verdict, and "report" when quoted speech damped it
        self.features = features


def assess(
    lex: Lexicon, hits: list[Hit], context: str, extra: list[Contribution] | None = None
) -> Assessment:
    extras = tuple((c.category, c.weight, c.rule) for c in extra or ())
    plan, by_key = plan_hits(lex, hits, context, extras)
    contributions: list[Contribution] = []
    if plan.verdict != "allow":
        whole = {c.rule: c.hits for c in extra or ()}
        for category, weight, rule, used in plan.recipe:
            hs = [h for k in used for h in by_key[k]] if used else list(whole.get(rule, ()))
            contributions.append(Contribution(category, weight, rule, hs))
    return Assessment(plan.verdict, plan.severity, plan.score, plan.scores, contributions, plan.features)


def plan_hits(
    lex: Lexicon, hits: list[Hit], context: str, extras: tuple[tuple[str, float, str], ...] = ()
) -> tuple[_Plan, dict[_Key, list[Hit]]]:
    """The scoring plan for ``hits`` in ``context`` and the surviving hits grouped by source.

    Only which hits survive their unless/except signals depends on positions; the rest is memoised
    per (context, surviving sources, extras) in :func:`_plan`.
    """
    comp = _compile(lex)
    srcs = comp.sources
    conditional = comp.conditional
    by_key: dict[_Key, list[Hit]] = {}
    raw: set[str] | None = None
    for h in hits:
        kind = h[0]
        src = h[1]
        if conditional[kind][src]:
            if raw is None:  # every signal of the comment (one union: cheaper than an update per hit)
                raw = set().union(*[srcs[o[0]][o[1]][1] for o in hits])
            _, _, _, _, unless, exc = srcs[kind][src]
            if unless and not raw.isdisjoint(unless):
                continue
            if exc and not raw.isdisjoint(exc) and _overlapped(h, exc, hits, srcs):
                continue
        k = (kind, src)
        if k in by_key:
            by_key[k].append(h)
        else:
            by_key[k] = [h]
    return _plan(lex, context, frozenset(by_key), extras), by_key


@lru_cache(maxsize=8192)
def _plan(
    lex: Lexicon, context: str, keys: frozenset[_Key], extras: tuple[tuple[str, float, str], ...]
) -> _Plan:
    comp = _compile(lex)
    srcs = comp.sources
    ordered = sorted(keys)
    signals: dict[str, list[_Key]] = {}
    recipe: list[tuple[str, float, str, frozenset[_Key]]] = []
    by_cat: dict[str, list[float]] = {}
    direct_keys: dict[str, list[_Key]] = {}
    for k in ordered:
        ident, sigs, category, weight, _, _ = srcs[k[0]][k[1]]
        for sg in sigs:
            signals.setdefault(sg, []).append(k)
        if category is not None:
            recipe.append((category, weight, ident, frozenset((k,))))
            by_cat.setdefault(category, []).append(weight)
            direct_keys.setdefault(category, []).append(k)
    for category, weight, rule_id in extras:
        recipe.append((category, weight, rule_id, frozenset()))
        by_cat.setdefault(category, []).append(weight)
    direct_scores = {cat: _noisy_or(ws) for cat, ws in by_cat.items()}

    present = signals.keys()
    candidates: list[_CompiledRule] = []
    for sig in present:
        candidates.extend(comp.by_signal.get(sig, ()))
    if direct_scores:
        candidates.extend(comp.score_only)
    fired: set[str] = set()
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
        if any(direct_scores.get(cat, 0.0) < v for cat, v in rule.min_score):
            continue
        fired.add(rule.id)
        used: set[_Key] = set()
        for sg in (*rule.all, *rule.any):
            used.update(signals.get(sg, ()))
        for cat, _ in rule.min_score:
            used.update(direct_keys.get(cat, ()))
        recipe.append((rule.category, rule.weight, rule.id, frozenset(used)))
        by_cat.setdefault(rule.category, []).append(rule.weight)

    scores = {cat: round(_noisy_or(ws), 4) for cat, ws in by_cat.items()}
    reported = not lex.report_signals.isdisjoint(present)
    if reported and lex.report_damping < 1.0:  # quoted, reported or condemning speech
        scores = {cat: round(sc * lex.report_damping, 4) for cat, sc in scores.items()}
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
    features = [srcs[k[0]][k[1]][0] for k in ordered]
    features += sorted(fired)
    for cat, sc in scores.items():
        th = lex.policy[cat].thresholds[context]
        level = (
            "block"
            if th.block is not None and sc >= th.block
            else "review"
            if th.review is not None and sc >= th.review
            else "low"
        )
        features.append(f"cat:{cat}:{level}")
    features.append(f"verdict:{verdict}")
    if reported:
        features.append("report")
    if verdict == "allow" and any(v > 0 for v in scores.values()):
        severity = int(Severity.LOW)
    score = max(scores.values(), default=0.0)
    evidence: dict[tuple[_Key, str], str] = {}
    for category, _, rule_id, keys_used in recipe:
        for k in sorted(keys_used):
            evidence.setdefault((k, category), rule_id)
    return _Plan(
        verdict,
        severity,
        score,
        scores,
        tuple(recipe),
        round(score, 4),
        tuple(sorted(scores, key=lambda k: (-scores[k], k))),
        tuple((k, cat, rule_id) for (k, cat), rule_id in evidence.items()),
        tuple(features),
    )
