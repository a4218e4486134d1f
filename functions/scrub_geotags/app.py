"""ScrubGeotags: lossless location removal, verified by re-parsing.

Below SPLICE_MIN_BYTES (photos, short videos) nothing is written: the step returns the verified copy's
sha256 and size, and Act, on allow, scrubs the same original version again with the same deterministic
function and publishes those bytes only if they hash the same (one PUT instead of a staged PUT plus a COPY).
Big videos are scrubbed into the staging bucket in S3 (ranged reads, UploadPartCopy) and Act copies them."""

from __future__ import annotations

import hashlib
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.s3 import S3
from tutela.aws.s3_splice import scrub_object
from tutela.aws.settings import ScrubSettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.contracts import RESOLVED_KEY, StepInput
from tutela.errors import LimitExceededError
from tutela.objects import ObjectRef
from tutela.scrub import scrub_bytes
from tutela.sniff import BY_NAME, SNIFF_BYTES, sniff

_s3 = S3()
_settings = at_init(ScrubSettings.from_env)


def staging_key(ref: ObjectRef) -> str:
    return f"scrubbed/{ref.version_label}/{ref.key}"


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    ref = StepInput.from_event(event).ref.require_safe_key()  # an unsafe key decodes to an unsafe one
    staging_bucket = cfg.staging_bucket
    size = ref.size
    if size is None:  # events carry the size; without it the HEAD that reads it resolves the key
        ref, size = _s3.resolving(ref, _s3.size)
    max_bytes = cfg.max_media_bytes
    if size > max_bytes:
        raise LimitExceededError(f"object is {size} bytes; the limit is {max_bytes}")
    staging: dict[str, Any]
    if size >= cfg.splice_min_bytes:
        # Big videos: plan from ranged reads, copy unchanged ranges server-side (UploadPartCopy), write only
        # the rewritten boxes, verify the result in S3. The Lambda never holds or downloads the file.
        # The first read resolves the key (no HEAD); the key goes on in the report (RESOLVED_KEY).
        ref, head = _s3.resolving(ref, lambda r: _s3.head_bytes(r, SNIFF_BYTES))
        key = staging_key(ref.require_safe_key())
        media = sniff(head)
        extra = {"ContentType": media.mime} if media else None
        report = scrub_object(
            ref.bucket,
            ref.key,
            staging_bucket,
            key,
            version_id=ref.version_id,
            client=_s3.client,
            extra_args=extra,
        ).to_dict()
        staging = {"bucket": staging_bucket, "key": key}
    else:
        # One GET, scrubbed and verified in memory (bounded by SPLICE_MIN_BYTES); nothing staged.
        limit = min(max_bytes, cfg.splice_min_bytes)
        ref, data = _s3.resolving(ref, lambda r: _s3.read_bytes(r, max_bytes=limit))
        ref.require_safe_key()
        out, rep = scrub_bytes(data)
        report = rep.to_dict()
        media = BY_NAME.get(str(report.get("media_type")))
        staging = {"sha256": hashlib.sha256(out).hexdigest(), "size": len(out)}
    # Codes only ("exif.gps"), never the coordinates themselves.
    # DEBUG: what it found is in the decision item (the audit); INFO lines are the steps that change state.
    logger.debug("scrubbed", extra={"media_type": report.get("media_type"), "removed": report.get("removed")})
    if report.get("location_found"):
        metrics.add_metric(name="LocationRemoved", unit=MetricUnit.Count, value=1)
    return {
        **report,
        "staging": staging,
        "content_type": media.mime if media else None,
        RESOLVED_KEY: ref.key,
    }
