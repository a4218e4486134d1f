"""``tutela local run``: push local files through the real template and state machine on moto.

Each distinct file is uploaded once (``.jsonl`` -> ``comments/local/<name>``, ``.json`` ->
``posts/local/<name>``: a post's caption, title, hashtags and location; anything else ->
``media/local/<name>``: the pipeline sniffs the bytes, so an ``.exe`` is held as unsupported media). A
file named again is a second delivery of the same "Object Created" event - what EventBridge's
at-least-once delivery can do - and must not produce a second decision.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.dynamodb.conditions import Key

from tutela.comment_records import expand
from tutela.decision import EVENT_SOURCE, action_keys, from_dynamo, object_keys, record_id
from tutela.objects import ObjectRef, key_problem
from tutela.posts.context import REEVAL_SUFFIX
from tutela_dev.emulator.chaos import Chaos
from tutela_dev.emulator.stack import ACCOUNT, REGION, EmulatedStack

POST_ID = "local"


@dataclass
class Upload:
    path: Path
    key: str
    version_id: str | None = None
    size: int = 0
    deliveries: int = 0
    executions: list[dict[str, Any]] = field(default_factory=list)
    etag: str | None = None  # from the upload's PutObject (else read with a HEAD at delivery)
    # S3 orders the events of one key by the sequencer it assigns at the write, not at the delivery
    sequencer: str = field(default_factory=lambda: next_sequencer())


_SEQUENCE = itertools.count()


def next_sequencer() -> str:
    """An S3-style sequencer: hex, larger for a later write (of the same key)."""
    return f"{time.time_ns():016X}{next(_SEQUENCE) % 65536:04X}"


def key_for(path: Path) -> str:
    suffix = path.suffix.lower()
    prefix = "comments" if suffix == ".jsonl" else "posts" if suffix == ".json" else "media"
    return f"{prefix}/{POST_ID}/{path.name}"


def object_created_event(
    bucket: str, key: str, version_id: str | None, size: int, etag: str, sequencer: str | None = None
) -> dict[str, Any]:
    """The event S3 sends to EventBridge for a new object (shape of the real service's events)."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": sequencer or next_sequencer()}
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


def _line_ids(path: Path) -> dict[int, str]:
    """Line number -> the comment id recorded for it, from the uploaded batch (as RecordDecision names it)."""
    from tutela.comments.lines import parse_batch, split_batch

    return {c.line: record_id(c.id, c.line) for c in parse_batch(split_batch(path.read_bytes()), None)}


def published_path(base: Path, key: str) -> Path | None:
    """Where a published key is written under ``base``, or None if the key could escape it (``..``, an
    absolute path, backslashes, control characters)."""
    if key_problem(key):
        return None
    dest = (base / key).resolve()
    return dest if dest.is_relative_to(base) and dest != base else None


class Runner:
    """Deploys once, then uploads/delivers files and collects decisions and published objects."""

    def __init__(self, stack: EmulatedStack) -> None:
        self.stack = stack
        self.s3 = stack.client("s3")
        self.bucket = stack.outputs["UploadBucketName"]
        self.table = self._table()

    def _table(self) -> Any:
        return self.stack.resource("dynamodb").Table(self.stack.outputs["DecisionsTableName"])

    def ref(self, upload: Upload) -> ObjectRef:
        return ObjectRef(self.bucket, upload.key, upload.version_id, upload.size)

    def upload(self, path: Path, key: str | None = None) -> Upload:
        key = key or key_for(path)
        with path.open("rb") as fh:
            put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=fh)
        etag = str(put["ETag"]).strip('"') if put.get("ETag") else None
        return Upload(path, key, put.get("VersionId"), path.stat().st_size, etag=etag)

    def load_bank(self, csv_path: Path, bank: str) -> int:
        """Import a hash list into the stack's bank bucket (as `tutela bank import --bucket` would)."""
        from tutela.aws.banks import S3Blobs
        from tutela.bank.csvio import read_hash_csv
        from tutela.bank.store import BankRepository

        with csv_path.open(encoding="utf-8", newline="") as fh:
            parsed = read_hash_csv(fh, bank)
        if parsed.errors:
            line, reason = parsed.errors[0]
            raise ValueError(f"{csv_path}:{line}: {reason} ({len(parsed.errors)} bad line(s))")
        repo = BankRepository(S3Blobs(self.stack.outputs["BankBucketName"], client=self.stack.client("s3")))
        added = repo.add(bank, parsed.entries, videos=parsed.videos)
        return added.added + added.videos_added

    def deliver(self, upload: Upload) -> list[dict[str, Any]]:
        if upload.etag is None:
            head = self.s3.head_object(Bucket=self.bucket, Key=upload.key, **self.ref(upload).version_args())
            upload.etag = str(head["ETag"]).strip('"')
        event = object_created_event(
            self.bucket, upload.key, upload.version_id, upload.size, upload.etag, upload.sequencer
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
            # Plainly allowed lines have no item of their own: the batch item lists them (comment_records).
            comments = expand(item, (from_dynamo(c) for c in self._query(keys["pk"], keys["sk"] + "#c#")))
            if again is not None:
                was = {c.get("line"): c.get("verdict") for c in comments}
                comments = expand(again, (from_dynamo(c) for c in self._query(keys["pk"], again_sk + "#c#")))
            ids: dict[int, str] | None = None
            for c in comments:
                if "comment_id" not in c:
                    ids = ids if ids is not None else _line_ids(upload.path)
                    c["comment_id"] = ids.get(int(c["line"]))
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
            "frames": item.get("frames"),
            "pdq": [h.get("pdq") for h in item.get("pdq") or []],
            "known_content": [
                r.get("bank") for r in item.get("reasons", []) if r.get("code") == "known_content"
            ],
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

    def observe_events(self) -> None:
        """Subscribe a queue to the decisions bus: what the platform would receive (events.jsonl)."""
        sqs, events = self.stack.client("sqs"), self.stack.client("events")
        self._events_url = sqs.create_queue(QueueName="tutela-local-observed-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._events_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        bus = self.stack.outputs["DecisionsBusName"]
        pattern = json.dumps({"source": [EVENT_SOURCE]})
        events.put_rule(Name="tutela-local-observe", EventBusName=bus, EventPattern=pattern)
        events.put_targets(Rule="tutela-local-observe", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def received_events(self) -> list[dict[str, Any]]:
        sqs, out = self.stack.client("sqs"), []
        while msgs := sqs.receive_message(QueueUrl=self._events_url, MaxNumberOfMessages=10).get("Messages"):
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self._events_url, ReceiptHandle=m["ReceiptHandle"])
        return out

    def object_versions(self, output: str) -> Counter[str]:
        """Number of versions per key in one of the stack's buckets."""
        bucket, counts = self.stack.outputs[output], Counter[str]()
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                counts[v["Key"]] += 1
        return counts

    def audit(self, uploads: Iterable[Upload], events: list[dict[str, Any]]) -> Audit:
        """Compare what was delivered with what one clean run must deliver: one decision per upload (and at
        most one re-evaluation), one Moderation Decision event per decision (plus an Escalation when it
        escalates), one object version per published/quarantined key per upload."""
        expected: set[tuple[str, str, str, str]] = set()
        missing_decisions = 0
        for up in uploads:
            keys = object_keys(self.ref(up))
            item = self.table.get_item(Key=keys, ConsistentRead=True).get("Item")
            if item is None:
                missing_decisions += 1
                continue
            version = str(item.get("version_id"))
            expected.add((up.key, version, keys["sk"], "Moderation Decision"))
            if item.get("escalate"):
                expected.add((up.key, version, keys["sk"], "Moderation Escalation"))
            # A post's text that declares a child appends one re-evaluation, with its own events.
            again_keys = {"pk": keys["pk"], "sk": keys["sk"] + REEVAL_SUFFIX}
            again = self.table.get_item(Key=again_keys, ConsistentRead=True).get("Item")
            if again is not None:
                expected.add((up.key, version, again_keys["sk"], "Moderation Decision"))
                if again.get("escalate") and not item.get("escalate"):
                    expected.add((up.key, version, again_keys["sk"], "Moderation Escalation"))

        def what(e: dict[str, Any]) -> tuple[str, str, str, str]:
            d = e["detail"]
            return (str(d.get("key")), str(d.get("version_id")), str((d.get("decision") or {}).get("sk")),
                    str(e["detail-type"]))  # fmt: skip

        received = Counter(what(e) for e in events)
        # A copy with the same event_id is a redelivery a consumer drops (EventBridge is at-least-once too);
        # the one window that sends it is PutEvents done and its outcome not recorded (README: an outbox
        # would close it). A second event with another id for the same decision is a real double.
        ids: dict[tuple[str, str, str, str], set[str]] = {}
        for e in events:
            ids.setdefault(what(e), set()).add(str(e["detail"].get("event_id")))
        lost_events = sum(1 for k in expected if not received[k])
        doubled_events = sum(len(v) - 1 for v in ids.values()) + sum(1 for k in received if k not in expected)
        repeated = sum(received[k] - len(v) for k, v in ids.items())
        extra_versions = sum(
            n - 1
            for output in ("PublishedBucketName", "QuarantineBucketName")
            for n in self.object_versions(output).values()
        )
        return Audit(
            missing_decisions + lost_events + self.dead_letters(), doubled_events + extra_versions, repeated
        )

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


@dataclass(frozen=True)
class Audit:
    lost: int  # decisions, events or executions missing (dead letters count as lost)
    doubled: int  # events received twice with different ids, or unexpected; extra object versions
    repeated: int = 0  # the same event (same event_id) received again: at-least-once, dropped by consumers


@dataclass
class RunResult:
    uploads: list[Upload]
    lines: list[dict[str, Any]]
    published: list[str]
    dead_letters: int
    events: list[dict[str, Any]] = field(default_factory=list)
    audit: Audit | None = None
    faults: int = 0
    fault_kinds: dict[str, int] = field(default_factory=dict)  # chaos: injected faults by kind


def run_files(
    files: list[Path],
    out_dir: Path,
    *,
    root: Path,
    on_progress: Callable[[str, Upload], None] | None = None,
    parameters: dict[str, str] | None = None,
    chaos_seed: int | None = None,
    chaos_mode: str = "classic",
    retry_scale: float | None = None,
    banks: list[tuple[Path, str]] | None = None,
) -> RunResult:
    """Run ``files`` through the stack; with ``chaos_seed``, inject faults (``tutela_dev.emulator.chaos``) and
    deliver some uploads twice. ``DIR/events.jsonl`` gets what the decisions bus received."""
    out_dir.mkdir(parents=True, exist_ok=True)
    notify = on_progress or (lambda _stage, _u: None)
    chaos = Chaos(chaos_seed, mode=chaos_mode) if chaos_seed is not None else None
    scale = retry_scale if retry_scale is not None else (0.02 if chaos else 1.0)
    with (
        (out_dir / "lambda.log").open("w", encoding="utf-8") as log,
        EmulatedStack(root, parameters=parameters, log=log, retry_scale=scale, chaos=chaos) as stack,
    ):
        runner = Runner(stack)
        for csv_path, bank in banks or []:
            runner.load_bank(csv_path, bank)
        runner.observe_events()
        uploads: dict[Path, Upload] = {}
        for path in files:
            resolved = path.resolve()
            upload = uploads.get(resolved)
            if upload is None:
                upload = uploads[resolved] = runner.upload(path)
                notify("uploaded", upload)
            for _ in range(chaos.deliveries(upload.key) if chaos else 1):
                runner.deliver(upload)
                notify("delivered", upload)
        lines = [line for u in uploads.values() for line in runner.decisions(u)]
        with (out_dir / "decisions.jsonl").open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        events = runner.received_events()
        with (out_dir / "events.jsonl").open("w", encoding="utf-8") as fh:
            for event in events:
                fh.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
        published = []
        base = (out_dir / "published").resolve()
        for key, body in runner.published():
            dest = published_path(base, key)
            if dest is None:  # the pipeline holds such keys; never let one write outside DIR/published
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(body)
            published.append(key)
        return RunResult(
            list(uploads.values()),
            lines,
            published,
            runner.dead_letters(),
            events,
            runner.audit(uploads.values(), events),
            chaos.total if chaos else 0,
            dict(chaos.injected) if chaos else {},
        )
