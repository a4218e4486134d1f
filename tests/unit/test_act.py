"""Act under faults: a transient failure before or after ANY of its side effects, then retries, ends in the
same state as one clean run - same published/quarantined bytes, one object version each, the original
deleted only after a verified copy, each event exactly once, one action item (issue 8, items 6 and 7)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import boto3
import pytest

from tests.conftest import create_decisions_table
from tutela.act import Actor, Targets, plan_comments
from tutela.aws.s3 import S3
from tutela.aws.store import DecisionStore
from tutela.decision import object_item, step_decision
from tutela.errors import InvalidInputError, TransientError
from tutela.objects import ObjectRef

UPLOADS, STAGING, PUBLISHED, QUARANTINE = "uploads", "staging", "published", "quarantine"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:sm:one"


class Fault(TransientError):
    pass


class Recorder:
    """Counts side-effect calls of the adapters and raises once, before or after call number ``at``."""

    def __init__(self, at: int | None, when: str) -> None:
        self.at, self.when, self.n, self.fired = at, when, 0, False
        self.names: list[str] = []

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*a: Any, **k: Any) -> Any:
            self.n += 1
            self.names.append(fn.__name__)
            hit = not self.fired and self.n == self.at
            if hit and self.when == "before":
                self.fired = True
                raise Fault("injected before the side effect")
            out = fn(*a, **k)
            if hit and self.when == "after":
                self.fired = True
                raise Fault("injected after the side effect")
            return out

        return call


class Bus:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish_all(self, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        self.sent.extend((t, json.loads(json.dumps(d))) for t, d in entries)


def _new_world(template: dict[str, Any]) -> dict[str, Any]:
    """The four versioned buckets and the decisions table, inside an active moto mock."""
    s3 = boto3.client("s3")
    for b in (UPLOADS, STAGING, PUBLISHED, QUARANTINE):
        s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    return {"s3": s3, "table": create_decisions_table(boto3.client("dynamodb"), template)}


@pytest.fixture
def world(aws: None, template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield _new_world(template)


def _decision(ref: ObjectRef, **fields: Any) -> dict[str, Any]:
    base = {"kind": "media", "verdict": "allow", "severity": 0, "reasons": [], **fields}
    return object_item(ref, step_decision(base), execution_id=EXECUTION, event_time=None, retention_days=1)


def _media(world: dict[str, Any], verdict: str) -> tuple[ObjectRef, dict[str, Any]]:
    s3 = world["s3"]
    put = s3.put_object(Bucket=UPLOADS, Key="media/p1/a.jpg", Body=b"original", ContentType="image/jpeg")
    ref = ObjectRef(UPLOADS, "media/p1/a.jpg", put["VersionId"], 8)
    s3.put_object(Bucket=STAGING, Key="scrubbed/a.jpg", Body=b"scrubbed", ContentType="image/jpeg")
    staged = {"bucket": STAGING, "key": "scrubbed/a.jpg", "content_type": "image/jpeg"}
    escalate = verdict == "block"
    return ref, _decision(
        ref, verdict=verdict, staged=staged, escalate=escalate, severity=4 if escalate else 0
    )


def _photo(world: dict[str, Any], verdict: str) -> tuple[ObjectRef, dict[str, Any]]:
    """A real geotagged JPEG below the splice size: ScrubGeotags staged nothing and recorded the verified
    copy's sha256 and size; Act scrubs the original again and publishes only those bytes."""
    import hashlib
    import tempfile
    from pathlib import Path

    from tutela.scrub import scrub_bytes
    from tutela_dev.emulator import samples

    with tempfile.TemporaryDirectory() as tmp:
        original = samples.photo(Path(tmp) / "p.jpg", (64, 48)).read_bytes()
    put = world["s3"].put_object(
        Bucket=UPLOADS, Key="media/p1/a.jpg", Body=original, ContentType="image/jpeg"
    )
    ref = ObjectRef(UPLOADS, "media/p1/a.jpg", put["VersionId"], len(original), put["ETag"])
    clean, _ = scrub_bytes(original)
    staged = {"sha256": hashlib.sha256(clean).hexdigest(), "size": len(clean), "content_type": "image/jpeg"}
    return ref, _decision(ref, verdict=verdict, staged=staged)


