"""Requests per object (they are most of the S3 bill): one GET to download an object whose size the event
gave, one CopyObject to copy one whose size is known; no HEAD in either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from tutela.aws.s3 import S3
from tutela.errors import LimitExceededError
from tutela.objects import ObjectRef


@pytest.fixture
def s3(aws: None) -> tuple[S3, list[str]]:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="src")
    client.create_bucket(Bucket="dst")
    client.put_object(Bucket="src", Key="a.jpg", Body=b"x" * 3000)
    calls: list[str] = []
    client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return S3(client), calls


def test_download_with_a_known_size_is_one_get(s3: tuple[S3, list[str]], tmp_path: Path) -> None:
    adapter, calls = s3
    assert adapter.download(ObjectRef("src", "a.jpg", size=3000), tmp_path / "a", max_bytes=10_000) == 3000
    assert (tmp_path / "a").read_bytes() == b"x" * 3000
    assert calls == ["GetObject"]


def test_download_refuses_an_oversize_object_from_the_get(s3: tuple[S3, list[str]], tmp_path: Path) -> None:
    adapter, calls = s3
    with pytest.raises(LimitExceededError):
        adapter.download(ObjectRef("src", "a.jpg", size=10), tmp_path / "a", max_bytes=100)
    assert calls == ["GetObject"] and not (tmp_path / "a").exists()


def test_copy_with_a_known_size_is_one_copy(s3: tuple[S3, list[str]]) -> None:
    adapter, calls = s3
    adapter.copy(
        ObjectRef("src", "a.jpg", size=3000), "dst", "b.jpg", content_type="image/jpeg", metadata={"m": "1"}
    )
    assert calls == ["CopyObject"]
    head: Any = adapter.client.head_object(Bucket="dst", Key="b.jpg")
    assert head["ContentType"] == "image/jpeg" and head["Metadata"] == {"m": "1"}
