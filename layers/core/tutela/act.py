"""Carry out a recorded decision so that a retry at any point converges on one clean run's end state.

Only an ``allow`` reaches the published bucket, and only as the scrubbed copy (media) or the judged fields
of the allowed lines (comments, whose per-line records Act writes first); ``block`` moves the original to
quarantine; every outcome is an event. Nothing is published for a version its uploader withdrew before
Act got to it (a plain DELETE: a delete marker over it) - the read of the original says so, at no extra
request on the common path (``S3.read_judged``; a big video's staged copy HEADs the original's key; a
post's text is not checked) - nor for one deleted by its id (GONE); a block is carried out all the same
(the evidence is not the uploader's to withdraw). docs/review.md, "Publishing order and withdrawn uploads".

Order, and why each step is safe to repeat:
1. effects that are checked before they are made: a publish or quarantine write is skipped when the target
   already holds this decision's bytes (metadata ``tutela-decision`` / ``tutela-sha256`` /
   ``tutela-source-version``), so a retry adds no object version. A new object is one conditional PUT
   (``If-None-Match: *``); only when the key exists is it read (HEAD) and compared, and overwritten only
   if it is still the object read (``If-Match`` on its ETag: a newer upload's copy written in between is
   read again and wins);
2. the quarantined copy is verified against the original before anything can delete the original;
3. events, then the action item (``v#{version}#action``, a conditional put: the history is append-only).
   A retry that finds the action item sends nothing again; one that does not, sends the events (each has a
   stable ``event_id`` for consumers, since only the window between PutEvents and the put can repeat one);
4. last, the original of a block is deleted (a retry after the delete finds the verified copy and the
   action item and finishes without error); an original nobody needs any more (allowed) is retired
   (beside step 3, which it does not depend on: Act waits for both): a delete marker makes it noncurrent,
   and the upload bucket's noncurrent-version rule expires it after OriginalRetentionDays; one held for
   review is kept as it is.

The adapters are passed in (``tutela.aws``); this module itself never touches boto3.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Protocol

from tutela.comment_records import informative, kept_in_record, with_text, with_uploaded
from tutela.comments.lines import CommentLine, parse_batch, split_batch
from tutela.decision import action_item, action_keys, comment_items, event_detail, event_id
from tutela.errors import InvalidInputError, TransientError
from tutela.limits import MAX_COMMENT_BATCH_CEILING, MAX_COMMENT_RESULTS_BYTES
from tutela.objects import ObjectRef, later, quarantine_key
from tutela.record import FrozenRecord

DECISION_EVENT = "Moderation Decision"
# = ScrubGeotags' SPLICE_MIN_BYTES: below it nothing is staged and Act scrubs the original again in memory.
RESCRUB_MAX_BYTES = 64 * 1024**2
# Conditional writes of one key before Act gives up (a transient error: the state machine retries): each
# failed condition is another write of the key that landed between Act's read and its write.
_WRITE_ATTEMPTS = 4
ESCALATION_EVENT = "Moderation Escalation"


class Storage(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None: ...
    def copy(
        self,
        src: ObjectRef,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        if_match: str | None = None,
    ) -> bool: ...
    def put_bytes(
        self,
        data: bytes,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        if_match: str | None = None,
    ) -> bool: ...
    def read_bytes(self, ref: ObjectRef, *, max_bytes: int) -> bytes: ...
    def read_version(self, ref: ObjectRef, *, max_bytes: int) -> bytes | None: ...
    def read_judged(self, ref: ObjectRef, *, max_bytes: int) -> tuple[bytes | None, bool]: ...
    def key_state(self, ref: ObjectRef) -> str: ...
    def get_jsonl(self, bucket: str, key: str, *, max_bytes: int) -> list[Any]: ...
    def delete_version(self, ref: ObjectRef) -> None: ...
    def retire(self, ref: ObjectRef) -> bool: ...


class History(Protocol):
    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...
    def append(self, item: Mapping[str, Any]) -> dict[str, Any]: ...
    def put_many(self, items: Iterable[Mapping[str, Any]]) -> int: ...


class Bus(Protocol):
    def publish_all(self, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> None: ...


class Targets(FrozenRecord):
    __slots__ = ("published_bucket", "quarantine_bucket")

    def __init__(self, published_bucket: str, quarantine_bucket: str) -> None:
        self.published_bucket = published_bucket
        self.quarantine_bucket = quarantine_bucket


def _meta(head: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in ((head or {}).get("Metadata") or {}).items()}


def _holds(head: Mapping[str, Any] | None, expected: Mapping[str, str]) -> bool:
    meta = _meta(head)
    return head is not None and all(meta.get(k) == v for k, v in expected.items())


# The action when the judged version was deleted by its id before Act: nothing published, held, final.
GONE: dict[str, Any] = {"held": True, "gone": True}


def withdrawn(ref: ObjectRef) -> dict[str, Any]:
    """The action when the uploader hid the judged version with a plain DELETE (a delete marker) before it
    was published: nothing is published for it, now or on any retry; the version itself is noncurrent and
    the upload bucket's lifecycle expires it. ``bucket``/``key``: the upload, not a published copy."""
    return {"held": True, "withdrawn": {"bucket": ref.bucket, "key": ref.key, "by": "uploader"}}


