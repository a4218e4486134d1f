"""Act: carry out a recorded decision. Only an `allow` ever reaches the published bucket, and only
as the scrubbed copy; `block` moves the original to quarantine; every outcome is an event."""

from __future__ import annotations

from typing import Any

from tutela.aws.bus import DecisionBus
from tutela.aws.s3 import S3
from tutela.aws.step import logger, setting, step
from tutela.aws.store import DecisionStore
from tutela.decision import event_detail
from tutela.errors import InvalidInputError
from tutela.objects import ObjectRef

_s3 = S3()
MAX_BATCH = 64 * 1024**2


def _media(ref: ObjectRef, decision: dict[str, Any]) -> dict[str, Any]:
    verdict = decision["verdict"]
    if verdict == "allow":
        staged = decision.get("staged") or {}
        if not staged.get("bucket") or not staged.get("key"):
            raise InvalidInputError("allow without a staged scrubbed copy: refusing to publish")
        dst = setting("PUBLISHED_BUCKET")
        _s3.copy(
            ObjectRef(staged["bucket"], staged["key"]),
            dst,
            ref.key,
            content_type=staged.get("content_type"),
            metadata={"tutela-decision": decision["sk"], "tutela-source-version": ref.version_label},
        )
        return {"published": {"bucket": dst, "key": ref.key}}
    if verdict == "block":
        return _quarantine(ref)
    return {"held": True}


def _quarantine(ref: ObjectRef) -> dict[str, Any]:
    dst, key = setting("QUARANTINE_BUCKET"), f"{ref.key}@{ref.version_label}"
    _s3.copy(ref, dst, key)
    _s3.delete_version(ref)
    return {"quarantined": {"bucket": dst, "key": key}}


def _comments(ref: ObjectRef, decision: dict[str, Any]) -> dict[str, Any]:
    """Publish the allowed comments (their original bytes), quarantine the blocked ones, hold the rest."""
    ptr = decision.get("results") or {}
    results = _s3.get_jsonl(ptr["bucket"], ptr["key"], max_bytes=MAX_BATCH)
    lines = _s3.read_bytes(ref, max_bytes=MAX_BATCH).splitlines()  # the same split ClassifyComments used
    by_verdict: dict[str, list[bytes]] = {"allow": [], "review": [], "block": []}
    for result in results:
        number = result.get("line")
        if not isinstance(number, int) or not 1 <= number <= len(lines):
            raise InvalidInputError("comment results do not match the batch: refusing to publish")
        verdict = result.get("verdict")
        by_verdict[verdict if verdict in by_verdict else "review"].append(lines[number - 1])
    action: dict[str, Any] = {"held_comments": len(by_verdict["review"])}
    if by_verdict["allow"]:
        dst = setting("PUBLISHED_BUCKET")
        _s3.put_bytes(
            b"\n".join(by_verdict["allow"]) + b"\n", dst, ref.key, content_type="application/x-ndjson"
        )
        action["published"] = {"bucket": dst, "key": ref.key, "comments": len(by_verdict["allow"])}
    if by_verdict["block"]:
        dst, key = setting("QUARANTINE_BUCKET"), f"{ref.key}@{ref.version_label}"
        _s3.put_bytes(b"\n".join(by_verdict["block"]) + b"\n", dst, key, content_type="application/x-ndjson")
        action["quarantined"] = {"bucket": dst, "key": key, "comments": len(by_verdict["block"])}
    return action


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ref = ObjectRef.from_detail(event.get("detail"))
    decision = event.get("decision") or {}
    if decision.get("verdict") not in ("allow", "review", "block") or not decision.get("sk"):
        raise InvalidInputError("Act needs a recorded decision")
    kind = decision.get("kind")
    if kind == "media":
        action = _media(ref, decision)
    elif kind == "comments":
        action = _comments(ref, decision)
    else:  # unsupported files and analyzer errors are held where they are (private upload bucket)
        action = {"held": True}
    DecisionStore(setting("DECISIONS_TABLE")).set_action(decision["pk"], decision["sk"], action)
    bus = DecisionBus(setting("EVENT_BUS_NAME"))
    bus.publish("Moderation Decision", event_detail(decision, action))
    if decision.get("escalate"):
        bus.publish("Moderation Escalation", event_detail(decision, action))
    logger.info("acted", extra={"verdict": decision["verdict"], "action": sorted(action)})
    return action
