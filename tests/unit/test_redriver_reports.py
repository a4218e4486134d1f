"""Promise (the dead-letter runbook): ``tutela redrive`` reports exactly what it did or would do with each
message — its id, kind, key, outcome, whether it was deleted and why not — deletes only what was replayed,
and sends RecordDecision and Act exactly the ASL's payloads. (make mutation: these reports were unchecked.)"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3

from tests.conftest import load_event
from tutela.aws.redrive import Redriver, Summary, Targets


class _Lambda:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        payload = json.loads(Payload)
        self.calls.append((FunctionName, payload))
        if FunctionName == "record":
            body = {"duplicate": False, "decision": {"pk": "p", "sk": "s", "verdict": "allow"}}
        else:
            body = {"published": True, "tagged": True}
        return {"Payload": io.BytesIO(json.dumps(body).encode())}


class _Sfn:
    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"executionArn": f"arn:{kwargs['name']}"}


def _queue() -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return sqs, sqs.create_queue(QueueName="dlq")["QueueUrl"]


def _send(sqs: Any, url: str, body: Any) -> str:
    return str(
        sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body))[
            "MessageId"
        ]
    )


def test_a_dry_run_reports_each_message_exactly_and_deletes_nothing(aws: None) -> None:
    sqs, url = _queue()
    upload = load_event("object_created_media")
    junk = _send(sqs, url, "not json")
    start = _send(sqs, url, upload)
    intake = _send(
        sqs,
        url,
        {"source": "tutela.moderation", "detail-type": "Moderation Decision", "detail": {"key": "k"}},
    )
    out: list[dict[str, Any]] = []
    summary = Redriver(Targets(url, "sm", "record", "act"), sqs=sqs, sfn=_Sfn(), lam=_Lambda()).run(
        dry_run=True, report=out.append
    )
    key = upload["detail"]["object"]["key"]
    assert sorted(out, key=lambda o: o["message_id"]) == sorted(
        [
            {
                "message_id": junk,
                "kind": "unknown",
                "key": None,
                "outcome": "not understood",
                "delete": False,
                "reason": "body is not JSON",
            },
            {
                "message_id": start,
                "kind": "start",
                "key": key,
                "outcome": "would start",
                "delete": False,
                "reason": "",
            },
            {
                "message_id": intake,
                "kind": "intake",
                "key": "k",
                "outcome": "not understood",
                "delete": False,
                "reason": "no review function",
            },
        ],
        key=lambda o: o["message_id"],
    )
    assert summary.counts == {"not understood": 2, "would start": 1} and summary.failed == 2
    assert summary.line() == "redrive: 3 message(s): 2 not understood, 1 would start"
    assert (
        len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]) == 3
    )


def test_a_replay_starts_or_resumes_with_the_asls_payloads_and_deletes_what_it_replayed(aws: None) -> None:
    sqs, url = _queue()
    upload = load_event("object_created_media")
    state = load_event("record_decision")
    state["error"] = {"Error": "RuntimeError", "Cause": "x"}
    start = _send(sqs, url, upload)
    resume = _send(sqs, url, state)
    sfn, lam = _Sfn(), _Lambda()
    out: list[dict[str, Any]] = []
    summary = Redriver(Targets(url, "sm", "record", "act"), sqs=sqs, sfn=sfn, lam=lam).run(report=out.append)
    by_id = {o["message_id"]: o for o in out}
    assert by_id[start] == {
        "message_id": start,
        "kind": "start",
        "key": upload["detail"]["object"]["key"],
        "outcome": "started",
        "delete": True,
        "execution": f"arn:redrive-{start}",
    }
    assert sfn.started == [{"stateMachineArn": "sm", "name": f"redrive-{start}", "input": json.dumps(upload)}]
    assert by_id[resume] == {
        "message_id": resume,
        "kind": "resume",
        "key": state["detail"]["object"]["key"],
        "outcome": "resumed",
        "delete": True,
        "verdict": "allow",
        "action": ["published", "tagged"],
    }
    recorded = {k: state[k] for k in ("detail", "execution_id", "event_time", "decision")}
    act = {
        **{k: state[k] for k in ("detail", "execution_id", "event_time")},
        "decision": {"pk": "p", "sk": "s", "verdict": "allow"},
    }
    assert lam.calls == [("record", recorded), ("act", act)]
    assert summary.counts == {"started": 1, "resumed": 1} and isinstance(summary, Summary)
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages") is None  # both deleted


class _FailingSfn:
    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution"
        )


def test_a_dry_run_names_each_replay_and_a_failed_start_keeps_the_message(aws: None) -> None:
    sqs, url = _queue()
    state = load_event("record_decision")
    resume = _send(sqs, url, state)
    intake = _send(
        sqs,
        url,
        {"source": "tutela.moderation", "detail-type": "Moderation Decision", "detail": {"key": "k"}},
    )
    out: list[dict[str, Any]] = []
    Redriver(Targets(url, "sm", "record", "act", "review"), sqs=sqs, sfn=_Sfn(), lam=_Lambda()).run(
        dry_run=True, report=out.append
    )
    assert {o["message_id"]: (o["outcome"], o["delete"]) for o in out} == {
        resume: ("would resume", False),
        intake: ("would re-queue", False),
    }
    sqs2 = boto3.client("sqs", region_name="us-east-1")
    url2 = sqs2.create_queue(QueueName="dlq2")["QueueUrl"]
    start = _send(sqs2, url2, load_event("object_created_media"))
    failed: list[dict[str, Any]] = []
    Redriver(Targets(url2, "sm", "record", "act"), sqs=sqs2, sfn=_FailingSfn(), lam=_Lambda()).run(
        report=failed.append
    )
    assert failed == [
        {
            "message_id": start,
            "kind": "start",
            "key": load_event("object_created_media")["detail"]["object"]["key"],
            "outcome": "failed",
            "delete": False,
            "reason": "ThrottlingException",
        }
    ]
    assert len(sqs2.receive_message(QueueUrl=url2, VisibilityTimeout=0)["Messages"]) == 1  # kept


class _ExistingSfn:
    """The execution a replay would start exists already (an earlier redrive of this message started it)."""

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ExecutionAlreadyExists", "Message": "x"}}, "StartExecution")


class _DuplicateLambda(_Lambda):
    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        self.calls.append((FunctionName, json.loads(Payload)))
        return {"Payload": io.BytesIO(json.dumps({"duplicate": True}).encode())}


def test_a_replay_that_already_happened_is_deleted_without_doing_it_twice(aws: None) -> None:
    """Promise: redriving twice never moderates twice. A start whose execution (named after the message)
    already exists is reported "already started" and deleted; a resume whose version another execution
    already decided is reported so and deleted, and Act is not invoked. The redriver's default clients are
    the process's (tutela.aws.clients), as `tutela redrive` builds it."""
    from tutela.aws import clients

    sqs, url = _queue()
    upload = load_event("object_created_media")
    state = {**load_event("record_decision"), "error": {"Error": "RuntimeError", "Cause": "x"}}
    start, resume = _send(sqs, url, upload), _send(sqs, url, state)
    lam = _DuplicateLambda()
    clients.override("lambda", lam)
    try:
        out: list[dict[str, Any]] = []
        summary = Redriver(Targets(url, "sm", "record", "act"), sfn=_ExistingSfn()).run(report=out.append)
    finally:
        clients.override("lambda", None)
    by_id = {o["message_id"]: o for o in out}
    assert by_id[start]["outcome"] == "already started" and by_id[start]["delete"] is True
    assert by_id[start]["execution"] == f"redrive-{start}"
    assert by_id[resume] == {
        "message_id": resume,
        "kind": "resume",
        "key": state["detail"]["object"]["key"],
        "outcome": "decided by another execution",
        "delete": True,
    }
    assert [name for name, _ in lam.calls] == ["record"]  # never Act
    assert summary.counts == {"already started": 1, "decided by another execution": 1}
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages") is None  # both deleted
