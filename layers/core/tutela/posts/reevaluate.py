"""Re-evaluate a post's earlier decisions when its text declares a child (the context became stricter).

For each member of the post (``tutela.aws.post_context``):

- a media decision whose minor status is below ``likely`` is judged again with the floor
  (:func:`tutela.posts.context.floor_media`);
- a comment batch judged as under an adult's post (``minor_context: false``) is classified again under a
  child's post.

The new decision is *appended* (``sk = {decision sk}#post-context``: the history is append-only, and since the
text-minor flag is never lowered one re-evaluation per object version is enough) and carried out only in the
stricter direction: a published media copy is removed when the verdict is no longer ``allow`` and the original
is quarantined when it becomes ``block``; a comment batch's published file keeps only the lines allowed both
times, and newly blocked lines are quarantined. Nothing is ever published by a re-evaluation.

Retries converge the way ``tutela.act`` does: the decision is a conditional put (another execution's
re-evaluation is left to it), effects are checked before they are made, events precede the action item, and
the original of a block is deleted last. A member whose decision is not recorded or not yet acted on raises
:class:`TransientError` (its own execution is a few milliseconds behind; the state machine retries).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from tutela import comments as classifier  # loads on first use: PostContext's INIT reads no lexicon
from tutela.act import DECISION_EVENT, ESCALATION_EVENT, Bus, Storage, Targets, plan_comments, quarantine_key
from tutela.comment_records import expand
from tutela.comments.lines import split_batch
from tutela.decision import (
    action_item,
    comment_items,
    event_detail,
    event_id,
    object_item,
    object_keys,
    same_execution,
    step_decision,
)
from tutela.errors import TransientError
from tutela.held import held_decision, reason
from tutela.limits import MAX_COMMENT_BATCH_CEILING
from tutela.objects import ObjectRef, version_id_of
from tutela.policy.comments import summarize
from tutela.posts.context import MINOR_RANK, REEVAL_SUFFIX, floor_media, stricter
from tutela.record import FrozenRecord

_UNAVAILABLE: dict[str, Any] = held_decision(
    "comments",
    [
        reason(
            "batch_unavailable",
            "the post's text declares a child; the batch is no longer stored to be judged again: "
            "its published comments are withdrawn",
        )
    ],
    minor_context=True,
)


class History(Protocol):
    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...
    def put_once(self, item: Mapping[str, Any]) -> dict[str, Any] | None: ...
    def append(self, item: Mapping[str, Any]) -> dict[str, Any]: ...
    def put_many(self, items: Iterable[Mapping[str, Any]]) -> int: ...


class Members(Protocol):
    def members(self, post_id: str) -> Iterator[dict[str, Any]]: ...
    def query(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]: ...


class Cause(FrozenRecord):
    """The post-text decision that raised the context (stored in every re-evaluation)."""

    __slots__ = ("event_time", "execution_id", "ref", "retention_days")

    def __init__(
        self, ref: ObjectRef, execution_id: str | None, event_time: str | None, retention_days: int
    ) -> None:
        self.ref = ref
        self.execution_id = execution_id
        self.event_time = event_time
        self.retention_days = retention_days


def member_ref(member: Mapping[str, Any]) -> ObjectRef:
    return ObjectRef(str(member["bucket"]), str(member["key"]), version_id_of(member.get("version_id")))


class Reevaluator:
    def __init__(
        self,
        storage: Storage,
        history: History,
        members: Members,
        bus: Bus,
        targets: Targets,
        cause: Cause,
        *,
        quarantine_suffix: str = REEVAL_SUFFIX,
    ) -> None:
        self.quarantine_suffix = quarantine_suffix  # re-moderations (tutela.remod) name their own copies
        self.s3 = storage
        self.history = history
        self.members = members
        self.bus = bus
        self.targets = targets
        self.cause = cause

    def run(self, post_id: str) -> list[dict[str, Any]]:
        """Re-evaluate every member of the post that needs it; one summary line per re-evaluation."""
        out = []
        for member in self.members.members(post_id):
            done = self.one(member_ref(member))
            if done is not None:
                out.append(done)
        return out

    def one(self, ref: ObjectRef) -> dict[str, Any] | None:
        keys = object_keys(ref)
        item = self.history.get(keys["pk"], keys["sk"])
        if item is None:
            raise TransientError("a decision of this post is not recorded yet")
        kind = item.get("kind")
        below = MINOR_RANK.get(str(item.get("minor")), 0) < MINOR_RANK["likely"]
        if not ((kind == "media" and below) or (kind == "comments" and item.get("minor_context") is False)):
            return None  # already judged under a child's post, or held (errors, unsupported)
        if self.history.get(keys["pk"], f"{keys['sk']}#action") is None:
            raise TransientError("a decision of this post is still being carried out")
        batch: tuple[bytes, list[dict[str, Any]]] | None = None
        if kind == "media":
            new = self._media_decision(ref, item)
        elif self.s3.head(ref.bucket, ref.key, ref.version_id) is None:
            new = self._item(ref, item, _UNAVAILABLE)  # the batch expired: it cannot be judged again
        else:
            data = self.s3.read_bytes(ref, max_bytes=MAX_COMMENT_BATCH_CEILING)
            batch = (data, list(classifier.classify_lines(split_batch(data), minor_context=True)))
            new = self._comments_decision(ref, item, batch[1])
        stored = self.history.put_once(new)
        if stored is not None and not same_execution(stored, self.cause.execution_id):
            return {
                "key": ref.key,
                "sk": stored.get("sk"),
                "verdict": stored.get("verdict"),
                "owner": "other",
            }
        decision = stored or new
        logged = self.history.get(decision["pk"], f"{decision['sk']}#action")
        original: ObjectRef | None = None
        if kind == "media":
            action, original = self._media(ref, item, decision)
        elif batch is None:  # fail closed: what was published under the adult context is withdrawn
            withdrawn = self._unpublish(ref.key, item["sk"], decision["sk"])
            action = {
                "reevaluated": item["sk"],
                "was": item.get("verdict"),
                "held": True,
                "withdrawn": withdrawn,
            }
        else:
            action = self.comments(ref, item, decision, *batch)
        if logged is None:
            self._events(item, decision, action)
            logged = self.history.append(action_item(decision, action, execution_id=self.cause.execution_id))
        if original is not None and self.s3.head(original.bucket, original.key, original.version_id):
            self.s3.delete_version(original)  # last: the verified copy, the events and the record exist
        return {
            "key": ref.key,
            "sk": decision["sk"],
            "was": item.get("verdict"),
            "verdict": decision["verdict"],
            "action": sorted((logged.get("action") or action).keys()),
        }

    # ------------------------------------------------------------------ decisions
    def _item(
        self, ref: ObjectRef, previous: Mapping[str, Any], decision: Mapping[str, Any]
    ) -> dict[str, Any]:
        item = object_item(
            ref,
            step_decision(decision),
            execution_id=self.cause.execution_id,
            event_time=self.cause.event_time,
            retention_days=self.cause.retention_days,
        )
        item["sk"] = f"{previous['sk']}{REEVAL_SUFFIX}"
        item["reevaluates"] = {"pk": previous["pk"], "sk": previous["sk"], "verdict": previous.get("verdict")}
        item["cause"] = object_keys(self.cause.ref)
        return item

    def _media_decision(self, ref: ObjectRef, item: Mapping[str, Any]) -> dict[str, Any]:
        carried = ("verdict", "severity", "reasons", "minor", "escalate", "signals", "policy", "media_type")
        floored = floor_media({"kind": "media", **{k: item.get(k) for k in carried}})
        return self._item(ref, item, {**floored, "analyzers": item.get("analyzers")})

    def _comments_decision(
        self, ref: ObjectRef, item: Mapping[str, Any], results: list[dict[str, Any]]
    ) -> dict[str, Any]:
        batch = summarize(results)
        why = {
            "code": "minor_declared_in_post",
            "message": "judged again as under a child's post: the post's text says a child is in it",
        }
        return self._item(
            ref,
            item,
            {
                "kind": "comments",
                "verdict": batch.verdict,
                "severity": batch.severity,
                "reasons": [*batch.reasons, why],
                "counts": batch.counts,
                "minor_context": True,
                # stages 1-2 only: the optional LLM stage (CommentsLLM) runs in ClassifyComments alone
                "analyzers": {
                    "comments": {
                        "name": "tutela.comments",
                        "lexicon_version": classifier.LEXICON_VERSION,
                        "stages": _base_stages(),
                    }
                },
            },
        )

    # ------------------------------------------------------------------ media
    def _media(
        self, ref: ObjectRef, item: Mapping[str, Any], decision: Mapping[str, Any]
    ) -> tuple[dict[str, Any], ObjectRef | None]:
        old, new = str(item.get("verdict")), str(decision["verdict"])
        action: dict[str, Any] = {"reevaluated": item["sk"], "was": old}
        if not stricter(new, old):
            action["unchanged"] = True
            return action, None
        if old == "allow":
            action["withdrawn"] = self._unpublish(ref.key, item["sk"], decision["sk"])
        if new != "block":
            action["held"] = True
            return action, None
        head = self.s3.head(ref.bucket, ref.key, ref.version_id)
        dst, key = self.targets.quarantine_bucket, quarantine_key(ref) + REEVAL_SUFFIX
        meta = {"tutela-decision": str(decision["sk"]), "tutela-source-version": ref.version_label}
        copy = self.s3.head(dst, key)
        if head is None:
            if not _holds(copy, meta):
                action["original_missing"] = True
                return action, None
        elif not (_holds(copy, meta) and copy and copy.get("ContentLength") == head.get("ContentLength")):
            self.s3.copy(ref, dst, key, content_type=head.get("ContentType"), metadata=meta)
            copy = self.s3.head(dst, key)
            if not (_holds(copy, meta) and copy and copy.get("ContentLength") == head.get("ContentLength")):
                raise TransientError("the quarantined copy does not match the original yet")
        action["quarantined"] = {"bucket": dst, "key": key}
        return action, (ref if head is not None else None)

    def _unpublish(self, key: str, *decision_sks: str) -> dict[str, Any] | None:
        """Remove the published object if it is one of these decisions' (never another upload's)."""
        bucket = self.targets.published_bucket
        head = self.s3.head(bucket, key)
        if head is None or _meta(head).get("tutela-decision") not in decision_sks:
            return None
        self.s3.delete_version(ObjectRef(bucket, key, head.get("VersionId") or None))
        return {"bucket": bucket, "key": key}

    # ------------------------------------------------------------------ comments
    def comments(
        self,
        ref: ObjectRef,
        item: Mapping[str, Any],
        decision: Mapping[str, Any],
        data: bytes,
        results: list[dict[str, Any]],
    ) -> dict[str, Any]:
        # Plainly allowed lines have no item of their own: the batch item lists them (comment_records).
        before = {
            int(r["line"]): str(r.get("verdict"))
            for r in expand(item, self.members.query(item["pk"], f"{item['sk']}#c#"))
            if isinstance(r.get("line"), int)
        }
        self.history.put_many(
            _rekey(
                comment_items(
                    ref,
                    results,
                    decided=decision["decided_at"],
                    expires=decision["expires_at"],
                ),
                item["sk"],
                decision["sk"],
            )
        )
        # Publish only what was allowed both times; quarantine only what is newly blocked.
        adjusted = []
        for r in results:
            was = before.get(int(r["line"]), "review")
            verdict = r.get("verdict")
            if (was != "allow" and verdict == "allow") or was == "block":
                verdict = "review"
            adjusted.append({**r, "verdict": verdict})
        plan = plan_comments(adjusted, data)
        action: dict[str, Any] = {
            "reevaluated": item["sk"],
            "was": item.get("verdict"),
            "held_comments": plan.held,
        }
        allowed_before = sum(1 for v in before.values() if v == "allow")
        if len(plan.published) != allowed_before:
            dst = self.targets.published_bucket
            if plan.published:
                body = b"\n".join(plan.published) + b"\n"
                meta = {
                    "tutela-decision": str(decision["sk"]),
                    "tutela-sha256": hashlib.sha256(body).hexdigest(),
                }
                head = self.s3.head(dst, ref.key)
                if not _holds(head, meta):
                    old = head if _meta(head).get("tutela-decision") == item["sk"] else None
                    self.s3.put_bytes(body, dst, ref.key, content_type="application/x-ndjson", metadata=meta)
                    if old is not None and old.get("VersionId"):
                        self.s3.delete_version(ObjectRef(dst, ref.key, old["VersionId"]))
                # a subset of what was published: "withdrawn" (never "published": nothing new goes out)
                action["withdrawn"] = {
                    "bucket": dst,
                    "key": ref.key,
                    "comments": allowed_before - len(plan.published),
                    "kept": len(plan.published),
                }
            else:
                action["withdrawn"] = self._unpublish(ref.key, item["sk"])
        if plan.quarantined:
            dst, key = self.targets.quarantine_bucket, quarantine_key(ref) + self.quarantine_suffix
            body = b"\n".join(plan.quarantined) + b"\n"
            meta = {"tutela-decision": str(decision["sk"]), "tutela-sha256": hashlib.sha256(body).hexdigest()}
            if not _holds(self.s3.head(dst, key), meta):
                self.s3.put_bytes(body, dst, key, content_type="application/x-ndjson", metadata=meta)
            action["quarantined"] = {"bucket": dst, "key": key, "comments": len(plan.quarantined)}
        return action

    # ------------------------------------------------------------------ events
    def _events(
        self, item: Mapping[str, Any], decision: Mapping[str, Any], action: Mapping[str, Any]
    ) -> None:
        types = [DECISION_EVENT]
        if decision.get("escalate") and not item.get("escalate"):
            types.append(ESCALATION_EVENT)
        detail = {**event_detail(decision, action), "reevaluates": {"pk": item["pk"], "sk": item["sk"]}}
        self.bus.publish_all([(t, {**detail, "event_id": event_id(decision, t)}) for t in types])


def _rekey(items: Iterable[dict[str, Any]], old_sk: str, new_sk: str) -> Iterator[dict[str, Any]]:
    for it in items:
        yield {**it, "sk": new_sk + it["sk"][len(old_sk) :]}


def _meta(head: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in ((head or {}).get("Metadata") or {}).items()}


def _holds(head: Mapping[str, Any] | None, expected: Mapping[str, str]) -> bool:
    meta = _meta(head)
    return head is not None and all(meta.get(k) == v for k, v in expected.items())


def _base_stages() -> list[str]:
    # with the classifier, on a re-evaluation only: PostContext's INIT loads neither the lexicon nor tomllib
    from tutela.comments.llm import base_stages

    return base_stages(classifier.default_lexicon())
