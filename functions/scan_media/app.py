"""ScanMedia: labels and faces for one uploaded image/video (Rekognition v7 shape)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

from tutela.aws.banks import S3Blobs
from tutela.aws.s3 import S3
from tutela.aws.settings import ScanSettings, at_init
from tutela.aws.step import logger, step
from tutela.bank.known import scan_and_match
from tutela.bank.store import BankRepository, CachedIndex
from tutela.contracts import RESOLVED_KEY, StepInput
from tutela.errors import LimitExceededError, TutelaError
from tutela.limits import SCAN_REPORT_MAX_BYTES
from tutela.vision import get_backend, scan_file
from tutela.vision.limits import ScanLimits

_s3 = S3()
_settings = at_init(ScanSettings.from_env)
_banks: CachedIndex | None = None


def _bank_index(bucket: str) -> CachedIndex:
    """One bank index per warm container, re-read when the bank bucket's index version changes."""
    global _banks
    if _banks is None:
        _banks = CachedIndex(lambda: BankRepository(S3Blobs(bucket)))
    return _banks


def _warm() -> None:
    """Load the vision backend's models at INIT (Lambda gives INIT a full CPU burst and it is not billed
    against the first request). Idempotent and lock-guarded: if it fails here (no OpenCV in this
    environment), the first request raises the same clear error through the handler."""
    with contextlib.suppress(TutelaError):  # a ConfigurationError too: the handler reports it per request
        name = _settings().vision_backend
        if name != "local":
            return  # Rekognition has no model to load; its client is created on first use
        get_backend(name).version()


_warm()


def versions(cfg: ScanSettings) -> dict[str, Any]:
    """What judges media here (a re-moderation's ruleset, ``tutela.remod``): the model and bank versions."""
    banks = (
        int(BankRepository(S3Blobs(cfg.bank_bucket)).read_index().get("version", 0)) if cfg.bank_bucket else 0
    )
    return {
        "model": f"{cfg.vision_backend}: {get_backend(cfg.vision_backend).version()}",
        "banks": str(banks),
    }


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    if isinstance(event, dict) and event.get("op") == "versions":
        return versions(cfg)
    ref = StepInput.from_event(event).ref.require_safe_key()  # an unsafe key decodes to an unsafe one
    backend = cfg.vision_backend
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        src = Path(tmp) / "object"
        # Bug fix (issue 9): it fetched up to MAX_MEDIA_BYTES (2 GiB) and then refused a video over 500 MiB.
        limit = min(cfg.max_media_bytes, ScanLimits().max_file_bytes)
        # The download resolves the key (no HEAD); the key goes on in the report (RESOLVED_KEY).
        ref, _ = _s3.resolving(ref, lambda r: _s3.download(r, src, max_bytes=limit))
        ref.require_safe_key()
        # A re-moderation run names the bank version it is keyed on: the scan uses at least that one.
        at_least = int(event["banks"]) if str(event.get("banks", "")).isdigit() else None
        index = _bank_index(cfg.bank_bucket).get(at_least=at_least) if cfg.bank_bucket else None
        report = scan_and_match(src, backend=backend, index=index, scan=scan_file)
    # DEBUG: what it found is in the decision item (the audit); INFO lines are the steps that change state.
    logger.debug(
        "scanned",
        extra={
            "media_type": report.get("media_type"),
            "backend": backend,
            "labels": len(report.get("ModerationLabels", [])),
            "faces": len(report.get("Faces", [])),
            "frames": report.get("frames"),
            "known_content": [m["bank"] for m in report.get("known_content", [])],
            "timings_ms": report.get("timings_ms"),  # per stage; the decision keeps the total
        },
    )
    out = {**report, RESOLVED_KEY: ref.key}
    size = len(json.dumps(out, default=str).encode())
    if size > SCAN_REPORT_MAX_BYTES:  # held with its reason, not a state the execution cannot carry
        raise LimitExceededError(f"scan report is {size} bytes; the state carries {SCAN_REPORT_MAX_BYTES}")
    return out
