"""Resolving an event's key with the read the first step does anyway (``S3.resolving``) and taking the key
an earlier step resolved (``S3.carried``, ``contracts.carried_key``): docs/s3-keys.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tutela.aws.s3 import S3
from tutela.contracts import RESOLVED_KEY, carried_key
from tutela.objects import ObjectRef

BUCKET = "uploads"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def counting(client: Any) -> list[str]:
    ops: list[str] = []
    client.meta.events.register("before-call.s3", lambda model, **_: ops.append(model.name))
    return ops


def test_a_key_that_exists_as_delivered_costs_only_its_read(s3: Any) -> None:
    v = s3.put_object(Bucket=BUCKET, Key="media/p/a+b.jpg", Body=b"plus")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="media/p/a b.jpg", Body=b"space")
    ops = counting(s3)
    ref, data = S3(s3).resolving(
        ObjectRef(BUCKET, "media/p/a+b.jpg", v), lambda r: S3(s3).read_bytes(r, max_bytes=9)
    )
    assert (ref.key, data, ops) == ("media/p/a+b.jpg", b"plus", ["GetObject"])


def test_an_encoded_key_is_read_under_its_decoded_form(s3: Any) -> None:
    v = s3.put_object(Bucket=BUCKET, Key="media/p/café 1.jpg", Body=b"x")["VersionId"]
    ops = counting(s3)
    ref, data = S3(s3).resolving(
        ObjectRef(BUCKET, "media/p/caf%C3%A9+1.jpg", v, 1, "e"), lambda r: S3(s3).read_bytes(r, max_bytes=9)
    )
    assert (ref, ref.etag, data) == (ObjectRef(BUCKET, "media/p/café 1.jpg", v, 1), "e", b"x")
    assert ops == ["GetObject", "GetObject"]


def test_a_key_with_no_decoded_form_is_not_read_twice(s3: Any) -> None:
    ops = counting(s3)
    with pytest.raises(ClientError):
        S3(s3).resolving(ObjectRef(BUCKET, "media/p/gone.jpg"), lambda r: S3(s3).read_bytes(r, max_bytes=9))
    assert ops == ["GetObject"]


def test_only_a_missing_object_falls_back_to_the_decoded_form(s3: Any) -> None:
    """A read that fails for another reason (here: over the size limit) is not retried under another key."""
    v = s3.put_object(Bucket=BUCKET, Key="media/p/a+b.jpg", Body=b"too long")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="media/p/a b.jpg", Body=b"x")
    ops = counting(s3)
    with pytest.raises(Exception, match="limit"):
        S3(s3).resolving(ObjectRef(BUCKET, "media/p/a+b.jpg", v), lambda r: S3(s3).read_bytes(r, max_bytes=2))
    assert ops == ["GetObject"]


def test_a_carried_key_must_name_the_events_object() -> None:
    ref = ObjectRef(BUCKET, "media/p/a+b.jpg", "v1", 5, "e")
    assert S3.carried(ref, "media/p/a b.jpg") == ObjectRef(BUCKET, "media/p/a b.jpg", "v1", 5)
    assert S3.carried(ref, "media/p/a+b.jpg") == ref
    # anything else is not this execution's object: the step resolves it itself
    for other in ("media/p/other.jpg", "media/p/a%2Bb.jpg", None, 7, ""):
        assert S3.carried(ref, other) is None


def test_the_carried_key_of_each_kind_of_decision() -> None:
    assert carried_key({"kind": "comments", RESOLVED_KEY: "k"}) == "k"
    assert carried_key({"kind": "error", "error": "X"}) is None
    assert carried_key({"kind": "post", RESOLVED_KEY: ["k"]}) is None

    def media(scan: Any, scrub: Any) -> dict[str, Any]:
        return {"kind": "media_analysis", "analysis": [{"scan": scan}, {"scrub": scrub}]}

    assert carried_key(media({RESOLVED_KEY: "k"}, {RESOLVED_KEY: "k"})) == "k"
    # the branches disagree, or one did not say: no carried key (RecordDecision resolves)
    assert carried_key(media({RESOLVED_KEY: "k"}, {RESOLVED_KEY: "j"})) is None
    assert carried_key(media({RESOLVED_KEY: "k"}, {})) is None
    assert carried_key({"kind": "media_analysis", "analysis": None}) is None
