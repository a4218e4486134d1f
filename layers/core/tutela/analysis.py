"""The media path's policy fusion, run by RecordDecision on the Parallel state's output.

It was a Lambda of its own (Decide) between the Parallel state and RecordDecision: one invocation, one
``lambda:Invoke`` wait and one state per upload for a pure function of its input. The state machine now hands
``{"kind": "media_analysis", "analysis": [{scan}, {scrub}]}`` to RecordDecision as the decision to store, and
RecordDecision fuses it before the conditional put, so the promises stay where they were:

- exactly one decision per object version: the fused decision goes through the same conditional put;
- fail closed: whatever cannot be fused (a missing or malformed part, an error in the policy) becomes a held
  ``error`` decision with the error as its reason - what the Catch on Decide (``States.ALL`` ->
  HoldOnError) made of it;
- retries converge: the fusion is a pure function of the state, so a retry (or a dead-letter replay, whose
  state carries the same analysis) stores, or finds, the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANALYSIS_KIND = "media_analysis"


def is_analysis(decision: Mapping[str, Any]) -> bool:
    return decision.get("kind") == ANALYSIS_KIND


def fuse(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The media decision for an analysis payload, or a held error decision when it cannot be made."""
    from tutela.contracts import DecideInput
    from tutela.policy.media import media_decision

    try:
        inp = DecideInput.from_event({"analysis": decision.get("analysis")})
        return media_decision(inp.scan, inp.scrub)
    except Exception as exc:  # fail closed, as the Catch (States.ALL) on the Decide state did
        return {"kind": "error", "error": type(exc).__name__, "cause": str(exc)}
