"""Decide: fuse the scan and scrub results through the versioned media policy (pure, no AWS)."""

from __future__ import annotations

from typing import Any

from tutela.aws.step import logger, step
from tutela.contracts import DecideInput
from tutela.policy.media import media_decision


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = DecideInput.from_event(event)
    decision = media_decision(inp.scan, inp.scrub)
    # DEBUG: what it found is in the decision item (the audit); INFO lines are the steps that change state.
    logger.debug("decided", extra={"verdict": decision["verdict"], "severity": decision.get("severity")})
    return decision
