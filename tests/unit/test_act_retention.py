"""Act retires an original (a delete marker: the upload bucket's noncurrent-version rule expires it after
OriginalRetentionDays) exactly when nothing is left for a human: a published media allow, a comment batch with
no held line; never with OriginalRetentionDays=0."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import pytest

from tests.conftest import create_decisions_table
from tutela.act import Actor, Targets
from tutela.aws.s3 import S3
from tutela.aws.store import DecisionStore
from tutela.decision import object_item, step_decision
from tutela.objects import ObjectRef

UPLOADS, STAGING, PUBLISHED, QUARANTINE = "uploads", "staging", "published", "quarantine"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:sm:one"


class Bus:
    def publish_all(self, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        json.dumps([dict(d) for _, d in entries])


@pytest.fixture
def world(aws: None, template: dict[str, Any]) -> Iterator[tuple[Any, Actor]]:
    s3 = boto3.client("s3")
    for b in (UPLOADS, STAGING, PUBLISHED, QUARANTINE):
        s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    table = create_decisions_table(boto3.client("dynamodb"), template)
    yield s3, Actor(S3(), DecisionStore(table), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION)


def _decided(s3: Any, ref: ObjectRef) -> bool:
    """Retired: a delete marker is current, and the version itself is still there (until the rule)."""
    assert s3.head_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)["VersionId"]
    versions = s3.list_object_versions(Bucket=ref.bucket, Prefix=ref.key)
    return any(m["IsLatest"] for m in versions.get("DeleteMarkers", []))


def _media(s3: Any, verdict: str) -> tuple[ObjectRef, dict[str, Any]]:
    put = s3.put_object(Bucket=UPLOADS, Key="media/p1/a.jpg", Body=b"original")
    ref = ObjectRef(UPLOADS, "media/p1/a.jpg", put["VersionId"], 8, put["ETag"])
    s3.put_object(Bucket=STAGING, Key="scrubbed/a.jpg", Body=b"scrubbed")
    fields = {"kind": "media", "verdict": verdict, "severity": 0, "reasons": []}
    fields["staged"] = {"bucket": STAGING, "key": "scrubbed/a.jpg", "content_type": "image/jpeg"}
    return ref, object_item(
        ref, step_decision(fields), execution_id=EXECUTION, event_time=None, retention_days=1
    )


def _batch(s3: Any, verdicts: list[str]) -> tuple[ObjectRef, dict[str, Any]]:
    lines = [json.dumps({"id": f"c{i}", "text": "hello"}).encode() + b"\n" for i in range(len(verdicts))]
    body = b"".join(lines)
    put = s3.put_object(Bucket=UPLOADS, Key="comments/p1/b.jsonl", Body=body)
    ref = ObjectRef(UPLOADS, "comments/p1/b.jsonl", put["VersionId"], len(body), put["ETag"])
    results = [{"id": f"c{i}", "line": i + 1, "verdict": v} for i, v in enumerate(verdicts)]
    S3().put_jsonl(results, STAGING, "comment-results/b.jsonl")
    worst = "block" if "block" in verdicts else "review" if "review" in verdicts else "allow"
    fields = {"kind": "comments", "verdict": worst, "severity": 0, "reasons": []}
    fields["results"] = {"bucket": STAGING, "key": "comment-results/b.jsonl", "count": len(verdicts)}
    return ref, object_item(
        ref, step_decision(fields), execution_id=EXECUTION, event_time=None, retention_days=1
    )


def test_a_published_media_allow_marks_the_original_decided(world: tuple[Any, Actor]) -> None:
    s3, actor = world
    ref, decision = _media(s3, "allow")
    actor.act(ref, decision)
    assert _decided(s3, ref)
    actor.act(ref, decision)  # a retry converges
    assert _decided(s3, ref)


def test_a_held_media_original_is_kept(world: tuple[Any, Actor]) -> None:
    s3, actor = world
    ref, decision = _media(s3, "review")
    actor.act(ref, decision)
    assert not _decided(s3, ref)


@pytest.mark.parametrize(
    ("verdicts", "decided"),
    [(["allow", "allow"], True), (["allow", "block"], True), (["allow", "review"], False)],
)
def test_a_comment_batch_is_decided_only_when_no_line_is_held(
    world: tuple[Any, Actor], verdicts: list[str], decided: bool
) -> None:
    s3, actor = world
    ref, decision = _batch(s3, verdicts)
    actor.act(ref, decision)
    assert _decided(s3, ref) is decided


def test_retention_zero_retires_nothing(world: tuple[Any, Actor]) -> None:
    s3, actor = world
    keep = Actor(actor.s3, actor.history, actor.bus, actor.targets, EXECUTION, retire_originals=False)
    ref, decision = _media(s3, "allow")
    keep.act(ref, decision)
    assert not _decided(s3, ref)