BATCH = (
    b'{"id": "c1", "text": "so cute", "title": "add me on snap, dont tell ur mom"}\n'
    b'{"id": "c2", "text": "how old r u? add me on snap"}\n'
    b'{"id": "c3", "text": "happy birthday"}\n'
)


def _comments(world: dict[str, Any]) -> tuple[ObjectRef, dict[str, Any]]:
    s3 = world["s3"]
    put = s3.put_object(Bucket=UPLOADS, Key="comments/p1/b.jsonl", Body=BATCH)
    ref = ObjectRef(UPLOADS, "comments/p1/b.jsonl", put["VersionId"], len(BATCH))
    results = [
        {"id": "c1", "line": 1, "verdict": "allow"},
        {"id": "c2", "line": 2, "verdict": "block"},
        {"id": "c3", "line": 3, "verdict": "allow"},
    ]
    S3().put_jsonl(results, STAGING, "comment-results/b.jsonl")
    ptr = {"bucket": STAGING, "key": "comment-results/b.jsonl", "count": 3}
    return ref, _decision(ref, kind="comments", verdict="block", results=ptr)


def _inline_comments(world: dict[str, Any]) -> tuple[ObjectRef, dict[str, Any]]:
    """A small batch: the results travel in the state without text; Act writes the flagged lines' records
    with their evidence text and the blocked line's uploaded bytes (so no quarantine object)."""
    s3 = world["s3"]
    put = s3.put_object(Bucket=UPLOADS, Key="comments/p1/b.jsonl", Body=BATCH)
    ref = ObjectRef(UPLOADS, "comments/p1/b.jsonl", put["VersionId"], len(BATCH))
    evidence = [{"start": 13, "end": 24, "category": "grooming", "rule": "contact"}]
    results = [
        {"id": "c1", "line": 1, "verdict": "allow"},
        {"id": "c2", "line": 2, "verdict": "block", "categories": ["grooming"], "evidence": evidence},
        {"id": "c3", "line": 3, "verdict": "allow"},
    ]
    return ref, _decision(ref, kind="comments", verdict="block", results={"inline": results, "count": 3})


def _actor(rec: Recorder, bus: Bus, world: dict[str, Any]) -> Actor:
    s3, store = S3(), DecisionStore(world["table"])
    for name in ("copy", "put_bytes", "delete_version"):
        setattr(s3, name, rec.wrap(getattr(s3, name)))
    store.append = rec.wrap(store.append)  # type: ignore[method-assign]
    store.put_many = rec.wrap(store.put_many)  # type: ignore[method-assign]
    bus.publish_all = rec.wrap(bus.publish_all)  # type: ignore[method-assign]
    return Actor(s3, store, bus, Targets(PUBLISHED, QUARANTINE), EXECUTION)


def _state(world: dict[str, Any], bus: Bus) -> dict[str, Any]:
    s3 = world["s3"]
    out: dict[str, Any] = {"event_types": sorted(t for t, _ in bus.sent)}
    for b in (UPLOADS, PUBLISHED, QUARANTINE):
        versions = s3.list_object_versions(Bucket=b).get("Versions", [])
        out[b] = sorted(
            (
                v["Key"],
                s3.get_object(Bucket=b, Key=v["Key"], VersionId=v["VersionId"])["Body"]
                .read()
                .decode("latin-1"),
            )
            for v in versions
        )
    items = boto3.resource("dynamodb").Table(world["table"]).scan()["Items"]
    out["actions"] = sorted((i["sk"], json.dumps(i["action"], default=str)) for i in items if "action" in i)
    # a comment batch's per-line records (Act writes them first): the same, whatever the faults
    # (without the decision's own timestamps, which differ between the fresh worlds compared)
    out["records"] = sorted(
        json.dumps(
            {k: v for k, v in i.items() if k not in ("decided_at", "expires_at")}, default=str, sort_keys=True
        )
        for i in items
        if "#c#" in i["sk"]
    )
    return out


