"""ScanMedia: labels and faces for one uploaded image/video (Rekognition v7 shape)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.s3 import S3
from tutela.aws.step import int_setting, logger, metrics, setting, step
from tutela.errors import TutelaError
from tutela.objects import ObjectRef
from tutela.vision import get_backend, scan_file

_s3 = S3()


def _warm() -> None:
    """Load the vision backend's models at INIT (Lambda gives INIT a full CPU burst and it is not billed
    against the first request). Idempotent and lock-guarded: if it fails here (no OpenCV in this
    environment), the first request raises the same clear error through the handler."""
    name = os.environ.get("VISION_BACKEND") or "local"
    if name != "local":
        return  # Rekognition has no model to load; its client is created on first use
    with contextlib.suppress(TutelaError):
        get_backend(name).version()


_warm()


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ref = ObjectRef.from_detail(event.get("detail")).require_safe_key()
    backend = setting("VISION_BACKEND", "local")
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        src = Path(tmp) / "object"
        _s3.download(ref, src, max_bytes=int_setting("MAX_MEDIA_BYTES", 2 * 1024**3))
        report = scan_file(src, backend=backend).to_dict()
    logger.info(
        "scanned",
        extra={
            "media_type": report.get("media_type"),
            "backend": backend,
            "labels": len(report.get("ModerationLabels", [])),
            "faces": len(report.get("Faces", [])),
        },
    )
    metrics.add_metric(name="MediaScanned", unit=MetricUnit.Count, value=1)
    return report
