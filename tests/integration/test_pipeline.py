"""The real template.yaml and ASL on in-process moto, handlers invoked in-process (tutela_dev.emulator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tests.integration.stacks import observe_decisions
from tutela.comment_records import expand
from tutela.decision import object_keys
from tutela.errors import TransientError
from tutela.objects import ObjectRef
from tutela.scrub import find_location
from tutela_dev.emulator import samples
from tutela_dev.emulator.runner import Runner, Upload
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.photo(tmp_path_factory.mktemp("media") / "beach.jpg", size=(640, 480))


@pytest.fixture(scope="module")
def events_queue(stack: EmulatedStack) -> str:
    """Subscribe an SQS queue to the decisions bus to observe what the platform would receive."""
    return observe_decisions(stack, "observe-decisions")


def drain(stack: EmulatedStack, url: str) -> list[dict[str, Any]]:
    sqs, out = stack.client("sqs"), []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def stored(runner: Runner, up: Upload, *, actions: bool = False) -> list[dict[str, Any]]:
    """The decision items of an upload (with ``actions``: Act's outcome items too)."""
    pk = object_keys(ObjectRef(runner.bucket, up.key))["pk"]
    items = runner.table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]
    return [i for i in items if actions or not i["sk"].endswith("#action")]


def published_keys(runner: Runner) -> dict[str, bytes]:
    return dict(runner.published())


def test_geotagged_photo_is_published_scrubbed(
    stack: EmulatedStack, runner: Runner, photo: Path, events_queue: str
):
    up = runner.upload(photo, "media/post-1/beach.jpg")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    [line] = runner.decisions(up)
    assert line["verdict"] == "allow" and line["kind"] == "media"
    body = published_keys(runner)["media/post-1/beach.jpg"]
    original = photo.read_bytes()
    assert body != original and b"SN-0042-DEMO" in original and b"SN-0042-DEMO" not in body
    out = photo.parent / "published.jpg"
    out.write_bytes(body)
    assert find_location(out) == []
    [item] = stored(runner, up)
    assert item["sk"] == f"v#{up.version_id}" and up.version_id  # keyed on the real version id
    assert item["policy"]["version"] and item["analyzers"]["scan"]["name"] == "local"
    assert "exif.gps" in item["analyzers"]["scrub"]["removed"]
    [event] = [e for e in drain(stack, events_queue) if e["detail"]["key"] == up.key]
    assert event["detail-type"] == "Moderation Decision" and event["detail"]["verdict"] == "allow"
    assert "48" not in json.dumps(event["detail"]["reasons"])  # no coordinates on the bus


def test_duplicate_delivery_records_one_decision(runner: Runner, photo: Path):
    up = runner.upload(photo, "media/post-2/beach.jpg")
    first, second = runner.deliver(up)[0], runner.deliver(up)[0]
    assert first["status"] == second["status"] == "SUCCEEDED"
    assert len(stored(runner, up)) == 1
    assert json.loads(second["output"])["record"]["duplicate"] is True


def test_unsupported_file_is_held_and_not_published(runner: Runner, tmp_path: Path):
    exe = samples.unsupported(tmp_path / "notes.exe")
    up = runner.upload(exe, "media/post-3/notes.exe")
    runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["verdict"] == "review" and line["reasons"] == ["unsupported_media"]
    assert "media/post-3/notes.exe" not in published_keys(runner)


def test_key_outside_the_layout_is_held(runner: Runner, photo: Path):
    up = runner.upload(photo, "uploads/misc/beach.jpg")
    runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["verdict"] == "review" and line["reasons"] == ["unsupported_key"]
    assert "uploads/misc/beach.jpg" not in published_keys(runner)