def hidden_outcome(
    storage: Storage,
    ref: ObjectRef,
    bucket: str,
    meta: Mapping[str, str],
    later: Callable[[Mapping[str, Any]], bool],
) -> dict[str, Any] | None:
    """The judged version is behind a delete marker. Publishing comes before retiring the original (Act's
    own marker), so when this decision's copy is already published an earlier attempt published it: None,
    carry on (a delete after publication unpublishes nothing: docs/review.md). A later upload's copy there
    is the marker's explanation (that upload's retire): superseded. Otherwise the uploader withdrew it."""
    head = storage.head(bucket, ref.key)
    if _holds(head, meta):
        return None
    if head is not None and later(head):
        return {"superseded": {"bucket": bucket, "key": ref.key}}
    return withdrawn(ref)


def write_once(
    storage: Storage,
    bucket: str,
    key: str,
    meta: Mapping[str, str],
    write: Callable[[str | None], bool],
    *,
    later: Callable[[Mapping[str, Any]], bool] | None = None,
    read_first: bool = False,
) -> bool:
    """Write only where the key holds what was decided on. ``write(None)``: only if the key has no
    object (``If-None-Match: *``); ``write(etag)``: only if it still is the object with that ETag, the
    one HEAD read (``If-Match``); either returns False when its condition failed. A new key is one
    conditional write (``read_first``: a HEAD before it); if the key exists, it is read and written only
    when it does not hold this decision's bytes yet (a retry writes nothing; a replaced upload overwrites
    the old copy) and is not, for a published copy, a later upload's (``later``: events arrive in any order
    and reviewers decide in any order: an older upload acted on last stays out). The check and the write
    are one decision: when another write of the key lands between them, the condition fails and the key is
    read and decided again (a newer copy wins). False when a later upload's copy is there."""
    head_first = read_first
    for _ in range(_WRITE_ATTEMPTS):
        etag: str | None = None
        if head_first:
            head = storage.head(bucket, key)
            if head is not None:
                if _holds(head, meta):
                    return True
                if later is not None and later(head):
                    return False
                etag = str(head.get("ETag", ""))
        if write(etag):
            return True
        head_first = True
    raise TransientError("the target key kept changing under conditional writes")


class CommentPlan(FrozenRecord):
    """Which lines of a batch go where. Published lines are re-serialised from the judged fields only;
    quarantined lines keep the uploaded bytes (evidence for a report)."""

    __slots__ = ("held", "published", "quarantined")

    def __init__(self, published: list[bytes], quarantined: list[bytes], held: int) -> None:
        self.published = published
        self.quarantined = quarantined
        self.held = held


