"""ClassifyPost: judge a post's own text (caption, title, hashtags, location name) under the post's context.

The published form of the post (judged fields only, coordinates coarsened) is staged now; Act copies it to the
published bucket only for ``allow``. Nothing in the logs but codes and counts.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.post_context import PostContextStore
from tutela.aws.s3 import S3
from tutela.aws.settings import PostSettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.comments import default_matcher
from tutela.contracts import RESOLVED_KEY, StepInput
from tutela.errors import InvalidInputError
from tutela.objects import ObjectRef
from tutela.posts.classify import classify_post
from tutela.posts.model import parse_post
from tutela.posts.signals import post_policy, warm

_s3 = S3()
_settings = at_init(PostSettings.from_env)
warm()  # build the post-signal automaton during INIT
default_matcher()  # and the comment classifier's (every field goes through it), not in the first invocation


def staged_key(ref: ObjectRef) -> str:
    return f"post-results/{ref.version_label}/{ref.key}"


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    ref = StepInput.from_event(event).ref.require_safe_key()  # an unsafe key decodes to an unsafe one
    policy = post_policy()
    # The read resolves the key (no HEAD); the decision carries it on to PostContext and RecordDecision.
    ref, data = _s3.resolving(ref, lambda r: _s3.read_bytes(r, max_bytes=int(policy["max_bytes"])))
    ref.require_safe_key()
    if ref.post_id is None or not ref.key.endswith(".json"):
        raise InvalidInputError("a post is posts/{post_id}.json or posts/{post_id}/{name}.json")
    post = parse_post(
        data,
        key_post=ref.post_id,
        max_bytes=int(policy["max_bytes"]),
        max_chars=int(policy["max_field_chars"]),
        max_hashtags=int(policy["max_hashtags"]),
    )
    flags = PostContextStore(cfg.decisions_table).flags(post.post_id)
    decision = classify_post(post, flags)
    body = json.dumps(post.published(int(policy["location_decimals"])), ensure_ascii=False).encode("utf-8")
    bucket, key = cfg.staging_bucket, staged_key(ref)
    _s3.put_bytes(body, bucket, key, content_type="application/json")
    logger.info(
        "post classified",
        extra={
            "verdict": decision["verdict"],
            "minor": decision["minor"],
            "reasons": [r["code"] for r in decision["reasons"]],
        },
    )
    metrics.add_metric(name="PostsClassified", unit=MetricUnit.Count, value=1)
    staged = {"bucket": bucket, "key": key, "content_type": "application/json"}
    return {**decision, "staged": staged, RESOLVED_KEY: ref.key}
