"""Promises of what a reviewer's decision does to S3 (``tutela.aws.review_media``), on moto: the original
is quarantined as an exact copy before anything deletes it, a published copy is freshly scrubbed and
verified, taking a copy down removes every version, a comment batch republishes exactly its allowed lines
and quarantines its blocked ones, and a preview never reads an allowed item's original.
(make mutation found this adapter reached by no unit test.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tutela.aws.review_media import Buckets, ReviewMedia, ref_of
from tutela.review.rules import ReviewError
from tutela.scrub import find_location
from tutela_dev.emulator import samples

B = Buckets("rv-upload", "rv-staging", "rv-published", "rv-quarantine")


@pytest.fixture
def s3(aws: None) -> Iterator[Any]:
    client = boto3.client("s3")
    for name in (B.upload, B.staging, B.published, B.quarantine):
        client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield client


def _upload(s3: Any, key: str, body: bytes, **meta: str) -> dict[str, Any]:
    version = s3.put_object(Bucket=B.upload, Key=key, Body=body, Metadata=meta)["VersionId"]
    return {"bucket": B.upload, "key": key, "version_id": version}


def test_ref_of_treats_the_null_version_as_none() -> None:
    assert ref_of({"bucket": "b", "key": "k", "version_id": "null"}).version_id is None
    assert ref_of({"bucket": "b", "key": "k", "version_id": "v1"}).version_id == "v1"


def test_quarantine_copies_exactly_then_the_original_may_go(s3: Any) -> None:
    entry = _upload(s3, "media/p/a.bin", b"x" * 100, **{"uploader-id": "u-1"})
    media = ReviewMedia(B)
    assert media.uploader(entry) == "u-1"
    qkey = f"media/p/a.bin@{entry['version_id']}"
    assert media.quarantine(entry, "block") == {"quarantined": {"bucket": B.quarantine, "key": qkey}}
    copy = s3.get_object(Bucket=B.quarantine, Key=qkey)
    assert copy["Body"].read() == b"x" * 100
    assert copy["Metadata"] == {"tutela-decision": "block", "tutela-source-version": entry["version_id"]}
    assert media.quarantine(entry, "block")["quarantined"]["key"] == qkey  # again: no second copy needed
    assert len(s3.list_object_versions(Bucket=B.quarantine)["Versions"]) == 1
    media.delete_original(entry)
    assert media.source(entry) is not None and media.source(entry).bucket == B.quarantine  # type: ignore[union-attr]
    assert media.uploader(entry) is None
    assert media.quarantine(entry, "block")["quarantined"]["key"] == qkey  # original gone, copy kept
    s3.delete_object(Bucket=B.quarantine, Key=qkey, VersionId=copy["VersionId"])
    with pytest.raises(ReviewError) as gone:
        media.quarantine(entry, "block")
    assert (gone.value.status, gone.value.code) == (409, "source_gone")
    assert media.source(entry) is None


def test_publishing_after_review_scrubs_again_and_verifies(s3: Any, tmp_path: Path) -> None:
    original = samples.photo(tmp_path / "beach.jpg", (320, 240))
    assert find_location(original)  # the sample carries GPS
    photo = original.read_bytes()
    entry = _upload(s3, "media/p/beach.jpg", photo)
    media = ReviewMedia(B)
    staged, content_type = media.prepare_media(entry)
    assert (staged.bucket, staged.key) == (B.staging, f"reviewed/{entry['version_id']}/media/p/beach.jpg")
    assert content_type == "image/jpeg"
    assert media.publish(staged, entry, "allow", content_type) == {
        "published": {"bucket": B.published, "key": "media/p/beach.jpg"}
    }
    out = s3.get_object(Bucket=B.published, Key="media/p/beach.jpg")
    published = out["Body"].read()
    (tmp_path / "published.jpg").write_bytes(published)
    assert not find_location(tmp_path / "published.jpg") and out["ContentType"] == "image/jpeg"
    assert out["Metadata"] == {"tutela-decision": "allow", "tutela-source-version": entry["version_id"]}
    media.publish(staged, entry, "allow", content_type)  # already holds this decision: not copied again
    assert len(s3.list_object_versions(Bucket=B.published)["Versions"]) == 1
    assert media.preview_bytes({**entry, "verdict": "allow"}, 10**7) == published  # never the original
    assert media.preview_bytes({**entry, "verdict": "review"}, 10**7) == photo
    assert media.unpublish("media/p/beach.jpg") == 1
    assert "Versions" not in s3.list_object_versions(Bucket=B.published, Prefix="media/p/beach.jpg")
    with pytest.raises(ReviewError) as none:
        media.preview_bytes({**entry, "verdict": "allow"}, 10**7)
    assert (none.value.status, none.value.code) == (404, "no_preview")


def test_what_cannot_be_scrubbed_or_is_gone_cannot_be_allowed(s3: Any) -> None:
    media = ReviewMedia(B)
    not_media = _upload(s3, "media/p/x.jpg", b"not an image at all")
    with pytest.raises(ReviewError) as refused:
        media.prepare_media(not_media)
    assert (refused.value.status, refused.value.code) == (422, "cannot_publish")
    with pytest.raises(ReviewError) as gone:
        media.prepare_media({"bucket": B.upload, "key": "media/p/none.jpg", "version_id": "v0"})
    assert gone.value.code == "source_gone"
    with pytest.raises(ReviewError) as unsafe:
        media.prepare_media({"bucket": B.upload, "key": "media/p/../x.jpg", "version_id": "v0"})
    assert unsafe.value.code == "cannot_publish"


def test_a_reviewed_batch_republishes_exactly_its_allowed_lines(s3: Any) -> None:
    lines = [{"id": "a", "text": "hello"}, {"id": "b", "text": "meet me alone"}, {"id": "c", "text": "nice"}]
    body = b"\n".join(json.dumps(x).encode() for x in lines) + b"\n"
    entry = _upload(s3, "comments/p/t.jsonl", body)
    media = ReviewMedia(B)
    verdicts = [
        {"id": "a", "line": 1, "verdict": "allow"},
        {"id": "b", "line": 2, "verdict": "block"},
        {"id": "c", "line": 3, "verdict": "review"},
    ]
    action = media.rebuild_comments(entry, verdicts, "reviewed")
    qkey = f"comments/p/t.jsonl@{entry['version_id']}"
    assert action == {
        "held_comments": 1,
        "published": {"bucket": B.published, "key": "comments/p/t.jsonl", "comments": 1},
        "quarantined": {"bucket": B.quarantine, "key": qkey, "comments": 1},
    }
    pub = s3.get_object(Bucket=B.published, Key="comments/p/t.jsonl")
    assert [json.loads(x)["id"] for x in pub["Body"].read().splitlines()] == ["a"]
    assert pub["ContentType"] == "application/x-ndjson" and pub["Metadata"] == {"tutela-decision": "reviewed"}
    assert s3.get_object(Bucket=B.quarantine, Key=qkey)["Body"].read() == body.splitlines()[1] + b"\n"
    nothing = media.rebuild_comments(entry, [{**v, "verdict": "review"} for v in verdicts], "reviewed")
    assert nothing == {"held_comments": 3}
    assert "Versions" not in s3.list_object_versions(Bucket=B.published, Prefix="comments/p/t.jsonl")


# -- publishing order and withdrawn originals (the same rules as Act's) -----------------------------------


def _staged(s3: Any, entry: dict[str, Any]) -> Any:
    from tutela.objects import ObjectRef

    key = f"reviewed/{entry['version_id']}/{entry['key']}"
    s3.put_object(Bucket=B.staging, Key=key, Body=b"v1 scrubbed", ContentType="image/jpeg")
    return ObjectRef(B.staging, key)


@pytest.mark.parametrize(("theirs", "kept"), [("03", True), ("01", False)], ids=["later", "earlier"])
def test_a_review_allow_never_replaces_a_later_uploads_copy(s3: Any, theirs: str, kept: bool) -> None:
    """v1 (sequencer 02) was held; meanwhile another upload's copy was published. A later one (03) stays and
    the allow is ``superseded``; an earlier one (01) is replaced, and the copy names v1's sequencer."""
    entry = _upload(s3, "media/p/held.jpg", b"v1")
    s3.put_object(Bucket=B.published, Key=entry["key"], Body=b"other", Metadata={"tutela-sequencer": theirs})
    out = ReviewMedia(B).publish(_staged(s3, entry), entry, "rec", "image/jpeg", sequencer="02")
    got = s3.get_object(Bucket=B.published, Key=entry["key"])
    if kept:
        assert out == {"superseded": {"bucket": B.published, "key": entry["key"]}}
        assert got["Body"].read() == b"other"
    else:
        assert out == {"published": {"bucket": B.published, "key": entry["key"]}}
        assert got["Body"].read() == b"v1 scrubbed" and got["Metadata"]["tutela-sequencer"] == "02"


