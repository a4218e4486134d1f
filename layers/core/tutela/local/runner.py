"""``tutela local run``: push local files through the real template and state machine on moto.

Each distinct file is uploaded once (``.jsonl`` -> ``comments/local/<name>``, ``.json`` ->
``posts/local/<name>``: a post's caption, title, hashtags and location; anything else ->
``media/local/<name>``: the pipeline sniffs the bytes, so an ``.exe`` is held as unsupported media). A
file named again is a second delivery of the same "Object Created" event - what EventBridge's
at-least-once delivery can do - and must not produce a second decision.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.dynamodb.conditions import Key

from tutela.decision import action_keys, from_dynamo, object_keys
from tutela.local.stack import ACCOUNT, REGION, LocalStack
from tutela.objects import ObjectRef, key_problem
from tutela.posts.context import REEVAL_SUFFIX

POST_ID = "local"


@dataclass
class Upload:
    path: Path
    key: str
    version_id: str | None = None
    size: int = 0
    deliveries: int = 0
    executions: list[dict[str, Any]] = field(default_factory=list)


def key_for(path: Path) -> str:
    suffix = path.suffix.lower()
    prefix = "comments" if suffix == ".jsonl" else "posts" if suffix == ".json" else "media"
    return f"{prefix}/{POST_ID}/{path.name}"


def object_created_event(
    bucket: str, key: str, version_id: str | None, size: int, etag: str
) -> dict[str, Any]:
    """The event S3 sends to EventBridge for a new object (shape of the real service's events)."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": uuid.uuid4().hex[:18].upper()}
    if version_id:
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def published_path(base: Path, key: str) -> Path | None:
    """Where a published key is written under ``base``, or None if the key could escape it (``..``, an
    absolute path, backslashes, control characters)."""
    if key_problem(key):
        return None
    dest = (base / key).resolve()
    return dest if dest.is_relative_to(base) and dest != base else None


class Runner:
    """Deploys once, then uploads/delivers files and collects decisions and published objects."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.s3 = stack.client("s3")
        self.bucket = stack.outputs["UploadBucketName"]
        self.table = self._table()

    def _table(self) -> Any:
        import boto3

        return boto3.resource("dynamodb", region_name=REGION).Table(self.stack.outputs["DecisionsTableName"])

    def ref(self, upload: Upload) -> ObjectRef:
        return ObjectRef(self.bucket, upload.key, upload.version_id, upload.size)

    def upload(self, path: Path, key: str | None = None) -> Upload:
        key = key or key_for(path)
        with path.open("rb") as fh:
            put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=fh)
        return Upload(path, key, put.get("VersionId"), path.stat().st_size)

    def deliver(self, upload: Upload) -> list[dict[str, Any]]:
        head = self.s3.head_object(Bucket=self.bucket, Key=upload.key, **self.ref(upload).version_args())
        event = object_created_event(
            self.bucket, upload.key, upload.version_id, upload.size, head["ETag"].strip('"')
        )
        upload.deliveries += 1
        results = [self.stack.wait(arn) for arn in self.stack.deliver(event)]
        upload.executions.extend(results)
        return results

    def decisions(self, upload: Upload) -> list[dict[str, Any]]:
        """decisions.jsonl lines: the object's decision, or one line per comment for a comment batch."""
        keys = object_keys(self.ref(upload))
        item = self.table.get_item(Key=keys, ConsistentRead=True).get("Item")
        if item is None:
            statuses = [e["status"] for e in upload.executions]
            return [
                {
                    "key": upload.key,
                    "file": str(upload.path),
                    "verdict": None,
                    "reasons": ["no decision stored"],
                    "executions": statuses,
                }
            ]
        item = from_dynamo(item)
        acted = self.table.get_item(Key=action_keys(self.ref(upload)), ConsistentRead=True).get("Item")
        # A later post text that declares a child may have re-evaluated this decision (tutela.posts).
        again_sk = keys["sk"] + REEVAL_SUFFIX
        again = self.table.get_item(Key={"pk": keys["pk"], "sk": again_sk}, ConsistentRead=True).get("Item")
        again = from_dynamo(again) if again else None
        if item.get("kind") == "comments":
            comments = sorted(
                (from_dynamo(c) for c in self._query(keys["pk"], keys["sk"] + "#c#")),
                key=lambda c: c.get("line") or 0,
            )
            if again is not None:
                was = {c.get("line"): c.get("verdict") for c in comments}
                comments = sorted(
                    (from_dynamo(c) for c in self._query(keys["pk"], again_sk + "#c#")),
                    key=lambda c: c.get("line") or 0,
                )
            return [
                {
                    "key": upload.key,
                    "comment_id": c.get("comment_id"),
                    "verdict": c.get("verdict"),
                    "severity": c.get("severity"),
                    "reasons": c.get("categories") or [r.get("code") for r in c.get("reasons", [])],
                    "score": c.get("score"),
                    "minor_context": c.get("minor_context"),
                    "action": _comment_action(
                        str(c.get("verdict")), None if again is None else str(was.get(c.get("line")))
                    ),
                    **({} if again is None else {"reevaluated": True, "was": was.get(c.get("line"))}),
                }
                for c in comments
            ]
        line = self._object_line(upload, item, acted)
        if again is not None:
            again_acted = self.table.get_item(
                Key={"pk": keys["pk"], "sk": again_sk + "#action"}, ConsistentRead=True
            ).get("Item")
            line["reevaluated"] = {
                "verdict": again.get("verdict"),
                "severity": again.get("severity"),
                "reasons": [r.get("code") for r in again.get("reasons", [])],
                "minor": again.get("minor"),
                "action": from_dynamo((again_acted or {}).get("action")),
            }
        return [line]

    def _object_line(self, upload: Upload, item: dict[str, Any], acted: Any) -> dict[str, Any]:
        return {
            "key": upload.key,
            "file": str(upload.path),
            "version_id": item.get("version_id"),
            "kind": item.get("kind"),
            "verdict": item.get("verdict"),
            "severity": item.get("severity"),
            "reasons": [r.get("code") for r in item.get("reasons", [])],
            "details": item.get("reasons", []),
            "minor": item.get("minor"),
            "removed": (item.get("analyzers") or {}).get("scrub", {}).get("removed"),
            "action": from_dynamo((acted or {}).get("action")),
        }

    def _query(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        args: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        while True:
            resp = self.table.query(**args)
            items.extend(resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return items
            args["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def published(self) -> Iterable[tuple[str, bytes]]:
        bucket = self.stack.outputs["PublishedBucketName"]
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                yield obj["Key"], self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()

    def dead_letters(self) -> int:
        sqs = self.stack.client("sqs")
        attrs = sqs.get_queue_attributes(
            QueueUrl=self.stack.outputs["DeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _comment_action(verdict: str, was: str | None) -> str:
    """What happened to one comment; after a re-evaluation only lines allowed both times stay published."""
    if verdict == "block" or was == "block":
        return "quarantined"
    return "published" if verdict == "allow" and was in (None, "allow") else "held"


@dataclass
class RunResult:
    uploads: list[Upload]
    lines: list[dict[str, Any]]
    published: list[str]
    dead_letters: int


def run_files(
    files: list[Path],
    out_dir: Path,
    *,
    root: Path,
    on_progress: Callable[[str, Upload], None] | None = None,
    parameters: dict[str, str] | None = None,
) -> RunResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    notify = on_progress or (lambda _stage, _u: None)
    with (
        (out_dir / "lambda.log").open("w", encoding="utf-8") as log,
        LocalStack(root, parameters=parameters, log=log) as stack,
    ):
        runner = Runner(stack)
        uploads: dict[Path, Upload] = {}
        for path in files:
            resolved = path.resolve()
            upload = uploads.get(resolved)
            if upload is None:
                upload = uploads[resolved] = runner.upload(path)
                notify("uploaded", upload)
            runner.deliver(upload)
            notify("delivered", upload)
        lines = [line for u in uploads.values() for line in runner.decisions(u)]
        with (out_dir / "decisions.jsonl").open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        published = []
        base = (out_dir / "published").resolve()
        for key, body in runner.published():
            dest = published_path(base, key)
            if dest is None:  # the pipeline holds such keys; never let one write outside DIR/published
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(body)
            published.append(key)
        return RunResult(list(uploads.values()), lines, published, runner.dead_letters())
