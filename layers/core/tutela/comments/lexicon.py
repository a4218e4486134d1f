"""Loads the versioned lexicon and rule files in ``data/`` (TOML, reviewable by ops).

Files (all in one directory, every ``*.toml`` is read, sorted by name):

- ``policy.toml``: ``version``, the categories with per-context thresholds and severities,
  and ``benign_words`` (normalised forms that a pattern's collapsed spelling may not take);
- ``lexicon.*.toml``: ``[[term]]`` tables: ``id``, ``patterns``, ``lang``, ``signal`` (a
  name or a list of names), optional ``category`` + ``weight`` (a direct contribution),
  ``match`` (``word`` | ``prefix`` | ``substring``), ``unless`` (signals that cancel it
  anywhere in the comment), ``except`` (signals whose hits cancel it where they overlap),
  ``pinyin`` (also match the toneless pinyin of its Chinese patterns), ``collapse`` and
  ``note``; and ``[[emoji]]`` tables: ``id``, ``chars``, ``signal``, ``category``,
  ``weight``, ``unless``, ``note`` (emoji are matched on the original text);
- ``rules.*.toml``: ``[[rule]]`` combinations of signals (``all``, ``any``, ``unless``,
  ``contexts``, ``min_score``) -> ``category`` + ``weight``; ``[[regex]]`` patterns over the
  normalised text (numbers, ages, addresses) -> ``signal`` (+ optional ``category``/``weight``),
  with an optional ``gate``: substrings of the normalised text of which one must occur for the
  regex to be tried (found by the same automaton as the terms; a speed hint that must be implied
  by the pattern).

``LEXICON_VERSION`` is ``{policy version}+{sha256 of all data files, 10 hex digits}`` so a
decision records exactly the data it was made with.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutela.errors import TutelaError
from tutela.record import FrozenRecord

if TYPE_CHECKING:
    from tutela.comments.hashed import HashedModel
    from tutela.comments.model import LinearModel

DATA_DIR = Path(__file__).parent / "data"
CATEGORIES = ("sexual_innuendo", "sexualising_minor", "grooming", "solicitation", "locating_minor")
CONTEXTS = ("minor", "adult")
MATCH_MODES = ("word", "prefix", "substring")


class LexiconError(TutelaError):
    """A data file is malformed (raised at load time, never per comment)."""

    code = "lexicon_invalid"


class Term(FrozenRecord):
    __slots__ = (
        "category",
        "collapse",
        "except_",
        "id",
        "lang",
        "match",
        "note",
        "patterns",
        "pinyin",
        "signals",
        "unless",
        "weight",
    )

    def __init__(
        self,
        id: str,
        patterns: tuple[str, ...],
        signals: tuple[str, ...],
        lang: str = "any",
        category: str | None = None,
        weight: float = 0.0,
        match: str = "word",
        unless: tuple[str, ...] = (),
        except_: tuple[str, ...] = (),
        pinyin: bool = False,
        collapse: bool = True,
        note: str = "",
    ) -> None:
        self.id = id
        self.patterns = patterns
        self.signals = signals
        self.lang = lang
        self.category = category
        self.weight = weight
        self.match = match
        self.unless = unless
        self.except_ = except_
        self.pinyin = pinyin
        self.collapse = collapse
        self.note = note


class Emoji(FrozenRecord):
    __slots__ = ("category", "chars", "id", "note", "signals", "unless", "weight")

    def __init__(
        self,
        id: str,
        chars: tuple[str, ...],
        signals: tuple[str, ...],
        category: str | None = None,
        weight: float = 0.0,
        unless: tuple[str, ...] = (),
        note: str = "",
    ) -> None:
        self.id = id
        self.chars = chars
        self.signals = signals
        self.category = category
        self.weight = weight
        self.unless = unless
        self.note = note


class Rule(FrozenRecord):
    __slots__ = ("all", "any", "category", "contexts", "id", "min_score", "note", "unless", "weight")

    def __init__(
        self,
        id: str,
        category: str,
        weight: float,
        all: tuple[str, ...] = (),
        any: tuple[str, ...] = (),
        unless: tuple[str, ...] = (),
        contexts: tuple[str, ...] = CONTEXTS,
        min_score: tuple[tuple[str, float], ...] = (),
        note: str = "",
    ) -> None:
        self.id = id
        self.category = category
        self.weight = weight
        self.all = all
        self.any = any
        self.unless = unless
        self.contexts = contexts
        self.min_score = min_score
        self.note = note


class RegexRule(FrozenRecord):
    __slots__ = ("category", "gate", "id", "note", "pattern", "signals", "unless", "weight")

    def __init__(
        self,
        id: str,
        pattern: str,
        signals: tuple[str, ...],
        gate: tuple[str, ...] = (),
        category: str | None = None,
        weight: float = 0.0,
        unless: tuple[str, ...] = (),
        note: str = "",
    ) -> None:
        self.id = id
        self.pattern = pattern
        self.signals = signals
        self.gate = gate
        self.category = category
        self.weight = weight
        self.unless = unless
        self.note = note


class Threshold(FrozenRecord):
    __slots__ = ("block", "review")

    def __init__(self, review: float | None, block: float | None) -> None:
        self.review = review
        self.block = block


class CategoryPolicy(FrozenRecord):
    __slots__ = ("description", "name", "severity_block", "severity_review", "thresholds")

    def __init__(
        self,
        name: str,
        severity_review: int,
        severity_block: int,
        thresholds: dict[str, Threshold],
        description: str = "",
    ) -> None:
        self.name = name
        self.severity_review = severity_review
        self.severity_block = severity_block
        self.thresholds = thresholds
        self.description = description


class ModelThreshold(FrozenRecord):
    """The learned stage's thresholds on its ``any`` probability in one context.

    ``veto``: a rules-stage review or block is dropped when the model's probability is below it
    (the model is confident the comment is benign: quoted or reported speech, a family phrase).
    ``veto_block``: the same for rules-stage blocks (``None``: a rules block always stands).
    """

    __slots__ = ("block", "review", "veto", "veto_block")

    def __init__(
        self, review: float | None, block: float | None, veto: float, veto_block: float | None
    ) -> None:
        self.review = review
        self.block = block
        self.veto = veto
        self.veto_block = veto_block


class ModelPolicy(FrozenRecord):
    __slots__ = ("always_cues", "category_min", "sexual_cues", "thresholds")

    def __init__(
        self,
        thresholds: dict[str, ModelThreshold],
        category_min: float,
        sexual_cues: tuple[str, ...] = (),
        always_cues: tuple[str, ...] = (),
    ) -> None:
        # "minor", "adult", optionally "unknown", and the same prefixed "zh." for text with Chinese characters
        self.thresholds = thresholds
        self.category_min = category_min  # a model category is reported when its probability reaches this
        # term/emoji id prefixes that make a sexual cue the model may not veto under a child's or unknown
        # post (empty: any sexual cue); see classify.non_vetoable
        self.sexual_cues = sexual_cues
        # id prefixes the model may not veto in any context (secrecy from parents implies a child)
        self.always_cues = always_cues

    @property
    def flag_gate(self) -> float:
        """The lowest probability at which the model can flag: below it its categories are never used."""
        return min((t.review for t in self.thresholds.values() if t.review is not None), default=1.0)


class Lexicon:
    """Compared and hashed by identity: one compiled Matcher per Lexicon object. Not changed after
    ``__init__``."""

    __slots__ = (
        "benign_words",
        "emoji",
        "max_chars",
        "model",
        "model_policy",
        "policy",
        "regexes",
        "report_damping",
        "report_signals",
        "rules",
        "terms",
        "version",
    )

    def __init__(
        self,
        version: str,
        terms: tuple[Term, ...],
        emoji: tuple[Emoji, ...],
        rules: tuple[Rule, ...],
        regexes: tuple[RegexRule, ...],
        policy: dict[str, CategoryPolicy],
        benign_words: frozenset[str] = frozenset(),
        max_chars: int = 5000,
        model: LinearModel | HashedModel | None = None,
        model_policy: ModelPolicy | None = None,
        report_signals: frozenset[str] = frozenset(),
        report_damping: float = 1.0,
    ) -> None:
        self.version = version
        self.terms = terms
        self.emoji = emoji
        self.rules = rules
        self.regexes = regexes
        self.policy = policy
        self.benign_words = benign_words
        self.max_chars = max_chars
        self.model = model  # the learned stage (data/model.*.json.gz), if shipped
        self.model_policy = model_policy
        self.report_signals = report_signals  # quoted/reported speech: rule scores are damped
        self.report_damping = report_damping


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise LexiconError(f"{where}: expected a string or a list of strings")


def _weight(t: dict[str, Any], where: str) -> tuple[str | None, float]:
    category = t.get("category")
    weight = float(t.get("weight", 0.0))
    if category is not None and category not in CATEGORIES:
        raise LexiconError(f"{where}: unknown category {category!r}")
    if not 0.0 <= weight <= 1.0:
        raise LexiconError(f"{where}: weight must be in [0, 1]")
    if category is not None and weight <= 0:
        raise LexiconError(f"{where}: a category needs a positive weight")
    return category, weight


def _policy(doc: dict[str, Any]) -> dict[str, CategoryPolicy]:
    out: dict[str, CategoryPolicy] = {}
    for name, c in doc.get("categories", {}).items():
        if name not in CATEGORIES:
            raise LexiconError(f"policy: unknown category {name!r}")
        th: dict[str, Threshold] = {}
        for ctx in CONTEXTS:
            t = c.get(ctx)
            if not isinstance(t, dict):
                raise LexiconError(f"policy.{name}: missing thresholds for context {ctx!r}")
            th[ctx] = Threshold(review=t.get("review"), block=t.get("block"))
        out[name] = CategoryPolicy(
            name=name,
            severity_review=int(c.get("severity_review", 2)),
            severity_block=int(c.get("severity_block", 3)),
            thresholds=th,
            description=str(c.get("description", "")),
        )
    missing = set(CATEGORIES) - set(out)
    if missing:
        raise LexiconError(f"policy: categories without thresholds: {sorted(missing)}")
    return out


def _model_thresholds(m: dict[str, Any], where: str) -> dict[str, ModelThreshold]:
    th: dict[str, ModelThreshold] = {}
    for ctx in (*CONTEXTS, "unknown"):  # "unknown" (no media decision yet) is optional: minor's otherwise
        t = m.get(ctx)
        if t is None and ctx == "unknown":
            continue
        if not isinstance(t, dict):
            raise LexiconError(f"{where}: missing thresholds for context {ctx!r}")
        vals = {k: t.get(k) for k in ("review", "block", "veto", "veto_block")}
        for k, v in vals.items():
            if v is not None and not (isinstance(v, int | float) and 0.0 <= v <= 1.0):
                raise LexiconError(f"{where}.{ctx}.{k}: must be in [0, 1]")
        th[ctx] = ModelThreshold(
            review=vals["review"],
            block=vals["block"],
            veto=float(vals["veto"] or 0.0),
            veto_block=vals["veto_block"],
        )
    return th


def _model_policy(doc: dict[str, Any]) -> ModelPolicy | None:
    m = doc.get("model")
    if m is None:
        return None
    if not isinstance(m, dict):
        raise LexiconError("policy.model: expected a table")
    th = _model_thresholds(m, "policy.model")
    zh = m.get("zh")
    if zh is not None:  # comments containing Chinese characters: their own thresholds
        if not isinstance(zh, dict):
            raise LexiconError("policy.model.zh: expected a table")
        th.update({f"zh.{k}": v for k, v in _model_thresholds(zh, "policy.model.zh").items()})
    cues = m.get("sexual_cues", [])
    if not isinstance(cues, list) or not all(isinstance(c, str) and c for c in cues):
        raise LexiconError("policy.model.sexual_cues: expected a list of id prefixes")
    always = m.get("always_cues", [])
    if not isinstance(always, list) or not all(isinstance(c, str) and c for c in always):
        raise LexiconError("policy.model.always_cues: expected a list of id prefixes")
    return ModelPolicy(
        thresholds=th,
        category_min=float(m.get("category_min", 0.5)),
        sexual_cues=tuple(cues),
        always_cues=tuple(always),
    )


def load_lexicon(data_dir: Path | str | None = None, *, with_model: bool = True) -> Lexicon:
    """Read and validate every ``*.toml`` in ``data_dir`` (default: the packaged ``data/``) and the
    learned stage's ``model.*.json.gz`` if there is one (``with_model=False``: the rules stage alone)."""
    import tomllib  # here: a cold start loads the prebuilt lexicon instead (~10M instructions)

    root = Path(data_dir) if data_dir is not None else DATA_DIR
    files = sorted(root.glob("*.toml"))
    if not any(f.name == "policy.toml" for f in files):
        raise LexiconError(f"no policy.toml in {root}")
    digest = hashlib.sha256()
    terms: list[Term] = []
    emoji: list[Emoji] = []
    rules: list[Rule] = []
    regexes: list[RegexRule] = []
    policy: dict[str, CategoryPolicy] = {}
    version = ""
    benign: frozenset[str] = frozenset()
    max_chars = 5000
    seen: set[str] = set()
    model_policy: ModelPolicy | None = None
    report_signals: frozenset[str] = frozenset()
    report_damping = 1.0

    def unique(ident: str, where: str) -> str:
        if not ident or ident in seen:
            raise LexiconError(f"{where}: missing or duplicate id {ident!r}")
        seen.add(ident)
        return ident

    for f in files:
        raw = f.read_bytes()
        digest.update(f.name.encode() + b"\0" + raw + b"\0")
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise LexiconError(f"{f.name}: {exc}") from None
        if f.name == "policy.toml":
            version = str(doc.get("version", ""))
            policy = _policy(doc)
            benign = frozenset(_strs(doc.get("benign_words"), "policy.benign_words"))
            max_chars = int(doc.get("max_chars", max_chars))
            model_policy = _model_policy(doc)
            report_signals = frozenset(_strs(doc.get("report_signals"), "policy.report_signals"))
            report_damping = float(doc.get("report_damping", 1.0))
            if not 0.0 <= report_damping <= 1.0:
                raise LexiconError("policy.report_damping: must be in [0, 1]")
        for i, t in enumerate(doc.get("term", [])):
            where = f"{f.name} term {i}"
            category, weight = _weight(t, where)
            match = t.get("match", "word")
            if match not in MATCH_MODES:
                raise LexiconError(f"{where}: match must be one of {MATCH_MODES}")
            patterns = _strs(t.get("patterns"), where)
            if not patterns:
                raise LexiconError(f"{where}: no patterns")
            terms.append(
                Term(
                    id=unique(str(t.get("id", "")), where),
                    patterns=patterns,
                    signals=_strs(t.get("signal"), where),
                    lang=str(t.get("lang", "any")),
                    category=category,
                    weight=weight,
                    match=match,
                    unless=_strs(t.get("unless"), where),
                    except_=_strs(t.get("except"), where),
                    pinyin=bool(t.get("pinyin", False)),
                    collapse=bool(t.get("collapse", True)),
                    note=str(t.get("note", "")),
                )
            )
        for i, e in enumerate(doc.get("emoji", [])):
            where = f"{f.name} emoji {i}"
            category, weight = _weight(e, where)
            emoji.append(
                Emoji(
                    id=unique(str(e.get("id", "")), where),
                    chars=_strs(e.get("chars"), where),
                    signals=_strs(e.get("signal"), where),
                    category=category,
                    weight=weight,
                    unless=_strs(e.get("unless"), where),
                    note=str(e.get("note", "")),
                )
            )
        for i, r in enumerate(doc.get("rule", [])):
            where = f"{f.name} rule {i}"
            category, weight = _weight(r, where)
            if category is None:
                raise LexiconError(f"{where}: a rule needs a category")
            contexts = _strs(r.get("contexts"), where) or CONTEXTS
            if set(contexts) - set(CONTEXTS):
                raise LexiconError(f"{where}: contexts must be among {CONTEXTS}")
            min_score = tuple((str(k), float(v)) for k, v in r.get("min_score", {}).items())
            if not (r.get("all") or r.get("any") or min_score):
                raise LexiconError(f"{where}: a rule needs all, any or min_score")
            rules.append(
                Rule(
                    id=unique(str(r.get("id", "")), where),
                    category=category,
                    weight=weight,
                    all=_strs(r.get("all"), where),
                    any=_strs(r.get("any"), where),
                    unless=_strs(r.get("unless"), where),
                    contexts=contexts,
                    min_score=min_score,
                    note=str(r.get("note", "")),
                )
            )
        for i, x in enumerate(doc.get("regex", [])):
            where = f"{f.name} regex {i}"
            category, weight = _weight(x, where)
            regexes.append(
                RegexRule(
                    id=unique(str(x.get("id", "")), where),
                    pattern=str(x.get("pattern", "")),
                    signals=_strs(x.get("signal"), where),
                    gate=_strs(x.get("gate"), where),
                    category=category,
                    weight=weight,
                    unless=_strs(x.get("unless"), where),
                    note=str(x.get("note", "")),
                )
            )
    for x in regexes:
        for pat in (x.pattern,):
            try:
                compiled = re.compile(pat)
            except re.error as exc:
                raise LexiconError(f"regex {x.id}: {exc}") from None
            if compiled.groupindex:
                raise LexiconError(f"regex {x.id}: named groups are not allowed")
    if not version:
        raise LexiconError("policy.toml: missing version")
    model: LinearModel | HashedModel | None = None
    model_files = sorted(root.glob("model.*.json.gz")) if with_model else []
    if len(model_files) > 1:
        raise LexiconError(f"more than one model file in {root}")
    if model_files:
        if model_policy is None:
            raise LexiconError("a model file needs a [model] table in policy.toml")
        raw = model_files[0].read_bytes()
        digest.update(model_files[0].name.encode() + b"\0" + raw + b"\0")
        from tutela.comments.model import load_model  # model.py imports LexiconError from here

        model = load_model(raw, model_files[0].name)
        for ctx, t in model_policy.thresholds.items():
            if t.review is not None and t.review < model.gate:
                raise LexiconError(f"policy.model.{ctx}.review is below the model's gate {model.gate}")
    return Lexicon(
        version=f"{version}+{digest.hexdigest()[:10]}",
        terms=tuple(terms),
        emoji=tuple(emoji),
        rules=tuple(rules),
        regexes=tuple(regexes),
        policy=policy,
        benign_words=benign,
        max_chars=max_chars,
        model=model,
        model_policy=model_policy if model is not None else None,
        report_signals=report_signals,
        report_damping=report_damping,
    )


@cache
def default_lexicon() -> Lexicon:
    """The packaged lexicon, loaded once per process (from the prebuilt matcher when it matches the
    files: ``tutela.comments.prebuilt``)."""
    from tutela.comments.prebuilt import prebuilt  # prebuilt imports DATA_DIR from here

    ready = prebuilt()
    return ready.lexicon if ready is not None else load_lexicon()