def plan_comments(results: Sequence[Mapping[str, Any]], data: bytes) -> CommentPlan:
    """Match the staged verdicts to the batch's lines (parsed again, the same way) and partition them."""
    raw = split_batch(data)
    parsed: dict[int, CommentLine] = {c.line: c for c in parse_batch(raw, None)}
    published: list[bytes] = []
    quarantined: list[bytes] = []
    held = 0
    for result in results:
        number = result.get("line")
        line = parsed.get(number) if isinstance(number, int) else None
        if line is None or (line.error is None and result.get("id") != line.id):
            raise InvalidInputError("comment results do not match the batch: refusing to publish")
        verdict = result.get("verdict")
        if verdict == "allow" and line.error is None and not result.get("error"):
            published.append(line.published())
        elif verdict == "block":
            quarantined.append(raw[line.line - 1])
        else:
            held += 1
    return CommentPlan(published, quarantined, held)


class Actor:
    def __init__(
        self,
        storage: Storage,
        history: History,
        bus: Bus,
        targets: Targets,
        execution_id: str | None,
        *,
        retire_originals: bool = True,
    ) -> None:
        self.s3 = storage
        self.history = history
        self.bus = bus
        self.targets = targets
        self.execution_id = execution_id
        self.retire_originals = retire_originals

    def act(self, ref: ObjectRef, decision: Mapping[str, Any], *, first: bool = False) -> dict[str, Any]:
        """``first``: no Act can have run for this decision before (its first attempt, on a decision this
        execution just created): then there is no action record to read (a GetItem per upload saved)."""
        if decision.get("verdict") not in ("allow", "review", "block") or not decision.get("sk"):
            raise InvalidInputError("Act needs a recorded decision")
        keys = action_keys(ref)
        if decision.get("pk") != keys["pk"] or not keys["sk"].startswith(f"{decision['sk']}#"):
            raise InvalidInputError("the decision is not this object version's")
        logged = None if first else self.history.get(keys["pk"], keys["sk"])
        kind, verdict = decision.get("kind"), decision["verdict"]
        original: dict[str, Any] | None = None
        # A post's text (kind "post") is staged and published like a scrubbed copy: the judged JSON only.
        if kind in ("media", "post") and verdict == "allow":
            action = self._publish_media(ref, decision)
        elif kind in ("media", "post") and verdict == "block":
            action, original = self._quarantine_original(ref, decision)
        elif kind == "comments":
            action = self._comments(ref, decision)
        else:  # review, unsupported files and analyzer errors stay where they are (private upload bucket)
            action = {"held": True}
        # Nobody needs an allowed original any more (the published copy is the scrubbed one): make it
        # noncurrent so the upload bucket's lifecycle expires it after OriginalRetentionDays. Free (a DELETE)
        # and idempotent (a tag would cost a PUT-class request per upload). Its outcome is already carried
        # out, so the retire runs beside the events and the record instead of after them (one wait instead
        # of two); a retry after a failed retire finds the record and retires again. A retry still reads the
        # original (by its version id once a delete marker hides it) and finds this decision's copy published.
        retiring = (
            _background().submit(self.s3.retire, ref)
            if original is None and self.retire_originals and _final(decision, action)
            else None
        )
        try:
            if logged is None:
                self._events(decision, action)
                logged = self.history.append(action_item(decision, action, execution_id=self.execution_id))
        finally:
            failed = retiring.exception() if retiring is not None else None  # waits: nothing outlives Act
        if failed is not None:
            raise failed
        if original is not None:
            self.s3.delete_version(ref)  # last: the verified copy, the events and the record exist
        return dict(logged.get("action") or action)

    # ------------------------------------------------------------------ media
    def _publish_media(self, ref: ObjectRef, decision: Mapping[str, Any]) -> dict[str, Any]:
        staged = decision.get("staged") or {}
        if ref.key_problem():
            raise InvalidInputError("refusing to publish under an unsafe key")
        dst = self.targets.published_bucket
        meta = {"tutela-decision": str(decision["sk"]), "tutela-source-version": ref.version_label}
        meta.update(_ordered(ref))
        if staged.get("bucket") and staged.get("key"):  # big videos, post texts: a staged copy
            src = ObjectRef(staged["bucket"], staged["key"], size=_size(staged.get("size")))
            # Nothing of the original is read on this path: for a big video, one HEAD of its key says
            # whether it is still shown (the one request this path adds: docs/cost.md). Not for a post's
            # text, one per post, whose original no step re-reads (docs/review.md, withdrawn uploads).
            state = self.s3.key_state(ref) if decision.get("kind") == "media" else "current"
            if state in ("withdrawn", "gone"):
                return self._hidden(ref, dst, meta, gone=state == "gone") or {
                    "published": {"bucket": dst, "key": ref.key}
                }
            done = self._write_once(
                dst,
                ref.key,
                meta,
                lambda etag: self.s3.copy(
                    src,
                    dst,
                    ref.key,
                    content_type=staged.get("content_type"),
                    metadata=meta,
                    if_absent=etag is None,
                    if_match=etag,
                ),
                ordered=ref,
                read_first=True,  # as before: HEAD, then one (conditional) copy
            )
            if not done:
                return {"superseded": {"bucket": dst, "key": ref.key}}
        elif isinstance(staged.get("sha256"), str) and _size(staged.get("size")) is not None:
            written = self._publish_rescrubbed(ref, staged, dst, meta)
            if isinstance(written, dict):
                return written
            if not written:
                return {"superseded": {"bucket": dst, "key": ref.key}}
        else:
            raise InvalidInputError("allow without a verified scrubbed copy: refusing to publish")
        return {"published": {"bucket": dst, "key": ref.key}}

    def _publish_rescrubbed(
        self, ref: ObjectRef, staged: Mapping[str, Any], dst: str, meta: dict[str, str]
    ) -> bool | dict[str, Any]:
        """Scrub the original version again (the same deterministic, verifying function ScrubGeotags ran)
        and publish the bytes only if they are exactly the ones ScrubGeotags verified (sha256 and size).
        GONE when the version is gone (deleted by its id since it was judged) and nothing was published
        for it: there is nothing to publish, and no retry or replay can change that; ``withdrawn`` when a
        delete marker hides it (``hidden_outcome``; the read says so at no extra request). False when a
        newer upload of the key is published (``_write_once``)."""
        from tutela.scrub import scrub_bytes  # lazy: only a media allow pays for the import

        if staged["size"] > RESCRUB_MAX_BYTES:
            raise InvalidInputError("a scrubbed copy this big must be staged: refusing to publish")
        data, hidden = self.s3.read_judged(ref, max_bytes=RESCRUB_MAX_BYTES)
        if data is None or hidden:
            outcome = self._hidden(ref, dst, meta, gone=data is None)
            if outcome is not None:
                return outcome
            if data is None:
                return True
        out, _ = scrub_bytes(data)
        if len(out) != staged["size"] or hashlib.sha256(out).hexdigest() != staged["sha256"]:
            raise InvalidInputError("the scrubbed bytes differ from the verified copy: refusing to publish")
        return self._write_once(
            dst,
            ref.key,
            meta,
            lambda etag: self.s3.put_bytes(
                out,
                dst,
                ref.key,
                content_type=staged.get("content_type"),
                metadata=meta,
                if_absent=etag is None,
                if_match=etag,
            ),
            ordered=ref,
        )

    def _write_once(
        self,
        bucket: str,
        key: str,
        meta: Mapping[str, str],
        write: Callable[[str | None], bool],
        *,
        ordered: ObjectRef | None = None,
        read_first: bool = False,
    ) -> bool:
        """:func:`write_once`; ``ordered``: the upload a published copy is of (its event's sequencer)."""
        later = (lambda head: _superseded(head, ordered)) if ordered is not None else None
        return write_once(self.s3, bucket, key, meta, write, later=later, read_first=read_first)

    def _hidden(
        self, ref: ObjectRef, dst: str, meta: Mapping[str, str], *, gone: bool
    ) -> dict[str, Any] | None:
        """The outcome when the judged version is no longer what its key shows: GONE when it was deleted by
        its id, else ``hidden_outcome``; None when an earlier attempt already published this decision's copy
        (it publishes before it retires the original or anything else can hide it)."""
        if gone:
            return None if _holds(self.s3.head(dst, ref.key), meta) else dict(GONE)
        return hidden_outcome(self.s3, ref, dst, meta, lambda h: _superseded(h, ref))

    def _quarantine_original(
        self, ref: ObjectRef, decision: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Copy the original version to quarantine and verify the copy. Returns the original's head
        (None when a previous attempt already deleted it: then the verified copy must be there)."""
        dst, key = self.targets.quarantine_bucket, quarantine_key(ref)
        meta = {"tutela-decision": str(decision["sk"]), "tutela-source-version": ref.version_label}
        original = self.s3.head(ref.bucket, ref.key, ref.version_id)
        copy = self.s3.head(dst, key)
        if original is None:
            if not _holds(copy, meta):
                raise InvalidInputError("the original is gone and no quarantined copy of it exists")
            return {"quarantined": {"bucket": dst, "key": key}}, None
        if not _verified(copy, original, meta):
            self.s3.copy(ref, dst, key, content_type=original.get("ContentType"), metadata=meta)
            copy = self.s3.head(dst, key)
            if not _verified(copy, original, meta):
                raise TransientError("the quarantined copy does not match the original yet")
        return {"quarantined": {"bucket": dst, "key": key}}, original

    # ------------------------------------------------------------------ comments
    def _comments(self, ref: ObjectRef, decision: Mapping[str, Any]) -> dict[str, Any]:
        ptr = decision.get("results") or {}
        if isinstance(ptr.get("inline"), list):
            results = ptr["inline"]  # small batches: in the state (tutela.comment_records)
        elif ptr.get("bucket") and ptr.get("key"):
            results = self.s3.get_jsonl(ptr["bucket"], ptr["key"], max_bytes=MAX_COMMENT_RESULTS_BYTES)
        else:
            raise InvalidInputError("comment decision without results")
        inline = isinstance(ptr.get("inline"), list)
        data, hidden = self.s3.read_judged(ref, max_bytes=MAX_COMMENT_BATCH_CEILING)
        if data is None:  # deleted by its id since it was judged: no line of it can be published
            return dict(GONE)
        plan = plan_comments(results, data)  # refuses results that do not match the batch
        self._comment_records(
            ref, decision, with_uploaded(with_text(results, data), data) if inline else results
        )
        action: dict[str, Any] = {"held_comments": plan.held}
        if plan.published:
            if ref.key_problem():
                raise InvalidInputError("refusing to publish under an unsafe key")
            dst = self.targets.published_bucket
            body = b"\n".join(plan.published) + b"\n"
            # Withdrawn by a delete marker: no line is published; the records and the quarantined lines
            # are still kept (what was judged, and the evidence of what was blocked, are not the uploader's
            # to withdraw).
            outcome = self._hidden(ref, dst, _put_meta(body, decision, ref), gone=False) if hidden else None
            if outcome is not None:
                action.update({k: v for k, v in outcome.items() if k != "held"})
            elif self._put_once(body, dst, ref.key, decision, ordered=ref):
                action["published"] = {"bucket": dst, "key": ref.key, "comments": len(plan.published)}
            else:
                action["superseded"] = {"bucket": dst, "key": ref.key}
        if plan.quarantined:
            # Small batches: each blocked line's record keeps its uploaded bytes; only what did not fit there
            # (or a staged batch's lines) is written to the quarantine bucket.
            elsewhere = [q for q in plan.quarantined if not (inline and kept_in_record(q))]
            action["quarantined"] = {"comments": len(plan.quarantined)}
            if len(elsewhere) < len(plan.quarantined):
                action["quarantined"]["in_records"] = len(plan.quarantined) - len(elsewhere)
            if elsewhere:
                dst, key = self.targets.quarantine_bucket, quarantine_key(ref)
                self._put_once(b"\n".join(elsewhere) + b"\n", dst, key, decision)
                action["quarantined"].update(bucket=dst, key=key)
        return action

    def _comment_records(
        self, ref: ObjectRef, decision: Mapping[str, Any], judged: Sequence[Mapping[str, Any]]
    ) -> None:
        """One record per comment that carries information (``tutela.comment_records``), before any effect
        of the batch is visible. Every field comes from the judged results and the stored decision item
        (``decided_at``, ``expires_at``), so a retry or a takeover writes the same records again; a
        redelivery never gets here (RecordDecision stops it). Small batches' results travel in the state
        without their text: the flagged comments' evidence text and the blocked lines' uploaded bytes are
        taken from the batch this step reads anyway."""
        decided, expires = decision.get("decided_at"), decision.get("expires_at")
        if not isinstance(decided, str) or not isinstance(expires, int) or isinstance(expires, bool):
            raise InvalidInputError("a comment decision without decided_at/expires_at is not a stored one")
        records = comment_items(ref, [r for r in judged if informative(r)], decided=decided, expires=expires)
        self.history.put_many(list(records))

    def _put_once(
        self,
        body: bytes,
        bucket: str,
        key: str,
        decision: Mapping[str, Any],
        *,
        ordered: ObjectRef | None = None,
    ) -> bool:
        meta = _put_meta(body, decision, ordered)
        return self._write_once(
            bucket,
            key,
            meta,
            lambda etag: self.s3.put_bytes(
                body,
                bucket,
                key,
                content_type="application/x-ndjson",
                metadata=meta,
                if_absent=etag is None,
                if_match=etag,
            ),
            ordered=ordered,
        )

    # ------------------------------------------------------------------ events
    def _events(self, decision: Mapping[str, Any], action: Mapping[str, Any]) -> None:
        types = [DECISION_EVENT] + ([ESCALATION_EVENT] if decision.get("escalate") else [])
        detail = event_detail(decision, action)
        self.bus.publish_all([(t, {**detail, "event_id": event_id(decision, t)}) for t in types])


@cache
def _background() -> Any:
    """One thread for the call Act makes beside the others (the retire): started on first use, idle between
    invocations (boto3 clients are thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tutela-act")


def _final(decision: Mapping[str, Any], action: Mapping[str, Any]) -> bool:
    """An original is done with when it was allowed (media) or every comment of it was allowed or
    quarantined (comments); anything held for review keeps its original for the reviewer."""
    if decision.get("kind") == "media":
        return decision.get("verdict") == "allow"
    return decision.get("kind") == "comments" and not action.get("held_comments")


def _put_meta(body: bytes, decision: Mapping[str, Any], ordered: ObjectRef | None) -> dict[str, str]:
    meta = {"tutela-decision": str(decision["sk"]), "tutela-sha256": hashlib.sha256(body).hexdigest()}
    return {**meta, **_ordered(ordered)} if ordered is not None else meta


def _ordered(ref: ObjectRef) -> dict[str, str]:
    """A published copy names the write it is of (the event's sequencer), when the event said."""
    return {"tutela-sequencer": ref.sequencer} if ref.sequencer else {}


def _superseded(head: Mapping[str, Any] | None, ref: ObjectRef) -> bool:
    """The published copy ``head`` is of a later upload of the key than ``ref``."""
    return later(_meta(head).get("tutela-sequencer"), ref.sequencer)


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _verified(copy: Mapping[str, Any] | None, original: Mapping[str, Any], meta: Mapping[str, str]) -> bool:
    """The copy is this decision's copy of this version: same size, and the same ETag when both are
    single-part (a multipart copy has a different ETag for the same bytes)."""
    if copy is None or not _holds(copy, meta) or copy.get("ContentLength") != original.get("ContentLength"):
        return False
    a, b = str(copy.get("ETag", "")), str(original.get("ETag", ""))
    return "-" in a or "-" in b or a == b
