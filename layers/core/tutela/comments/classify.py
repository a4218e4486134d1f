"""Classify comments: the contract the ClassifyComments Lambda and the CLI call.

``classify_text`` judges one comment; ``classify_lines`` judges raw JSON Lines and never
raises for a bad line (it yields a ``review`` result with a one-line ``error`` instead).
Nothing here logs or echoes comment text; error messages name the problem, not the content.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache, lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from tutela.comments import regexes
from tutela.comments.comprehend import ComprehendCallFailed, ComprehendToxicity
from tutela.comments.lexicon import CATEGORIES, Lexicon, ModelPolicy, ModelThreshold, default_lexicon
from tutela.comments.lines import CommentLine, parse_batch
from tutela.comments.match import Hit, Matcher
from tutela.comments.normalize import OffsetMap, normalize, normalize_mapped
from tutela.comments.prebuilt import prebuilt
from tutela.comments.rules import Contribution, assess, plan_hits
from tutela.held import held_comment
from tutela.verdict import VERDICTS, Severity, Verdict, worst

if TYPE_CHECKING:  # the model modules are imported by the model file that is loaded (numpy for hashed)
    from tutela.comments.hashed import HashedModel
    from tutela.comments.model import LinearModel

MODEL_MAX_SEVERITY = int(Severity.HIGH)
_RANK = {v: i for i, v in enumerate(VERDICTS)}  # what tutela.verdict.worst ranks by
_CJK_RE = regexes.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A comment's evidence is stored in its decision record (a DynamoDB item: 400 KB at most, the blocked line's
# uploaded bytes beside it): a comment that repeats a term keeps its first spans only (categories, score and
# verdict still count every hit). 20,000 characters are at most 80 KB of UTF-8.
MAX_EVIDENCE_SPANS = 100
MAX_EVIDENCE_CHARS = 20_000
_LATIN_RE = re.compile(r"[A-Za-z]")


@cache
def _matcher_for(lexicon: Lexicon) -> Matcher:
    ready = prebuilt()  # the packaged lexicon's matcher, built at build time (tutela.comments.prebuilt)
    matcher = ready if ready is not None and ready.lexicon is lexicon else Matcher(lexicon)
    # The lexicon, automaton and model live as long as the process (~200k objects): out of the cyclic
    # collector's generations, each full collection no longer walks them all (it cost ~10% of judging)
    gc.freeze()
    return matcher


def default_matcher() -> Matcher:
    """The packaged lexicon's automaton, built on first use and cached for the process."""
    return _matcher_for(default_lexicon())


def rules_stage(
    text: str, minor_context: bool | None, lexicon: Lexicon | None = None
) -> tuple[str, tuple[str, ...]]:
    """The normalised text and what the learned stage reads of the rules stage (for training)."""
    lex = lexicon or default_lexicon()
    norm = normalize(text)
    hits, relevant = _matcher_for(lex).find(norm, text)
    if not relevant:
        return norm, ()
    plan, _ = plan_hits(lex, hits, context_key(minor_context))
    return norm, plan.features


def context_key(minor_context: bool | None) -> str:
    """``None`` (unknown) is treated as a possible minor: fail closed."""
    return "adult" if minor_context is False else "minor"


def _evidence(text: str, norm: str, contributions: list[Contribution]) -> list[dict[str, Any]]:
    """Spans of the original text, one per (span, category); a span nested in another span of the
    same category is dropped ("snap" inside "add me on snap"). Direct terms come first among the
    contributions, so they are the ``rule`` named for a span that a combination rule also used."""
    return _spans(text, norm, [(c.category, c.rule, c.hits) for c in contributions])