def _run(world: dict[str, Any], make: Callable[..., Any], verdict: str, at: int | None, when: str) -> Any:
    ref, decision = make(world, verdict) if make in (_media, _photo) else make(world)
    rec, bus = Recorder(at, when), Bus()
    actor = _actor(rec, bus, world)
    for attempt in range(3):  # the ASL's MaxAttempts; the first on a decision this execution just created
        try:
            result = actor.act(ref, decision, first=attempt == 0)
            break
        except Fault:
            continue
    else:  # pragma: no cover - a single fault must never need a third attempt
        raise AssertionError("Act did not converge")
    state = _state(world, bus)
    state["distinct_event_ids"] = len({d["event_id"] for _, d in bus.sent})
    # Each fresh world gets new version ids: compare states with the version id masked.
    same = json.loads(json.dumps([result, state], default=repr).replace(str(ref.version_id), "V"))
    return same[0], same[1], rec.names


CASES = [
    (_media, "allow"),
    (_photo, "allow"),
    (_media, "block"),
    (_media, "review"),
    (_comments, "block"),
    (_inline_comments, "block"),
]


@pytest.mark.parametrize(
    ("make", "verdict"),
    CASES,
    ids=["allow", "allow-rescrubbed", "block", "review", "comments", "comments-inline"],
)
def test_a_fault_before_or_after_any_side_effect_converges(
    template: dict[str, Any], make: Callable[..., Any], verdict: str
) -> None:
    from moto import mock_aws

    from tutela.aws import clients

    def fresh(at: int | None, when: str) -> Any:
        clients.reset()
        with mock_aws():
            world = _new_world(template)
            return _run(world, make, verdict, at, when)

    clean_result, clean, calls = fresh(None, "before")
    assert calls[-2:] == ["publish_all", "append"] or calls[-3:-1] == ["publish_all", "append"]
    for at, name in enumerate(calls, 1):
        for when in ("before", "after"):
            result, state = fresh(at, when)[:2]
            if (name, when) in (("publish_all", "after"), ("append", "before")):
                # The one window that cannot converge without an outbox: PutEvents succeeded and the
                # action item was not written. The retry re-sends the same events with the same event_id,
                # so a consumer drops them; everything else is the clean run's.
                assert state["event_types"] == sorted(clean["event_types"] * 2), (at, when)
                assert state["distinct_event_ids"] == clean["distinct_event_ids"]
                state["event_types"] = clean["event_types"]
            assert (result, state) == (clean_result, clean), (at, name, when)
    clients.reset()


def test_a_small_allow_publishes_the_rescrubbed_bytes_with_one_put(world: dict[str, Any]) -> None:
    """Nothing staged: one GET of the original, one conditional PUT (no HEAD, no COPY) of exactly the bytes
    ScrubGeotags verified; location gone; content type and decision metadata set."""
    from tutela.scrub import find_location

    ref, decision = _photo(world, "allow")
    calls: list[str] = []
    s3 = boto3.client("s3")
    s3.meta.events.register(
        "before-call.s3.*", lambda event_name, **kw: calls.append(event_name.split(".")[-1])
    )
    Actor(S3(s3), DecisionStore(world["table"]), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION).act(
        ref, decision
    )
    assert calls == ["GetObject", "PutObject", "DeleteObject"]  # DeleteObject: the free retire marker
    got = world["s3"].get_object(Bucket=PUBLISHED, Key=ref.key)
    body = got["Body"].read()
    assert len(body) == decision["staged"]["size"] and got["ContentType"] == "image/jpeg"
    assert got["Metadata"]["tutela-decision"] == decision["sk"]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "out.jpg").write_bytes(body)
        assert find_location(Path(tmp) / "out.jpg") == []