def test_a_review_allow_of_a_withdrawn_original_publishes_nothing(s3: Any) -> None:
    entry = _upload(s3, "media/p/gone.jpg", b"v1")
    staged = _staged(s3, entry)
    s3.delete_object(Bucket=B.upload, Key=entry["key"])  # the uploader's DELETE: a delete marker
    out = ReviewMedia(B).publish(staged, entry, "rec", "image/jpeg", sequencer="02")
    assert out == {"held": True, "withdrawn": {"bucket": B.upload, "key": entry["key"], "by": "uploader"}}
    assert "Versions" not in s3.list_object_versions(Bucket=B.published)


def test_an_overturned_block_is_published_whatever_marker_its_deleted_original_uncovered(s3: Any) -> None:
    """A block deleted v1 by its id (its copy is in quarantine); an earlier upload's retire left a delete
    marker under it, now current. That marker is not a withdrawal of v1: the overturned allow publishes."""
    s3.put_object(Bucket=B.upload, Key="media/p/appeal.jpg", Body=b"v0")
    s3.delete_object(Bucket=B.upload, Key="media/p/appeal.jpg")  # v0 retired
    entry = _upload(s3, "media/p/appeal.jpg", b"v1")
    staged = _staged(s3, entry)
    s3.delete_object(Bucket=B.upload, Key=entry["key"], VersionId=entry["version_id"])  # the block
    out = ReviewMedia(B).publish(staged, entry, "rec", "image/jpeg", sequencer="02")
    assert out == {"published": {"bucket": B.published, "key": entry["key"]}}


def test_a_marker_over_an_original_the_pipeline_published_and_retired_is_not_a_withdrawal(s3: Any) -> None:
    entry = _upload(s3, "media/p/reported.jpg", b"v1")
    staged = _staged(s3, entry)
    s3.delete_object(Bucket=B.upload, Key=entry["key"])  # Act's retire after it published
    out = ReviewMedia(B).publish(staged, entry, "rec", "image/jpeg", sequencer="02", withdrawable=False)
    assert out == {"published": {"bucket": B.published, "key": entry["key"]}}
