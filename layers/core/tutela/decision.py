"""Decision records: what is stored in DynamoDB and sent on the bus (pure; no boto3).

Keys: ``pk = obj#{bucket}/{key}``, ``sk = v#{version}`` for the object's decision,
``v#{version}#c#{line:06d}`` for each comment of a batch (keyed by line number: ids are the uploader's and
may repeat, be huge, or look like another line's fallback) and ``v#{version}#action`` for what Act did
(a new item: the decision item is never updated). The conditional put on the object item is what makes
"exactly one decision per object version" hold under at-least-once delivery; the execution id stored in it
tells a retry of the same execution (continue) from a redelivery (stop).
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tutela.comments.lines import record_id
from tutela.held import comment_reason, reason, step_error_reason
from tutela.objects import ObjectRef
from tutela.record import FrozenRecord
from tutela.review.policy import load_policy
from tutela.review.rules import distribution
from tutela.verdict import VERDICTS, Severity

EVENT_SOURCE = "tutela.moderation"


MAX_KEY_PART_BYTES = 512  # an item key inside another item's sort key (DynamoDB caps a sort key at 1 KiB)


def key_part(pk: str) -> str:
    """An object's ``pk`` as part of another item's sort key (a post's member, an account's strike). S3 keys
    run to 1,024 bytes and DynamoDB sort keys stop there, so a long one is named by its SHA-256 (the item
    keeps the full key in its attributes)."""
    raw = pk.encode("utf-8", "surrogatepass")
    return pk if len(raw) <= MAX_KEY_PART_BYTES else "sha256:" + hashlib.sha256(raw).hexdigest()


def object_keys(ref: ObjectRef) -> dict[str, str]:
    return {"pk": f"obj#{ref.bucket}/{ref.key}", "sk": f"v#{ref.version_label}"}


def comment_keys(ref: ObjectRef, line: int) -> dict[str, str]:
    base = object_keys(ref)
    return {"pk": base["pk"], "sk": f"{base['sk']}#c#{line:06d}"}


def action_keys(ref: ObjectRef) -> dict[str, str]:
    base = object_keys(ref)
    return {"pk": base["pk"], "sk": f"{base['sk']}#action"}


def same_execution(stored: Mapping[str, Any], execution_id: str | None) -> bool:
    """Was ``stored`` written by this execution (so a retry continues) rather than by a redelivery?"""
    return bool(execution_id) and stored.get("execution_id") == execution_id


class StepDecision(FrozenRecord):
    """A decision in one canonical shape whatever step produced it."""

    __slots__ = ("extra", "kind", "reasons", "severity", "verdict")

    def __init__(
        self, kind: str, verdict: str, severity: int, reasons: list[dict[str, Any]], extra: dict[str, Any]
    ) -> None:
        self.kind = kind
        self.verdict = verdict
        self.severity = severity
        self.reasons = reasons
        self.extra = extra


def step_decision(decision: Mapping[str, Any]) -> StepDecision:
    """Validate a step's decision payload; anything malformed becomes a held (review) decision."""
    kind = str(decision.get("kind") or "unknown")
    if kind == "error":
        return StepDecision(
            "error",
            "review",
            int(Severity.MEDIUM),
            [step_error_reason(decision.get("error"), decision.get("cause"))],
            {},
        )
    verdict = decision.get("verdict")
    reasons = decision.get("reasons")
    if verdict not in VERDICTS or not isinstance(reasons, list):
        return StepDecision(
            "error",
            "review",
            int(Severity.MEDIUM),
            [reason("malformed_decision", "a step returned no valid verdict")],
            {},
        )
    severity = decision.get("severity", 0)
    severity = int(severity) if isinstance(severity, int | float) and not isinstance(severity, bool) else 0
    extra = {k: v for k, v in decision.items() if k not in ("kind", "verdict", "severity", "reasons")}
    return StepDecision(kind, str(verdict), max(0, min(severity, int(Severity.CRITICAL))), reasons, extra)