def test_a_rescrub_that_differs_from_the_verified_copy_publishes_nothing(world: dict[str, Any]) -> None:
    ref, decision = _photo(world, "allow")
    decision = {**decision, "staged": {**decision["staged"], "sha256": "0" * 64}}
    actor = Actor(S3(), DecisionStore(world["table"]), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION)
    with pytest.raises(InvalidInputError, match="differ"):
        actor.act(ref, decision)
    assert world["s3"].list_object_versions(Bucket=PUBLISHED).get("Versions", []) == []


def test_an_allow_without_a_verified_copy_publishes_nothing(world: dict[str, Any]) -> None:
    ref, decision = _photo(world, "allow")
    actor = Actor(S3(), DecisionStore(world["table"]), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION)
    for staged in ({}, {"sha256": decision["staged"]["sha256"]}, {"size": 10}):
        with pytest.raises(InvalidInputError):
            actor.act(ref, {**decision, "staged": staged})
    assert world["s3"].list_object_versions(Bucket=PUBLISHED).get("Versions", []) == []


def test_a_replaced_upload_overwrites_the_previous_published_copy(world: dict[str, Any]) -> None:
    """The key already holds another decision's copy: the conditional PUT fails, the HEAD shows someone
    else's bytes, and the copy is replaced (one new version)."""
    world["s3"].put_object(
        Bucket=PUBLISHED, Key="media/p1/a.jpg", Body=b"old", Metadata={"tutela-decision": "x"}
    )
    ref, decision = _photo(world, "allow")
    Actor(S3(), DecisionStore(world["table"]), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION).act(
        ref, decision
    )
    got = world["s3"].get_object(Bucket=PUBLISHED, Key=ref.key)
    assert (
        got["Metadata"]["tutela-decision"] == decision["sk"]
        and got["ContentLength"] == decision["staged"]["size"]
    )
    assert len(world["s3"].list_object_versions(Bucket=PUBLISHED)["Versions"]) == 2


def test_inline_blocked_lines_that_do_not_fit_a_record_still_go_to_quarantine(world: dict[str, Any]) -> None:
    big = json.dumps({"id": "c2", "text": "add me on snap " + "x" * 120_000}).encode()
    body = b'{"id": "c1", "text": "hi"}\n' + big + b"\n" + b'{"id": "c3", "text": "bad"}\n'
    put = world["s3"].put_object(Bucket=UPLOADS, Key="comments/p1/b.jsonl", Body=body)
    ref = ObjectRef(UPLOADS, "comments/p1/b.jsonl", put["VersionId"], len(body))
    inline = [
        {"id": "c1", "line": 1, "verdict": "allow"},
        {"id": "c2", "line": 2, "verdict": "block"},
        {"id": "c3", "line": 3, "verdict": "block"},
    ]
    decision = _decision(ref, kind="comments", verdict="block", results={"inline": inline, "count": 3})
    actor = Actor(S3(), DecisionStore(world["table"]), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION)
    action = actor.act(ref, decision)
    assert action["quarantined"]["comments"] == 2 and action["quarantined"]["in_records"] == 1
    got = world["s3"].get_object(Bucket=QUARANTINE, Key=action["quarantined"]["key"])["Body"].read()
    assert got == big + b"\n"  # only the line its record could not hold


def test_block_keeps_a_verified_copy_before_deleting_and_escalates(world: dict[str, Any]) -> None:
    result, state, _ = _run(world, _media, "block", None, "before")
    key = result["quarantined"]["key"]
    assert state[QUARANTINE] == [[key, "original"]] and state[UPLOADS] == []
    assert state["event_types"] == ["Moderation Decision", "Moderation Escalation"]


