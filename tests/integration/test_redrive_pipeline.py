"""`tutela redrive` on the real template and ASL (in-process moto): dead letters replayed exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tutela.aws.redrive import Redriver, Targets
from tutela_dev.emulator.runner import Runner, object_created_event
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def redriver(stack: EmulatedStack) -> Redriver:
    # moto's copy of the template's state machine does not execute: the stack's executable one stands in.
    return Redriver(
        Targets(
            stack.outputs["DeadLetterQueueUrl"],
            stack.state_machine_arn,
            stack.resources["RecordDecisionFunction"],
            stack.resources["ActFunction"],
        )
    )


def redrive(stack: EmulatedStack, **kw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    summary = redriver(stack).run(report=out.append, **kw)
    assert sum(summary.counts.values()) == len(out)
    return out


def dead_letter_bodies(stack: EmulatedStack) -> list[str]:
    sqs, url = stack.client("sqs"), stack.outputs["DeadLetterQueueUrl"]
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [m["Body"] for m in msgs]


def versions(stack: EmulatedStack, bucket: str, key: str) -> int:
    listed = stack.client("s3").list_object_versions(Bucket=bucket, Prefix=key)
    return len([v for v in listed.get("Versions", []) if v["Key"] == key])


def test_a_decision_act_could_not_carry_out_is_resumed_once(
    stack: EmulatedStack, runner: Runner, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A clean run first: handlers read their settings at INIT, which must happen inside an invocation.
    runner.deliver(runner.upload(photo, "media/post-r0/beach.jpg"))
    module = stack.handler_module("ActFunction")

    class BusDown:
        def __init__(self, *_a: Any) -> None:
            raise RuntimeError("bus is gone")

    with monkeypatch.context() as m:
        m.setattr(module, "DecisionBus", BusDown)
        up = runner.upload(photo, "media/post-r1/beach.jpg")
        [execution] = runner.deliver(up)
    assert execution["status"] == "FAILED"
    [body] = dead_letter_bodies(stack)
    published = stack.outputs["PublishedBucketName"]
    assert versions(stack, published, up.key) == 0

    # A dry run changes nothing and leaves the message where it was.
    [dry] = redrive(stack, dry_run=True)
    assert dry["outcome"] == "would resume" and dry["key"] == up.key
    assert dead_letter_bodies(stack) == [body]

    [done] = redrive(stack)
    assert done["outcome"] == "resumed" and done["verdict"] == "allow", done.get("reason")
    assert dead_letter_bodies(stack) == []
    assert versions(stack, published, up.key) == 1
    assert [d["verdict"] for d in runner.decisions(up)] == ["allow"]

    # The same dead letter again (an operator re-sends it, or a crash before the delete): nothing doubles.
    stack.client("sqs").send_message(QueueUrl=stack.outputs["DeadLetterQueueUrl"], MessageBody=body)
    [again] = redrive(stack)
    assert again["outcome"] == "resumed"
    assert versions(stack, published, up.key) == 1
    assert [d["verdict"] for d in runner.decisions(up)] == ["allow"]


def test_an_upload_the_rule_could_not_deliver_starts_one_execution(
    stack: EmulatedStack, runner: Runner, photo: Path
) -> None:
    up = runner.upload(photo, "media/post-r2/beach.jpg")
    head = runner.s3.head_object(Bucket=runner.bucket, Key=up.key, VersionId=up.version_id)
    event = object_created_event(runner.bucket, up.key, up.version_id, up.size, head["ETag"].strip('"'))
    sqs, url = stack.client("sqs"), stack.outputs["DeadLetterQueueUrl"]
    for _ in range(2):  # delivered to the DLQ twice: the second replay is a redelivery and stops
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    first, second = redrive(stack)
    assert first["outcome"] == second["outcome"] == "started"
    for outcome in (first, second):
        assert stack.wait(outcome["execution"])["status"] == "SUCCEEDED"
    assert [d["verdict"] for d in runner.decisions(up)] == ["allow"]
    assert versions(stack, stack.outputs["PublishedBucketName"], up.key) == 1
    assert dead_letter_bodies(stack) == []


def test_what_is_not_understood_stays_in_the_queue_and_fails_the_cli(
    stack: EmulatedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    from tutela_dev.cli import main

    sqs, url = stack.client("sqs"), stack.outputs["DeadLetterQueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    t = redriver(stack).targets
    argv = ["redrive", "--max", "5", "--queue-url", t.queue_url, "--state-machine-arn", t.state_machine_arn]
    argv += ["--record-function", t.record_function, "--act-function", t.act_function]
    assert main(argv) == 1
    *lines, summary = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["outcome"] for line in lines] == ["not understood"]
    assert summary == "redrive: 1 message(s): 1 not understood"
    assert dead_letter_bodies(stack) == ["not json"]
    sqs.purge_queue(QueueUrl=url)
