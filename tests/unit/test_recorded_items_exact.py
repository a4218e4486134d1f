"""Promises mutation testing found unguarded: a comment's record holds every field review and audit read
(exactly, defaults included), and the S3 adapter reads exactly the bytes and the version it is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from tutela.aws.s3 import S3
from tutela.decision import comment_items
from tutela.objects import ObjectRef


def test_a_comment_record_holds_every_field_exactly() -> None:
    ref = ObjectRef("uploads", "comments/post-1/batch.jsonl", "v7", 10)
    flagged = {
        "id": "c9",
        "line": 3,
        "verdict": "block",
        "severity": 3,
        "categories": ["grooming"],
        "score": 0.91,
        "evidence": [{"start": 0, "end": 4, "category": "grooming", "rule": "r"}],
        "minor_context": True,
        "lexicon_version": "lex-1",
    }
    held = {"line": 4, "error": "missing text", "minor_context": None}  # everything else defaulted
    items = list(comment_items(ref, [flagged, held], decided="2026-12-01T00:00:00.000+00:00", expires=99))
    common = {
        "pk": "obj#uploads/comments/post-1/batch.jsonl",
        "kind": "comment",
        "bucket": "uploads",
        "key": "comments/post-1/batch.jsonl",
        "version_id": "v7",
        "decided_at": "2026-12-01T00:00:00.000+00:00",
        "expires_at": 99,  # not the execution id: the batch's own item holds it
        "post_id": "post-1",  # the post the batch belongs to (its re-evaluation finds it by this)
    }
    assert items[0] == {
        **common,
        "sk": "v#v7#c#000003",
        "comment_id": "c9",
        "line": 3,
        "verdict": "block",
        "severity": 3,
        "categories": ["grooming"],
        "score": 0.91,
        "evidence": flagged["evidence"],
        "minor_context": True,
        "lexicon_version": "lex-1",
    }
    assert items[1] == {
        **common,
        "sk": "v#v7#c#000004",
        "comment_id": "line-4",
        "line": 4,
        "verdict": "review",  # a result without a verdict is held, never allowed
        "severity": 0,
        "categories": [],
        "evidence": [],
        "reasons": [{"code": "invalid_comment", "message": "missing text"}],
        "queue": "review",
    }


def test_s3_reads_exactly_the_bytes_and_version_asked_for(aws: Any, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="reads")
    s3.put_bucket_versioning(Bucket="reads", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="reads", Key="k", Body=b"0123456789")["VersionId"]
    s3.put_object(Bucket="reads", Key="k", Body=b"abcdefghijklmnop")
    adapter = S3()
    assert adapter.head_bytes(ObjectRef("reads", "k", v1), 4) == b"0123"
    assert adapter.head_bytes(ObjectRef("reads", "k"), 1) == b"a"
    # No size known: the transfer manager's path (HEAD, then ranged GETs) still fetches that version.
    dest = tmp_path / "v1"
    assert adapter.download(ObjectRef("reads", "k", v1), dest, max_bytes=100) == 10
    assert dest.read_bytes() == b"0123456789"
    latest = tmp_path / "latest"
    assert adapter.download(ObjectRef("reads", "k"), latest, max_bytes=100) == 16
    assert latest.read_bytes() == b"abcdefghijklmnop"


def test_a_comment_the_llm_stage_judged_records_which_stages_ran_and_what_the_model_said() -> None:
    """Promise: the audit of a comment escalated to the LLM stage keeps the stages that judged it and the
    model's own verdict (even when looser than the recorded one); comments it did not judge carry neither."""
    ref = ObjectRef("uploads", "comments/post-1/batch.jsonl", "v7", 10)
    judged = {
        "line": 1,
        "verdict": "review",
        "stages": ["rules", "model", "llm"],
        "llm": {"model": "anthropic.claude-x", "verdict": "allow"},
    }
    plain = {"line": 2, "verdict": "allow"}
    first, second = comment_items(ref, [judged, plain], decided="d", expires=1)
    assert first["stages"] == ["rules", "model", "llm"]
    assert first["llm"] == {"model": "anthropic.claude-x", "verdict": "allow"}
    assert "stages" not in second and "llm" not in second
