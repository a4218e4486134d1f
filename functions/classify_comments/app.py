"""ClassifyComments: one verdict per comment of a batch, judged with the post's minor context.

Per-comment results can outgrow a Step Functions payload (256 KB), so they go to the staging bucket as
JSON Lines and the state carries only the batch summary and a pointer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws import clients
from tutela.aws.post_context import PostContextStore, batch_context
from tutela.aws.s3 import S3
from tutela.aws.step import int_setting, logger, metrics, setting, step
from tutela.comments import LEXICON_VERSION, ComprehendToxicity, classify_lines, default_matcher
from tutela.comments.lines import split_batch
from tutela.errors import LimitExceededError
from tutela.limits import MAX_COMMENT_BATCH_BYTES, MAX_COMMENTS_PER_BATCH
from tutela.objects import ObjectRef
from tutela.policy.comments import summarize

_s3 = S3()
default_matcher()  # build the Aho-Corasick automaton during INIT (0.3-0.6 s), not in the first invocation


def results_key(ref: ObjectRef) -> str:
    return f"comment-results/{ref.version_label}/{ref.key}"


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ref = ObjectRef.from_detail(event.get("detail")).require_safe_key()
    staging_bucket = setting("STAGING_BUCKET")
    data = _s3.read_bytes(ref, max_bytes=int_setting("MAX_COMMENT_BATCH_BYTES", MAX_COMMENT_BATCH_BYTES))
    lines = split_batch(data)
    max_comments = int_setting("MAX_COMMENTS_PER_BATCH", MAX_COMMENTS_PER_BATCH)
    if len(lines) > max_comments:
        raise LimitExceededError(f"batch has {len(lines)} lines; the limit is {max_comments}")
    # The post's context flags (one small read whatever the size of the post); registering the batch first
    # lets a caption that declares a child later find it and judge it again (tutela.posts).
    minor = batch_context(PostContextStore(setting("DECISIONS_TABLE")), ref)
    enabled = setting("COMMENTS_COMPREHEND", "false") == "true"
    comprehend = ComprehendToxicity(client=clients.client("comprehend")) if enabled else None
    results = list(classify_lines(lines, minor_context=minor, comprehend=comprehend))
    batch = summarize(results)
    key = results_key(ref)
    _s3.put_jsonl(results, staging_bucket, key)
    logger.info(
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
        "results": {"bucket": staging_bucket, "key": key, "count": len(results)},
        "analyzers": {"comments": {"name": "tutela.comments", "lexicon_version": LEXICON_VERSION}},
    }