def test_retry_after_the_delete_still_sends_the_events(world: dict[str, Any]) -> None:
    """Issue 8 item 6: the bus failed after copy + delete, and the retry failed on the deleted version."""
    ref, decision = _media(world, "block")
    bus = Bus()
    s3 = S3()
    s3.copy(
        ref,
        QUARANTINE,
        f"{ref.key}@{ref.version_id}",
        metadata={"tutela-decision": decision["sk"], "tutela-source-version": ref.version_label},
    )
    s3.delete_version(ref)  # a previous attempt got this far and died
    Actor(S3(), DecisionStore(world["table"]), bus, Targets(PUBLISHED, QUARANTINE), EXECUTION).act(
        ref, decision
    )
    assert sorted(t for t, _ in bus.sent) == ["Moderation Decision", "Moderation Escalation"]


def test_never_deletes_the_original_without_a_copy(world: dict[str, Any]) -> None:
    ref, decision = _media(world, "block")
    world["s3"].delete_object(Bucket=UPLOADS, Key=ref.key, VersionId=ref.version_id)
    with pytest.raises(InvalidInputError):
        Actor(S3(), DecisionStore(world["table"]), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION).act(
            ref, decision
        )


def test_comments_publish_only_the_judged_fields(world: dict[str, Any]) -> None:
    """Issue 8 item 3a: the whole line went out, so an unjudged "title" with grooming text was published."""
    result, state, _ = _run(world, _comments, "block", None, "before")
    [(_key, body)] = state[PUBLISHED]
    assert [json.loads(x) for x in body.encode().splitlines()] == [
        {"id": "c1", "text": "so cute"},
        {"id": "c3", "text": "happy birthday"},
    ]
    assert "snap" not in body and result["published"]["comments"] == 2
    [(_, quarantined)] = state[QUARANTINE]
    assert quarantined.encode() == BATCH.splitlines()[1] + b"\n"  # the uploaded bytes, as evidence


def test_plan_refuses_results_that_do_not_match_the_batch() -> None:
    with pytest.raises(InvalidInputError):
        plan_comments([{"id": "other", "line": 1, "verdict": "allow"}], BATCH)
    with pytest.raises(InvalidInputError):
        plan_comments([{"id": "c1", "line": 9, "verdict": "allow"}], BATCH)
    # A line the parser holds is never published, whatever verdict the staged results claim.
    held = plan_comments([{"id": "d", "line": 1, "verdict": "allow"}], b'{"id": "d", "id": "d", "text": "x"}')
    assert held.published == [] and held.held == 1


@pytest.mark.parametrize(("verdict", "retired"), [("allow", True), ("review", False)])
def test_only_an_original_nobody_needs_is_retired(world: dict[str, Any], verdict: str, retired: bool) -> None:
    """Retention: an allowed original is made noncurrent (the lifecycle expires it after
    OriginalRetentionDays); one held for review stays current."""
    ref, decision = _media(world, verdict)
    Actor(S3(), DecisionStore(world["table"]), Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION).act(
        ref, decision
    )
    versions = world["s3"].list_object_versions(Bucket=UPLOADS, Prefix=ref.key)
    assert any(m["IsLatest"] for m in versions.get("DeleteMarkers", [])) is retired
    assert world["s3"].head_object(Bucket=UPLOADS, Key=ref.key, VersionId=ref.version_id)  # still readable