def test_a_scrubber_regression_the_verifier_catches_is_held(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scrubber that keeps an XMP thumbnail (an image nobody scanned): the verifier's own finding
    (``xmp.thumbnail``) fails ScrubGeotags, and the upload is held, not published (fail closed)."""
    from tests.hostile.test_xmp_thumbnails import _jpeg_app1
    from tutela.scrub import xmp

    keep = xmp._classify
    monkeypatch.setattr(xmp, "_classify", lambda tag: None if keep(tag) == "xmp.thumbnail" else keep(tag))
    monkeypatch.setattr(xmp, "_CODES", {})
    src = tmp_path / "thumb.jpg"
    src.write_bytes(_jpeg_app1())
    up = runner.upload(src, "media/post-4/thumb.jpg")
    runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["verdict"] == "review" and line["reasons"] == ["verification_failed"], line
    assert "xmp.thumbnail" in json.dumps(line["details"])
    assert "media/post-4/thumb.jpg" not in published_keys(runner)


def test_analyzer_failure_is_held(
    stack: EmulatedStack, runner: Runner, photo: Path, monkeypatch: pytest.MonkeyPatch
):
    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("vision backend crashed")

    monkeypatch.setattr(stack.handler_module("ScanMediaFunction"), "scan_file", boom)
    up = runner.upload(photo, "media/post-4/beach.jpg")
    runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["verdict"] == "review" and line["reasons"] == ["analyzer_error"]
    assert line["details"][0]["error"] == "RuntimeError"
    assert "media/post-4/beach.jpg" not in published_keys(runner)


class _FakeScan:
    def __init__(self, labels: list[dict[str, Any]], faces: list[dict[str, Any]]) -> None:
        self.value = {
            "media_type": "jpeg",
            "kind": "image",
            "backend": {"name": "test", "version": "0"},
            "ModerationLabels": labels,
            "Faces": faces,
            "timings_ms": {},
        }

    def to_dict(self) -> dict[str, Any]:
        return self.value


CHILD = [
    {
        "BoundingBox": {"Width": 0.3, "Height": 0.4, "Left": 0.3, "Top": 0.2},
        "AgeRange": {"Low": 6, "High": 10},
        "Confidence": 99.0,
    }
]


def test_explicit_with_minor_is_blocked_quarantined_and_escalated(
    stack: EmulatedStack, runner: Runner, photo: Path, events_queue: str, monkeypatch: pytest.MonkeyPatch
):
    # Explicit content is never generated: the backend's output is what the policy sees.
    labels = [{"Name": "Explicit Nudity", "ParentName": "Explicit", "Confidence": 97.0, "TaxonomyLevel": 2}]
    monkeypatch.setattr(
        stack.handler_module("ScanMediaFunction"), "scan_file", lambda *a, **k: _FakeScan(labels, CHILD)
    )
    up = runner.upload(photo, "media/post-5/beach.jpg")
    runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["verdict"] == "block" and line["severity"] == 4
    assert "media/post-5/beach.jpg" not in published_keys(runner)
    quarantine = stack.outputs["QuarantineBucketName"]
    q = stack.client("s3").get_object(Bucket=quarantine, Key=f"{up.key}@{up.version_id}")["Body"].read()
    assert q == photo.read_bytes()  # the original, for the legal report
    versions = (
        stack.client("s3").list_object_versions(Bucket=runner.bucket, Prefix=up.key).get("Versions", [])
    )
    assert up.version_id not in {v["VersionId"] for v in versions}  # moved, not copied
    kinds = [e["detail-type"] for e in drain(stack, events_queue) if e["detail"]["key"] == up.key]
    assert sorted(kinds) == ["Moderation Decision", "Moderation Escalation"]


def test_swimwear_with_minor_is_held_for_review(
    stack: EmulatedStack, runner: Runner, photo: Path, monkeypatch
):
    labels = [{"Name": "Swimwear or Underwear", "ParentName": "", "Confidence": 88.0, "TaxonomyLevel": 1}]
    monkeypatch.setattr(
        stack.handler_module("ScanMediaFunction"), "scan_file", lambda *a, **k: _FakeScan(labels, CHILD)
    )
    up = runner.upload(photo, "media/post-6/beach.jpg")
    runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["verdict"] == "review"
    assert "media/post-6/beach.jpg" not in published_keys(runner)
    queue = runner.table.query(IndexName="ReviewQueueIndex", KeyConditionExpression=Key("queue").eq("review"))
    assert any(i["key"] == up.key for i in queue["Items"])


def test_transient_error_is_retried(stack: EmulatedStack, runner: Runner, photo: Path, monkeypatch):
    module = stack.handler_module("ScanMediaFunction")
    real, calls = module.scan_file, []

    def flaky(*a: Any, **k: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise TransientError("throttled")
        return real(*a, **k)

    monkeypatch.setattr(module, "scan_file", flaky)
    up = runner.upload(photo, "media/post-7/beach.jpg")
    runner.deliver(up)
    assert len(calls) == 2
    assert runner.decisions(up)[0]["verdict"] == "allow"


def test_unrecordable_decision_goes_to_the_dead_letter_queue(
    stack: EmulatedStack, runner: Runner, photo: Path, monkeypatch
):
    module = stack.handler_module("RecordDecisionFunction")

    class Broken:
        def __init__(self, *_a: Any) -> None:
            raise RuntimeError("table is gone")

    monkeypatch.setattr(module, "DecisionStore", Broken)
    before = runner.dead_letters()
    up = runner.upload(photo, "media/post-8/beach.jpg")
    [execution] = runner.deliver(up)
    assert execution["status"] == "FAILED"
    assert runner.dead_letters() == before + 1
    assert "media/post-8/beach.jpg" not in published_keys(runner)


def test_comment_thread_flags_grooming_and_publishes_only_allowed(
    stack: EmulatedStack, runner: Runner, tmp_path: Path
):
    thread = samples.thread(tmp_path / "thread.jsonl")
    up = runner.upload(thread, "comments/post-9/batch-1.jsonl")
    runner.deliver(up)
    lines = {line["comment_id"]: line for line in runner.decisions(up)}
    assert set(lines) == {c["id"] for c in samples.THREAD}
    assert lines["c3"]["verdict"] in ("review", "block") and "grooming" in lines["c3"]["reasons"]
    assert lines["c5"]["verdict"] in ("review", "block")
    assert lines["c1"]["verdict"] == lines["c2"]["verdict"] == lines["c4"]["verdict"] == "allow"
    assert all(line["minor_context"] is None for line in lines.values())  # no media decision for post-9 yet
    body = published_keys(runner)["comments/post-9/batch-1.jsonl"].decode()
    published_ids = [json.loads(x)["id"] for x in body.splitlines()]
    assert published_ids == ["c1", "c2", "c4"]


def test_nothing_published_that_was_not_allowed(runner: Runner, photo: Path, tmp_path: Path):
    """Media: the object decision is allow. Comment batches: each published line is an allowed comment.
    Self-contained: it uploads its own photo and thread, then checks everything published so far."""
    runner.deliver(runner.upload(photo, "media/post-11/beach.jpg"))
    runner.deliver(runner.upload(samples.thread(tmp_path / "t.jsonl"), "comments/post-11/t.jsonl"))
    published = published_keys(runner)
    assert {"media/post-11/beach.jpg", "comments/post-11/t.jsonl"} <= set(published)
    assert published
    for key, body in published.items():
        pk = object_keys(ObjectRef(runner.bucket, key))["pk"]
        items = runner.table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]
        items = [i for i in items if i.get("kind") != "action"]
        if key.startswith("media/"):
            assert items and all(i["verdict"] == "allow" for i in items), key
        else:
            # Plainly allowed lines are listed in the batch item; flagged ones have their own items.
            comments = [i for i in items if "#c#" in i["sk"]]
            (batch,) = [i for i in items if "#c#" not in i["sk"]]
            allowed = [r for r in expand(batch, comments) if r["verdict"] == "allow"]
            flagged = {i["comment_id"] for i in comments if i["verdict"] != "allow"}
            ids = [json.loads(x)["id"] for x in body.decode().splitlines()]
            assert ids and not set(ids) & flagged and len(ids) == len(allowed), key


AGES = {"likely": {"Low": 8, "High": 13}, "possible": {"Low": 15, "High": 24}}
EXPOSURE = {
    "explicit": {"Name": "Explicit Nudity", "ParentName": "Explicit", "TaxonomyLevel": 2},
    "non_explicit": {
        "Name": "Non-Explicit Nudity",
        "ParentName": "Non-Explicit Nudity of Intimate parts and Kissing",
        "TaxonomyLevel": 2,
    },
    "swimwear": {"Name": "Swimwear or Underwear", "ParentName": "", "TaxonomyLevel": 1},
}


@pytest.mark.parametrize("minor", sorted(AGES))
@pytest.mark.parametrize("exposure", sorted(EXPOSURE))
def test_every_minor_plus_exposure_case_is_held(
    stack: EmulatedStack,
    runner: Runner,
    photo: Path,
    monkeypatch: pytest.MonkeyPatch,
    minor: str,
    exposure: str,
):
    labels = [{**EXPOSURE[exposure], "Confidence": 90.0}]
    faces = [{"BoundingBox": CHILD[0]["BoundingBox"], "AgeRange": AGES[minor], "Confidence": 99.0}]
    monkeypatch.setattr(
        stack.handler_module("ScanMediaFunction"), "scan_file", lambda *a, **k: _FakeScan(labels, faces)
    )
    key = f"media/matrix-{minor}-{exposure}/beach.jpg"
    up = runner.upload(photo, key)
    runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["verdict"] in ("review", "block") and line["minor"] == minor
    assert key not in published_keys(runner)


def test_messy_comment_batch_each_line_decided_and_original_bytes_published(runner: Runner, tmp_path: Path):
    good1 = json.dumps({"id": "g1", "text": "Lovely colours\u2028and light"}, ensure_ascii=False).encode()
    good2 = b'{"id": "g2", "text": "Happy birthday!"}'
    batch = b"\r\n".join([good1, b"", b"{not json", b'{"id": "u1", "text": "\xff\xfe"}', good2]) + b"\r\n"
    path = tmp_path / "messy.jsonl"
    path.write_bytes(batch)
    up = runner.upload(path, "comments/post-10/messy.jsonl")
    runner.deliver(up)
    lines = runner.decisions(up)
    verdicts = {line["comment_id"]: line["verdict"] for line in lines}
    assert verdicts["g1"] == verdicts["g2"] == "allow"
    # Unreadable lines are held with a reason, keyed by line number (their id cannot be read); blank skipped.
    assert verdicts["line-3"] == verdicts["line-4"] == "review" and len(lines) == 4
    body = published_keys(runner)["comments/post-10/messy.jsonl"]
    assert body == good1 + b"\n" + good2 + b"\n"  # the allowed lines' original bytes, U+2028 intact
