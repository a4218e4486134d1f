"""Keys with spaces, '+', '%' and non-ASCII characters end in exactly one decision on the right object,
whether the "Object Created" event carries the key as it is or URL-encoded as classic S3 notifications do
(space -> '+'): S3's EventBridge documentation does not say which, so both are delivered
(docs/s3-keys.md). The real template and ASL on moto, handlers in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from boto3.dynamodb.conditions import Key

from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator import samples
from tutela_dev.emulator.runner import Runner, Upload, object_created_event

pytestmark = pytest.mark.integration

KEYS = [
    "media/post-k/red flower.jpg",
    "media/post-k/c++ notes.jpg",
    "media/post-k/100% sure.jpg",
    "media/post-k/café 写真.jpg",
]


def encoded(key: str) -> str:
    """As classic S3 notifications write a key (application/x-www-form-urlencoded, '/' kept)."""
    return quote_plus(key, safe="/")


def deliver(runner: Runner, up: Upload, key: str) -> list[dict[str, Any]]:
    event = object_created_event(runner.bucket, key, up.version_id, up.size, up.etag or "")
    return [runner.stack.wait(arn) for arn in runner.stack.deliver(event)]


def items(runner: Runner, key: str) -> list[dict[str, Any]]:
    pk = object_keys(ObjectRef(runner.bucket, key))["pk"]
    return runner.table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]


def decisions(runner: Runner, key: str) -> list[dict[str, Any]]:
    return [i for i in items(runner, key) if i["sk"].count("#") == 1]  # v#{version}: the decision itself


@pytest.mark.parametrize("key", KEYS)
def test_one_decision_on_the_right_object_whatever_the_key_encoding(
    runner: Runner, photo: Path, key: str
) -> None:
    up = runner.upload(photo, key)
    assert encoded(key) != key
    first = deliver(runner, up, encoded(key))  # as classic notifications encode it
    again = deliver(runner, up, key)  # as moto's EventBridge (and maybe S3's) writes it: a redelivery
    assert [e["status"] for e in first + again] == ["SUCCEEDED", "SUCCEEDED"]
    [decision] = decisions(runner, key)
    assert decision["verdict"] == "allow" and decision["kind"] == "media"
    assert items(runner, encoded(key)) == []  # nothing recorded under the encoded form
    published = dict(runner.published())
    assert key in published and encoded(key) not in published


def test_the_version_picks_the_object_when_both_forms_exist(runner: Runner, photo: Path) -> None:
    """'a b.jpg' delivered as 'a+b.jpg' while an 'a+b.jpg' exists too: the event's version id names the
    object, so the decision is on 'a b.jpg' and 'a+b.jpg' (never delivered) has none."""
    spaced = runner.upload(photo, "media/post-k/a b.jpg")
    runner.upload(photo, "media/post-k/a+b.jpg")
    [execution] = deliver(runner, spaced, "media/post-k/a+b.jpg")
    assert execution["status"] == "SUCCEEDED"
    assert len(decisions(runner, "media/post-k/a b.jpg")) == 1
    assert decisions(runner, "media/post-k/a+b.jpg") == []


def test_a_comment_batch_with_a_space_in_its_key(runner: Runner, tmp_path: Path) -> None:
    batch = samples.thread(tmp_path / "batch 1.jsonl")
    up = runner.upload(batch, "comments/post-k/batch 1.jsonl")
    [execution] = deliver(runner, up, encoded(up.key))
    assert execution["status"] == "SUCCEEDED"
    assert len(decisions(runner, up.key)) == 1 and items(runner, encoded(up.key)) == []


def test_an_encoded_redelivery_after_the_original_was_retired(runner: Runner, photo: Path) -> None:
    """Published, then the original retired (deleted): neither form exists any more, and the encoded
    redelivery still finds the decision already made for the decoded key instead of recording another."""
    key = "media/post-k/late + retired.jpg"
    up = runner.upload(photo, key)
    assert [e["status"] for e in deliver(runner, up, key)] == ["SUCCEEDED"]
    # as Act retires an allowed original when the stack expires decided originals (off in this stack)
    runner.s3.delete_object(Bucket=runner.bucket, Key=key, VersionId=up.version_id)
    assert [e["status"] for e in deliver(runner, up, encoded(key))] == ["SUCCEEDED"]
    assert len(decisions(runner, key)) == 1 and items(runner, encoded(key)) == []
