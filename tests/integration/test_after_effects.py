"""Faults after a side effect, through the real template and ASL on moto: an execution aborted between its
decision and Act, a delete marker landing mid-flight (the upload is withdrawn), a dead letter replayed after
its object changed, and a newer upload's copy landing between an older upload's check and its write. The
promise: every upload ends in exactly one decision, nothing unjudged, unscrubbed or withdrawn is published,
nothing is lost (DESIGN.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stacks import emulated_stack
from tests.integration.test_midflight import items
from tests.integration.test_redrive_pipeline import dead_letter_bodies, redrive
from tutela.scrub import scrub_bytes
from tutela_dev.emulator import samples
from tutela_dev.emulator.runner import Runner, Upload
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with emulated_stack(tmp_path_factory, retry_scale=0.01) as s:
        yield s


def decision(runner: Runner, up: Upload) -> dict[str, Any]:
    """The one decision item of the upload version (its sort key has no suffix)."""
    [only] = [v for k, v in items(runner, up).items() if k.count("#") == 1]
    return only


def action(runner: Runner, up: Upload) -> dict[str, Any] | None:
    found = [v for k, v in items(runner, up).items() if k.endswith("#action")]
    return found[0] if found else None


def after_the_decision(monkeypatch: pytest.MonkeyPatch, do: Callable[[], None]) -> None:
    """Run ``do`` once, right after RecordDecision's conditional put of an object decision committed (not
    after a provenance item's put, which may come first)."""
    from tutela.aws.store import DecisionStore

    real = DecisionStore.put_once
    done: list[bool] = []

    def put_once(self: DecisionStore, item: Any) -> Any:
        out = real(self, item)
        if not done and str(item.get("pk", "")).startswith("obj#") and str(item["sk"]).count("#") == 1:
            done.append(True)
            do()
        return out

    monkeypatch.setattr(DecisionStore, "put_once", put_once)


def published_head(runner: Runner, key: str) -> dict[str, Any] | None:
    try:
        return dict(runner.s3.head_object(Bucket=runner.stack.outputs["PublishedBucketName"], Key=key))
    except runner.s3.exceptions.ClientError:
        return None


def published_bytes(runner: Runner, key: str) -> bytes:
    pub = runner.stack.outputs["PublishedBucketName"]
    return bytes(runner.s3.get_object(Bucket=pub, Key=key)["Body"].read())


def empty_dead_letters(stack: EmulatedStack) -> None:
    """Delete what earlier tests left in the queue (PurgeQueue is allowed once a minute)."""
    sqs, url = stack.client("sqs"), stack.outputs["DeadLetterQueueUrl"]
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    ):
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def status_change(stack: EmulatedStack, execution: dict[str, Any]) -> dict[str, Any]:
    """The "Execution Status Change" event Step Functions sends to the default bus when an execution of the
    template's state machine ends (its detail carries the execution's input)."""
    return {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": json.dumps(
            {
                "executionArn": execution["executionArn"],
                "stateMachineArn": stack.cfn_state_machine_arn,
                "name": execution["name"],
                "status": execution["status"],
                "input": execution["input"],
                "inputDetails": {"included": True},
            }
        ),
    }


