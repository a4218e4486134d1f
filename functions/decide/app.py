"""Decide: fuse the scan and scrub results through the versioned media policy (pure, no AWS)."""

from __future__ import annotations

from typing import Any

from tutela.aws.step import logger, step
from tutela.errors import InvalidInputError
from tutela.policy.media import decide_media


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The Parallel state's branches each return one labelled part: [{"scan": ...}, {"scrub": ...}].
    parts: dict[str, Any] = {}
    for part in event.get("analysis") or []:
        if isinstance(part, dict):
            parts.update(part)
    scan, scrub = parts.get("scan"), parts.get("scrub")
    if not isinstance(scan, dict) or not isinstance(scrub, dict):
        raise InvalidInputError("Decide needs the scan and scrub results")
    decision = decide_media(scan, scrub)
    if not scrub.get("verified") and decision["verdict"] == "allow":
        # Never publish a copy whose scrubbing was not verified, whatever the policy said.
        unverified = {"code": "scrub_unverified", "message": "scrubbed copy was not verified"}
        decision = {**decision, "verdict": "review", "reasons": [*decision["reasons"], unverified]}
    if (
        scan.get("kind") == "image"
        and scrub.get("frames") is not None
        and scan.get("frames") != scrub.get("frames")
        and decision["verdict"] == "allow"
    ):
        # Published = scanned: the scrubbed copy must hold exactly the frames/pages the scan covered.
        mismatch = {"code": "frames_mismatch", "message": "scrubbed copy and scan cover different frames"}
        decision = {**decision, "verdict": "review", "reasons": [*decision["reasons"], mismatch]}
    logger.info("decided", extra={"verdict": decision["verdict"], "severity": decision.get("severity")})
    return {
        "kind": "media",
        **decision,
        "media_type": scan.get("media_type"),
        "frames": scan.get("frames"),
        "analyzers": {
            "scan": scan.get("backend"),
            "scrub": {"name": "tutela.scrub", "removed": scrub.get("removed", [])},
        },
        "signals": {
            "labels": scan.get("ModerationLabels", [])[:25],
            "faces": [f.get("AgeRange") for f in scan.get("Faces", [])][:25],
            "location_found": bool(scrub.get("location_found")),
        },
        "staged": {**scrub.get("staging", {}), "content_type": scrub.get("content_type")},
        "timings_ms": {"scan": scan.get("timings_ms"), "scrub": scrub.get("timings_ms")},
    }
