"""What a dead letter is, and how to replay it without breaking the exactly-once rules (pure: no AWS).

Two producers write to the dead-letter queue:

- the **upload rule** (EventBridge), when it could not start an execution for 24 h: the body is the S3
  "Object Created" event itself. Replay = start a new execution with it. That is a redelivery: if another
  execution has already decided the version, RecordDecision stops it as a duplicate, like any redelivery.
- the state machine's **DeadLetter** state, when RecordDecision or Act failed after their retries: the
  body is the whole state (``detail``, ``execution_id``, ``event_time``, ``decision``, ``record`` if the
  decision was stored, ``error``). Replay = run the tail (RecordDecision, then Act) *as that execution*: with
  the original ``execution_id`` RecordDecision continues with the decision that execution stored (or stores
  it now), and Act's checked writes converge — no second decision, no extra object version, no doubled
  event. A new execution would instead be stopped as a redelivery and the decision never carried out.

- the **UnfinishedExecutions rule** (EventBridge), for a STANDARD execution that timed out or was aborted:
  no Catch runs then, so the DeadLetter state never does. The body is Step Functions' "Execution Status
  Change" event, whose ``detail.input`` is the execution's input: the S3 event. Replay = start a new
  execution with it, a redelivery: RecordDecision takes over a decision the ended execution stored and did
  not act on (``functions/record_decision``), or stops if it did.

A fourth producer is the review API's intake: a **Moderation Decision** event (a held decision) that the
function failed on after Lambda's async retries. Replay = invoke the review function with the event again; its
intake enqueues a decision once however often it is delivered.

Anything else is reported and left in the queue: a dead letter is never dropped because it was not understood.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["start", "resume", "intake", "unknown"]
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Replay:
    kind: Kind
    key: str | None = None  # the upload's key, for the report
    payload: dict[str, Any] = field(default_factory=dict)  # StartExecution input, or RecordDecision input
    reason: str = ""  # why it failed (resume), or why it cannot be replayed (unknown)


def classify(body: str) -> Replay:
    """Tell the two dead-letter shapes apart; anything else is ``unknown`` with the reason."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return Replay("unknown", reason="body is not JSON")
    if not isinstance(message, dict):
        return Replay("unknown", reason="body is not a JSON object")
    detail = message.get("detail")
    if message.get("source") == "tutela.moderation" and message.get("detail-type") == "Moderation Decision":
        key = detail.get("key") if isinstance(detail, dict) else None
        return Replay("intake", key if isinstance(key, str) else None, message)
    if message.get("source") == "aws.states" and message.get("detail-type") == STATUS_CHANGE:
        return _ended_execution(detail)
    obj = detail.get("object") if isinstance(detail, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
        return Replay("unknown", reason="no S3 object in the message")
    key = obj["key"]
    if message.get("source") == "aws.s3" and message.get("detail-type") == "Object Created":
        return Replay("start", key, message)
    execution_id, decision = message.get("execution_id"), message.get("decision")
    if isinstance(execution_id, str) and execution_id and isinstance(decision, dict):
        payload = {
            "detail": detail,
            "execution_id": execution_id,
            "event_time": message.get("event_time"),
            "decision": decision,
        }
        return Replay("resume", key, payload, reason=_error(message.get("error")))
    return Replay("unknown", key, reason="neither an upload event nor a state with execution_id and decision")


STATUS_CHANGE = "Step Functions Execution Status Change"


def _ended_execution(detail: Any) -> Replay:
    """An execution that ended without a Catch: its input (the upload's S3 event) starts one again."""
    status = str(detail.get("status") or "") if isinstance(detail, dict) else ""
    raw = detail.get("input") if isinstance(detail, dict) else None
    if not isinstance(raw, str):
        return Replay("unknown", reason=f"execution {status}: input not included (send the S3 event, README)")
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        event = None
    inner = event.get("detail") if isinstance(event, dict) else None
    obj = inner.get("object") if isinstance(inner, dict) else None
    if not (
        isinstance(obj, dict)
        and isinstance(obj.get("key"), str)
        and event.get("source") == "aws.s3"
        and event.get("detail-type") == "Object Created"
    ):
        return Replay("unknown", reason=f"execution {status}: its input is not an upload event")
    return Replay("start", obj["key"], event, reason=status)


def act_input(resume: Replay, recorded: dict[str, Any]) -> dict[str, Any]:
    """Act's input after RecordDecision returned ``recorded`` (the ASL's Act Parameters)."""
    return {**{k: resume.payload[k] for k in ("detail", "execution_id", "event_time")}, "decision": recorded}


def execution_name(message_id: str) -> str:
    """A name derived from the dead letter: replaying the same message twice starts one execution (Step
    Functions refuses a second execution with the same name)."""
    return ("redrive-" + _NAME_CHARS.sub("-", message_id))[:80]


def _error(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("Error") or "")[:200]
    return ""