def test_only_a_first_act_on_a_fresh_decision_skips_reading_its_action_record(world: dict[str, Any]) -> None:
    """Promise: the action record is read (one GetItem) unless no Act can have run before - the first
    attempt on a decision this execution's RecordDecision created (``ActInput.first_act``); a retry, a
    redrive or a takeover reads it, so the events are never sent twice for a recorded action."""
    from tutela.contracts import ActInput

    ref, decision = _media(world, "review")
    rec, bus = Recorder(None, "before"), Bus()
    actor = _actor(rec, bus, world)
    reads: list[str] = []
    get = actor.history.get
    actor.history.get = lambda pk, sk: reads.append(sk) or get(pk, sk)  # type: ignore[method-assign]
    actor.act(ref, decision, first=True)
    assert reads == [] and len(bus.sent) == 1
    actor.act(ref, decision)  # a retry: reads the record and sends nothing again
    assert len(reads) == 1 and len(bus.sent) == 1
    base = {"detail": {"bucket": {"name": UPLOADS}, "object": {"key": ref.key}}, "decision": decision}
    assert ActInput.from_event({**base, "fresh": True, "attempt": 0}).first_act
    for other in ({"fresh": True, "attempt": 1}, {"fresh": False, "attempt": 0}, {"fresh": True}, {}):
        assert not ActInput.from_event({**base, **other}).first_act, other


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize(
    ("make", "verdict"), [(_photo, "allow"), (_comments, "block")], ids=["photo", "comments"]
)
def test_a_fault_in_the_retire_beside_the_events_and_record_converges(
    template: dict[str, Any], make: Callable[..., Any], verdict: str, when: str
) -> None:
    """The retire runs on another thread beside PutEvents -> action item: a fault in it (before or after its
    delete marker) fails the attempt only after the events and the record are done, and the retry converges
    on the clean run's end state (one event each, one action item, the original noncurrent)."""
    from moto import mock_aws

    from tutela.aws import clients

    def fresh(fault: bool) -> Any:
        clients.reset()
        with mock_aws():
            world = _new_world(template)
            ref, decision = make(world, verdict) if make is _photo else make(world)
            rec, bus = Recorder(1 if fault else None, when), Bus()
            actor = _actor(Recorder(None, when), bus, world)
            actor.s3.retire = rec.wrap(actor.s3.retire)  # type: ignore[method-assign]
            failures = 0
            for attempt in range(3):
                try:
                    result = actor.act(ref, decision, first=attempt == 0)
                    break
                except Fault:
                    failures += 1
            current = world["s3"].list_object_versions(Bucket=UPLOADS).get("DeleteMarkers", [])
            state = _state(world, bus)
            same = json.loads(json.dumps([result, state], default=repr).replace(str(ref.version_id), "V"))
            return same, failures, rec.names, len(current)

    clean, none, names, markers = fresh(False)
    assert none == 0 and names == ["retire"] and markers == 1
    faulted, failures, names, markers = fresh(True)
    assert failures == 1 and names == ["retire", "retire"] and markers == 1
    assert faulted == clean


def test_a_small_batchs_records_carry_their_evidence_text_and_the_blocked_line(world: dict[str, Any]) -> None:
    """Act writes the flagged comments' records from the batch it reads: the evidence text cut at the spans
    (the state carried spans only) and the blocked line's uploaded bytes, instead of a quarantine object."""
    from tutela.comment_records import evidence_text

    result, state, names = _run(world, _inline_comments, "block", None, "before")
    assert names.count("put_many") == 1 and state[QUARANTINE] == []
    (record,) = [
        i for i in boto3.resource("dynamodb").Table(world["table"]).scan()["Items"] if "#c#" in i["sk"]
    ]
    assert record["line"] == 2 and record["verdict"] == "block"
    assert record["uploaded"].encode() == BATCH.splitlines()[1]
    assert [e.get("text") for e in record["evidence"]] == [None]  # the spans only: the text is the line's
    assert [e["text"] for e in evidence_text(record)] == ["how old r u? add me on snap"[13:24]]
    assert result["quarantined"] == {"comments": 1, "in_records": 1}


# -- the publish race: a newer upload's copy lands between Act's HEAD and its write ------------------------


