"""Post text through the real template and ASL on moto: a caption is judged, tells the pipeline when a
child is in the post (in whichever order the post's objects arrive), and is published coarsened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tests.integration.stacks import observe_decisions
from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator.runner import Runner, Upload
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BOX = {"Width": 0.3, "Height": 0.4, "Left": 0.3, "Top": 0.2}
ADULT = [{"BoundingBox": BOX, "AgeRange": {"Low": 30, "High": 40}, "Confidence": 99.0}]
SWIMWEAR = [{"Name": "Swimwear or Underwear", "ParentName": "", "Confidence": 90.0, "TaxonomyLevel": 1}]
NUDITY = [
    {
        "Name": "Non-Explicit Nudity",
        "ParentName": "Non-Explicit Nudity of Intimate parts and Kissing",
        "Confidence": 90.0,
        "TaxonomyLevel": 2,
    }
]
# Allowed under an adult's post, not under a child's (tests/unit/posts check the classifier agrees).
INNUENDO = [{"id": "k1", "text": "Great colours!"}, {"id": "k2", "text": "so sexy, love those legs"}]


@pytest.fixture(scope="module")
def runner(stack: EmulatedStack, events_queue: str) -> Runner:
    return Runner(stack)


@pytest.fixture(scope="module")
def events_queue(stack: EmulatedStack) -> str:
    """An SQS queue on the decisions bus: what the platform would receive (checked by the last test)."""
    return observe_decisions(stack, "observe-post-decisions")


class _FakeScan:
    def __init__(self, labels: list[dict[str, Any]], faces: list[dict[str, Any]]) -> None:
        self.value = {
            "media_type": "jpeg",
            "kind": "image",
            "frames": 1,
            "backend": {"name": "test", "version": "0"},
            "ModerationLabels": labels,
            "Faces": faces,
            "timings_ms": {},
        }

    def to_dict(self) -> dict[str, Any]:
        return self.value


def scan_as(stack: EmulatedStack, monkeypatch: pytest.MonkeyPatch, labels: list[dict[str, Any]]) -> None:
    """The vision backend sees an adult face (and ``labels``): its minor status is "none"."""
    module = stack.handler_module("ScanMediaFunction")
    monkeypatch.setattr(module, "scan_file", lambda *a, **k: _FakeScan(labels, ADULT))


def send(runner: Runner, path: Path, key: str) -> Upload:
    up = runner.upload(path, key)
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED", execution
    return up


def post_file(tmp_path: Path, name: str, **fields: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    return path


def batch_file(tmp_path: Path, name: str, comments: list[dict[str, str]]) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(c) + "\n" for c in comments), encoding="utf-8")
    return path


def published(runner: Runner) -> dict[str, bytes]:
    return dict(runner.published())


def items(runner: Runner, up: Upload) -> list[dict[str, Any]]:
    pk = object_keys(ObjectRef(runner.bucket, up.key))["pk"]
    return runner.table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]


def test_caption_declaring_a_child_rejudges_earlier_and_later_comments(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    scan_as(stack, monkeypatch, [])
    media = send(runner, photo, "media/pa/beach.jpg")
    assert runner.decisions(media)[0]["minor"] == "none" and "media/pa/beach.jpg" in published(runner)
    earlier = send(runner, batch_file(tmp_path, "b1.jsonl", INNUENDO), "comments/pa/b1.jsonl")
    before = {line["comment_id"]: line for line in runner.decisions(earlier)}
    assert before["k2"]["verdict"] == "allow" and before["k2"]["minor_context"] is False
    assert b"legs" in published(runner)["comments/pa/b1.jsonl"]  # judged as under an adult's post

    caption = post_file(tmp_path, "pa.json", post_id="pa", caption="My 8-year-old's first dance recital!")
    post = send(runner, caption, "posts/pa.json")
    [line] = runner.decisions(post)
    assert line["kind"] == "post" and line["minor"] == "likely" and "minor_declared" in line["reasons"]

    # The earlier batch: judged again under a child's post, a new decision appended, the line unpublished.
    after = {line["comment_id"]: line for line in runner.decisions(earlier)}
    assert after["k2"]["reevaluated"] and after["k2"]["minor_context"] is True
    assert after["k2"]["verdict"] == "block" and after["k2"]["action"] == "quarantined"
    body = published(runner)["comments/pa/b1.jsonl"].decode()
    assert [json.loads(x)["id"] for x in body.splitlines()] == ["k1"]
    stored = items(runner, earlier)
    original = next(i for i in stored if i["sk"] == f"v#{earlier.version_id}#c#000002")
    assert original["verdict"] == "allow"  # history is append-only: the first decision is still there
    # The earlier media decision: judged again with the declared child (still allowed: nothing exposed).
    again = runner.decisions(media)[0]["reevaluated"]
    assert again["minor"] == "likely" and again["verdict"] == "allow"

    # A later batch is judged under a child's post from the start, with one decision.
    later = send(runner, batch_file(tmp_path, "b2.jsonl", INNUENDO), "comments/pa/b2.jsonl")
    lines = {line["comment_id"]: line for line in runner.decisions(later)}
    assert lines["k2"]["minor_context"] is True and lines["k2"]["verdict"] == "block"
    assert "reevaluated" not in lines["k2"]
    assert b"legs" not in published(runner)["comments/pa/b2.jsonl"]


def test_dancing_without_clothes_with_a_child_is_blocked(runner: Runner, tmp_path: Path):
    caption = post_file(tmp_path, "pb.json", caption="my 8yo dancing without clothes", hashtags=["dance"])
    post = send(runner, caption, "posts/pb.json")
    [line] = runner.decisions(post)
    assert line["verdict"] == "block" and "sexualised_framing_minor" in line["reasons"]
    assert "posts/pb.json" not in published(runner)
    assert line["action"]["quarantined"]["key"] == f"posts/pb.json@{post.version_id}"


def test_framing_hashtags_in_chinese_with_a_child_are_blocked(runner: Runner, tmp_path: Path):
    caption = post_file(tmp_path, "pc.json", caption="初二女生 今日穿搭", hashtags=["擦边", "穿搭福利"])
    [line] = runner.decisions(send(runner, caption, "posts/pc.json"))
    assert line["verdict"] == "block" and line["minor"] == "likely"


def test_coordinates_are_coarsened_in_what_is_published(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    scan_as(stack, monkeypatch, [])
    send(runner, photo, "media/pd/beach.jpg")  # an adult's post: no minor
    caption = post_file(
        tmp_path,
        "pd.json",
        post_id="pd",
        caption="Sunset from the tower",
        title="Paris",
        hashtags=["#travel"],
        location={"name": "Eiffel Tower", "lat": 48.858370, "lon": 2.294481},
        uploader="someone",
        device={"serial": "SN-1"},
    )
    post = send(runner, caption, "posts/pd.json")
    assert runner.decisions(post)[0]["verdict"] == "allow"
    body = json.loads(published(runner)["posts/pd.json"])
    assert body == {
        "post_id": "pd",
        "caption": "Sunset from the tower",
        "title": "Paris",
        "hashtags": ["travel"],
        "location": {"name": "Eiffel Tower", "lat": 48.9, "lon": 2.3},
    }
    stored = json.dumps(
        [{k: v for k, v in i.items() if k != "expires_at"} for i in items(runner, post)], default=str
    )
    assert "48.858" not in stored and "2.294" not in stored  # never stored precisely either


def test_precise_location_on_a_childs_post_is_held(runner: Runner, tmp_path: Path):
    caption = post_file(
        tmp_path,
        "pe.json",
        caption="我女儿小学三年级",
        location={"name": "公园", "lat": 31.230416, "lon": 121.473701},
    )
    post = send(runner, caption, "posts/pe.json")
    [line] = runner.decisions(post)
    assert line["verdict"] == "review" and "location_risk_minor" in line["reasons"]
    assert "posts/pe.json" not in published(runner)


def test_media_after_the_caption_is_decided_with_the_child_once(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    send(runner, post_file(tmp_path, "pf.json", caption="小学生的泳池派对"), "posts/pf.json")
    scan_as(stack, monkeypatch, SWIMWEAR)  # allowed for an adult; held with a child
    media = send(runner, photo, "media/pf/pool.jpg")
    [line] = runner.decisions(media)
    assert line["verdict"] == "review" and line["minor"] == "likely" and "reevaluated" not in line
    assert "minor_declared_in_post" in line["reasons"]
    assert "media/pf/pool.jpg" not in published(runner)
    assert len([i for i in items(runner, media) if not i["sk"].endswith("#action")]) == 1


def test_published_media_is_withdrawn_or_quarantined_when_a_caption_declares_a_child(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    scan_as(stack, monkeypatch, SWIMWEAR)
    swim = send(runner, photo, "media/pg/swim.jpg")
    assert runner.decisions(swim)[0]["verdict"] == "allow"
    assert "media/pg/swim.jpg" in published(runner)
    scan_as(stack, monkeypatch, NUDITY)
    bare = send(runner, photo, "media/pg/bare.jpg")
    assert runner.decisions(bare)[0]["verdict"] == "review"  # adult nudity: held

    send(runner, post_file(tmp_path, "pg.json", caption="my daughter at the beach"), "posts/pg.json")
    again = runner.decisions(swim)[0]["reevaluated"]
    assert again["verdict"] == "review" and again["action"]["withdrawn"]["key"] == "media/pg/swim.jpg"
    assert "media/pg/swim.jpg" not in published(runner)
    again = runner.decisions(bare)[0]["reevaluated"]
    assert again["verdict"] == "block" and again["action"]["quarantined"]
    s3 = runner.s3
    quarantine = stack.outputs["QuarantineBucketName"]
    copy = s3.get_object(Bucket=quarantine, Key=again["action"]["quarantined"]["key"])["Body"].read()
    assert copy == photo.read_bytes()
    versions = s3.list_object_versions(Bucket=runner.bucket, Prefix=bare.key).get("Versions", [])
    assert bare.version_id not in {v["VersionId"] for v in versions}  # moved, not copied

    # Delivered again: the re-evaluations stay one each and nothing is published again.
    send(runner, tmp_path / "pg.json", "posts/pg.json")
    assert len([i for i in items(runner, swim) if i["sk"].endswith("#post-context")]) == 1
    assert "media/pg/swim.jpg" not in published(runner)


def test_invalid_post_is_held_with_a_reason(runner: Runner, tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text('{"post_id": "ph", "caption": 42}')
    [line] = runner.decisions(send(runner, path, "posts/ph.json"))
    assert line["verdict"] == "review" and line["reasons"] == ["invalid_input"]
    assert "posts/ph.json" not in published(runner)


def test_an_expired_batch_is_withdrawn_when_it_cannot_be_judged_again(
    stack: EmulatedStack, runner: Runner, photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    scan_as(stack, monkeypatch, [])
    send(runner, photo, "media/pi/beach.jpg")
    batch = send(runner, batch_file(tmp_path, "b.jsonl", INNUENDO), "comments/pi/b.jsonl")
    assert "comments/pi/b.jsonl" in published(runner)
    runner.s3.delete_object(
        Bucket=runner.bucket, Key=batch.key, VersionId=batch.version_id
    )  # lifecycle expiry
    send(runner, post_file(tmp_path, "pi.json", caption="我儿子三年级了"), "posts/pi.json")
    again = next(i for i in items(runner, batch) if i["sk"].endswith("#post-context"))
    assert again["verdict"] == "review" and again["reasons"][0]["code"] == "batch_unavailable"
    assert "comments/pi/b.jsonl" not in published(runner)  # fail closed: withdrawn, not left as judged


def test_every_event_matches_its_schema_and_carries_no_coordinates(stack: EmulatedStack, events_queue: str):
    """Runs last: post decisions and re-evaluations are documented events (events/schemas)."""
    from tests.event_schemas import validate_event

    sqs, received = stack.client("sqs"), []
    while msgs := sqs.receive_message(QueueUrl=events_queue, MaxNumberOfMessages=10).get("Messages", []):
        for m in msgs:
            received.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=events_queue, ReceiptHandle=m["ReceiptHandle"])
    kinds = {(e["detail"]["kind"], "reevaluates" in e["detail"]) for e in received}
    assert {("post", False), ("media", True), ("comments", True)} <= kinds
    for event in received:
        validate_event(event["detail-type"], event["detail"])
        assert "48.858" not in json.dumps(event) and "31.230" not in json.dumps(event)
