"""Stage 3 (optional): a large language model on Amazon Bedrock, after the rules and the learned stage.

Pure domain code: the prompt (a versioned file, ``prompts/innuendo-v1.txt``), the request body, the token
budget, validation of the model's JSON answer, and the merge into the stage 1-2 results. The Bedrock call
itself is behind ``ask`` (``tutela.aws.bedrock.BedrockConverse.ask``), so everything here is testable
without AWS.

Trust rules:

- **Stricter only.** The comment text is the attacker's input and goes into the prompt, so a comment can
  try to talk the model into "allow" (prompt injection). The model's verdict is merged as the worse of the
  two: it can add a review or a block, never remove one.
- **Fail closed.** A comment the model was asked about and did not answer validly (invalid JSON, a missing
  or duplicated id, an unknown category, a truncated answer, a throttle, a timeout, any error) is
  ``review``; so is a comment in scope that the budget or the deadline left out.
- **No text in logs.** Nothing here logs; errors carry codes only. The model's short ``reason`` may quote
  the comment, so it is stored like evidence text (the decision record), never in the execution state.
- **No legal escalation from the model alone.** A model-only block is at most severity HIGH (3); the
  CRITICAL escalation stays with the rules stage and humans, not with an output an attacker can steer.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from tutela.comment_records import line_ranges
from tutela.comments.lexicon import CATEGORIES, Lexicon
from tutela.comments.stages import base_stages
from tutela.comments.stages import carries_model_text as carries_model_text  # re-exported
from tutela.errors import TutelaError
from tutela.verdict import VERDICTS, Severity, Verdict, worst

PROMPT_VERSION = "innuendo-v1"
SCOPES = ("child-or-unknown", "all")
Scope = Literal["child-or-unknown", "all"]
MAX_REASON_CHARS = 200  # the prompt asks for at most 20 words; a longer reason is an invalid answer
OUTPUT_TOKENS_PER_COMMENT = 80  # an entry with a 20-word reason is ~50 tokens
OUTPUT_TOKENS_FIXED = 64
MODEL_SEVERITY_CAP = int(Severity.HIGH)
CALL_COMMENTS = 25  # per call: the answer (<= 64 + 80 x 25 tokens) arrives within the client's read timeout

# Codes of the comments the stage could not judge (each one is a ``review``, with this code as its reason).
CODE_UNAVAILABLE = "llm_unavailable"  # throttled, timed out, denied, any service error
CODE_INVALID = "llm_invalid_output"  # the answer did not validate for this comment
CODE_BUDGET = "llm_over_budget"  # the batch's token budget was spent before this comment
CODE_DEADLINE = "llm_deadline"  # not enough time left in the invocation for another call

_FENCE = re.compile(r"\A```(?:json)?\s*\n?(.*?)\n?```\Z", re.S)
_GEO_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")


class LLMUnavailable(TutelaError):
    """The model could not be asked (throttling, timeout, access, service error); ``code`` says which kind.
    Caught by :func:`judge` and turned into ``review`` for the comments of that call, never raised further."""

    code = CODE_UNAVAILABLE

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Reply:
    """What the adapter returns for one Converse call."""

    text: str
    stop_reason: str
    input_tokens: int = 0
    output_tokens: int = 0


Ask = Callable[[str, str, int], Reply]  # (system prompt, user message, max output tokens) -> Reply


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """``batch_tokens``: estimated input tokens one comment batch may spend in all (prompt included, once per
    call); ``call_tokens`` and ``call_comments`` bound one call (its answer must fit the model's output
    limit); ``call_seconds``: the worst case of one call with its retries (the client's timeouts), which
    must still fit before the deadline for the call to be made."""

    model_id: str
    scope: Scope = "child-or-unknown"
    batch_tokens: int = 30_000
    call_tokens: int = 6_000
    call_comments: int = CALL_COMMENTS
    call_seconds: float = 60.0

    def __post_init__(self) -> None:
        check_model_id(self.model_id)
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        if min(self.batch_tokens, self.call_tokens, self.call_comments) < 1 or self.call_seconds <= 0:
            raise ValueError("budgets must be positive")

    @property
    def stage(self) -> str:
        return f"llm:{self.model_id}"


def check_model_id(model_id: str) -> str:
    """A foundation-model id invoked in the stack's region (what the template's IAM grant names)."""
    if not re.fullmatch(r"[a-z0-9-]+\.[A-Za-z0-9._:-]+", model_id or ""):
        raise ValueError("the model id must look like provider.model-name (e.g. amazon.nova-micro-v1:0)")
    if model_id.startswith(_GEO_PREFIXES):
        raise ValueError(
            "cross-region inference profiles are not supported: the IAM grant is for a foundation model "
            "in the stack's region"
        )
    return model_id


@cache
def system_prompt(version: str = PROMPT_VERSION) -> str:
    """The versioned prompt file (``prompts/{version}.txt``), read once per process."""
    if not re.fullmatch(r"[a-z0-9-]+", version):
        raise ValueError("invalid prompt version")
    return (Path(__file__).parent / "prompts" / f"{version}.txt").read_text("utf-8")


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate of a text's input tokens: UTF-8 bytes / 2. English runs ~4 bytes per
    token (so this is ~2x over), Chinese ~3 bytes per character at ~1-1.5 tokens per character, emoji 4
    bytes at 1-3 tokens. The budget must not be exceeded by a tokenizer we cannot run here."""
    return math.ceil(len(text.encode("utf-8", "replace")) / 2)