def decided_at(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds")


def expires_at(retention_days: int, now: datetime | None = None) -> int:
    return int(((now or datetime.now(UTC)) + timedelta(days=retention_days)).timestamp())


def object_item(
    ref: ObjectRef,
    decision: StepDecision,
    *,
    execution_id: str | None,
    event_time: str | None,
    retention_days: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The DynamoDB item for an object's decision (plain Python types; floats allowed)."""
    moment = now or datetime.now(UTC)
    item: dict[str, Any] = {
        **object_keys(ref),
        "bucket": ref.bucket,
        "key": ref.key,
        "version_id": ref.version_label,
        "kind": decision.kind,
        "verdict": decision.verdict,
        "severity": decision.severity,
        "reasons": decision.reasons,
        "decided_at": decided_at(moment),
        "expires_at": expires_at(retention_days, moment),
        "execution_id": execution_id,
        "event_time": event_time,
        **decision.extra,
    }
    if ref.post_id:
        item["post_id"] = ref.post_id
    if ref.size is not None:
        item["size"] = ref.size
    if ref.sequencer and decision.verdict != "allow":
        # Which of two uploads of the key is the later: a reviewer's allow obeys it, as Act does. Not kept
        # for an allow (its published copy carries it; the photo's item has ~30 bytes left in its write
        # unit): a reported or re-moderated allow is ordered by event time (tutela.review.service).
        item["sequencer"] = ref.sequencer
    if decision.verdict == "review":
        item["queue"] = "review"  # sparse ReviewQueueIndex
    if decision.kind == "media" and item.get("pdq"):
        item["pdq_shard"] = hash_shard(item["pk"])  # sparse HashIndex: bank additions match it retroactively
    return {k: v for k, v in item.items() if v is not None}


HASH_SHARDS = 16


def hash_shard(pk: str) -> str:
    """The HashIndex partition of a media decision (spread over HASH_SHARDS so none is hot; a retroactive
    match reads the shards in parallel)."""
    return f"{zlib.crc32(pk.encode('utf-8', 'surrogatepass')) % HASH_SHARDS:02d}"


def comment_items(
    ref: ObjectRef,
    results: Iterable[Mapping[str, Any]],
    *,
    decided: str,
    expires: int,
) -> Iterable[dict[str, Any]]:
    """One item per comment result, keyed by its line number (unique in a batch whatever the ids).

    What the batch's own item (``sk`` without ``#c#...``) already holds is not repeated: the execution id
    (the same execution writes the batch item and its records). A record that keeps its uploaded line
    (``uploaded``) keeps its evidence spans without their text, which is ``uploaded``'s judged text at those
    spans (``tutela.comment_records.evidence_text``): under DynamoDB's 1 KB write unit for a typical line."""
    for r in results:
        line = r.get("line")
        if not isinstance(line, int) or isinstance(line, bool) or line < 1:
            raise ValueError("comment result without a line number")
        comment_id = record_id(r.get("id"), line)
        item: dict[str, Any] = {
            **comment_keys(ref, line),
            "kind": "comment",
            "bucket": ref.bucket,
            "key": ref.key,
            "version_id": ref.version_label,
            "comment_id": comment_id,
            "line": r.get("line"),
            "verdict": r.get("verdict", "review"),
            "severity": r.get("severity", 0),
            "categories": r.get("categories", []),
            "score": r.get("score"),
            "evidence": r.get("evidence", []),
            "minor_context": r.get("minor_context"),
            "lexicon_version": r.get("lexicon_version"),
            "stages": r.get("stages"),  # set when the LLM stage ran on the batch (tutela.comments.llm)
            "llm": r.get("llm"),
            "decided_at": decided,
            "expires_at": expires,
        }
        if isinstance(r.get("uploaded"), str):  # a blocked line's evidence (tutela.comment_records)
            item["uploaded"] = r["uploaded"]
            item["evidence"] = [
                {k: v for k, v in e.items() if k != "text"} if isinstance(e, Mapping) else e
                for e in item["evidence"] or []
            ]
        if r.get("computed_verdict"):  # a re-moderation judged it looser: held for a human (tutela.remod)
            item["computed_verdict"] = r["computed_verdict"]
        held = comment_reason(r)
        if held is not None:
            item["reasons"] = [held]
        if ref.post_id:
            item["post_id"] = ref.post_id
        if item["verdict"] == "review":
            item["queue"] = "review"
        yield {k: v for k, v in item.items() if v is not None}


def action_item(
    decision: Mapping[str, Any],
    action: Mapping[str, Any],
    *,
    execution_id: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Act's outcome as its own item next to the decision (append-only history; never an update)."""
    item = {
        "pk": decision["pk"],
        "sk": f"{decision['sk']}#action",
        "kind": "action",
        "decision_sk": decision["sk"],
        "verdict": decision.get("verdict"),
        "action": dict(action),
        "acted_at": decided_at(now),
        "execution_id": execution_id,
        "expires_at": decision.get("expires_at"),
    }
    return {k: v for k, v in item.items() if v is not None}


def event_id(decision: Mapping[str, Any], detail_type: str) -> str:
    """A stable id per (decision, event type): consumers can drop a redelivered event by it."""
    raw = f"{decision.get('pk')}|{decision.get('sk')}|{detail_type}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:32]


def event_detail(item: Mapping[str, Any], action: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What goes on the decisions bus: identifiers, verdict and reason codes. Never text or coordinates."""
    detail = {
        "bucket": item.get("bucket"),
        "key": item.get("key"),
        "version_id": item.get("version_id"),
        "post_id": item.get("post_id"),
        "kind": item.get("kind"),
        "verdict": item.get("verdict"),
        "severity": item.get("severity"),
        "escalate": bool(item.get("escalate")),
        "reasons": sorted({str(r.get("code")) for r in item.get("reasons", []) if isinstance(r, Mapping)}),
        "decision": {"pk": item.get("pk"), "sk": item.get("sk")},
        # normal, or limited (allowed media with a likely/possible minor: no recommendations to strangers)
        "distribution": distribution(item.get("kind"), item.get("verdict"), item.get("minor"), load_policy()),
    }
    if action:
        detail["action"] = dict(action)
    return detail


def to_dynamo(value: Any) -> Any:
    """Floats are not allowed in DynamoDB: round-trip through JSON with Decimal (NaN/inf dropped)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float):
            return None if not math.isfinite(v) else v
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    return json.loads(json.dumps(clean(value)), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    """Decimals back to int/float so items serialise as JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value
