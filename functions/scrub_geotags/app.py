"""ScrubGeotags: lossless location removal; the verified scrubbed copy goes to the staging bucket."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.s3 import S3
from tutela.aws.step import int_setting, logger, metrics, setting, step
from tutela.objects import ObjectRef
from tutela.scrub import scrub_file
from tutela.sniff import BY_NAME

_s3 = S3()


def staging_key(ref: ObjectRef) -> str:
    return f"scrubbed/{ref.version_label}/{ref.key}"


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ref = ObjectRef.from_detail(event.get("detail"))
    staging_bucket = setting("STAGING_BUCKET")
    with tempfile.TemporaryDirectory(prefix="scrub-") as tmp:
        src, dst = Path(tmp) / "in", Path(tmp) / "out"
        _s3.download(ref, src, max_bytes=int_setting("MAX_MEDIA_BYTES", 2 * 1024**3))
        report = scrub_file(src, dst).to_dict()
        media = BY_NAME.get(str(report.get("media_type")))
        key = staging_key(ref)
        _s3.upload_file(dst, staging_bucket, key, content_type=media.mime if media else None)
    # Codes only ("exif.gps"), never the coordinates themselves.
    logger.info("scrubbed", extra={"media_type": report.get("media_type"), "removed": report.get("removed")})
    metrics.add_metric(name="MediaScrubbed", unit=MetricUnit.Count, value=1)
    if report.get("location_found"):
        metrics.add_metric(name="LocationRemoved", unit=MetricUnit.Count, value=1)
    return {
        **report,
        "staging": {"bucket": staging_bucket, "key": key},
        "content_type": media.mime if media else None,
    }
