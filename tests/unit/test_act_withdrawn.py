"""An upload withdrawn between its scan and Act: the uploader's plain DELETE puts a delete marker over the
judged version (which stays readable by its version id). Act publishes nothing for it, on either publish
path (the rescrubbed original, a staged copy) or for a comment batch's allowed lines, and records the
outcome ``withdrawn``; a block is still quarantined (evidence); a marker that a later upload's own retire
explains is ``superseded``, not ``withdrawn``; the common path makes no extra request."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.unit.test_act import (
    EXECUTION,
    PUBLISHED,
    QUARANTINE,
    UPLOADS,
    Bus,
    _comments,
    _decision,
    _media,
    _photo,
    world,
)
from tutela.act import Actor, Targets, withdrawn
from tutela.aws.s3 import S3
from tutela.aws.store import DecisionStore
from tutela.objects import ObjectRef

__all__ = ["world"]  # the fixture, imported


def _act(world: dict[str, Any], ref: ObjectRef, decision: dict[str, Any], bus: Bus | None = None) -> Any:
    store = DecisionStore(world["table"])
    action = Actor(S3(), store, bus or Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION).act(ref, decision)
    logged = store.get(decision["pk"], decision["sk"] + "#action")
    assert logged is not None and logged["action"] == action  # recorded as the outcome, not an error
    return action


def _published(world: dict[str, Any]) -> list[str]:
    return [v["Key"] for v in world["s3"].list_object_versions(Bucket=PUBLISHED).get("Versions", [])]


def _current_is_a_marker(world: dict[str, Any], key: str) -> bool:
    listed = world["s3"].list_object_versions(Bucket=UPLOADS, Prefix=key)
    return [m["IsLatest"] for m in listed.get("DeleteMarkers", [])] == [True]


@pytest.mark.parametrize("path", ["rescrubbed", "staged"])
def test_an_allow_withdrawn_before_act_publishes_nothing(world: dict[str, Any], path: str) -> None:
    ref, decision = _photo(world, "allow") if path == "rescrubbed" else _media(world, "allow")
    world["s3"].delete_object(Bucket=UPLOADS, Key=ref.key)  # the uploader's DELETE: a delete marker
    bus = Bus()
    action = _act(world, ref, decision, bus)
    assert (
        action
        == withdrawn(ref)
        == {
            "held": True,
            "withdrawn": {"bucket": UPLOADS, "key": ref.key, "by": "uploader"},
        }
    )
    assert _published(world) == []
    assert [d["action"] for _, d in bus.sent] == [action]  # the platform learns it from the event
    # the judged version is kept (noncurrent: the lifecycle expires it), the uploader's marker stays on top
    versions = world["s3"].list_object_versions(Bucket=UPLOADS, Prefix=ref.key)["Versions"]
    assert [v["VersionId"] for v in versions] == [ref.version_id]
    assert _current_is_a_marker(world, ref.key)


def test_a_comment_batch_withdrawn_before_act_publishes_no_line_but_keeps_the_evidence(
    world: dict[str, Any],
) -> None:
    ref, decision = _comments(world)
    world["s3"].delete_object(Bucket=UPLOADS, Key=ref.key)
    action = _act(world, ref, decision)
    assert action["withdrawn"] == {"bucket": UPLOADS, "key": ref.key, "by": "uploader"}
    assert "published" not in action and _published(world) == []
    assert action["quarantined"]["comments"] == 1  # the blocked line is still kept for a report
    body = world["s3"].get_object(Bucket=QUARANTINE, Key=action["quarantined"]["key"])["Body"].read()
    assert b"how old r u" in body


def test_a_block_withdrawn_before_act_is_still_quarantined(world: dict[str, Any]) -> None:
    ref, decision = _media(world, "block")
    world["s3"].delete_object(Bucket=UPLOADS, Key=ref.key)
    bus = Bus()
    action = _act(world, ref, decision, bus)
    assert set(action) == {"quarantined"}
    assert sorted(t for t, _ in bus.sent) == ["Moderation Decision", "Moderation Escalation"]


@pytest.mark.parametrize("path", ["rescrubbed", "staged"])
def test_a_marker_left_by_a_later_uploads_retire_is_superseded_not_withdrawn(
    world: dict[str, Any], path: str
) -> None:
    """v1 (sequencer 01) is acted on last: v2 (02) was uploaded, published and retired (Act's own delete
    marker) first. v2's copy explains the marker: v1 is superseded and v2's copy stays."""
    s3 = world["s3"]
    ref, decision = _photo(world, "allow") if path == "rescrubbed" else _media(world, "allow")
    ref = ObjectRef(ref.bucket, ref.key, ref.version_id, ref.size, ref.etag, "01")
    decision = _decision(ref, verdict="allow", staged=decision["staged"])
    s3.put_object(Bucket=UPLOADS, Key=ref.key, Body=b"v2")
    s3.put_object(Bucket=PUBLISHED, Key=ref.key, Body=b"v2's copy", Metadata={"tutela-sequencer": "02"})
    s3.delete_object(Bucket=UPLOADS, Key=ref.key)  # v2's retire
    action = _act(world, ref, decision)
    assert action == {"superseded": {"bucket": PUBLISHED, "key": ref.key}}
    assert s3.get_object(Bucket=PUBLISHED, Key=ref.key)["Body"].read() == b"v2's copy"


def test_a_later_upload_that_is_current_is_not_a_withdrawal(world: dict[str, Any]) -> None:
    """v1 judged, v2 uploaded since (current, not yet acted on): v1 is published (an older copy is replaced
    by v2's when v2's Act runs), read by its version id without reading v2's bytes."""
    s3 = world["s3"]
    ref, decision = _photo(world, "allow")
    s3.put_object(Bucket=UPLOADS, Key=ref.key, Body=b"v2")
    assert _act(world, ref, decision) == {"published": {"bucket": PUBLISHED, "key": ref.key}}