class ConditionalCopyClient:
    """moto's S3 client, with CopyObject honouring the destination conditions ``IfMatch`` / ``IfNoneMatch``
    as S3 does (moto 5.2.5 implements them for PutObject, not for CopyObject): a failed condition raises
    botocore's ClientError with S3's 412 ``PreconditionFailed`` (404 ``NoSuchKey`` for If-Match on a key that
    has no current object)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def copy_object(self, **kw: Any) -> Any:
        from botocore.exceptions import ClientError

        if_match, if_none_match = kw.pop("IfMatch", None), kw.pop("IfNoneMatch", None)
        try:
            etag: str | None = self._client.head_object(Bucket=kw["Bucket"], Key=kw["Key"])["ETag"]
        except ClientError:
            etag = None

        def fail(code: str, status: int) -> ClientError:
            err = {"Code": code, "Message": "At least one of the pre-conditions you specified did not hold"}
            return ClientError({"Error": err, "ResponseMetadata": {"HTTPStatusCode": status}}, "CopyObject")

        if if_none_match == "*" and etag is not None:
            raise fail("PreconditionFailed", 412)
        if if_match is not None and etag is None:
            raise fail("NoSuchKey", 404)
        if if_match is not None and if_match.strip('"') != str(etag).strip('"'):
            raise fail("PreconditionFailed", 412)
        return self._client.copy_object(**kw)


def _racing(storage: S3, world: dict[str, Any], key: str, sequencer: str) -> list[str]:
    """Right after Act's first HEAD of the published copy, another upload of ``key`` (``sequencer``)
    publishes its own copy: the window between the check and the write."""
    real_head, raced = storage.head, []

    def head(bucket: str, k: str, version_id: str | None = None) -> dict[str, Any] | None:
        out = real_head(bucket, k, version_id)
        if bucket == PUBLISHED and not raced:
            raced.append(sequencer)
            meta = {"tutela-sequencer": sequencer}
            world["s3"].put_object(
                Bucket=PUBLISHED, Key=key, Body=b"racer " + sequencer.encode(), Metadata=meta
            )
        return out

    storage.head = head  # type: ignore[method-assign]
    return raced


@pytest.mark.parametrize(("racer", "wins"), [("03", True), ("00", False)], ids=["newer", "older"])
@pytest.mark.parametrize("path", ["rescrubbed", "staged"])
def test_a_copy_published_between_the_check_and_the_write(
    world: dict[str, Any], path: str, racer: str, wins: bool
) -> None:
    """v2 (sequencer 02) is acted on while v1's copy is published; between v2's HEAD and its write another
    upload publishes. A newer one (03) wins: v2 ends superseded (not an error) and its copy stays out; an
    older one (00) is replaced by v2, as any older copy is (read and decided again after the failed
    condition)."""
    s3 = world["s3"]
    ref, decision = _photo(world, "allow") if path == "rescrubbed" else _media(world, "allow")
    ref = ObjectRef(ref.bucket, ref.key, ref.version_id, ref.size, ref.etag, "02")
    decision = _decision(ref, verdict="allow", staged=decision["staged"])
    s3.put_object(Bucket=PUBLISHED, Key=ref.key, Body=b"v1's copy", Metadata={"tutela-sequencer": "01"})
    storage = S3(ConditionalCopyClient(s3))
    raced = _racing(storage, world, ref.key, racer)
    store = DecisionStore(world["table"])
    action = Actor(storage, store, Bus(), Targets(PUBLISHED, QUARANTINE), EXECUTION).act(ref, decision)
    assert raced == [racer]
    published = s3.get_object(Bucket=PUBLISHED, Key=ref.key)
    if wins:
        assert action == {"superseded": {"bucket": PUBLISHED, "key": ref.key}}
        assert published["Body"].read() == b"racer 03" and published["Metadata"]["tutela-sequencer"] == "03"
    else:
        assert action == {"published": {"bucket": PUBLISHED, "key": ref.key}}
        assert published["Metadata"]["tutela-sequencer"] == "02"
        assert published["Metadata"]["tutela-decision"] == decision["sk"]
    logged = store.get(decision["pk"], decision["sk"] + "#action")
    assert logged is not None and logged["action"] == action  # recorded as the outcome, not an error
