"""Uploads that change under a running execution: the version is deleted, or a new version of the key
lands, between the analysis and Act. Every upload still ends in exactly one decision, nothing that was not
judged is published, and the execution ends (no dead letter for what the uploader did)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tutela.aws.store import DecisionStore
from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator import samples
from tutela_dev.emulator.runner import Runner, Upload

pytestmark = pytest.mark.integration


def items(runner: Runner, up: Upload) -> dict[str, dict[str, Any]]:
    keys = object_keys(ObjectRef(runner.bucket, up.key, up.version_id))
    found = runner.table.query(KeyConditionExpression=Key("pk").eq(keys["pk"]), ConsistentRead=True)["Items"]
    return {i["sk"]: i for i in found if i["sk"].startswith(keys["sk"])}


def after_the_decision(monkeypatch: pytest.MonkeyPatch, do: Callable[[], None]) -> None:
    """Run ``do`` once, right after RecordDecision stored the decision (before Act)."""
    real = DecisionStore.put_once
    done: list[bool] = []

    def put_once(self: DecisionStore, item: Any) -> Any:
        out = real(self, item)
        if not done:
            done.append(True)
            do()
        return out

    monkeypatch.setattr(DecisionStore, "put_once", put_once)


def test_a_version_deleted_before_act_is_not_published_and_the_execution_ends(
    runner: Runner, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = runner.upload(photo, "media/post-m/withdrawn.jpg")
    after_the_decision(
        monkeypatch,
        lambda: runner.s3.delete_object(Bucket=runner.bucket, Key=up.key, VersionId=up.version_id),
    )
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), str(execution.get("cause"))[:300])
    recorded = items(runner, up)
    [decision] = [v for k, v in recorded.items() if k.count("#") == 1]
    assert decision["verdict"] == "allow"
    assert up.key not in dict(runner.published())
    [action] = [v for k, v in recorded.items() if k.endswith("#action")]
    assert "published" not in action["action"]


def test_a_comment_batch_deleted_before_act(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = runner.upload(samples.thread(tmp_path / "b.jsonl"), "comments/post-m/b.jsonl")
    after_the_decision(
        monkeypatch,
        lambda: runner.s3.delete_object(Bucket=runner.bucket, Key=up.key, VersionId=up.version_id),
    )
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), str(execution.get("cause"))[:300])
    assert up.key not in dict(runner.published())


def test_an_older_version_acted_on_last_does_not_replace_the_newer_copy(
    runner: Runner, photo: Path, tmp_path: Path
) -> None:
    """v2 of a key lands while v1's execution is still running (or EventBridge delivers v1's event late:
    it does not promise order), and v2's execution publishes first. v1's Act, last, must not put the
    older upload back over the newer one."""
    key = "media/post-m/replaced.jpg"
    v1 = runner.upload(photo, key)
    v2 = runner.upload(samples.photo(tmp_path / "other.jpg", size=(200, 150)), key)
    [second] = runner.deliver(v2)
    [first] = runner.deliver(v1)
    assert first["status"] == second["status"] == "SUCCEEDED"
    for up in (v1, v2):
        [decision] = [v for k, v in items(runner, up).items() if k.count("#") == 1]
        assert decision["verdict"] == "allow"
    head = runner.s3.head_object(Bucket=runner.stack.outputs["PublishedBucketName"], Key=key)
    assert head["Metadata"]["tutela-source-version"] == v2.version_id