def test_the_common_path_makes_no_extra_request(world: dict[str, Any]) -> None:
    """Not withdrawn: the rescrubbed allow is still one GET and one conditional PUT in S3 (the GET names
    the key's current version, which is the judged one), plus the free conditional retire."""
    ref, decision = _photo(world, "allow")
    from tutela.aws import clients

    calls: list[str] = []
    clients.reset()
    client = clients.client("s3")  # the one Act's adapter uses
    client.meta.events.register(
        "before-call.s3.*", lambda event_name, **kw: calls.append(event_name.split(".")[-1])
    )
    assert "published" in _act(world, ref, decision)
    assert sorted(calls) == ["DeleteObject", "GetObject", "PutObject"]


def _client_error(code: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "service_error_code": code,
        "service_message": "Not Found",
        "http_status_code": 404,
        "response_meta": {"HTTPHeaders": headers},
    }


@pytest.mark.parametrize(
    ("headers", "state"),
    [({"x-amz-delete-marker": "true", "x-amz-version-id": "dm1"}, "withdrawn"), ({}, "gone")],
    ids=["delete-marker", "no-object"],
)
def test_key_state_reads_s3s_delete_marker_header(headers: dict[str, str], state: str) -> None:
    """S3's HEAD of a key whose current version is a delete marker: 404 with ``x-amz-delete-marker: true``
    (no header: no object at all). A stub raises exactly that, whatever moto models."""
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("head_object", **_client_error("404", headers))
        assert S3(client).key_state(ObjectRef("b", "k", "v1")) == state


def test_read_judged_finds_the_version_behind_s3s_delete_marker() -> None:
    """S3's GET of the key (no version id) answers 404 NoSuchKey when a delete marker is current; the
    version is still readable by its id: withdrawn. No object behind it: gone (None)."""
    import io

    from botocore.response import StreamingBody

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    marker = _client_error("NoSuchKey", {"x-amz-delete-marker": "true", "x-amz-version-id": "dm1"})
    body = StreamingBody(io.BytesIO(b"judged"), 6)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", expected_params={"Bucket": "b", "Key": "k"}, **marker)
        stub.add_response(
            "get_object",
            {"Body": body, "ContentLength": 6, "VersionId": "v1"},
            {"Bucket": "b", "Key": "k", "VersionId": "v1"},
        )
        stub.add_client_error("get_object", **marker)
        stub.add_client_error("get_object", **_client_error("NoSuchVersion", {}))
        s3 = S3(client)
        assert s3.read_judged(ObjectRef("b", "k", "v1"), max_bytes=100) == (b"judged", True)
        assert s3.read_judged(ObjectRef("b", "k", "v1"), max_bytes=100) == (None, False)
