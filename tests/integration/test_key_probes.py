"""At most one key resolution per object (issue 10's "at most one HEAD per object"): the first step that
reads the object resolves its key with that read (``S3.resolving``: no HEAD) and the state carries the key on
(``tutela.contracts.RESOLVED_KEY``), so RecordDecision, PostContext and Act never probe S3 for it again.

Counted with the emulated stack's meter (what ``make cost`` counts: every AWS call a handler makes), per
execution, through the real template and ASL on moto, for keys with '+', a space and non-ASCII characters
delivered both as they are and URL-encoded as classic S3 notifications write them (docs/s3-keys.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from boto3.dynamodb.conditions import Key

from tests.integration.stacks import ROOT
from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator import samples
from tutela_dev.emulator.meter import Meter
from tutela_dev.emulator.runner import Runner, Upload, object_created_event
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration

ANALYZERS = {"ScanMediaFunction", "ScrubGeotagsFunction", "ClassifyCommentsFunction", "ClassifyPostFunction"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with (
        (tmp_path_factory.mktemp("logs") / "lambda.log").open("w") as log,
        EmulatedStack(ROOT, log=log, meter=Meter()) as s,
    ):
        yield s


def encoded(key: str) -> str:
    return quote_plus(key, safe="/")


def metered(runner: Runner, up: Upload, key: str) -> tuple[str, Counter[tuple[str, str]]]:
    """Deliver ``up`` under ``key``; the execution's status and its S3 calls on the upload bucket as
    (function, operation) (ScanMedia's reads of the bank index are not about the upload)."""
    meter = runner.stack.meter
    assert meter is not None
    mark = meter.snapshot()
    event = object_created_event(runner.bucket, key, up.version_id, up.size, up.etag or "")
    [arn] = runner.stack.deliver(event)
    status = runner.stack.wait(arn)["status"]
    calls, _ = meter.since(mark)
    on_upload = [c for c in calls if c.service == "s3" and c.bucket == runner.bucket]
    return status, Counter((c.function, c.operation) for c in on_upload)


def heads(s3: Counter[tuple[str, str]]) -> Counter[str]:
    return Counter({fn: n for (fn, op), n in s3.items() if op == "HeadObject"})


def reads(s3: Counter[tuple[str, str]], fn: str) -> int:
    return s3[fn, "GetObject"]


def decisions(runner: Runner, key: str, up: Upload) -> list[dict[str, Any]]:
    """The decisions recorded under ``key`` for the version ``up`` uploaded."""
    keys = object_keys(ObjectRef(runner.bucket, key, up.version_id))
    items = runner.table.query(KeyConditionExpression=Key("pk").eq(keys["pk"]), ConsistentRead=True)["Items"]
    return [i for i in items if i["sk"] == keys["sk"]]


MEDIA_KEYS = ["media/post-h/c++ notes.jpg", "media/post-h/café 写真 1.jpg", "media/post-h/100% sure.jpg"]


@pytest.mark.parametrize("form", ["as-is", "encoded"])
@pytest.mark.parametrize("key", MEDIA_KEYS)
def test_a_photo_probes_its_key_once_whatever_the_encoding(
    runner: Runner, photo: Path, key: str, form: str
) -> None:
    up = runner.upload(photo, key)
    delivered = key if form == "as-is" else encoded(key)
    status, s3 = metered(runner, up, delivered)
    assert status == "SUCCEEDED"
    [decision] = decisions(runner, key, up)
    assert decision["verdict"] == "allow" and "resolved_key" not in decision
    assert key in dict(runner.published())
    # No step HEADs the upload: the analyzers' own reads resolve it, the later steps take the carried key.
    assert heads(s3) == Counter()
    # Each analyzer reads once when the key exists as delivered, once more when it came encoded (the failed
    # read of the encoded form is the probe); Act reads the original once to publish it, as before.
    extra = 0 if form == "as-is" else 1
    assert reads(s3, "ScanMediaFunction") == reads(s3, "ScrubGeotagsFunction") == 1 + extra
    assert reads(s3, "ActFunction") == 1
    assert reads(s3, "RecordDecisionFunction") == 0


def test_a_plain_key_costs_no_request_to_resolve(runner: Runner, photo: Path) -> None:
    up = runner.upload(photo, "media/post-h/plain.jpg")
    status, s3 = metered(runner, up, up.key)
    assert status == "SUCCEEDED"
    assert heads(s3) == Counter()
    assert (
        reads(s3, "ScanMediaFunction") == reads(s3, "ScrubGeotagsFunction") == reads(s3, "ActFunction") == 1
    )


@pytest.mark.parametrize("form", ["as-is", "encoded"])
def test_a_comment_batch_probes_its_key_once(runner: Runner, tmp_path: Path, form: str) -> None:
    key = "comments/post-h/c++ batch é 1.jsonl"
    up = runner.upload(samples.thread(tmp_path / "batch.jsonl"), key)
    status, s3 = metered(runner, up, key if form == "as-is" else encoded(key))
    assert status == "SUCCEEDED"
    [decision] = decisions(runner, key, up)
    assert decision["kind"] == "comments" and "resolved_key" not in decision
    assert heads(s3) == Counter()
    assert reads(s3, "ClassifyCommentsFunction") == (1 if form == "as-is" else 2)
    assert reads(s3, "RecordDecisionFunction") == 0


@pytest.mark.parametrize("form", ["as-is", "encoded"])
def test_a_post_text_probes_its_key_once(runner: Runner, tmp_path: Path, form: str) -> None:
    """ClassifyPost resolves; PostContext (which raises the post's flags under the key) and RecordDecision
    take the carried key."""
    key = "posts/post-h/c++ caption é.json"
    path = tmp_path / "post.json"
    path.write_text(json.dumps({"post_id": "post-h", "caption": "a day at the lake"}), encoding="utf-8")
    up = runner.upload(path, key)
    status, s3 = metered(runner, up, key if form == "as-is" else encoded(key))
    assert status == "SUCCEEDED"
    [decision] = decisions(runner, key, up)
    assert decision["kind"] == "post" and "resolved_key" not in decision
    assert heads(s3) == Counter()
    assert reads(s3, "ClassifyPostFunction") == (1 if form == "as-is" else 2)


def test_a_decision_no_analyzer_made_is_resolved_by_record_decision_alone(
    runner: Runner, photo: Path
) -> None:
    """An unsupported key reaches RecordDecision with no carried key: it resolves (two HEADs at most for an
    encoded delivery: the form as delivered, then the decoded one) and Act does not probe again."""
    key = "other/c++ notes.bin"
    up = runner.upload(photo, key)
    status, s3 = metered(runner, up, encoded(key))
    assert status == "SUCCEEDED"
    assert len(decisions(runner, key, up)) == 1 and decisions(runner, encoded(key), up) == []
    assert heads(s3) == Counter({"RecordDecisionFunction": 2})
