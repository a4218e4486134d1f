"""S3.retire: a final original becomes noncurrent (a conditional delete marker) so the upload bucket's
noncurrent-version rule expires it; a newer upload of the key is never hidden (moto-backed)."""

from __future__ import annotations

from typing import Any

import boto3

from tutela.aws.s3 import S3
from tutela.objects import ObjectRef

KEY = "media/p/a.jpg"


def _bucket() -> Any:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_versioning(Bucket="uploads", VersioningConfiguration={"Status": "Enabled"})
    return s3


def _put(s3: Any, body: bytes) -> ObjectRef:
    resp = s3.put_object(Bucket="uploads", Key=KEY, Body=body)
    return ObjectRef("uploads", KEY, resp["VersionId"], len(body), resp["ETag"].strip('"'))


def _current(s3: Any) -> str | None:
    """The current version id of KEY (None: a delete marker is current)."""
    for v in s3.list_object_versions(Bucket="uploads", Prefix=KEY).get("Versions", []):
        if v["IsLatest"]:
            return str(v["VersionId"])
    return None


def _exists(s3: Any, ref: ObjectRef) -> bool:
    return s3.head_object(Bucket="uploads", Key=KEY, VersionId=ref.version_id)["ContentLength"] >= 0


def test_the_current_version_gets_a_delete_marker_and_stays_readable(aws: None) -> None:
    s3 = _bucket()
    ref = _put(s3, b"1")
    calls: list[str] = []
    s3.meta.events.register("before-call.s3.*", lambda event_name, **kw: calls.append(event_name))
    assert S3(s3).retire(ref) is True
    assert calls == ["before-call.s3.DeleteObject"]  # one free request, no HEAD
    assert _current(s3) is None and _exists(s3, ref)  # noncurrent, still there by version id


def test_a_retry_changes_nothing(aws: None) -> None:
    s3 = _bucket()
    ref = _put(s3, b"1")
    assert S3(s3).retire(ref) and S3(s3).retire(ref)
    versions = s3.list_object_versions(Bucket="uploads", Prefix=KEY)
    assert len(versions["DeleteMarkers"]) == 1 and _exists(s3, ref)


def test_a_newer_upload_of_the_key_is_never_hidden(aws: None) -> None:
    s3 = _bucket()
    old = _put(s3, b"1")
    new = _put(s3, b"2")
    assert S3(s3).retire(old) is True  # already noncurrent: the rule expires it anyway
    assert _current(s3) == new.version_id


def test_without_the_events_etag_it_checks_the_current_version_first(aws: None) -> None:
    s3 = _bucket()
    old = _put(s3, b"1")
    new = _put(s3, b"2")
    assert S3(s3).retire(ObjectRef("uploads", KEY, old.version_id)) is True
    assert _current(s3) == new.version_id
    assert S3(s3).retire(ObjectRef("uploads", KEY, new.version_id)) is True
    assert _current(s3) is None and _exists(s3, new)


def test_an_unversioned_object_is_never_deleted(aws: None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="plain")
    etag = s3.put_object(Bucket="plain", Key=KEY, Body=b"1")["ETag"]
    assert S3(s3).retire(ObjectRef("plain", KEY, None, 1, etag)) is False
    assert s3.head_object(Bucket="plain", Key=KEY)["ContentLength"] == 1