def clean(text: str) -> str:
    """Lone surrogates (JSON allows them) replaced: the request must be valid UTF-8."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def request_item(ident: str, minor_context: bool | None, text: str) -> str:
    context = "adult" if minor_context is False else "child_or_unknown"
    return json.dumps({"id": ident, "context": context, "text": clean(text)}, ensure_ascii=False)


def render(items: Iterable[str]) -> str:
    """The user message: the comments as one JSON document (JSON escaping keeps every comment inside its
    own string: a comment cannot close the list or add an entry of its own)."""
    return '{"comments": [' + ", ".join(items) + "]}"


# ------------------------------------------------------------------ validating the answer
@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    categories: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """Per asked id: a valid judgement, or the reason it has none."""

    judgements: dict[str, Judgement]
    invalid: dict[str, str]


def _entry(raw: Any) -> Judgement | str:
    """One verdict entry, or what is wrong with it."""
    if not isinstance(raw, dict) or set(raw) != {"id", "verdict", "categories", "reason"}:
        return "entry keys"
    verdict, cats, reason = raw["verdict"], raw["categories"], raw["reason"]
    if verdict not in VERDICTS:
        return "verdict"
    if not isinstance(cats, list) or not all(isinstance(c, str) and c in CATEGORIES for c in cats):
        return "categories"
    if len(set(cats)) != len(cats) or (verdict == "allow") != (not cats):
        return "categories"
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        return "reason"
    return Judgement(verdict, tuple(cats), reason.strip())


def parse_answer(text: str, asked: Iterable[str]) -> Parsed:
    """Validate the model's answer against the ids asked. The whole answer is invalid (every id) when it is
    not exactly ``{"verdicts": [...]}`` or names an id that was not asked (an answer that does not match
    its question is not trusted piecewise); an id answered twice, or with an invalid entry, is invalid."""
    asked = list(asked)
    body = text.strip()
    fence = _FENCE.match(body)
    if fence:
        body = fence.group(1).strip()
    try:
        doc = json.loads(body)
    except ValueError:
        return Parsed({}, dict.fromkeys(asked, "not JSON"))
    if not isinstance(doc, dict) or set(doc) != {"verdicts"} or not isinstance(doc["verdicts"], list):
        return Parsed({}, dict.fromkeys(asked, "not a verdicts object"))
    wanted = set(asked)
    seen: dict[str, list[Any]] = {}
    for raw in doc["verdicts"]:
        ident = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(ident, str) or ident not in wanted:
            return Parsed({}, dict.fromkeys(asked, "an entry for an id that was not asked"))
        seen.setdefault(ident, []).append(raw)
    judgements: dict[str, Judgement] = {}
    invalid: dict[str, str] = {}
    for ident in asked:
        entries = seen.get(ident, [])
        if not entries:
            invalid[ident] = "missing"
        elif len(entries) > 1:
            invalid[ident] = "answered twice"
        else:
            got = _entry(entries[0])
            if isinstance(got, Judgement):
                judgements[ident] = got
            else:
                invalid[ident] = f"invalid {got}"
    return Parsed(judgements, invalid)


# ------------------------------------------------------------------ merging into the results
def _held(result: MutableMapping[str, Any], code: str, message: str) -> None:
    """A comment in scope that the stage could not judge: at least review, with the code as its reason."""
    result["verdict"] = worst((result["verdict"], "review"))
    result["severity"] = max(int(result.get("severity") or 0), int(Severity.LOW))
    if not result.get("error"):  # a line's own error (the rules stage's) stays its reason
        result["error"] = message
        result["code"] = code


def merge(
    result: MutableMapping[str, Any], text: str, judgement: Judgement, lexicon: Lexicon, model_id: str
) -> None:
    """The worse of the stage 1-2 verdict and the model's; the model's categories are added, its severity
    comes from the lexicon policy (capped at HIGH), and its reason is evidence over the whole comment."""
    result["llm"] = {"model": model_id, "verdict": judgement.verdict}  # what it said, even when looser
    if judgement.verdict == "allow":
        return
    result["verdict"] = worst((result["verdict"], judgement.verdict))
    cats = list(result.get("categories") or [])
    cats += [c for c in judgement.categories if c not in cats]
    result["categories"] = cats
    pol = lexicon.policy
    level = max(
        pol[c].severity_block if judgement.verdict == "block" else pol[c].severity_review
        for c in judgement.categories
    )
    result["severity"] = max(int(result.get("severity") or 0), min(level, MODEL_SEVERITY_CAP))
    result["evidence"] = [
        *(result.get("evidence") or []),
        {
            "start": 0,
            "end": len(text),
            "text": clean(text),
            "category": judgement.categories[0],
            "rule": f"llm:{model_id}",
            "reason": judgement.reason,
        },
    ]


# ------------------------------------------------------------------ the stage
@dataclass
class Report:
    """What the stage did to a batch (for the batch record, logs and metrics: counts and codes only)."""

    model_id: str
    prompt: str
    scope: str
    asked: list[int] = field(default_factory=list)  # lines sent to the model
    escalated: int = 0  # verdicts the model made stricter
    held: dict[str, int] = field(default_factory=dict)  # code -> comments reviewed for it
    calls: int = 0
    failed_calls: int = 0
    input_tokens: int = 0  # as billed (the service's usage figures)
    output_tokens: int = 0
    in_scope: int = 0  # comments the scope named (asked, or held for the budget or the deadline)

    def hold(self, code: str, n: int = 1) -> None:
        self.held[code] = self.held.get(code, 0) + n

    def summary(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "prompt": self.prompt,
            "scope": self.scope,
            "lines": line_ranges(self.asked),  # the stage judged these (tutela.comment_records.expand)
            "in_scope": self.in_scope,
            "asked": len(self.asked),
            "escalated": self.escalated,
            "held": dict(sorted(self.held.items())),
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


def in_scope(result: Mapping[str, Any], scope: str) -> bool:
    """Comments the model is asked about: not already blocked, judged by stages 1-2 (a line the parser
    held has no text to ask about and is already review), under a child's or unknown post unless the scope
    is ``all``."""
    if result.get("verdict") == "block" or result.get("error") or not isinstance(result.get("line"), int):
        return False
    return scope == "all" or result.get("minor_context") is not False


def judge(
    results: list[dict[str, Any]],
    texts: Mapping[int, str],
    *,
    config: LLMConfig,
    ask: Ask,
    lexicon: Lexicon,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Report:
    """Run stage 3 over ``results`` (those of ``classify_lines``, changed in place); ``texts`` maps a line
    number to the text stages 1-2 judged. Calls are made in line order, stage 1-2 allows first (a comment
    already in review loses little when the budget runs out), each call within ``call_tokens`` /
    ``call_comments``, the batch within ``batch_tokens``, and no call is started unless ``call_seconds``
    fit before ``deadline`` (a ``clock()`` value). Never raises for a model failure."""
    prompt = system_prompt()
    report = Report(config.model_id, PROMPT_VERSION, config.scope)
    candidates = [r for r in results if in_scope(r, config.scope) and isinstance(texts.get(r["line"]), str)]
    report.in_scope = len(candidates)
    candidates.sort(key=lambda r: (r["verdict"] != "allow", r["line"]))
    prompt_tokens = estimate_tokens(prompt) + 16  # the message frame
    spent = 0
    pending = list(candidates)
    while pending:
        # one call: as many comments as fit in the call's and the batch's budgets
        room = min(config.call_tokens, config.batch_tokens - spent) - prompt_tokens
        chunk: list[tuple[dict[str, Any], str]] = []
        used = 0
        while pending and len(chunk) < config.call_comments:
            r = pending[0]
            item = request_item(str(r["line"]), r.get("minor_context"), texts[r["line"]])
            cost = estimate_tokens(item) + 2
            if used + cost > room:
                break
            chunk.append((pending.pop(0), item))
            used += cost
        if not chunk:
            # the next comment fits no call: alone too big for any call, or the batch budget is spent
            first = pending[0]
            item = request_item(str(first["line"]), first.get("minor_context"), texts[first["line"]])
            if estimate_tokens(item) + 2 > config.call_tokens - prompt_tokens:
                _held(pending.pop(0), CODE_BUDGET, "comment too long for one model call")
                report.hold(CODE_BUDGET)
                continue
            for r in pending:
                _held(r, CODE_BUDGET, "the batch's model token budget was spent")
            report.hold(CODE_BUDGET, len(pending))
            break
        if deadline is not None and clock() + config.call_seconds > deadline:
            rest = [r for r, _ in chunk] + pending
            for r in rest:
                _held(r, CODE_DEADLINE, "no time left for a model call")
            report.hold(CODE_DEADLINE, len(rest))
            break
        spent += prompt_tokens + used
        _call(chunk, prompt, config, ask, lexicon, texts, report)
    return report


def _call(
    chunk: list[tuple[dict[str, Any], str]],
    prompt: str,
    config: LLMConfig,
    ask: Ask,
    lexicon: Lexicon,
    texts: Mapping[int, str],
    report: Report,
) -> None:
    by_id = {str(r["line"]): r for r, _ in chunk}
    stages = [*base_stages(lexicon), config.stage]
    for r in by_id.values():  # a comment held for the budget or the deadline was never asked: not these
        r["stages"] = stages
    report.calls += 1
    report.asked.extend(r["line"] for r, _ in chunk)
    max_tokens = OUTPUT_TOKENS_FIXED + OUTPUT_TOKENS_PER_COMMENT * len(chunk)
    try:
        reply = ask(prompt, render(item for _, item in chunk), max_tokens)
    except LLMUnavailable as exc:
        report.failed_calls += 1
        for r in by_id.values():
            _held(r, CODE_UNAVAILABLE, f"model unavailable: {exc.kind}")
        report.hold(CODE_UNAVAILABLE, len(by_id))
        return
    report.input_tokens += reply.input_tokens
    report.output_tokens += reply.output_tokens
    if reply.stop_reason != "end_turn":  # truncated (max_tokens), filtered, guardrail...: not a full answer
        report.failed_calls += 1
        for r in by_id.values():
            _held(r, CODE_INVALID, f"model answer incomplete: {reply.stop_reason}"[:80])
        report.hold(CODE_INVALID, len(by_id))
        return
    parsed = parse_answer(reply.text, by_id)
    for ident, why in parsed.invalid.items():
        _held(by_id[ident], CODE_INVALID, f"model answer invalid: {why}")
        report.hold(CODE_INVALID)
    for ident, judgement in parsed.judgements.items():
        r = by_id[ident]
        before = r["verdict"]
        merge(r, texts[r["line"]], judgement, lexicon, config.model_id)
        if r["verdict"] != before:
            report.escalated += 1
