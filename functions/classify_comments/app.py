"""ClassifyComments: one verdict per comment of a batch, judged with the post's minor context.

Per-comment results travel in the state when small (``tutela.comment_records``); bigger ones would
outgrow a Step Functions payload (256 KB), so they go to the staging bucket as JSON Lines and the state
carries only the batch summary and a pointer.
"""

from __future__ import annotations

import importlib
import json
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws import clients
from tutela.aws.post_context import PostContextStore, batch_context
from tutela.aws.s3 import S3
from tutela.aws.settings import ClassifySettings, LLMSettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.comment_records import fits_inline, informative, without_text
from tutela.comments import (
    LEXICON_VERSION,
    ComprehendToxicity,
    classify_lines,
    default_lexicon,
    default_matcher,
)
from tutela.comments.lines import parse_batch, split_batch
from tutela.comments.stages import base_stages, carries_model_text
from tutela.contracts import RESOLVED_KEY, StepInput
from tutela.errors import ConfigurationError, LimitExceededError
from tutela.limits import MAX_COMMENT_RESULTS_BYTES
from tutela.objects import ObjectRef
from tutela.policy.comments import summarize

if TYPE_CHECKING:
    from tutela.comments.llm import Report

RESERVE_SECONDS = 10  # after the last model call: staging the results and returning
_s3 = S3()
_settings = at_init(ClassifySettings.from_env)
default_matcher()  # load the prebuilt matcher and model during INIT, not in the first invocation


def _llm_stage() -> bool:
    try:
        return _settings().llm is not None
    except ConfigurationError:  # raised again, with its message, by the first request
        return False


if _llm_stage():  # the LLM stage's code (and Bedrock's) only when it is configured, then during INIT
    importlib.import_module("tutela.aws.bedrock")


def results_key(ref: ObjectRef) -> str:
    return f"comment-results/{ref.version_label}/{ref.key}"


def deadline(context: Any) -> float | None:
    """When stage 3 must have finished its last call (monotonic seconds): the invocation's end less what
    the handler still does afterwards (one staged PUT)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return time.monotonic() + remaining() / 1000 - RESERVE_SECONDS


def stages(llm: LLMSettings | None) -> list[str]:
    out = base_stages(default_lexicon())
    return [*out, f"llm:{llm.model_id}"] if llm is not None else out


def run_llm_stage(
    settings: LLMSettings,
    results: list[dict[str, Any]],
    lines: list[bytes],
    minor: bool | None,
    until: float | None,
) -> Report:
    from tutela.aws.bedrock import WORST_CALL_SECONDS, BedrockConverse
    from tutela.comments.llm import LLMConfig, judge

    texts = {c.line: c.text for c in parse_batch(lines, minor) if c.text is not None}
    config = LLMConfig(
        settings.model_id,
        settings.scope,  # type: ignore[arg-type]  # checked by LLMSettings
        batch_tokens=settings.batch_tokens,
        call_seconds=WORST_CALL_SECONDS,
    )
    ask = BedrockConverse(settings.model_id).ask
    report = judge(results, texts, config=config, ask=ask, lexicon=default_lexicon(), deadline=until)
    logger.info(  # counts and codes only: never a comment or the model's reasons
        "llm stage",
        extra={k: v for k, v in report.summary().items() if k != "lines"},
    )
    metrics.add_metric(name="CommentsLLMCalls", unit=MetricUnit.Count, value=report.calls)
    metrics.add_metric(name="CommentsLLMFailedCalls", unit=MetricUnit.Count, value=report.failed_calls)
    metrics.add_metric(name="CommentsLLMInputTokens", unit=MetricUnit.Count, value=report.input_tokens)
    metrics.add_metric(name="CommentsLLMOutputTokens", unit=MetricUnit.Count, value=report.output_tokens)
    return report


def classified(lines: list[bytes], minor: bool | None, comprehend: Any) -> list[dict[str, Any]]:
    """Every line's result, counted as the staged JSON Lines: a result can be ~30x its line (a short comment
    repeating a term: up to 100 evidence spans), so a batch inside the line and byte limits could stage
    more than RecordDecision and Act read back (no decision at all) or than this function's memory holds.
    Past the limit the batch is held whole (LimitExceededError: one decision, with the reason)."""
    results: list[dict[str, Any]] = []
    size = 0
    for r in classify_lines(lines, minor_context=minor, comprehend=comprehend):
        size += len(json.dumps(r, ensure_ascii=False).encode()) + 1
        if size > MAX_COMMENT_RESULTS_BYTES:
            raise LimitExceededError(f"the batch's results pass {MAX_COMMENT_RESULTS_BYTES} bytes")
        results.append(r)
    return results


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    ref = StepInput.from_event(event).ref.require_safe_key()  # an unsafe key decodes to an unsafe one
    staging_bucket = cfg.staging_bucket
    # The read resolves the key (no HEAD); the decision carries it on (RESOLVED_KEY).
    ref, data = _s3.resolving(ref, lambda r: _s3.read_bytes(r, max_bytes=cfg.max_batch_bytes))
    lines = split_batch(data)
    ref.require_safe_key()
    if len(lines) > cfg.max_comments:
        raise LimitExceededError(f"batch has {len(lines)} lines; the limit is {cfg.max_comments}")
    # The post's context flags (one small read whatever the size of the post); registering the batch first
    # lets a caption that declares a child later find it and judge it again (tutela.posts).
    minor = batch_context(PostContextStore(cfg.decisions_table), ref)
    comprehend = ComprehendToxicity(client=clients.client("comprehend")) if cfg.comprehend else None
    results = classified(lines, minor, comprehend)
    analyzer: dict[str, Any] = {"name": "tutela.comments", "lexicon_version": LEXICON_VERSION}
    if cfg.llm is not None:  # stage 3: only ever stricter; every failure is a review (tutela.comments.llm)
        analyzer["llm"] = run_llm_stage(cfg.llm, results, lines, minor, deadline(context)).summary()
    analyzer["stages"] = stages(cfg.llm)
    base = base_stages(default_lexicon())
    for r in results:  # a comment with a record of its own says which stages judged it (the rest: the batch)
        if "stages" not in r and informative(r):
            r["stages"] = base
    batch = summarize(results)
    pointer: dict[str, Any] = {"count": len(results)}
    inline = without_text(results)
    if fits_inline(inline) and not carries_model_text(results):  # a model's reason may quote the comment
        pointer["inline"] = inline
    else:
        key = results_key(ref)
        _s3.put_jsonl(results, staging_bucket, key)
        pointer.update(bucket=staging_bucket, key=key)
    # DEBUG: what it found is in the decision item (the audit); INFO lines are the steps that change state.
    logger.debug(
        "classified", extra={"comments": len(results), "counts": batch.counts, "minor_context": minor}
    )
    metrics.add_metric(name="CommentsClassified", unit=MetricUnit.Count, value=len(results))
    return {
        "kind": "comments",
        "verdict": batch.verdict,
        "severity": batch.severity,
        "reasons": batch.reasons,
        "counts": batch.counts,
        "minor_context": minor,
        "results": pointer,
        "analyzers": {"comments": analyzer},
        RESOLVED_KEY: ref.key,
    }
