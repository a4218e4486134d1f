"""Review actions end to end: rules (``tutela.review.rules``) + the store, S3 and bus ports.

Order inside an action, and why a retry converges:
1. everything that can refuse runs first (rules; for ``allow`` of media, a fresh scrub + verification
   into private staging), so a refused action leaves no trace;
2. the record and the entry's next revision are written in one transaction (conflict -> 409);
3. effects (publish, quarantine, take down, rebuild a comment batch) each check what is already there;
   an allow that publishes nothing (a later upload's copy is published, or the uploader withdrew the
   original) adds an outcome item to the history (``..#review#h#{rev}#outcome``), so the reviewer sees it;
4. events, strikes; last, a blocked original is deleted.
A reviewer who repeats the same decision after a failure in 3-4 re-runs 3-4 without a new record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from tutela.comments.lines import parse_batch, split_batch
from tutela.decision import key_part
from tutela.objects import ObjectRef, key_problem, later
from tutela.remod.versions import is_remod_sk
from tutela.review import rules
from tutela.review.policy import ReviewPolicy
from tutela.review.rules import Actor, ReviewError

DECISION_EVENT = "Moderation Decision"
ESCALATION_EVENT = "Moderation Escalation"
ACCOUNT_EVENT = "Account Escalation"
MAX_PAGE = 100
MAX_HISTORY = 500
MAX_BATCH_ITEMS = 100_000


class Store(Protocol):
    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...
    def query_prefix(self, pk: str, prefix: str, *, limit: int = 1000) -> list[dict[str, Any]]: ...
    def query_queue(
        self, partition: str, *, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def commit(
        self, entry: Mapping[str, Any], record: Mapping[str, Any] | None, *, expected_rev: int
    ) -> None: ...
    def put_once(self, item: Mapping[str, Any]) -> bool: ...


class Media(Protocol):
    def uploader(self, entry: Mapping[str, Any]) -> str | None: ...
    def prepare_media(self, entry: Mapping[str, Any]) -> tuple[ObjectRef, str | None]: ...
    def publish(
        self,
        staged: ObjectRef,
        entry: Mapping[str, Any],
        tag: str,
        content_type: str | None,
        *,
        sequencer: str | None = None,
        newer: Callable[[Mapping[str, Any]], bool] | None = None,
        withdrawable: bool = True,
    ) -> dict: ...
    def unpublish(self, key: str) -> int: ...
    def quarantine(self, entry: Mapping[str, Any], tag: str) -> dict[str, Any]: ...
    def delete_original(self, entry: Mapping[str, Any]) -> None: ...
    def comment_lines(self, entry: Mapping[str, Any]) -> bytes: ...
    def rebuild_comments(
        self, entry: Mapping[str, Any], verdicts: Sequence[Mapping[str, Any]], tag: str
    ) -> dict: ...
    def preview_bytes(self, entry: Mapping[str, Any], max_bytes: int) -> bytes: ...


class Bus(Protocol):
    def publish_all(self, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> None: ...


class Removals(Protocol):
    """The bank a confirmed block's hashes go to (idempotent: hashes already in it are not added again)."""

    name: str

    def add(self, entries: Sequence[Any], videos: Sequence[Any]) -> dict[str, Any]: ...


def _event_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _is_object_sk(sk: str) -> bool:
    return sk.startswith("v#") and "#" not in sk[2:]