def _first_spans(kept: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """The first spans (in text order) within :data:`MAX_EVIDENCE_SPANS` and :data:`MAX_EVIDENCE_CHARS`."""
    out: list[tuple[int, int, str, str]] = []
    chars = 0
    for span in kept:
        chars += span[1] - span[0]
        if len(out) == MAX_EVIDENCE_SPANS or chars > MAX_EVIDENCE_CHARS:
            break
        out.append(span)
    return out


def _spans(text: str, norm: str, groups: Iterable[tuple[str, str, Iterable[Hit]]]) -> list[dict[str, Any]]:
    """:func:`_evidence` on ``(category, rule, hits)`` groups, in contribution order."""
    omap: OffsetMap | None = None
    mapped: dict[tuple[int, int], tuple[int, int]] = {}  # a hit used by several rules is mapped once
    first: dict[tuple[int, int, str], str] = {}
    for category, rule, hits in groups:
        for kind, _, start, end in hits:
            if kind == "emoji" or kind == "whole":
                a, b = start, end
            else:
                ab = mapped.get((start, end))
                if ab is None:
                    if omap is None:
                        norm2, omap = normalize_mapped(text)
                        if norm2 != norm:  # pragma: no cover - the two paths are tested to agree
                            raise AssertionError("normalisation paths disagree")
                    ab = mapped[start, end] = omap.original(start, end)
                a, b = ab
            if b > a and (a, b, category) not in first:
                first[a, b, category] = rule
    if len(first) == 1:
        (((a, b, cat), rule),) = first.items()
        kept = [(a, b, cat, rule)]
    else:
        kept = []
        max_end: dict[str, int] = {}
        # sorted by start, longest first: a span is nested iff an earlier one of its category ends after it
        for a, nb, cat, rule in sorted([(a, -b, cat, rule) for (a, b, cat), rule in first.items()]):
            if -nb <= max_end.get(cat, -1):
                continue
            max_end[cat] = -nb
            kept.append((a, -nb, cat, rule))
        kept.sort()  # (start, end, category); the (span, category) keys are unique
        if len(kept) > MAX_EVIDENCE_SPANS or sum(b - a for a, b, _, _ in kept) > MAX_EVIDENCE_CHARS:
            kept = _first_spans(kept)
    if text.isascii():
        return [
            {"start": a, "end": b, "text": text[a:b], "category": cat, "rule": rule}
            for a, b, cat, rule in kept
        ]
    # JSON may carry lone surrogates; evidence must stay encodable (as UTF-8, for DynamoDB)
    return [
        {
            "start": a,
            "end": b,
            "text": text[a:b].encode("utf-8", "replace").decode("utf-8"),
            "category": cat,
            "rule": rule,
        }
        for a, b, cat, rule in kept
    ]


def classify_text(
    text: str,
    *,
    minor_context: bool | None,
    comprehend: ComprehendToxicity | None = None,
    lexicon: Lexicon | None = None,
) -> dict[str, Any]:
    """Judge one comment. Raises ``TypeError`` for non-string text (``classify_lines`` never does)."""
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    lex = lexicon or default_lexicon()
    result: dict[str, Any] = {
        "verdict": "allow",
        "categories": [],
        "score": 0.0,
        "severity": 0,
        "evidence": [],
        "minor_context": minor_context,
        "lexicon_version": lex.version,
    }
    return _judge(text, minor_context, comprehend, lex, _matcher_for(lex), result)


def _judge(
    text: str,
    minor_context: bool | None,
    comprehend: ComprehendToxicity | None,
    lex: Lexicon,
    matcher: Matcher,
    result: dict[str, Any],
) -> dict[str, Any]:
    """Fill ``result`` (pre-set to allow) for one comment."""
    if len(text) > lex.max_chars:
        result.update(
            verdict="review", severity=int(Severity.LOW), error=f"text longer than {lex.max_chars} characters"
        )
        return result
    norm = normalize(text)
    hits, relevant = matcher.find(norm, text)
    extra: list[Contribution] = []
    degraded: str | None = None
    if comprehend is not None and _LATIN_RE.search(text) and not _CJK_RE.search(text):
        try:
            labels = comprehend.labels([text])[0]
            whole = Hit("whole", -1, 0, len(text))
            extra = [Contribution(cat, w, rule, [whole]) for cat, w, rule in comprehend.contributions(labels)]
        except ComprehendCallFailed as exc:
            degraded = exc.code
    if not extra and not relevant:
        if lex.model is not None:
            _combine(
                result,
                {},
                lex,
                lex.model,
                lex.model.scores(norm, text, minor_context),
                text,
                norm,
                minor_context,
            )
        if degraded:
            result.update(verdict=worst([result["verdict"], "review"]), degraded=degraded)
            result["severity"] = max(result["severity"], int(Severity.LOW))
        return result
    return _score(text, norm, hits, extra, degraded, minor_context, lex, result)


def _score(
    text: str,
    norm: str,
    hits: list[Hit],
    extra: list[Contribution],
    degraded: str | None,
    minor_context: bool | None,
    lex: Lexicon,
    result: dict[str, Any],
) -> dict[str, Any]:
    """Fill ``result`` for a comment with a relevant hit (or a Comprehend contribution)."""
    a = assess(lex, hits, context_key(minor_context), extra)
    result["verdict"] = a.verdict
    result["severity"] = a.severity
    result["score"] = round(a.score, 4)
    result["categories"] = sorted(a.scores, key=lambda k: (-a.scores[k], k))
    rules_verdict: Verdict = a.verdict
    if lex.model is not None:
        m = lex.model.scores(norm, text, minor_context, a.features)
        rules_verdict = _combine(
            result,
            a.scores,
            lex,
            lex.model,
            m,
            text,
            norm,
            minor_context,
            vetoable=not extra,  # Comprehend's signal is not something the model was trained on
            rule_features=a.features,
        )
    if rules_verdict != "allow":  # spans are only worked out for what someone will look at
        result["evidence"] = _evidence(text, norm, a.contributions) + result["evidence"]
    if degraded:
        result["verdict"] = worst([result["verdict"], "review"])
        result["severity"] = max(result["severity"], int(Severity.LOW))
        result["degraded"] = degraded
    return result


def _combine(
    result: dict[str, Any],
    rule_scores: dict[str, float],
    lex: Lexicon,
    model: LinearModel | HashedModel,
    m: dict[str, float],
    text: str,
    norm: str,
    minor_context: bool | None,
    *,
    vetoable: bool = True,
    rule_features: tuple[str, ...] = (),
) -> Verdict:
    """Merge the learned stage into ``result`` (holding the rules stage's fields).

    The rules stage's review/block stands unless the model's ``any`` probability is below the
    context's ``veto`` (``veto_block`` for blocks); the model's own verdict comes from its
    thresholds; the result is the worse of the two. Model categories are reported from
    ``category_min`` (at least the most likely one when the model flags). Returns the rules
    stage's surviving verdict (its spans are needed when it is not ``allow``).
    """
    mp = lex.model_policy
    assert mp is not None  # load_lexicon ships a model only with its policy
    th = model_thresholds(mp, text, minor_context)
    p = m["any"]
    rv: Verdict = result["verdict"]
    if non_vetoable(minor_context, rule_scores, rule_features, mp.sexual_cues, mp.always_cues):
        vetoable = False
    rv, mv, vetoed = decide(rv, p, th, vetoable)
    if mv == "allow" and not vetoed:
        return rv
    severity = result["severity"] if rv != "allow" else 0
    scores = dict(rule_scores)
    if mv != "allow":
        if len(m) == 1:  # below the gate: the category outputs were not computed
            m = model.scores(norm, text, minor_context, rule_features, force=True)  # pragma: no cover
        cats = {c: m[c] for c in CATEGORIES if m[c] >= mp.category_min}
        if not cats:
            top = max(CATEGORIES, key=m.__getitem__)
            cats = {top: m[top]}
        for c, pc in cats.items():
            scores[c] = max(scores.get(c, 0.0), round(pc, 4))
            pol = lex.policy[c]
            # The model alone never reaches CRITICAL (the legal-reporting escalation): only the rules
            # stage's explicit terms or a human do (the LLM stage is capped the same way).
            severity = max(
                severity,
                min(MODEL_MAX_SEVERITY, pol.severity_block if mv == "block" else pol.severity_review),
            )
        top_cat = max(cats, key=cats.__getitem__)
        ev_text = text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")
        result["evidence"] = [
            {
                "start": 0,
                "end": len(text),
                "text": ev_text,
                "category": top_cat,
                "rule": f"model:{model.model_id}",
                "score": round(p, 4),
            }
        ]
    verdict = rv if _RANK[rv] >= _RANK[mv] else mv  # worst((rv, mv))
    result["verdict"] = verdict
    result["categories"] = sorted(scores, key=lambda k: (-scores[k], k))
    result["score"] = round(max(scores.values(), default=0.0), 4)
    if verdict == "allow":
        severity = int(Severity.LOW) if any(v > 0 for v in scores.values()) else 0
    result["severity"] = severity
    result["model"] = {"id": model.model_id, "score": round(p, 4), "vetoed": vetoed}
    return rv


def non_vetoable(
    minor_context: bool | None,
    rule_scores: Mapping[str, float],
    rule_features: Sequence[str],
    cues: tuple[str, ...] = (),
    always: tuple[str, ...] = (),
) -> bool:
    """Under a child's or unknown post a sexual cue (scored as sexualising_minor there) always stands:
    the model only arbitrates the non-sexual single cues (age, contact, place).

    A cue in quoted, reported or condemning speech (``report``) or next to a hard-negative signal
    (``*.neg.*`` terms: food, sex education, family, ...) is not such a cue: "great tits in the garden",
    a PSA quoting a groomer. Those the model may still veto (measured: most of this rule's false
    positives on unseen writers, docs/comments.md). With ``cues`` (policy ``[model] sexual_cues``: term
    and emoji id prefixes) only those terms count: explicit words, body and minor-sexual phrases, not a
    lone ambiguous slang word or emoji ("sao", 💦, 🍑) that the model judges in its context."""
    adult = minor_context is False
    sexual_minor = not rule_scores.get("sexualising_minor", 0) <= 0
    if type(rule_features) is tuple:  # the rules stage's memoised features (rules._plan): one answer each
        return _non_vetoable(adult, sexual_minor, rule_features, cues, always)
    return _non_vetoable.__wrapped__(adult, sexual_minor, rule_features, cues, always)


@lru_cache(maxsize=16384)
def _non_vetoable(
    adult: bool,
    sexual_minor: bool,
    rule_features: Sequence[str],
    cues: tuple[str, ...],
    always: tuple[str, ...],
) -> bool:
    """:func:`non_vetoable` on what it reads of the context and scores (memoised per plan's features)."""
    if any(f == "report" or ".neg." in f for f in rule_features):
        return False
    if always and any(f.startswith(always) for f in rule_features):
        return True  # ``[model] always_cues``: e.g. secrecy from parents, under any post
    if adult or not sexual_minor:
        return False
    return not cues or any(f.startswith(cues) for f in rule_features)


def decide(rv: Verdict, p: float, th: ModelThreshold, vetoable: bool) -> tuple[Verdict, Verdict, bool]:
    """``(surviving rules verdict, model verdict, vetoed)`` for the model's probability ``p``.

    Also what ``eval/comments/thresholds.py`` simulates on cross-validation dumps: one definition.
    A NaN ``p`` (the model abstains: nothing to read) neither vetoes nor flags.
    """
    if p != p:
        return rv, "allow", False
    vetoed = vetoable and (
        (rv == "block" and th.veto_block is not None and p < th.veto_block)
        or (rv == "review" and p < th.veto)
    )
    if vetoed:
        rv = "allow"
    mv: Verdict
    if th.block is not None and p >= th.block:
        mv = "block"
    elif th.review is not None and p >= th.review:
        mv = "review"
    else:
        mv = "allow"
    return rv, mv, vetoed


def model_thresholds(mp: ModelPolicy, text: str, minor_context: bool | None) -> ModelThreshold:
    """The thresholds for a comment: per script (``zh.`` for text with Chinese characters) and context
    (``unknown`` falls back to ``minor`` when the policy has no table of its own)."""
    keys = (
        ("adult",)
        if minor_context is False
        else ("unknown", "minor")
        if minor_context is None
        else ("minor",)
    )
    if _CJK_RE.search(text):
        for k in keys:
            th = mp.thresholds.get("zh." + k)
            if th is not None:
                return th
    for k in keys:
        th = mp.thresholds.get(k)
        if th is not None:
            return th
    return mp.thresholds["minor"]


def classify_lines(
    lines: Iterable[str | bytes],
    *,
    minor_context: bool | None = None,
    comprehend: ComprehendToxicity | None = None,
    lexicon: Lexicon | None = None,
) -> Iterator[dict[str, Any]]:
    """Judge raw JSON Lines ``{"id", "text", "minor_context"?}``; blank lines are skipped.

    Lines are parsed by :mod:`tutela.comments.lines` (the one parser Act and the CLI share): only the text
    it returns is judged, and a line's own ``"minor_context": true`` can only make its context stricter.
    With the batch-scored model (:class:`~tutela.comments.hashed.HashedModel`) lines are read in chunks of
    :data:`CHUNK` and the model scores a chunk in one numpy pass (a comment scores the same alone or in
    any chunk, so the results are those of judging each line on its own).
    """
    lex = lexicon or default_lexicon()
    if comprehend is None and lex.model is not None and hasattr(lex.model, "batch"):
        yield from _classify_chunked(parse_batch(lines, minor_context), lex)
        return
    matcher = _matcher_for(lex)
    find = matcher.find
    version = lex.version
    max_chars = lex.max_chars
    fast = comprehend is None  # without Comprehend, a comment without a relevant hit is allowed here
    model = lex.model
    # category outputs are computed only where the model can flag (same verdicts, fewer look-ups)
    gate = lex.model_policy.flag_gate if lex.model_policy is not None else None
    for c in parse_batch(lines, minor_context):
        n, ident, text, ctx = c.line, c.id, c.text, c.minor_context
        if text is None:  # held by the line parser (tutela.comments.lines): judged as review, with why
            yield held_comment(
                ident, n, c.error or "invalid line", c.code, minor_context=ctx, lexicon_version=version
            )
            continue
        result: dict[str, Any] = {
            "id": ident,
            "line": n,
            "verdict": "allow",
            "categories": [],
            "score": 0.0,
            "severity": 0,
            "evidence": [],
            "minor_context": ctx,
            "lexicon_version": version,
        }
        if fast and len(text) <= max_chars:  # _judge, inlined for the common case
            norm = normalize(text)
            hits, relevant = find(norm, text)
            if relevant:  # _score without Comprehend: the memoised plan gives the result fields
                plan, by_key = plan_hits(lex, hits, "adult" if ctx is False else "minor")
                verdict: Verdict = plan.verdict
                result["verdict"] = verdict
                result["categories"] = list(plan.categories)
                result["score"] = plan.rounded_score
                result["severity"] = plan.severity
                if model is not None:
                    m = model.scores(norm, text, ctx, plan.features, gate=gate)
                    verdict = _combine(
                        result, plan.scores, lex, model, m, text, norm, ctx, rule_features=plan.features
                    )
                if verdict != "allow":
                    result["evidence"] = (
                        _spans(text, norm, [(cat, rule, by_key[k]) for k, cat, rule in plan.evidence])
                        + result["evidence"]
                    )
            elif model is not None:
                m = model.scores(norm, text, ctx, gate=gate)
                if len(m) > 1:  # the gate (at most every review threshold, checked at load) was reached
                    _combine(result, {}, lex, model, m, text, norm, ctx)
            yield result
        else:
            yield _judge(text, ctx, comprehend, lex, matcher, result)


_NOT_SEEN: Any = object()
CHUNK = 512  # lines per model batch: numpy's per-call cost is amortised, memory stays small
SEEN_MAX = 4096  # results of earlier chunks kept for repeats, per call of classify_lines
SEEN_CHARS = 512  # longer texts are not kept (bounds that memory: ~2M characters of keys at most)


def _classify_chunked(parsed: Iterator[CommentLine], lex: Lexicon) -> Iterator[dict[str, Any]]:
    """``classify_lines`` without Comprehend and with the batch-scored model: per chunk, the rules
    stage per comment, one model pass, then the same ``_combine`` per comment -- only for the comments
    where it can change something (the rules stage flagged, or the model's ``any`` reaches its lowest
    threshold); every other result is already final when the rules stage has filled it.

    Within a chunk a text is normalised and matched once; a line with the text and the context of the
    chunk's first line with that text gets a copy of that line's result under its own id and line (judging
    is a function of the text and context alone, and a comment scores the same in any batch, so the copy is
    what judging it again would give). Under another context the text is scored again.

    Across chunks of the same call, a (text, context) judged before is copied the same way from a private
    copy of its result (:data:`SEEN_MAX` of them at most, texts up to :data:`SEEN_CHARS` characters; when
    full it starts over): nothing is kept after the call returns."""
    model = lex.model
    mp = lex.model_policy
    assert model is not None and mp is not None and hasattr(model, "batch")
    find = _matcher_for(lex).find
    version = lex.version
    max_chars = lex.max_chars
    outputs = model.outputs
    # below this probability the model can neither flag nor (without a rules flag) change anything
    lowest = min(
        (t for th in mp.thresholds.values() for t in (th.review, th.block) if t is not None), default=1.0
    )
    batch = model.batch
    # (text, context) -> a private copy of a final result of an earlier chunk (never one a caller holds), or
    # None for a result neither stage touched (the fresh literal)
    seen: dict[tuple[str, bool | None], dict[str, Any] | None] = {}
    while True:
        chunk = list(islice(parsed, CHUNK))
        if not chunk:
            return
        done: list[dict[str, Any]] = []
        # the comments the model scores, as parallel lists (index j); rel: j -> the rules stage's plan
        results: list[dict[str, Any]] = []
        texts: list[str] = []
        norms: list[str] = []
        ctxs: list[bool | None] = []
        feats: list[tuple[str, ...]] = []
        rel: dict[int, tuple[Any, Any]] = {}
        # text -> (normalised, hits, relevant, the result of its first line: a repeat under that line's
        # context copies it, one under another context reuses only the rest)
        found: dict[str, tuple[str, list[Hit], bool, dict[str, Any]]] = {}
        repeats: list[tuple[int, dict[str, Any], str | None, int]] = []  # (position, first result, id, line)
        for n, ident, text, ctx, error, code in chunk:
            if text is None:
                done.append(
                    held_comment(
                        ident,
                        n,
                        error or "invalid line",
                        code,
                        minor_context=ctx,
                        lexicon_version=version,
                    )
                )
                continue
            earlier = seen.get((text, ctx), _NOT_SEEN) if seen else _NOT_SEEN
            if earlier is not _NOT_SEEN and earlier is not None:
                done.append(_repeat(earlier, ident, n))
                continue
            f = found.get(text) if earlier is _NOT_SEEN else None
            if f is not None and f[3]["minor_context"] is ctx:
                repeats.append((len(done), f[3], ident, n))
                done.append(f[3])  # replaced by a copy once the chunk is judged
                continue
            result: dict[str, Any] = {
                "id": ident,
                "line": n,
                "verdict": "allow",
                "categories": [],
                "score": 0.0,
                "severity": 0,
                "evidence": [],
                "minor_context": ctx,
                "lexicon_version": version,
            }
            done.append(result)
            if earlier is None:  # allowed before with nothing to add: that result is this literal
                continue
            if len(text) > max_chars:
                done[-1] = _judge(text, ctx, None, lex, _matcher_for(lex), result)
                continue
            if f is None:
                norm = normalize(text)
                hits, relevant = find(norm, text)
                found[text] = (norm, hits, relevant, result)
            else:
                norm, hits, relevant, _ = f
            if relevant:
                plan, by_key = plan_hits(lex, hits, "adult" if ctx is False else "minor")
                result["verdict"] = plan.verdict
                result["categories"] = list(plan.categories)
                result["score"] = plan.rounded_score
                result["severity"] = plan.severity
                rel[len(results)] = (plan, by_key)
                feats.append(plan.features)
            else:
                feats.append(())
            results.append(result)
            texts.append(text)
            norms.append(norm)
            ctxs.append(ctx)
        high: set[int] = set()  # j: the model's any reaches the lowest threshold
        if results:
            probs = batch(norms, ctxs, feats, lowest, texts)  # categories only where the model flags
            high.update((probs[:, 0] >= lowest).nonzero()[0].tolist())  # (NaN: the model abstains, False)
            for j, (plan, by_key) in rel.items():
                # (an allowed plan under every threshold: _combine neither vetoes nor flags, skipped)
                if plan.verdict != "allow" or j in high:
                    text, norm, ctx, result = texts[j], norms[j], ctxs[j], results[j]
                    m = dict(zip(outputs, probs[j].tolist(), strict=True))
                    verdict = _combine(
                        result, plan.scores, lex, model, m, text, norm, ctx, rule_features=plan.features
                    )
                    if verdict != "allow":
                        result["evidence"] = (
                            _spans(text, norm, [(cat, rule, by_key[k]) for k, cat, rule in plan.evidence])
                            + result["evidence"]
                        )
            for j in high.difference(rel):  # no relevant rules hit, the model alone may flag
                m = dict(zip(outputs, probs[j].tolist(), strict=True))
                _combine(results[j], {}, lex, model, m, texts[j], norms[j], ctxs[j])
        for pos, first, ident, n in repeats:
            done[pos] = _repeat(first, ident, n)
        for j, text in enumerate(texts):  # judged in this chunk: final now
            if len(text) <= SEEN_CHARS:
                key = (text, ctxs[j])
                if key not in seen:  # (the same text under its first context and another: both kept)
                    if len(seen) >= SEEN_MAX:  # full: start over (dropping the oldest one by one
                        seen.clear()  # leaves holes that make finding the next oldest ever slower)
                    # None: neither the rules stage nor _combine touched it (allowed, nothing else to say),
                    # so a repeat is the same literal; no copy needed
                    seen[key] = _repeat(results[j], None, 0) if j in rel or j in high else None
        yield from done


def _repeat(first: dict[str, Any], ident: str | None, line: int) -> dict[str, Any]:
    """A copy of ``first`` (a final result) for another comment with the same text and context: the same
    keys in the same order, its own id and line, and its own lists and dicts (a caller may change one
    result without changing another)."""
    result = first.copy()
    result["id"] = ident
    result["line"] = line
    result["categories"] = first["categories"].copy()
    evidence = first["evidence"]
    result["evidence"] = [e.copy() for e in evidence] if evidence else []
    model = first.get("model")
    if model is not None:
        result["model"] = model.copy()
    return result