def test_an_execution_aborted_between_its_decision_and_act_is_redriven_and_carried_out_once(
    stack: EmulatedStack, runner: Runner, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """StopExecution (an operator, a deployment) or an execution timeout right after RecordDecision stored
    the decision: no Catch runs, so the DeadLetter state never does. The execution's status-change event
    must reach the dead-letter queue (the template's rule), and its redrive must take the stored decision
    over and carry it out once - not stop as a duplicate of an execution that is gone."""
    sfn = stack.client("stepfunctions")
    empty_dead_letters(stack)
    stopped: list[str] = []

    def abort() -> None:
        arn = str(decision(runner, up)["execution_id"])
        sfn.stop_execution(executionArn=arn, error="Operator", cause="aborted mid-way")
        stopped.append(arn)

    up = runner.upload(photo, "media/post-abort/beach.jpg")
    with monkeypatch.context() as m:
        after_the_decision(m, abort)
        [first] = runner.deliver(up)
    assert first["status"] == "ABORTED" and stopped == [first["executionArn"]]
    assert action(runner, up) is None and published_head(runner, up.key) is None
    # What EventBridge does with the execution's end: the template's rules route it (moto delivers to SQS).
    sent = stack.client("events").put_events(Entries=[status_change(stack, first)])
    assert sent["FailedEntryCount"] == 0
    [body] = dead_letter_bodies(stack)
    [replayed] = redrive(stack)
    assert (replayed["kind"], replayed["outcome"], replayed["key"]) == ("start", "started", up.key)
    again = stack.wait(replayed["execution"])
    assert again["status"] == "SUCCEEDED"
    assert json.loads(again["output"])["record"]["duplicate"] is False
    assert decision(runner, up)["execution_id"] == first["executionArn"]  # the stored decision, not a second
    assert "published" in (action(runner, up) or {}).get("action", {})
    assert published_bytes(runner, up.key) == scrub_bytes(photo.read_bytes())[0]
    assert dead_letter_bodies(stack) == [] and json.loads(body)["detail"]["status"] == "ABORTED"


def test_a_delete_marker_before_act_withdraws_the_upload_and_publishes_nothing(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain DELETE (a delete marker: the version stays readable by its id) between the decision and Act,
    and one before the analysis. Each upload ends in one decision (the judged verdict, allow) and Act's
    action ``withdrawn``: nothing is published, not even the scrubbed copy (its owner withdrew it); the
    judged version is kept, noncurrent, under the uploader's marker; nothing is dead-lettered."""
    before = runner.dead_letters()
    late = runner.upload(photo, "media/post-dm/late.jpg")
    with monkeypatch.context() as m:
        after_the_decision(m, lambda: runner.s3.delete_object(Bucket=runner.bucket, Key=late.key))
        [one] = runner.deliver(late)
    early = runner.upload(photo, "media/post-dm/early.jpg")
    runner.s3.delete_object(Bucket=runner.bucket, Key=early.key)
    [two] = runner.deliver(early)
    for up, execution in ((late, one), (early, two)):
        assert execution["status"] == "SUCCEEDED", (execution.get("error"), str(execution.get("cause"))[:300])
        assert decision(runner, up)["verdict"] == "allow"
        assert (action(runner, up) or {})["action"] == {
            "held": True,
            "withdrawn": {"bucket": runner.bucket, "key": up.key, "by": "uploader"},
        }
        assert published_head(runner, up.key) is None
        listed = runner.s3.list_object_versions(Bucket=runner.bucket, Prefix=up.key)
        assert [m["IsLatest"] for m in listed.get("DeleteMarkers", [])] == [True]  # still withdrawn
        assert [v["VersionId"] for v in listed["Versions"]] == [up.version_id]  # kept, noncurrent
    assert runner.dead_letters() == before


def test_a_withdrawn_replacement_leaves_the_earlier_copy_and_publishes_nothing_new(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v1 is published (and retired); the uploader replaces it with v2 and deletes the key while v2 is in
    flight. v2 is withdrawn; v1's copy stays: the DELETE hid v2, the only current version (docs/review.md,
    "Withdrawn uploads")."""
    key = "media/post-dm/replaced.jpg"
    v1 = runner.upload(photo, key)
    [ok] = runner.deliver(v1)
    assert ok["status"] == "SUCCEEDED" and "published" in (action(runner, v1) or {})["action"]
    v2 = runner.upload(samples.photo(tmp_path / "v2.jpg", size=(200, 150)), key)
    with monkeypatch.context() as m:
        after_the_decision(m, lambda: runner.s3.delete_object(Bucket=runner.bucket, Key=key))
        [two] = runner.deliver(v2)
    assert two["status"] == "SUCCEEDED"
    assert (action(runner, v2) or {})["action"]["withdrawn"]["key"] == key
    head = published_head(runner, key)
    assert head is not None and head["Metadata"]["tutela-source-version"] == v1.version_id


def test_a_dead_letter_replayed_after_its_object_changed_converges(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v1's Act fails for good (dead letter); the uploader replaces the photo (v2, published) and withdraws
    another one by its version id; then the operator redrives. v1's replay must neither put the older photo
    back over v2's copy nor fail on the version that is gone; each upload keeps exactly one decision and
    the queue is emptied."""
    from tutela.act import Actor

    empty_dead_letters(stack)
    real = Actor.act

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("Act is down")

    replaced = runner.upload(photo, "media/post-dl/replaced.jpg")
    withdrawn = runner.upload(photo, "media/post-dl/withdrawn.jpg")
    with monkeypatch.context() as m:
        m.setattr(Actor, "act", broken)
        for up in (replaced, withdrawn):
            [failed] = runner.deliver(up)
            assert failed["status"] == "FAILED"
    assert len(dead_letter_bodies(stack)) == 2
    assert Actor.act is real
    v2 = runner.upload(samples.photo(tmp_path / "other.jpg", size=(200, 150)), replaced.key)
    [ok] = runner.deliver(v2)
    assert ok["status"] == "SUCCEEDED"
    runner.s3.delete_object(Bucket=runner.bucket, Key=withdrawn.key, VersionId=withdrawn.version_id)

    outcomes = sorted(redrive(stack), key=lambda o: str(o["key"]))
    assert [(o["key"], o["outcome"]) for o in outcomes] == [
        (replaced.key, "resumed"),
        (withdrawn.key, "resumed"),
    ]
    assert dead_letter_bodies(stack) == []
    assert "superseded" in (action(runner, replaced) or {})["action"]
    assert (action(runner, withdrawn) or {})["action"] == {"held": True, "gone": True}
    head = published_head(runner, replaced.key)
    assert head is not None and head["Metadata"]["tutela-source-version"] == v2.version_id
    assert published_head(runner, withdrawn.key) is None
    for up in (replaced, v2, withdrawn):
        assert decision(runner, up)["verdict"] == "allow"


def _interleave_on_head(
    monkeypatch: pytest.MonkeyPatch, bucket: str, key: str, then: Callable[[], None]
) -> list[bool]:
    """Run ``then`` once, right after Act's first HEAD of ``bucket``/``key`` answered (the window between
    the check and the write)."""
    from tutela.aws.s3 import S3

    real = S3.head
    done: list[bool] = []

    def head(self: S3, b: str, k: str, version_id: str | None = None) -> dict[str, Any] | None:
        out = real(self, b, k, version_id)
        if b == bucket and k == key and version_id is None and not done:
            done.append(True)
            then()
        return out

    monkeypatch.setattr(S3, "head", head)
    return done


def test_a_newer_copy_written_between_an_older_uploads_check_and_its_write_stays(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key already holds an older copy (v0). v1 and v2 land; v1's Act (late: EventBridge does not order)
    reads the published head (v0's: older, so v1 may overwrite) and, before its PUT, v2's Act publishes v2's
    scrubbed copy. v1's PUT must not replace it."""
    key = "media/post-race/photo.jpg"
    v0 = runner.upload(photo, key)
    assert runner.deliver(v0)[0]["status"] == "SUCCEEDED"
    v1 = runner.upload(samples.photo(tmp_path / "one.jpg", size=(240, 180)), key)
    v2 = runner.upload(samples.photo(tmp_path / "two.jpg", size=(200, 150)), key)
    newer, _ = scrub_bytes(v2.path.read_bytes())
    pub = stack.outputs["PublishedBucketName"]

    def v2_publishes() -> None:  # what v2's Act writes (tutela.act: decision, source version, sequencer)
        meta = {"tutela-decision": "v#" + str(v2.version_id), "tutela-source-version": str(v2.version_id)}
        meta["tutela-sequencer"] = v2.sequencer
        runner.s3.put_object(Bucket=pub, Key=key, Body=newer, Metadata=meta)

    with monkeypatch.context() as m:
        done = _interleave_on_head(m, pub, key, v2_publishes)
        [execution] = runner.deliver(v1)
    assert execution["status"] == "SUCCEEDED" and done == [True]
    head = published_head(runner, key)
    assert head is not None and head["Metadata"]["tutela-source-version"] == v2.version_id
    assert published_bytes(runner, key) == newer


def test_concurrent_duplicate_deliveries_and_two_batches_of_one_post_racing_end_in_one_decision_each(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path
) -> None:
    """EventBridge delivers each event twice and the copies run at once; two comment batches of one post
    (and the post's photo) race on the post's items (member registrations, flags). Every upload ends in
    exactly one decision, one published version and one decision event; the copy that lost stops."""
    from tests.integration.stacks import observe_decisions
    from tests.integration.test_pipeline import drain
    from tutela_dev.emulator.runner import object_created_event

    queue = observe_decisions(stack, "observe-after-effects")
    post = "post-race2"
    ups = [
        runner.upload(photo, f"media/{post}/beach.jpg"),
        runner.upload(samples.thread(tmp_path / "a.jsonl"), f"comments/{post}/a.jsonl"),
        runner.upload(samples.thread(tmp_path / "b.jsonl"), f"comments/{post}/b.jsonl"),
    ]
    started: dict[str, list[str]] = {}
    for up in ups:  # every copy started before any is waited for
        head = runner.s3.head_object(Bucket=runner.bucket, Key=up.key, VersionId=up.version_id)
        event = object_created_event(
            runner.bucket, up.key, up.version_id, up.size, head["ETag"].strip('"'), up.sequencer
        )
        started[up.key] = stack.deliver(event) + stack.deliver(event)
    pub = stack.outputs["PublishedBucketName"]
    for up in ups:
        ended = [stack.wait(arn) for arn in started[up.key]]
        assert [e["status"] for e in ended] == ["SUCCEEDED", "SUCCEEDED"], up.key
        duplicates = sorted(json.loads(e["output"])["record"]["duplicate"] for e in ended)
        assert duplicates == [False, True], up.key
        decision(runner, up)  # exactly one decision item
        listed = runner.s3.list_object_versions(Bucket=pub, Prefix=up.key).get("Versions", [])
        assert len([v for v in listed if v["Key"] == up.key]) == 1, up.key
    events = drain(stack, queue)
    kinds = sorted(
        (e["detail"]["key"], e["detail-type"]) for e in events if e["detail"]["key"] in {u.key for u in ups}
    )
    assert kinds == sorted((u.key, "Moderation Decision") for u in ups)
