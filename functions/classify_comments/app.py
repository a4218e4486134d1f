"""ClassifyComments: one verdict per comment of a batch, judged with the post's minor context.

Per-comment results travel in the state when small (``tutela.comment_records``); bigger ones would
outgrow a Step Functions payload (256 KB), so they go to the staging bucket as JSON Lines and the state
carries only the batch summary and a pointer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws import clients
from tutela.aws.post_context import PostContextStore, batch_context
from tutela.aws.s3 import S3
from tutela.aws.settings import ClassifySettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.comment_records import fits_inline, without_text
from tutela.comments import LEXICON_VERSION, ComprehendToxicity, classify_lines, default_matcher
from tutela.comments.lines import split_batch
from tutela.contracts import StepInput
from tutela.errors import LimitExceededError
from tutela.objects import ObjectRef
from tutela.policy.comments import summarize

_s3 = S3()
_settings = at_init(ClassifySettings.from_env)
default_matcher()  # build the Aho-Corasick automaton during INIT (0.3-0.6 s), not in the first invocation


def results_key(ref: ObjectRef) -> str:
    return f"comment-results/{ref.version_label}/{ref.key}"


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    ref = StepInput.from_event(event).ref.require_safe_key()
    staging_bucket = cfg.staging_bucket
    lines = split_batch(_s3.read_bytes(ref, max_bytes=cfg.max_batch_bytes))
    if len(lines) > cfg.max_comments:
        raise LimitExceededError(f"batch has {len(lines)} lines; the limit is {cfg.max_comments}")
    # The post's context flags (one small read whatever the size of the post); registering the batch first
    # lets a caption that declares a child later find it and judge it again (tutela.posts).
    minor = batch_context(PostContextStore(cfg.decisions_table), ref)
    comprehend = ComprehendToxicity(client=clients.client("comprehend")) if cfg.comprehend else None
    results = list(classify_lines(lines, minor_context=minor, comprehend=comprehend))
    batch = summarize(results)
    pointer: dict[str, Any] = {"count": len(results)}
    inline = without_text(results)
    if fits_inline(inline):
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
        "analyzers": {"comments": {"name": "tutela.comments", "lexicon_version": LEXICON_VERSION}},
    }