class ReviewService:
    def __init__(
        self,
        store: Store,
        media: Media,
        bus: Bus,
        policy: ReviewPolicy,
        *,
        upload_bucket: str,
        now: datetime | None = None,
        removals: Removals | None = None,
    ) -> None:
        self.removals = removals
        self.store = store
        self.media = media
        self.bus = bus
        self.policy = policy
        self.upload_bucket = upload_bucket
        self._now = now

    @property
    def now(self) -> datetime:
        return self._now or datetime.now(UTC)

    # ------------------------------------------------------------ reading
    def _decision(self, item: str) -> tuple[str, str, dict[str, Any]]:
        pk, sk = rules.parse_item_id(item)
        decision = self.store.get(pk, sk)
        if decision is None or decision.get("kind") in ("action", "comments"):
            raise ReviewError(404, "not_found", "no such item")
        return pk, sk, decision

    def _entry(self, decision: Mapping[str, Any]) -> dict[str, Any]:
        """The stored entry, or the revision-0 entry of an item nobody queued yet."""
        entry = self.store.get(decision["pk"], rules.entry_sk(decision["sk"]))
        if entry is not None:
            return entry
        uploader = self.media.uploader(decision) if decision.get("kind") == "media" else None
        return rules.unqueued_entry(decision, self.policy, uploader, self.now)

    def queue(self, kind: str, limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
        if kind not in self.policy.queues:
            raise ReviewError(400, "invalid_request", f"kind must be one of {list(self.policy.queues)}")
        limit = max(1, min(int(limit), MAX_PAGE))
        parts = rules.queue_partitions(kind)
        index, start = _cursor_in(cursor, parts)
        items: list[dict[str, Any]] = []
        while index < len(parts) and len(items) < limit:
            page, last = self.store.query_queue(parts[index], limit=limit - len(items), start=start)
            items.extend(page)
            if last is None:
                index, start = index + 1, None
            else:
                start = last
        more = index < len(parts)
        return {
            "kind": kind,
            "items": [self._summary(e) for e in items],
            "cursor": _cursor_out(index, start) if more else None,
        }

    def _summary(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": rules.item_id(entry["pk"], entry["target_sk"]),
            "key": entry.get("key"),
            "kind": entry.get("target_kind"),
            "comment_id": entry.get("comment_id"),
            "verdict": entry.get("verdict"),
            "pipeline_verdict": entry.get("pipeline_verdict"),
            "severity": entry.get("severity"),
            "minor": entry.get("minor"),
            "priority": entry.get("priority"),
            "reasons": entry.get("reasons", []),
            "queued_at": entry.get("decided_at"),
            "round": entry.get("round"),
            "appeal": entry.get("appeal"),
            "reports": len(entry.get("reporters") or []),
            "hidden": bool(entry.get("hidden")),
        }

    def item(self, item: str) -> dict[str, Any]:
        pk, sk, decision = self._decision(item)
        entry = self._entry(decision)
        history = [
            _public_record(r) for r in self.store.query_prefix(pk, f"{sk}#review#h#", limit=MAX_HISTORY)
        ]
        out: dict[str, Any] = {
            "id": item,
            "key": decision.get("key"),
            "kind": decision.get("kind"),
            "decision": {
                k: decision.get(k)
                for k in (
                    "verdict",
                    "severity",
                    "reasons",
                    "minor",
                    "minor_context",
                    "escalate",
                    "categories",
                    "score",
                    "comment_id",
                    "line",
                    "post_id",
                    "version_id",
                    "decided_at",
                    "media_type",
                    "analyzers",
                    "policy",
                    "lexicon_version",
                    "signals",
                )
                if decision.get(k) is not None
            },
            "review": {
                k: entry.get(k)
                for k in (
                    "status",
                    "verdict",
                    "round",
                    "appeal",
                    "hidden",
                    "uploader",
                    "priority",
                    "decided_at",
                )
            }
            | {
                "queue": str(entry.get("queue", "")).split("#")[0] or None,
                "reports": entry.get("reporters", []),
            },
            "history": history,
            "distribution": rules.distribution(
                decision.get("kind"), entry.get("verdict"), decision.get("minor"), self.policy
            ),
        }
        if decision.get("kind") == "comment":
            out["comment"] = self._comment_view(decision)
        elif decision.get("kind") in ("media", "error", "unsupported"):
            out["preview"] = {
                "url": f"/api/items/{item}/preview",
                "clear_url": f"/api/items/{item}/preview?clear=1",
            }
        return out

    def _comment_view(self, decision: Mapping[str, Any]) -> dict[str, Any]:
        """The comment's text split into segments, those in evidence spans marked with their category
        (so the console highlights without re-counting code points)."""
        line_no = decision.get("line")
        text = ""
        for line in parse_batch(split_batch(self.media.comment_lines(decision)), None):
            if line.line == line_no:
                text = line.text or ""
                break
        marks: list[tuple[int, int, str]] = []
        for ev in decision.get("evidence") or []:
            if (
                isinstance(ev, Mapping)
                and isinstance(ev.get("start"), int)
                and isinstance(ev.get("end"), int)
            ):
                marks.append((max(0, ev["start"]), min(len(text), ev["end"]), str(ev.get("category", ""))))
        segments: list[dict[str, Any]] = []
        pos = 0
        for a, b, cat in sorted(marks):
            if a < pos or b <= a:
                continue
            if a > pos:
                segments.append({"text": text[pos:a]})
            segments.append({"text": text[a:b], "mark": cat})
            pos = b
        if pos < len(text):
            segments.append({"text": text[pos:]})
        return {"text": text, "segments": segments}

    def account(self, uploader: str) -> dict[str, Any]:
        if not uploader or len(uploader) > 200:
            raise ReviewError(400, "invalid_request", "bad uploader id")
        items = self.store.query_prefix(f"acct#{uploader}", "", limit=MAX_HISTORY)
        strikes = [i for i in items if i.get("kind") == "strike"]
        voided = [str(i["sk"])[len("void#") :] for i in items if i.get("kind") == "strike_void"]
        active = rules.active_strikes(strikes, voided, self.policy, self.now)
        return {
            "uploader": uploader,
            "threshold": self.policy.strike_threshold,
            "window_days": self.policy.strike_window_days,
            "active_strikes": len(active),
            "escalated": len(active) >= self.policy.strike_threshold,
            "strikes": [
                {
                    "key": s.get("key"),
                    "item": s.get("item"),
                    "at": s.get("at"),
                    "category": s.get("category"),
                    "voided": s["sk"] in voided,
                }
                for s in sorted(strikes, key=lambda s: str(s.get("at")), reverse=True)
            ],
        }

    # ------------------------------------------------------------ pipeline -> queue
    def enqueue(self, detail: Mapping[str, Any]) -> int:
        """A held decision (or a comment batch's held lines) enters its queue once, however often the
        event is delivered."""
        ref = detail.get("decision") or {}
        pk, sk = ref.get("pk"), ref.get("sk")
        if not isinstance(pk, str) or not isinstance(sk, str) or not (_is_object_sk(sk) or is_remod_sk(sk)):
            return 0
        decision = self.store.get(pk, sk)
        if decision is None:
            return 0
        if is_remod_sk(sk) and not decision.get("requeue"):
            return 0  # a re-moderation that held nothing new (the item is queued, or decided, already)
        if decision.get("kind") == "comments":
            targets = [
                c
                for c in self.store.query_prefix(pk, f"{sk}#c#", limit=MAX_BATCH_ITEMS)
                if c.get("kind") == "comment" and c.get("verdict") == "review"
            ]
        else:
            targets = [decision] if decision.get("verdict") == "review" else []
        queued = 0
        for target in targets:
            uploader = self.media.uploader(target) if target.get("kind") == "media" else None
            entry, record = rules.open_entry(
                target, queue=rules.kind_queue(str(target.get("kind"))), policy=self.policy,
                uploader=uploader, now=self.now,
            )  # fmt: skip
            try:
                self.store.commit(entry, record, expected_rev=0)
                queued += 1
            except ReviewError as exc:
                if exc.code != "conflict":
                    raise
        return queued

    # ------------------------------------------------------------ decide
    def decide(self, item: str, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        _, _, decision = self._decision(item)
        entry = self._entry(decision)
        if self._is_repeat(entry, actor, body):
            records = self.store.query_prefix(
                entry["pk"], rules.record_sk(entry["target_sk"], int(entry["rev"]))
            )
            record = records[0] if records else {"sk": rules.record_sk(entry["target_sk"], int(entry["rev"]))}
            action = self._carry_out(
                decision, entry, record, self._prepare(decision, entry, str(entry["verdict"]))
            )
            return {"id": item, "verdict": entry["verdict"], "action": action, "repeat": True}
        d = rules.check_decision(entry, actor, body, self.policy)
        prepared = self._prepare(decision, entry, d.verdict)
        nxt, record = rules.apply_decision(entry, d, actor, self.now)
        self.store.commit(nxt, record, expected_rev=int(entry["rev"]))
        action = self._carry_out(decision, nxt, record, prepared)
        return {"id": item, "verdict": d.verdict, "action": action, "record": _public_record(record)}

    def _is_repeat(self, entry: Mapping[str, Any], actor: Actor, body: Mapping[str, Any]) -> bool:
        return (
            entry.get("status") == "closed"
            and entry.get("decided_by") == actor.sub
            and body.get("verdict") == entry.get("verdict")
            and int(entry.get("rev", 0)) > 0
        )

    def _prepare(self, decision: Mapping[str, Any], entry: Mapping[str, Any], verdict: str) -> Any:
        if verdict != "allow" or decision.get("kind") == "comment":
            return None
        if decision.get("kind") != "media":
            raise ReviewError(422, "cannot_publish", "only media and comments can be published")
        return self.media.prepare_media(entry)

    def _carry_out(
        self, decision: Mapping[str, Any], entry: Mapping[str, Any], record: Mapping[str, Any], prepared: Any
    ) -> dict[str, Any]:
        tag = str(record["sk"])
        verdict = entry["verdict"]
        kind = decision.get("kind")
        if kind == "comment":
            action = self._rebuild_batch(entry, tag)
        elif verdict == "allow":
            staged, content_type = prepared
            sequencer = decision.get("sequencer")
            action = self.media.publish(
                staged,
                entry,
                tag,
                content_type,
                sequencer=sequencer if isinstance(sequencer, str) else None,
                newer=self._newer_than(decision),
                withdrawable=self._kept_current(decision),
            )
            self._not_published(entry, record, action)
        else:
            action = self.media.quarantine(entry, tag)
            action["unpublished"] = self.media.unpublish(str(entry["key"]))
            if self.removals is not None:  # before the events: a retry (repeat) adds nothing twice
                action["banked"] = self._bank_removal(decision)
        escalate = bool(record.get("escalate"))
        detail = self._event_detail(decision, entry, action, escalate)
        events = [(DECISION_EVENT, {**detail, "event_id": _event_id(tag, DECISION_EVENT)})]
        if escalate:
            events.append((ESCALATION_EVENT, {**detail, "event_id": _event_id(tag, ESCALATION_EVENT)}))
        self.bus.publish_all(events)
        if verdict == "block":
            self._strike(entry, record)
            if kind != "comment":
                self.media.delete_original(entry)  # last: the verified copy, the record and events exist
        elif entry.get("appeal") == "overturned":
            self._void_strike(entry)
        return action

    def _newer_than(self, decision: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
        """Whether a published copy (its HEAD) is of a later upload of the key than the reviewed one. By the
        S3 sequencers (the decision record's, the copy's ``tutela-sequencer``) when both are known, as Act
        orders. A record from before sequencers were stored, or a copy without one: by the S3 event times
        of the two uploads' decision records (the copy's is found by its ``tutela-source-version``); when
        those do not order them either (a record gone, the same second), a copy of another upload is kept:
        never replace what may be the newer upload (the allow is recorded as superseded)."""
        mine = decision.get("sequencer")

        def newer(head: Mapping[str, Any]) -> bool:
            meta = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
            theirs = meta.get("tutela-sequencer")
            if isinstance(mine, str) and mine and theirs:
                return later(theirs, mine)
            source = meta.get("tutela-source-version")
            if source == decision.get("version_id"):
                return False  # a copy of this very upload (an earlier review or Act): replace it
            other = self.store.get(str(decision["pk"]), f"v#{source}") if source else None
            at, other_at = decision.get("event_time"), (other or {}).get("event_time")
            if isinstance(at, str) and isinstance(other_at, str) and at != other_at:
                return other_at > at
            return True

        return newer

    def _kept_current(self, decision: Mapping[str, Any]) -> bool:
        """Whether the pipeline left the original current (Act held it, or has not acted), so that a delete
        marker over it can only be the uploader's (or a later upload's retire, which the order check
        explains first). Act retires an original it allowed with a delete marker of its own (README,
        OriginalRetentionDays): a reported or re-moderated item that was published is not withdrawn by it."""
        acted = self.store.get(str(decision["pk"]), f"v#{decision.get('version_id')}#action")
        return acted is None or bool((acted.get("action") or {}).get("held"))

    def _not_published(
        self, entry: Mapping[str, Any], record: Mapping[str, Any], action: Mapping[str, Any]
    ) -> None:
        """An allow that published nothing is recorded as such, after its record (append-only, once)."""
        outcome = next((k for k in ("superseded", "withdrawn") if action.get(k)), None)
        if outcome is None:
            return
        notes = {
            "superseded": "not published: a later upload of this key is published",
            "withdrawn": "not published: the uploader deleted this upload",
        }
        self.store.put_once(
            {
                "pk": entry["pk"],
                "sk": f"{record['sk']}#outcome",
                "kind": "review_outcome",
                "target_sk": entry["target_sk"],
                "action": "not_published",
                "outcome": outcome,
                "note": notes[outcome],
                "at": rules.now_iso(self.now),
                "verdict": entry.get("verdict"),
            }
        )

    def _rebuild_batch(self, entry: Mapping[str, Any], tag: str) -> dict[str, Any]:
        batch_sk = str(entry["target_sk"]).split("#c#", 1)[0]
        items = self.store.query_prefix(str(entry["pk"]), f"{batch_sk}#c#", limit=MAX_BATCH_ITEMS)
        entries = {i["target_sk"]: i for i in items if i.get("kind") == "review_entry"}
        entries[entry["target_sk"]] = dict(entry)
        verdicts = []
        for c in items:
            if c.get("kind") != "comment":
                continue
            e = entries.get(c["sk"])
            verdict = c.get("verdict") if e is None else ("review" if e.get("hidden") else e.get("verdict"))
            verdicts.append({"line": c.get("line"), "verdict": verdict})
        return self.media.rebuild_comments(entry, verdicts, tag)

    def _event_detail(
        self, decision: Mapping[str, Any], entry: Mapping[str, Any], action: Mapping[str, Any], escalate: bool
    ) -> dict[str, Any]:
        """Identifiers, verdicts and reason codes only (never text, bytes, coordinates or reviewer ids)."""
        return {
            "bucket": decision.get("bucket"),
            "key": decision.get("key"),
            "version_id": decision.get("version_id"),
            "post_id": decision.get("post_id"),
            "kind": decision.get("kind"),
            "comment_id": decision.get("comment_id"),
            "verdict": entry.get("verdict"),
            "severity": decision.get("severity"),
            "escalate": escalate,
            "reasons": sorted(
                {str(r.get("code")) for r in decision.get("reasons") or [] if isinstance(r, Mapping)}
            ),
            "decision": {"pk": decision.get("pk"), "sk": decision.get("sk")},
            "decided_by": "human",
            "review": {
                "round": entry.get("round"),
                "appeal": entry.get("appeal"),
                "hidden": bool(entry.get("hidden")),
            },
            "distribution": rules.distribution(
                decision.get("kind"), entry.get("verdict"), decision.get("minor"), self.policy
            ),
            "action": dict(action),
        }

    def _bank_removal(self, decision: Mapping[str, Any]) -> dict[str, Any] | None:
        """A confirmed block's PDQ hashes go to the removals bank: re-uploads are blocked before any
        classifier, and the new bank version matches earlier uploads retroactively (tutela.remod)."""
        from tutela.policy.media import match_policy
        from tutela.review.removals import removal_entries

        assert self.removals is not None
        entries, videos = removal_entries(decision, self.removals.name, match_policy().min_quality)
        if not entries and not videos:
            return None
        return self.removals.add(entries, videos)

    # ------------------------------------------------------------ strikes
    def _strike(self, entry: Mapping[str, Any], record: Mapping[str, Any]) -> None:
        uploader = entry.get("uploader")
        if not uploader:
            return
        pk = f"acct#{uploader}"
        strike = {
            "pk": pk,
            "sk": f"strike#{key_part(entry['pk'])}|{entry['target_sk']}",
            "kind": "strike",
            "at": rules.now_iso(self.now),
            "key": entry.get("key"),
            "item": rules.item_id(entry["pk"], entry["target_sk"]),
            "record": record.get("sk"),
            "category": record.get("category"),
            "policy_version": self.policy.version,
        }
        if not self.store.put_once(strike):
            return  # this item already counted (a block confirmed again, or a retry)
        # Count after writing, with a consistent read: of two strikes decided at the same moment, the
        # later reader sees both, so the threshold is never missed (counting before writing let two
        # concurrent strikes each see one short of it). Both may see it: one escalation too many,
        # never one too few.
        existing = self.store.query_prefix(pk, "", limit=MAX_HISTORY)
        strikes = [i for i in existing if i.get("kind") == "strike"]
        voided = [str(i["sk"])[len("void#") :] for i in existing if i.get("kind") == "strike_void"]
        after = len(rules.active_strikes(strikes, voided, self.policy, self.now))
        before = after - 1
        if rules.account_escalates(before, after, self.policy):
            detail = {
                "uploader": uploader,
                "active_strikes": after,
                "threshold": self.policy.strike_threshold,
                "window_days": self.policy.strike_window_days,
                "policy_version": self.policy.version,
                "event_id": _event_id(pk, str(strike["sk"]), ACCOUNT_EVENT),
            }
            self.bus.publish_all([(ACCOUNT_EVENT, detail)])

    def _void_strike(self, entry: Mapping[str, Any]) -> None:
        uploader = entry.get("uploader")
        if uploader:
            sk = f"strike#{key_part(entry['pk'])}|{entry['target_sk']}"
            if self.store.get(f"acct#{uploader}", sk) is not None:
                self.store.put_once(
                    {
                        "pk": f"acct#{uploader}",
                        "sk": f"void#{sk}",
                        "kind": "strike_void",
                        "at": rules.now_iso(self.now),
                    }
                )

    # ------------------------------------------------------------ appeals and reports
    def appeal(self, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        item = body.get("item")
        if not isinstance(item, str):
            raise ReviewError(400, "invalid_request", "item is required")
        _, _, decision = self._decision(item)
        entry = self._entry(decision)
        nxt, record = rules.apply_appeal(entry, actor, body.get("statement"), self.policy, self.now)
        self.store.commit(nxt, record, expected_rev=int(entry["rev"]))
        return {"id": item, "status": "pending", "queue": "appeal", "record": _public_record(record)}

    def report(self, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        key = body.get("key")
        if not isinstance(key, str) or not key or len(key) > 1024 or key_problem(key):
            raise ReviewError(400, "invalid_request", "key must be an object key")
        reporter = body.get("reporter") if actor.via == "iam" else actor.sub
        if not isinstance(reporter, str) or not reporter or len(reporter) > 200:
            raise ReviewError(400, "invalid_request", "reporter (the platform's user id) is required")
        target = self._report_target(key, body.get("comment_id"))
        entry = self._entry(target)
        out = rules.apply_report(entry, actor, reporter, body, self.policy, self.now)
        self.store.commit(out.entry, out.record, expected_rev=int(entry["rev"]))
        item = rules.item_id(target["pk"], target["sk"])
        if out.hide:
            tag = str(out.record["sk"])
            if target.get("kind") == "comment":
                action = self._rebuild_batch(out.entry, tag)
            else:
                action = {"unpublished": self.media.unpublish(key)}
            detail = self._event_detail(
                target, {**out.entry, "verdict": "review"}, {**action, "hidden": True}, False
            )
            self.bus.publish_all([(DECISION_EVENT, {**detail, "event_id": _event_id(tag, DECISION_EVENT)})])
        return {
            "id": item,
            "requeued": out.requeued,
            "hidden": out.hide,
            "record": _public_record(out.record),
        }

    def _report_target(self, key: str, comment_id: Any) -> dict[str, Any]:
        pk = f"obj#{self.upload_bucket}/{key}"
        decisions = [
            d for d in self.store.query_prefix(pk, "v#", limit=MAX_HISTORY) if _is_object_sk(d["sk"])
        ]
        if not decisions:
            raise ReviewError(404, "not_found", "no decision for that key")
        latest = max(decisions, key=lambda d: str(d.get("decided_at")))
        if latest.get("kind") != "comments":
            return latest
        if not isinstance(comment_id, str) or not comment_id:
            raise ReviewError(400, "invalid_request", "comment_id is required to report a comment")
        for c in self.store.query_prefix(pk, f"{latest['sk']}#c#", limit=MAX_BATCH_ITEMS):
            if c.get("kind") == "comment" and c.get("comment_id") == comment_id:
                return c
        raise ReviewError(404, "not_found", "no such comment in that batch")

    # ------------------------------------------------------------ previews
    def preview(self, item: str, actor: Actor, *, clear: bool, reason: Any = None) -> bytes:
        from tutela.errors import TutelaError
        from tutela.review.preview import render

        _, _, decision = self._decision(item)
        if decision.get("kind") not in ("media", "error", "unsupported"):
            raise ReviewError(404, "no_preview", "only media have previews")
        entry = self._entry(decision)
        if not actor.groups & self.policy.decide_groups:
            raise ReviewError(403, "forbidden", "only reviewers and leads see previews")
        data = self.media.preview_bytes(entry, int(self.policy.preview["max_source_bytes"]))
        if clear:  # audited before any clear pixel leaves
            nxt, record = rules.apply_unblur(entry, actor, reason, self.policy, self.now)
            self.store.commit(nxt, record, expected_rev=int(entry["rev"]))
        try:
            return render(data, clear=clear, settings=self.policy.preview)
        except TutelaError as exc:
            raise ReviewError(422, "no_preview", f"no preview for this item ({exc.code})") from exc


def _public_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("pk",)}


def _cursor_out(index: int, start: Mapping[str, Any] | None) -> str:
    raw = json.dumps({"p": index, "k": dict(start) if start else None}, default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# What the queue index's LastEvaluatedKey holds (the table's keys and the index's), all strings.
_START_KEYS = frozenset(("pk", "sk", "queue", "decided_at"))


def _cursor_in(cursor: str | None, parts: Sequence[str]) -> tuple[int, dict[str, Any] | None]:
    if not cursor:
        return 0, None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        index, start = int(raw["p"]), raw.get("k")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ReviewError(400, "invalid_request", "bad cursor") from exc
    if not 0 <= index <= len(parts) or (start is not None and not _start_key(start, parts, index)):
        raise ReviewError(400, "invalid_request", "bad cursor")
    return index, start


def _start_key(start: Any, parts: Sequence[str], index: int) -> bool:
    """A start key the queue could have handed out: it goes to DynamoDB as the ExclusiveStartKey, which
    refuses (a 500, not a 400) any other shape, and boto3 cannot even serialise a float."""
    return (
        isinstance(start, dict)
        and start.keys() == _START_KEYS
        and all(isinstance(v, str) and v for v in start.values())
        and index < len(parts)
        and start["queue"] == parts[index]
    )
