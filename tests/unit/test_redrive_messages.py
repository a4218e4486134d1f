"""tutela.redrive: telling the two dead-letter shapes apart (pure)."""

from __future__ import annotations

import json

from tests.conftest import load_event
from tutela.redrive import act_input, classify, execution_name


def test_an_upload_event_the_rule_could_not_deliver_starts_a_new_execution() -> None:
    event = load_event("object_created_media")
    replay = classify(json.dumps(event))
    assert replay.kind == "start"
    assert replay.key == event["detail"]["object"]["key"]
    assert replay.payload == event  # replayed exactly as S3 sent it


def test_a_state_machine_dead_letter_resumes_as_its_own_execution() -> None:
    state = load_event("record_decision")
    state["error"] = {"Error": "RuntimeError", "Cause": "table is gone"}
    state["record"] = {"duplicate": False, "decision": {"verdict": "allow"}}
    replay = classify(json.dumps(state))
    assert replay.kind == "resume" and replay.reason == "RuntimeError"
    # RecordDecision gets exactly what the ASL passes it, with the original execution id.
    assert replay.payload == {k: state[k] for k in ("detail", "execution_id", "event_time", "decision")}
    recorded = {"pk": "p", "sk": "s", "verdict": "allow"}
    assert act_input(replay, recorded) == {
        "detail": state["detail"],
        "execution_id": state["execution_id"],
        "event_time": state["event_time"],
        "decision": recorded,
    }


def test_anything_else_is_not_understood_and_says_why() -> None:
    state = load_event("record_decision")
    no_execution = {k: v for k, v in state.items() if k != "execution_id"}
    for body, reason in [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"detail": {}}', "no S3 object"),
        (json.dumps(no_execution), "neither"),
        ("[" * 100_000, "not JSON"),
    ]:
        replay = classify(body)
        assert replay.kind == "unknown" and reason in replay.reason, body[:40]


def test_execution_names_are_deterministic_and_valid() -> None:
    name = execution_name("a1b2/c3:d4 e5" + "x" * 200)
    assert name == execution_name("a1b2/c3:d4 e5" + "x" * 200)
    assert name.startswith("redrive-a1b2-c3-d4-e5") and len(name) == 80
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def test_a_held_decision_event_the_review_intake_failed_on_is_re_queued() -> None:
    event = {
        "source": "tutela.moderation",
        "detail-type": "Moderation Decision",
        "detail": {"key": "media/p/x.jpg", "verdict": "review", "decision": {"pk": "obj#b/k", "sk": "v#1"}},
    }
    replay = classify(json.dumps(event))
    assert replay.kind == "intake" and replay.key == "media/p/x.jpg" and replay.payload == event
    escalation = {**event, "detail-type": "Moderation Escalation"}
    assert classify(json.dumps(escalation)).kind == "unknown"


class _Payload:
    def __init__(self, body: object) -> None:
        self.body = json.dumps(body).encode()

    def read(self) -> bytes:
        return self.body


class _Lambda:
    """Records invocations; the review function fails the first time."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, object]:  # boto3 names
        self.calls.append(FunctionName)
        if len(self.calls) == 1:
            return {"FunctionError": "Unhandled", "Payload": _Payload({"errorType": "TransientError"})}
        return {"Payload": _Payload({"queued": 1})}


def test_review_intake_dead_letters_are_replayed_and_kept_until_they_succeed(aws: None) -> None:
    import boto3

    from tutela.aws.redrive import Redriver, Targets

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    event = {"source": "tutela.moderation", "detail-type": "Moderation Decision", "detail": {"key": "k"}}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    lam = _Lambda()
    redriver = Redriver(Targets(url, "sm", "record", "act", "review"), sqs=sqs, sfn=object(), lam=lam)
    out: list[dict[str, object]] = []
    redriver.run(report=out.append)
    assert [o["outcome"] for o in out] == ["failed"] and lam.calls == ["review"]
    assert "TransientError" in str(out[0]["reason"])
    redriver.run(report=out.append)  # released at the end of the first run: the next one sees it
    assert [o["outcome"] for o in out] == ["failed", "re-queued"]
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages") is None
    no_review = Redriver(Targets(url, "sm", "record", "act"), sqs=sqs, sfn=object(), lam=lam)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    assert [o["outcome"] for o in _run(no_review)] == ["not understood"]


def _run(redriver: object) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    redriver.run(report=out.append)  # type: ignore[attr-defined]
    return out


def _status_change(status: str, execution_input: str | None) -> dict[str, object]:
    """What EventBridge sends for a STANDARD execution that ended (the template's UnfinishedExecutions
    rule)."""
    detail: dict[str, object] = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:tutela-moderation-long-dev:e1",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:tutela-moderation-long-dev",
        "name": "e1",
        "status": status,
        "inputDetails": {"included": execution_input is not None},
    }
    if execution_input is not None:
        detail["input"] = execution_input
    return {"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": detail}


def test_an_execution_that_timed_out_or_was_aborted_starts_its_upload_again() -> None:
    """A timeout or StopExecution runs no Catch: nothing reached the queue but this event. Its input is the
    upload's S3 event: replayed as a new execution (a takeover if the decision was stored, not acted on)."""
    event = load_event("object_created_media")
    for status in ("TIMED_OUT", "ABORTED"):
        replay = classify(json.dumps(_status_change(status, json.dumps(event))))
        assert (replay.kind, replay.key, replay.reason) == ("start", event["detail"]["object"]["key"], status)
        assert replay.payload == event
    for bad, reason in [
        (None, "input not included"),
        ("[]", "not an upload event"),
        ("{", "not an upload"),
        ('{"detail": [1]}', "not an upload"),
    ]:
        replay = classify(json.dumps(_status_change("ABORTED", bad)))
        assert replay.kind == "unknown" and reason in replay.reason, bad
