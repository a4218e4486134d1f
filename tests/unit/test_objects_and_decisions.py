"""Pure domain: object refs, decision normalisation, items and events (no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tutela.decision import (
    comment_items,
    event_detail,
    from_dynamo,
    object_item,
    object_keys,
    step_decision,
    to_dynamo,
)
from tutela.errors import InvalidInputError
from tutela.held import step_error_reason as error_reason
from tutela.objects import ObjectRef
from tutela.sniff import sniff
from tutela.verdict import worst

DETAIL = {"bucket": {"name": "up"}, "object": {"key": "media/p1/a.jpg", "version-id": "v1", "size": 10}}


def test_object_ref_parses_the_s3_event_detail() -> None:
    ref = ObjectRef.from_detail(DETAIL)
    assert (ref.bucket, ref.key, ref.version_id, ref.size) == ("up", "media/p1/a.jpg", "v1", 10)
    assert (ref.route, ref.post_id, ref.filename) == ("media", "p1", "a.jpg")
    assert ref.version_args() == {"VersionId": "v1"}


@pytest.mark.parametrize(
    ("key", "route", "post"),
    [("comments/p9/b.jsonl", "comments", "p9"), ("notes.exe", "other", None), ("media/x.jpg", "media", None)],
)
def test_routes_and_post_ids(key: str, route: str, post: str | None) -> None:
    ref = ObjectRef("b", key)
    assert (ref.route, ref.post_id, ref.version_label) == (route, post, "null")


@pytest.mark.parametrize(
    "detail", [None, {}, {"bucket": {"name": "b"}}, {"bucket": {"name": ""}, "object": {"key": "k"}}]
)
def test_bad_details_are_clear_errors(detail: object) -> None:
    with pytest.raises(InvalidInputError):
        ObjectRef.from_detail(detail)


def test_error_reason_keeps_the_message_and_drops_the_trace() -> None:
    cause = json.dumps(
        {"errorType": "UnsupportedMediaError", "errorMessage": "not media", "stackTrace": ["x" * 9000]}
    )
    reason = error_reason("UnsupportedMediaError", cause)
    assert reason == {"code": "unsupported_media", "error": "UnsupportedMediaError", "message": "not media"}
    assert error_reason("States.Timeout", "")["code"] == "analyzer_timeout"
    assert error_reason("KeyError", "boom")["code"] == "analyzer_error"
    assert len(error_reason("X", "y" * 5000)["message"]) == 500


def test_malformed_step_output_is_held_not_allowed() -> None:
    assert step_decision({"verdict": "publish!", "reasons": []}).verdict == "review"
    assert step_decision({"verdict": "allow"}).verdict == "review"  # no reasons list
    held = step_decision({"kind": "error", "error": "Boom", "cause": "x"})
    assert (held.kind, held.verdict) == ("error", "review")


def test_object_item_queues_reviews_and_expires() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ref = ObjectRef.from_detail(DETAIL)
    d = step_decision(
        {"kind": "media", "verdict": "review", "severity": 9, "reasons": [{"code": "c"}], "minor": "likely"}
    )
    item = object_item(ref, d, execution_id="e", event_time=None, retention_days=10, now=now)
    assert item["pk"] == "obj#up/media/p1/a.jpg" and item["sk"] == "v#v1"
    assert item["queue"] == "review" and item["post_id"] == "p1" and item["minor"] == "likely"
    assert item["severity"] == 4  # clamped to CRITICAL
    assert item["expires_at"] == int(datetime(2026, 1, 11, tzinfo=UTC).timestamp())
    assert "event_time" not in item
    allowed = object_item(
        ref,
        step_decision({"verdict": "allow", "reasons": []}),
        execution_id=None,
        event_time=None,
        retention_days=1,
    )
    assert "queue" not in allowed


def test_only_media_with_hashes_enter_the_sparse_hash_index() -> None:
    """Promise: the HashIndex (retroactive bank matching reads all of it) holds exactly the media decisions
    that stored a PDQ hash; a media decision without one, or a post carrying a ``pdq`` field, stays out."""
    from tutela.decision import hash_shard

    ref = ObjectRef.from_detail(DETAIL)
    hashed = {"kind": "media", "verdict": "allow", "reasons": [], "pdq": [{"pdq": "f" * 64, "quality": 90}]}
    item = object_item(ref, step_decision(hashed), execution_id=None, event_time=None, retention_days=1)
    assert item["pdq_shard"] == hash_shard(item["pk"])
    for other in ({**hashed, "pdq": []}, {**hashed, "kind": "post"}):
        kept = object_item(ref, step_decision(other), execution_id=None, event_time=None, retention_days=1)
        assert "pdq_shard" not in kept


def test_comment_items_one_per_comment_keyed_under_the_object() -> None:
    ref = ObjectRef.from_detail(DETAIL)
    results = [
        {"id": "c1", "line": 1, "verdict": "allow"},
        {"line": 2, "verdict": "review", "error": "bad json"},
    ]
    items = list(comment_items(ref, results, decided="t", expires=1))
    assert [i["sk"] for i in items] == ["v#v1#c#000001", "v#v1#c#000002"]
    assert [i["comment_id"] for i in items] == ["c1", "line-2"]
    assert items[1]["queue"] == "review" and items[1]["reasons"][0]["code"] == "invalid_comment"
    assert all(i["pk"] == object_keys(ref)["pk"] for i in items)


def test_every_comment_gets_its_own_record_whatever_its_id() -> None:
    """Promise: one record per comment (issue 8, item 8: a duplicate id or an id equal to the line-N
    fallback shared one record, and a block was overwritten by an allow; a 2 KB id broke the batch)."""
    ref = ObjectRef.from_detail(DETAIL)
    results = [
        {"id": "dup", "line": 1, "verdict": "block"},
        {"id": "dup", "line": 2, "verdict": "allow"},
        {"id": "line-4", "line": 3, "verdict": "block"},
        {"line": 4, "verdict": "review", "error": "bad json"},
        {"id": "x" * 2048, "line": 5, "verdict": "review", "error": "id too long", "code": "unsafe_id"},
    ]
    items = list(comment_items(ref, results, decided="t", expires=1))
    assert len({i["sk"] for i in items}) == 5
    assert [i["verdict"] for i in items] == ["block", "allow", "block", "review", "review"]
    assert all(len(i["sk"].encode()) < 1024 and len(i["comment_id"]) <= 256 for i in items)
    assert items[4]["comment_id"].startswith("sha256:") and items[4]["reasons"][0]["code"] == "unsafe_id"


def test_event_detail_carries_codes_not_content() -> None:
    item = {
        "bucket": "b",
        "key": "k",
        "verdict": "block",
        "escalate": True,
        "pk": "p",
        "sk": "s",
        "reasons": [{"code": "minor_explicit", "message": "long text"}],
        "signals": {"labels": []},
    }
    detail = event_detail(item, {"quarantined": {"key": "k"}})
    assert detail["reasons"] == ["minor_explicit"] and detail["escalate"] is True
    assert "signals" not in detail and "long text" not in json.dumps(detail)


def test_dynamo_round_trip_of_floats() -> None:
    value = {"score": 0.25, "n": 3, "bad": float("nan"), "xs": [1.5]}
    stored = to_dynamo(value)
    assert stored["score"] == Decimal("0.25") and stored["bad"] is None
    assert from_dynamo(stored) == {"score": 0.25, "n": 3, "bad": None, "xs": [1.5]}


def test_worst_verdict() -> None:
    assert worst([]) == "allow"
    assert worst(["allow", "block", "review"]) == "block"


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "png"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
        (b"II*\x00" + b"\0" * 10, "tiff"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "heif"),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf", "avif"),
        (b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2", "mp4"),
        (b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", "mov"),
        (b"\0\0\0\x08wide\0\0\0\0mdat", "mov"),
    ],
)
def test_sniff_from_bytes(head: bytes, name: str) -> None:
    media = sniff(head)
    assert media is not None and media.name == name


@pytest.mark.parametrize(
    "head", [b"", b"MZ\x90\x00" + b"\0" * 60, b"GIF89a" + b"\0" * 10, b"%PDF-1.7\n" + b"\0" * 8]
)
def test_sniff_rejects_other_bytes(head: bytes) -> None:
    assert sniff(head) is None


def test_sniff_edge_cases() -> None:
    avif_mif1 = sniff(b"\0\0\0\x1cftypmif1\0\0\0\0mif1avifmiaf")
    assert avif_mif1 is not None and avif_mif1.name == "avif"
    assert sniff(b"\0\0\0\x18ftypcrx \0\0\0\x01crx isom") is None  # Canon CR3 raw
    truncated = sniff(b"\xff\xd8\xff\xe0\x00")
    assert truncated is not None and truncated.name == "jpeg"


def test_a_stored_version_label_reads_back_as_the_version_id() -> None:
    """Promise: an unversioned object's record says "null" (S3's name) and reads back as no version id, so
    the adapters never send VersionId=null; a real version id round-trips unchanged."""
    from tutela.objects import version_args, version_id_of

    for ref in (ObjectRef("b", "media/p/a.jpg", None), ObjectRef("b", "media/p/a.jpg", "v1")):
        assert version_id_of(ref.version_label) == ref.version_id
    assert version_id_of(None) is None and version_args(version_id_of("null")) == {}
