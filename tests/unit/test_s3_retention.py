"""S3.mark_decided: the tag the upload bucket's lifecycle expires decided originals by (moto-backed)."""

from __future__ import annotations

from typing import Any

import boto3

from tutela.aws.s3 import DECIDED_TAG, S3
from tutela.objects import ObjectRef


def _bucket() -> Any:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_versioning(Bucket="uploads", VersioningConfiguration={"Status": "Enabled"})
    return s3


def _tags(s3: Any, ref: ObjectRef) -> dict[str, str]:
    tags = s3.get_object_tagging(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}


def test_tags_only_that_version_and_keeps_the_uploaders_tags(aws: None) -> None:
    s3 = _bucket()
    old = s3.put_object(Bucket="uploads", Key="media/p/a.jpg", Body=b"1", Tagging="client=app")["VersionId"]
    new = s3.put_object(Bucket="uploads", Key="media/p/a.jpg", Body=b"2")["VersionId"]
    ref = ObjectRef("uploads", "media/p/a.jpg", old)
    assert S3(s3).mark_decided(ref) is True
    assert _tags(s3, ref) == {"client": "app", DECIDED_TAG[0]: DECIDED_TAG[1]}
    assert _tags(s3, ObjectRef("uploads", "media/p/a.jpg", new)) == {}  # a later upload is not decided yet


def test_a_retry_writes_nothing(aws: None) -> None:
    s3 = _bucket()
    version = s3.put_object(Bucket="uploads", Key="media/p/a.jpg", Body=b"1")["VersionId"]
    ref = ObjectRef("uploads", "media/p/a.jpg", version)
    calls: list[str] = []
    s3.meta.events.register("before-call.s3.PutObjectTagging", lambda **kw: calls.append("put"))
    assert S3(s3).mark_decided(ref) and S3(s3).mark_decided(ref)
    assert calls == ["put"]


def test_never_strips_an_uploaders_full_tag_set(aws: None) -> None:
    s3 = _bucket()
    ten = "&".join(f"t{i}=v" for i in range(10))
    version = s3.put_object(Bucket="uploads", Key="media/p/a.jpg", Body=b"1", Tagging=ten)["VersionId"]
    ref = ObjectRef("uploads", "media/p/a.jpg", version)
    assert S3(s3).mark_decided(ref) is False
    assert len(_tags(s3, ref)) == 10 and DECIDED_TAG[0] not in _tags(s3, ref)


def test_a_version_already_deleted_has_nothing_to_expire(aws: None) -> None:
    s3 = _bucket()
    version = s3.put_object(Bucket="uploads", Key="media/p/a.jpg", Body=b"1")["VersionId"]
    s3.delete_object(Bucket="uploads", Key="media/p/a.jpg", VersionId=version)
    assert S3(s3).mark_decided(ObjectRef("uploads", "media/p/a.jpg", version)) is False
