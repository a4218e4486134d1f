"""Human review through the real template on moto: the pipeline holds an item, the decisions bus's rule
queues it, reviewers act through the ReviewApiFunction as API Gateway would call it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tutela.review.policy import load_policy
from tutela.scrub import find_location
from tutela_dev.emulator.review_api import ApiResponse, ReviewApi, ReviewRules
from tutela_dev.emulator.runner import Runner, Upload
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CHILD = [{"BoundingBox": {"Width": 0.3, "Height": 0.4, "Left": 0.3, "Top": 0.2},
          "AgeRange": {"Low": 6, "High": 10}, "Confidence": 99.0}]  # fmt: skip
SWIMWEAR = [{"Name": "Swimwear or Underwear", "ParentName": "", "Confidence": 88.0, "TaxonomyLevel": 1}]


class _FakeScan:
    def __init__(self, labels: list[dict[str, Any]], faces: list[dict[str, Any]]) -> None:
        self.value = {"media_type": "jpeg", "kind": "image", "backend": {"name": "test", "version": "0"},
                      "ModerationLabels": labels, "Faces": faces, "timings_ms": {}}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return self.value


def call(
    api: ReviewApi, method: str, path: str, who: str = "token", body: Any = None, query: str = ""
) -> ApiResponse:
    data = json.dumps(body).encode() if body is not None else None
    return api.call(method, path, query=query, body=data, authorization=f"Bearer {api.identities[who].token}")


def held(stack: EmulatedStack, runner: Runner, rules: ReviewRules, photo: Path, key: str, monkeypatch, *,
         uploader: str = "user-1", labels: list[dict[str, Any]] | None = None) -> Upload:  # fmt: skip
    """Upload ``photo`` (with the platform's uploader-id) and let the pipeline hold it for review
    (``labels=[]``: the real local scan, which allows the sample photo)."""
    if labels is None:  # held: swimwear with a child (the backend's output is what the policy sees)
        monkeypatch.setattr(
            stack.handler_module("ScanMediaFunction"),
            "scan_and_match",
            lambda *a, **k: _FakeScan(SWIMWEAR, CHILD).to_dict(),
        )
    put = runner.s3.put_object(
        Bucket=runner.bucket, Key=key, Body=photo.read_bytes(), Metadata={"uploader-id": uploader}
    )
    up = Upload(photo, key, put.get("VersionId"), photo.stat().st_size)
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), execution.get("cause"))
    rules.play()
    return up


def queued_id(api: ReviewApi, key: str, kind: str = "media") -> str:
    resp = call(api, "GET", "/api/queue", query=f"kind={kind}&limit=100")
    assert resp.status == 200, resp.body
    [item] = [i for i in resp.json()["items"] if i["key"] == key]
    return str(item["id"])


def published(stack: EmulatedStack) -> dict[str, bytes]:
    s3, bucket = stack.client("s3"), stack.outputs["PublishedBucketName"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_no_token_is_refused(api: ReviewApi):
    assert api.call("GET", "/api/queue", query="kind=media").status == 401
    assert api.call("GET", "/api/queue", authorization="Bearer not-a-token").status == 401


def test_review_allow_publishes_a_verified_scrubbed_copy(
    stack, runner, rules, api, photo, tmp_path, monkeypatch
):
    up = held(stack, runner, rules, photo, "media/rv-1/beach.jpg", monkeypatch)
    assert up.key not in published(stack)
    item = queued_id(api, up.key)
    shown = call(api, "GET", f"/api/items/{item}").json()
    assert shown["decision"]["verdict"] == "review" and shown["review"]["status"] == "pending"
    assert shown["decision"]["policy"]["version"]
    # The pipeline's staged copy is gone (lifecycle): the review scrubs again from the original.
    staging = stack.resources["StagingBucket"]
    for obj in stack.client("s3").list_objects_v2(Bucket=staging).get("Contents", []):
        stack.client("s3").delete_object(Bucket=staging, Key=obj["Key"])
    resp = call(
        api, "POST", f"/api/items/{item}/decision", body={"verdict": "allow", "reason": "family beach"}
    )
    assert resp.status == 200, resp.body
    body = published(stack)[up.key]
    original = photo.read_bytes()
    assert body != original and b"SN-0042-DEMO" in original and b"SN-0042-DEMO" not in body
    out = tmp_path / "published.jpg"
    out.write_bytes(body)
    assert find_location(out) == []
    after = call(api, "GET", f"/api/items/{item}").json()
    assert after["review"]["status"] == "closed" and after["review"]["verdict"] == "allow"
    assert after["decision"]["verdict"] == "review"  # the pipeline's decision is never overwritten
    actions = [h["action"] for h in after["history"]]
    assert actions == ["queued", "decision"]
    assert after["history"][1]["actor"]["sub"] == "local-reviewer-1"
    assert after["distribution"] == "limited"  # a likely minor: kept out of recommendations
    assert item not in [i["id"] for i in call(api, "GET", "/api/queue", query="kind=media").json()["items"]]
    rules.drain()
    events = [e for e in rules.seen if e["detail"].get("key") == up.key and e["detail"].get("decided_by")]
    assert events[-1]["detail"]["verdict"] == "allow" and events[-1]["detail"]["distribution"] == "limited"


def test_reviewer_identity_comes_from_the_token_not_the_body(stack, runner, rules, api, photo, monkeypatch):
    up = held(stack, runner, rules, photo, "media/rv-2/beach.jpg", monkeypatch)
    item = queued_id(api, up.key)
    body = {"verdict": "allow", "reason": "ok", "actor": {"sub": "someone-else"}, "sub": "someone-else"}
    assert call(api, "POST", f"/api/items/{item}/decision", "token2", body).status == 200
    [record] = [
        h for h in call(api, "GET", f"/api/items/{item}").json()["history"] if h["action"] == "decision"
    ]
    assert record["actor"]["sub"] == "local-reviewer-2"


def test_review_block_quarantines_and_a_second_decision_is_refused(
    stack, runner, rules, api, photo, monkeypatch
):
    up = held(stack, runner, rules, photo, "media/rv-3/beach.jpg", monkeypatch, uploader="user-3")
    item = queued_id(api, up.key)
    resp = call(
        api, "POST", f"/api/items/{item}/decision", body={"verdict": "block", "reason": "exposed child"}
    )
    assert resp.status == 200, resp.body
    s3 = stack.client("s3")
    q = s3.get_object(Bucket=stack.outputs["QuarantineBucketName"], Key=f"{up.key}@{up.version_id}")[
        "Body"
    ].read()
    assert q == photo.read_bytes()
    versions = s3.list_object_versions(Bucket=runner.bucket, Prefix=up.key).get("Versions", [])
    assert up.version_id not in {v["VersionId"] for v in versions}
    assert up.key not in published(stack)
    again = call(api, "POST", f"/api/items/{item}/decision", "token2", {"verdict": "allow", "reason": "x"})
    assert again.status == 409 and again.json()["error"] == "not_pending"
    account = call(api, "GET", "/api/accounts/user-3").json()
    assert account["active_strikes"] == 1


def test_appeal_by_the_same_reviewer_is_refused_another_may_decide(
    stack, runner, rules, api, photo, monkeypatch
):
    up = held(stack, runner, rules, photo, "media/rv-4/beach.jpg", monkeypatch, uploader="user-4")
    item = queued_id(api, up.key)
    assert (
        call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "block", "reason": "r"}).status
        == 200
    )
    appeal = json.dumps({"item": item, "statement": "my holiday"}).encode()
    resp = api.call(
        "POST", "/platform/appeals", body=appeal, iam_caller="arn:aws:iam::123456789012:role/platform"
    )
    assert resp.status == 202, resp.body
    assert item in [i["id"] for i in call(api, "GET", "/api/queue", query="kind=appeal").json()["items"]]
    same = call(api, "POST", f"/api/items/{item}/decision", "token", {"verdict": "allow", "reason": "fine"})
    assert same.status == 403 and same.json()["error"] == "same_reviewer"
    other = call(api, "POST", f"/api/items/{item}/decision", "token2", {"verdict": "allow", "reason": "fine"})
    assert other.status == 200, other.body
    # Overturned: published again from the quarantined copy (the original was deleted), scrubbed.
    body = published(stack)[up.key]
    assert b"SN-0042-DEMO" not in body
    assert call(api, "GET", "/api/accounts/user-4").json()["active_strikes"] == 0  # the strike is voided
    again = api.call("POST", "/platform/appeals", body=json.dumps({"item": item, "statement": "x"}).encode(),
                     iam_caller="arn:aws:iam::123456789012:role/platform")  # fmt: skip
    assert again.status == 409


def test_report_requeues_an_allowed_item(stack, runner, rules, api, photo, monkeypatch):
    up = held(stack, runner, rules, photo, "media/rv-5/beach.jpg", monkeypatch, labels=[])
    assert up.key in published(stack)  # the pipeline allowed it
    resp = call(api, "POST", "/api/reports", body={"key": up.key, "category": "spam", "note": "ad"})
    assert resp.status == 202, resp.body
    assert resp.json()["requeued"] is True and resp.json()["hidden"] is False
    assert up.key in [i["key"] for i in call(api, "GET", "/api/queue", query="kind=report").json()["items"]]
    assert up.key in published(stack)  # spam reports do not hide
    dup = call(api, "POST", "/api/reports", body={"key": up.key, "category": "spam"})
    assert dup.status == 409


def test_child_safety_reports_from_several_reporters_hide_until_reviewed(
    stack, runner, rules, api, photo, monkeypatch
):
    up = held(stack, runner, rules, photo, "media/rv-6/beach.jpg", monkeypatch, labels=[], uploader="user-6")
    assert up.key in published(stack)
    n = load_policy().hide_after_reporters
    platform = "arn:aws:iam::123456789012:role/platform"
    for i in range(n):
        body = {"key": up.key, "category": "child_sexualisation", "reporter": f"reporter-{i}"}
        resp = api.call("POST", "/platform/reports", body=json.dumps(body).encode(), iam_caller=platform)
        assert resp.status == 202, resp.body
        assert (up.key in published(stack)) is (i < n - 1)  # hidden exactly at the threshold
    versions = stack.client("s3").list_object_versions(
        Bucket=stack.outputs["PublishedBucketName"], Prefix=up.key
    )
    assert not versions.get("Versions")  # no version left to serve
    item = queued_id(api, up.key, "report")
    ok = call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "allow", "reason": "adult, fine"})
    assert ok.status == 200, ok.body
    assert up.key in published(stack)  # back after review


def test_strikes_in_the_window_escalate_the_account(stack, runner, rules, api, photo, monkeypatch):
    threshold = load_policy().strike_threshold
    for i in range(threshold):
        up = held(stack, runner, rules, photo, f"media/rv-7-{i}/beach.jpg", monkeypatch, uploader="user-7")
        item = queued_id(api, up.key)
        resp = call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "block", "reason": "again"})
        assert resp.status == 200, resp.body
    rules.drain()
    escalations = [e for e in rules.seen if e["detail-type"] == "Account Escalation"]
    assert [e["detail"]["uploader"] for e in escalations] == ["user-7"]
    assert escalations[0]["detail"]["active_strikes"] == threshold
    account = call(api, "GET", "/api/accounts/user-7").json()
    assert account["escalated"] is True and account["active_strikes"] == threshold


def test_queue_puts_minor_related_and_severe_first(stack, runner, rules, api, photo, monkeypatch):
    resp = call(api, "GET", "/api/queue", query="kind=media&limit=100").json()
    prios = [i["priority"] for i in resp["items"]]
    assert prios == sorted(prios)
    assert call(api, "GET", "/api/queue", query="kind=bogus").status == 400
    assert call(api, "GET", "/api/items/not-an-id").status == 404
    assert call(api, "POST", "/api/items/x/decision", body={"verdict": "maybe"}).status in (400, 404)


def test_every_event_on_the_bus_matches_its_schema(rules: ReviewRules):
    """Runs last in this module: every event the pipeline and the review API sent above."""
    from tests.event_schemas import validate_event

    rules.drain()
    kinds = {e["detail-type"] for e in rules.seen}
    assert {"Moderation Decision", "Account Escalation"} <= kinds
    assert any(e["detail"].get("decided_by") == "human" for e in rules.seen)
    for event in rules.seen:
        validate_event(event["detail-type"], event["detail"])


def test_confirmed_block_banks_the_hash_and_earlier_copies_are_blocked_retroactively(
    stack, runner, rules, api, tmp_path, monkeypatch
):
    import cv2
    from skimage import data as skimage_data

    from tutela.aws.banks import S3Blobs
    from tutela.bank.media import hash_file
    from tutela.bank.store import BankRepository
    from tutela_dev.emulator.runner import object_created_event

    photo = tmp_path / "astronaut.jpg"  # a real photo: PDQ quality well above the floor of 50
    cv2.imwrite(str(photo), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))

    earlier = held(stack, runner, rules, photo, "media/rv-bank-0/beach.jpg", monkeypatch, labels=[])
    assert runner.decisions(earlier)[0]["verdict"] == "allow" and earlier.key in published(stack)
    pdq = [h.to_dict() for h in hash_file(photo).hashes]
    fake = _FakeScan(SWIMWEAR, CHILD).to_dict() | {"pdq": pdq}
    monkeypatch.setattr(stack.handler_module("ScanMediaFunction"), "scan_and_match", lambda *a, **k: fake)
    up = held(stack, runner, rules, photo, "media/rv-bank-1/beach.jpg", monkeypatch, labels=SWIMWEAR)
    monkeypatch.undo()
    item = queued_id(api, up.key)
    resp = call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "block", "reason": "abuse"})
    assert resp.status == 200, resp.body
    assert resp.json()["action"]["banked"]["added"] == 1

    bucket = stack.outputs["BankBucketName"]
    repo = BankRepository(S3Blobs(bucket, client=stack.client("s3")))
    meta = repo.read_index()["banks"]["platform_removed"]
    assert meta["action"] == "block" and meta["count"] == 1
    # The same decision repeated (a retry) adds nothing and writes no new bank version.
    again = call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "block", "reason": "abuse"})
    assert (
        again.status == 200 and repo.read_index()["banks"]["platform_removed"]["version"] == meta["version"]
    )

    key = f"banks/platform_removed/v{meta['version']}.pdq"
    head = stack.client("s3").head_object(Bucket=bucket, Key=key)
    [run] = stack.deliver(object_created_event(bucket, key, None, head["ContentLength"], head["ETag"]))
    assert stack.wait(run)["status"] == "SUCCEEDED"
    chain = [
        i for i in stack.resource("dynamodb").Table(stack.outputs["DecisionsTableName"]).query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": f"obj#{runner.bucket}/{earlier.key}"},
        )["Items"]
        if i.get("kind") == "media"
    ]  # fmt: skip
    assert sorted(i["verdict"] for i in chain) == ["allow", "block"]
    assert earlier.key not in published(stack)


def test_confirmed_block_can_leave_the_banks_alone(stack, runner, rules, api, photo, monkeypatch):
    """ReviewBlockAddsToBank=false leaves REMOVED_BANK empty: a confirmed block adds nothing."""
    module = stack.handler_module("ReviewApiFunction")
    settings = module.ReviewApiSettings.from_env

    monkeypatch.setattr(module, "_settings", lambda: settings({**os.environ, "REMOVED_BANK": ""}))
    up = held(stack, runner, rules, photo, "media/rv-bank-2/beach.jpg", monkeypatch)
    item = queued_id(api, up.key)
    resp = call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "block", "reason": "abuse"})
    assert resp.status == 200 and "banked" not in resp.json()["action"]


def _decision_item(runner: Runner, up: Upload) -> dict[str, Any]:
    from tutela.decision import object_keys

    return dict(runner.table.get_item(Key=object_keys(runner.ref(up)), ConsistentRead=True)["Item"])


def test_a_stale_review_allow_never_replaces_a_newer_upload(
    stack, runner, rules, api, photo, tmp_path, monkeypatch
):
    """v1 is held for review; v2 of the same key is uploaded and published by the pipeline; then a reviewer
    allows v1. v2's copy stays published (v1 would have replaced it), and the stale allow is recorded as
    ``superseded``: in the response, in the item's history and on the bus."""
    from tutela_dev.emulator import samples

    key = "media/rv-order/beach.jpg"
    v1 = held(stack, runner, rules, photo, key, monkeypatch)
    assert _decision_item(runner, v1)["sequencer"] == v1.sequencer  # stored at decision time
    item = queued_id(api, key)
    monkeypatch.undo()  # v2: the real local scan allows it
    v2 = held(
        stack, runner, rules, samples.photo(tmp_path / "newer.jpg", (200, 150)), key, monkeypatch, labels=[]
    )
    assert runner.decisions(v2)[0]["verdict"] == "allow"
    newer = published(stack)[key]
    resp = call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "allow", "reason": "fine"})
    assert resp.status == 200, resp.body
    pub = stack.outputs["PublishedBucketName"]
    assert resp.json()["action"] == {"superseded": {"bucket": pub, "key": key}}
    assert published(stack)[key] == newer
    head = stack.client("s3").head_object(Bucket=pub, Key=key)
    assert head["Metadata"]["tutela-source-version"] == v2.version_id
    history = call(api, "GET", f"/api/items/{item}").json()["history"]
    assert [(h["action"], h.get("outcome")) for h in history] == [
        ("queued", None),
        ("decision", None),
        ("not_published", "superseded"),
    ]
    rules.drain()
    [event] = [e["detail"] for e in rules.seen if e["detail"].get("version_id") == v1.version_id
               and e["detail"].get("decided_by")]  # fmt: skip
    assert "superseded" in event["action"]


def test_a_review_allow_of_a_withdrawn_upload_publishes_nothing(
    stack, runner, rules, api, photo, monkeypatch
):
    """The uploader deletes the held upload (a delete marker) before the reviewer allows it: nothing is
    published, and the allow is recorded ``withdrawn``."""
    key = "media/rv-gone/beach.jpg"
    held(stack, runner, rules, photo, key, monkeypatch)
    item = queued_id(api, key)
    runner.s3.delete_object(Bucket=runner.bucket, Key=key)
    resp = call(api, "POST", f"/api/items/{item}/decision", body={"verdict": "allow", "reason": "fine"})
    assert resp.status == 200, resp.body
    assert resp.json()["action"] == {
        "held": True,
        "withdrawn": {"bucket": runner.bucket, "key": key, "by": "uploader"},
    }
    assert key not in published(stack)
    history = call(api, "GET", f"/api/items/{item}").json()["history"]
    assert (history[-1]["action"], history[-1]["outcome"]) == ("not_published", "withdrawn")
