"""Retries converge, through the real ASL on moto: a step that fails transiently after its side effects is
retried by the state machine and the end state is one clean run's (issue 8, items 5, 6 and 7)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stacks import emulated_stack, observe_decisions
from tests.integration.test_pipeline import CHILD, _FakeScan, drain
from tutela.errors import TransientError
from tutela_dev.emulator import samples
from tutela_dev.emulator.runner import Runner
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with emulated_stack(tmp_path_factory, retry_scale=0.01) as s:
        yield s


@pytest.fixture(scope="module")
def events_queue(stack: EmulatedStack) -> str:
    return observe_decisions(stack, "observe-retries")


def fail_once_after(obj: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Let ``obj.name`` do its work, then raise TransientError the first time (a lost response)."""
    real: Callable[..., Any] = getattr(obj, name)
    calls: list[int] = []

    def once(*a: Any, **k: Any) -> Any:
        out = real(*a, **k)
        calls.append(1)
        if len(calls) == 1:
            raise TransientError("injected: the response was lost after the side effect")
        return out

    monkeypatch.setattr(obj, name, once)
    return calls


def versions(stack: EmulatedStack, bucket_output: str, key: str) -> list[dict[str, Any]]:
    s3 = stack.client("s3")
    return s3.list_object_versions(Bucket=stack.outputs[bucket_output], Prefix=key).get("Versions", [])


def test_record_decision_retried_after_its_put_committed_still_acts(
    stack: EmulatedStack, runner: Runner, photo: Path, events_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 5: the retry saw its own item as a duplicate delivery and the execution SUCCEEDED with
    nothing published and no event."""
    from tutela.aws.store import DecisionStore

    calls = fail_once_after(DecisionStore, "put_once", monkeypatch)
    up = runner.upload(photo, "media/retry-1/beach.jpg")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED" and len(calls) >= 2
    assert json.loads(execution["output"])["record"]["duplicate"] is False
    [line] = runner.decisions(up)
    assert line["verdict"] == "allow" and "published" in line["action"]
    assert len(versions(stack, "PublishedBucketName", up.key)) == 1
    kinds = [e["detail-type"] for e in drain(stack, events_queue) if e["detail"]["key"] == up.key]
    assert kinds == ["Moderation Decision"]


def test_comment_batch_recorded_then_retried_is_acted_on(
    stack: EmulatedStack, runner: Runner, tmp_path: Path, events_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutela.aws.store import DecisionStore

    fail_once_after(DecisionStore, "put_once", monkeypatch)
    up = runner.upload(samples.thread(tmp_path / "t.jsonl"), "comments/retry-2/batch.jsonl")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    assert len(versions(stack, "PublishedBucketName", up.key)) == 1
    # The blocked lines' evidence is in their records (a small batch): no quarantine object, each line once.
    assert versions(stack, "QuarantineBucketName", up.key) == []
    blocked = [line for line in runner.decisions(up) if line["verdict"] == "block"]
    assert len(blocked) == 2 and all(line["action"] == "quarantined" for line in blocked)
    stored = runner.table.scan()["Items"]
    kept = [i for i in stored if i.get("key") == up.key and i.get("verdict") == "block" and "#c#" in i["sk"]]
    assert len(kept) == 2 and all(i["uploaded"] for i in kept)
    kinds = [e["detail-type"] for e in drain(stack, events_queue) if e["detail"]["key"] == up.key]
    assert kinds == ["Moderation Decision"]


def test_act_retried_after_publishing_adds_no_version(
    stack: EmulatedStack, runner: Runner, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 7: an Act retry made extra published copies."""
    from tutela.aws.s3 import S3

    fail_once_after(S3, "copy", monkeypatch)
    up = runner.upload(photo, "media/retry-3/beach.jpg")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    assert len(versions(stack, "PublishedBucketName", up.key)) == 1


def test_block_retried_after_the_delete_still_escalates(
    stack: EmulatedStack, runner: Runner, photo: Path, events_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 6: the retry failed on the deleted version; the state went to the DLQ with no event."""
    from tutela.aws.s3 import S3

    labels = [{"Name": "Explicit Nudity", "ParentName": "Explicit", "Confidence": 97.0, "TaxonomyLevel": 2}]
    monkeypatch.setattr(
        stack.handler_module("ScanMediaFunction"), "scan_file", lambda *a, **k: _FakeScan(labels, CHILD)
    )
    fail_once_after(S3, "delete_version", monkeypatch)
    before = runner.dead_letters()
    up = runner.upload(photo, "media/retry-4/beach.jpg")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED" and runner.dead_letters() == before
    [line] = runner.decisions(up)
    assert line["verdict"] == "block" and "quarantined" in line["action"]
    q = versions(stack, "QuarantineBucketName", up.key)
    assert len(q) == 1 and q[0]["Key"] == f"{up.key}@{up.version_id}"
    assert up.version_id not in {v["VersionId"] for v in versions(stack, "UploadBucketName", up.key)}
    kinds = sorted(e["detail-type"] for e in drain(stack, events_queue) if e["detail"]["key"] == up.key)
    assert kinds == ["Moderation Decision", "Moderation Escalation"]


def test_a_redelivery_by_another_execution_stops(runner: Runner, photo: Path) -> None:
    up = runner.upload(photo, "media/retry-5/beach.jpg")
    first, second = runner.deliver(up)[0], runner.deliver(up)[0]
    assert json.loads(first["output"])["record"]["duplicate"] is False
    assert json.loads(second["output"])["record"]["duplicate"] is True


def test_a_replay_completes_a_decision_its_execution_never_carried_out(
    stack: EmulatedStack, runner: Runner, photo: Path, events_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 6: after Act failed for good (dead-letter queue), replaying the event stopped as a duplicate and
    the decision was never carried out. A redelivery of a decision whose execution ended without acting
    takes it over; one whose execution acted still stops."""
    from tutela.act import Actor

    real = Actor.act

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("Act is down")

    monkeypatch.setattr(Actor, "act", broken)
    before = runner.dead_letters()
    up = runner.upload(photo, "media/retry-6/beach.jpg")
    [failed] = runner.deliver(up)
    assert failed["status"] == "FAILED" and runner.dead_letters() == before + 1
    assert up.key not in dict(runner.published())
    monkeypatch.setattr(Actor, "act", real)
    [replay] = runner.deliver(up)  # the replay from the dead-letter queue: the same event
    assert replay["status"] == "SUCCEEDED"
    assert json.loads(replay["output"])["record"]["duplicate"] is False
    assert len(versions(stack, "PublishedBucketName", up.key)) == 1
    kinds = [e["detail-type"] for e in drain(stack, events_queue) if e["detail"]["key"] == up.key]
    assert kinds == ["Moderation Decision"]
    [again] = runner.deliver(up)  # now it has been carried out: a redelivery stops
    assert json.loads(again["output"])["record"]["duplicate"] is True
