"""A media decision made again from a fresh scan, and a comment batch's context for its re-judging.

The scrub is not repeated: it depends on the bytes only, which a policy, model or bank change does not
touch, and a re-moderation never publishes. What the scrub told the policy (a location was found, the copy
was verified, the frames it covered) comes from the decision being re-judged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tutela.objects import ObjectRef
from tutela.posts.context import comment_context as flags_context
from tutela.posts.context import floor_media

Flags = Callable[[str], frozenset[str]]


def _codes(item: Mapping[str, Any]) -> set[str]:
    return {str(r.get("code")) for r in item.get("reasons") or [] if isinstance(r, Mapping)}


def remade_media(
    scan: Any, error: Any, previous: Mapping[str, Any], flags: Flags, ref: ObjectRef
) -> dict[str, Any]:
    """The policy's decision on ``scan`` (or a held error decision when the scan failed: fail closed), with
    the post's declared-child floor when its text declares one."""
    if not isinstance(scan, Mapping):
        err = error if isinstance(error, Mapping) else {}
        return {"kind": "error", "error": err.get("Error") or "ScanFailed", "cause": err.get("Cause")}
    from tutela.policy.media import media_decision

    old = _codes(previous)
    raw = previous.get("signals")
    signals: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    scrub = {
        "location_found": bool(signals.get("location_found")),
        "verified": "scrub_unverified" not in old,
        "removed": ((previous.get("analyzers") or {}).get("scrub") or {}).get("removed", []),
    }
    decision = media_decision(dict(scan), scrub)
    decision.pop("staged", None)  # a re-moderation never publishes
    decision["timings_ms"] = {"scan": scan.get("timings_ms")}
    if "frames_mismatch" in old:  # the scrubbed copy still covers other frames than the scan
        decision["verdict"] = "review" if decision["verdict"] == "allow" else decision["verdict"]
        decision["reasons"] = [
            *decision["reasons"],
            {"code": "frames_mismatch", "message": "scrubbed copy and scan cover different frames"},
        ]
    if ref.post_id and "text_minor" in flags(ref.post_id):
        decision = floor_media(decision)
    return decision


def comment_context(previous: Mapping[str, Any], flags: Flags, ref: ObjectRef) -> bool | None:
    """The stricter of the context the batch was judged in and the post's context now (None = unknown,
    judged as a child's post: fail closed)."""
    now = flags_context(flags(ref.post_id)) if ref.post_id else None
    before = previous.get("minor_context")
    if True in (now, before):
        return True
    if now is None or before is None:
        return None
    return False
