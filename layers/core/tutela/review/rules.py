"""Every rule a reviewer action must pass, as pure functions over plain dicts (no AWS).

A reviewable thing (a media object's decision, or one comment line's) has one *queue entry* next to the
pipeline's decision item: ``sk = {target_sk}#review`` holding its current status (pending in which queue,
or closed with which verdict), the reviewer who decided it, its reporters and an optimistic ``rev``.
Every action adds a *record* (``{target_sk}#review#h#{rev:06d}``) written in the same transaction as the
entry's next revision, so the history is append-only and a concurrent action on the same item loses
cleanly. The pipeline's decision item is only ever read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tutela.record import FrozenRecord
from tutela.review.policy import ReviewPolicy

Verdict = str
HUMAN_VERDICTS = ("allow", "block")
SORT_KEY_MAX_BYTES = 1024  # DynamoDB's limit on a sort key (the partition key's, 2,048, no id can reach)


class ReviewError(Exception):
    """A refused action: ``status`` is the HTTP status, ``code`` a stable machine-readable reason."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Actor(FrozenRecord):
    """Who acts: from the token's claims (reviewers) or the caller's IAM identity (the platform)."""

    __slots__ = ("groups", "name", "sub", "via")

    def __init__(self, sub: str, name: str, groups: frozenset[str] = frozenset(), via: str = "jwt") -> None:
        self.sub = sub
        self.name = name
        self.groups = groups
        self.via = via

    def record(self) -> dict[str, Any]:
        return {"sub": self.sub, "name": self.name, "via": self.via, "groups": sorted(self.groups)}


def now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------- identifiers
def item_id(pk: str, sk: str) -> str:
    """An opaque, URL-safe id for a reviewable decision (its table keys)."""
    raw = f"{pk}\n{sk}".encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def parse_item_id(value: str) -> tuple[str, str]:
    if not value or len(value) > 2048:
        raise ReviewError(404, "not_found", "no such item")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ReviewError(404, "not_found", "no such item") from exc
    pk, sep, sk = raw.partition("\n")
    if not sep or not pk.startswith("obj#") or not sk.startswith("v#") or "#review" in sk or "#action" in sk:
        raise ReviewError(404, "not_found", "no such item")
    if len(sk.encode("utf-8")) > SORT_KEY_MAX_BYTES:  # DynamoDB refuses the read (a ValidationException)
        raise ReviewError(404, "not_found", "no such item")
    return pk, sk


def entry_sk(target_sk: str) -> str:
    return f"{target_sk}#review"


def record_sk(target_sk: str, rev: int) -> str:
    return f"{target_sk}#review#h#{rev:06d}"


# ---------------------------------------------------------------- queue order
def minor_related(decision: Mapping[str, Any], policy: ReviewPolicy, extra_codes: Iterable[str] = ()) -> bool:
    if decision.get("minor") in policy.minor_values or decision.get("minor_context") is True:
        return True
    codes = [
        str(r.get("code", "")) if isinstance(r, Mapping) else str(r) for r in decision.get("reasons") or []
    ]
    codes += [str(c) for c in decision.get("categories") or []]
    codes += list(extra_codes)
    return any(m in c for c in codes for m in policy.minor_markers)


def priority(decision: Mapping[str, Any], policy: ReviewPolicy, extra_codes: Iterable[str] = ()) -> int:
    """0 (minor-related, critical) .. 9 (no minor, no severity): lower is reviewed first."""
    severity = decision.get("severity")
    sev = int(severity) if isinstance(severity, int | float) and not isinstance(severity, bool) else 0
    return (0 if minor_related(decision, policy, extra_codes) else 5) + (4 - max(0, min(sev, 4)))


def queue_value(queue: str, prio: int) -> str:
    return f"{queue}#p{prio}"


def queue_partitions(queue: str) -> list[str]:
    """The index partitions of one queue, most urgent first."""
    return [queue_value(queue, p) for p in range(10)]


def kind_queue(kind: str) -> str:
    return "comment" if kind == "comment" else "media"


# ---------------------------------------------------------------- entries
def _template(
    decision: Mapping[str, Any],
    *,
    queue: str,
    policy: ReviewPolicy,
    uploader: str | None,
    now: datetime | None = None,
    extra_codes: Iterable[str] = (),
) -> dict[str, Any]:
    """The revision-0 entry of a pipeline decision (never stored: every stored entry has a record)."""
    prio = priority(decision, policy, extra_codes)
    entry: dict[str, Any] = {
        "pk": decision["pk"],
        "sk": entry_sk(decision["sk"]),
        "kind": "review_entry",
        "target_sk": decision["sk"],
        "target_kind": decision.get("kind"),
        "bucket": decision.get("bucket"),
        "key": decision.get("key"),
        "version_id": decision.get("version_id"),
        "post_id": decision.get("post_id"),
        "line": decision.get("line"),
        "comment_id": decision.get("comment_id"),
        "severity": decision.get("severity", 0),
        "minor": decision.get("minor"),
        "pipeline_verdict": decision.get("verdict"),
        "verdict": decision.get("verdict"),
        "status": "pending",
        "queue": queue_value(queue, prio),
        "priority": prio,
        "reasons": sorted(
            {str(r.get("code")) for r in decision.get("reasons") or [] if isinstance(r, Mapping)}
            | {str(c) for c in decision.get("categories") or []}
        ),
        "decided_at": now_iso(now),  # the index's sort key: when it entered the queue
        "round": 1,
        "decided_by": None,
        "appeal": None,
        "reporters": [],
        "hidden": False,
        "uploader": uploader,
        "rev": 0,
    }
    return entry


def _text(value: Any, limit: int, what: str, *, required: bool) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ReviewError(400, "invalid_request", f"{what} is required")
        return ""
    if not isinstance(value, str):
        raise ReviewError(400, "invalid_request", f"{what} must be a string")
    if len(value) > limit:
        raise ReviewError(400, "invalid_request", f"{what} is longer than {limit} characters")
    return value.strip()


def _record(entry: Mapping[str, Any], action: str, actor: Actor, now: datetime | None, **fields: Any) -> dict:
    rev = int(entry["rev"]) + 1
    record = {
        "pk": entry["pk"],
        "sk": record_sk(entry["target_sk"], rev),
        "kind": "review_record",
        "target_sk": entry["target_sk"],
        "action": action,
        "actor": actor.record(),
        "at": now_iso(now),
        "round": entry.get("round"),
        "previous_verdict": entry.get("verdict"),
        **fields,
    }
    return {k: v for k, v in record.items() if v is not None}


def _next(entry: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    nxt = {**entry, **changes, "rev": int(entry["rev"]) + 1}
    if nxt.get("status") != "pending":
        nxt.pop("queue", None)  # leaves the sparse index
    return nxt


# ---------------------------------------------------------------- decide
class Decision(FrozenRecord):
    __slots__ = ("appeal", "category", "escalate", "reason", "verdict")

    def __init__(
        self, verdict: Verdict, reason: str, category: str | None, escalate: bool, appeal: bool
    ) -> None:
        self.verdict = verdict
        self.reason = reason
        self.category = category
        self.escalate = escalate
        self.appeal = appeal  # deciding an appeal (a different reviewer than the one who decided the item)


def check_decision(
    entry: Mapping[str, Any] | None,
    actor: Actor,
    body: Mapping[str, Any],
    policy: ReviewPolicy,
) -> Decision:
    if not actor.groups & policy.decide_groups:
        raise ReviewError(403, "forbidden", "only reviewers and leads decide items")
    verdict = body.get("verdict")
    if verdict not in HUMAN_VERDICTS:
        raise ReviewError(400, "invalid_request", 'verdict must be "allow" or "block"')
    reason = _text(body.get("reason"), policy.max_reason_chars, "reason", required=policy.reason_required)
    category = body.get("category")
    # a str first: the categories are a set, and a JSON array or object cannot be looked up in one
    if category is not None and (not isinstance(category, str) or category not in policy.report_categories):
        raise ReviewError(
            400, "invalid_request", f"category must be one of {sorted(policy.report_categories)}"
        )
    if entry is None or entry.get("status") != "pending":
        raise ReviewError(409, "not_pending", "the item is not waiting for a review")
    appeal = str(entry.get("queue", "")).startswith("appeal#")
    if appeal and policy.different_reviewer and entry.get("decided_by") == actor.sub:
        raise ReviewError(
            403, "same_reviewer", "an appeal must be decided by a different reviewer than the one who decided"
        )
    escalate = verdict == "block" and category in policy.escalate_categories
    return Decision(str(verdict), reason, category, escalate, appeal)


def apply_decision(
    entry: Mapping[str, Any], decision: Decision, actor: Actor, now: datetime | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    appeal_outcome = None
    if decision.appeal:
        appeal_outcome = "overturned" if decision.verdict != entry.get("verdict") else "upheld"
    record = _record(
        entry,
        "appeal_decision" if decision.appeal else "decision",
        actor,
        now,
        verdict=decision.verdict,
        reason=decision.reason,
        category=decision.category,
        escalate=decision.escalate or None,
        appeal=appeal_outcome,
    )
    nxt = _next(
        entry,
        status="closed",
        verdict=decision.verdict,
        decided_by=actor.sub,
        appeal=appeal_outcome or entry.get("appeal"),
        hidden=False if decision.verdict == "allow" else entry.get("hidden", False),
    )
    return nxt, record


# ---------------------------------------------------------------- appeals
def apply_appeal(
    entry: Mapping[str, Any],
    actor: Actor,
    statement: Any,
    policy: ReviewPolicy,
    now: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    text = _text(statement, policy.max_statement_chars, "statement", required=True)
    if entry.get("status") == "pending":
        raise ReviewError(409, "pending", "the item is still waiting for a review")
    if entry.get("verdict") not in policy.appealable_verdicts:
        raise ReviewError(409, "not_appealable", f"a {entry.get('verdict')} decision cannot be appealed")
    if entry.get("appeal"):
        raise ReviewError(409, "already_appealed", "this decision was already appealed")
    record = _record(entry, "appeal", actor, now, statement=text)
    prio = int(entry.get("priority", 5))
    nxt = _next(
        entry,
        status="pending",
        queue=queue_value("appeal", prio),
        decided_at=now_iso(now),
        appeal="pending",
        round=int(entry.get("round", 1)) + 1,
    )
    return nxt, record


# ---------------------------------------------------------------- reports
class ReportOutcome(FrozenRecord):
    __slots__ = ("entry", "hide", "record", "requeued")

    def __init__(self, entry: dict[str, Any], record: dict[str, Any], requeued: bool, hide: bool) -> None:
        self.entry = entry
        self.record = record
        self.requeued = requeued
        self.hide = hide


def apply_report(
    entry: Mapping[str, Any],
    actor: Actor,
    reporter: str,
    body: Mapping[str, Any],
    policy: ReviewPolicy,
    now: datetime | None = None,
) -> ReportOutcome:
    category = body.get("category")
    if not isinstance(category, str) or category not in policy.report_categories:  # (a set: str first)
        raise ReviewError(
            400, "invalid_request", f"category must be one of {sorted(policy.report_categories)}"
        )
    note = _text(body.get("note"), policy.max_note_chars, "note", required=False)
    reporters = [dict(r) for r in entry.get("reporters") or []]
    if any(r.get("reporter") == reporter and r.get("category") == category for r in reporters):
        raise ReviewError(409, "already_reported", "this reporter already reported the item for that")
    if len(reporters) < policy.max_reporters_kept:
        reporters.append({"reporter": reporter, "category": category})
    child_safety = category in policy.child_safety_categories
    distinct = {r["reporter"] for r in reporters if r.get("category") in policy.child_safety_categories}
    live = entry.get("verdict") == "allow"  # a blocked or held item is not visible to anyone
    hide = live and child_safety and not entry.get("hidden") and len(distinct) >= policy.hide_after_reporters
    requeue = entry.get("status") != "pending" and entry.get("verdict") != "block"
    changes: dict[str, Any] = {"reporters": reporters}
    if requeue:
        prio = priority(entry, policy, [str(category)])
        changes.update(
            status="pending",
            queue=queue_value("report", prio),
            decided_at=now_iso(now),
            round=int(entry.get("round", 1)) + 1,
        )
    if hide:
        changes["hidden"] = True
    record = _record(
        entry,
        "report",
        actor,
        now,
        reporter=reporter,
        category=category,
        note=note or None,
        requeued=requeue,
        hidden=hide or None,
    )
    nxt = _next(entry, **changes)
    if nxt.get("status") == "pending" and "queue" not in nxt:
        nxt["queue"] = entry.get("queue")
    return ReportOutcome(nxt, record, requeue, hide)


def unqueued_entry(
    decision: Mapping[str, Any],
    policy: ReviewPolicy,
    uploader: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The revision-0 entry of an item nobody queued (allowed or blocked by the pipeline): closed, so a
    report or an appeal can open it."""
    entry = _template(decision, queue="report", policy=policy, uploader=uploader, now=now)
    entry["status"] = "closed"
    entry.pop("queue", None)
    return entry


def open_entry(
    decision: Mapping[str, Any],
    *,
    queue: str,
    policy: ReviewPolicy,
    uploader: str | None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pipeline decision held for review enters its queue: revision 1 and its ``queued`` record."""
    template = _template(decision, queue=queue, policy=policy, uploader=uploader, now=now)
    record = _record(template, "queued", Actor("pipeline", "pipeline", via="pipeline"), now, queue=queue)
    return _next(template), record


def apply_unblur(
    entry: Mapping[str, Any], actor: Actor, reason: Any, policy: ReviewPolicy, now: datetime | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    if not actor.groups & policy.decide_groups:
        raise ReviewError(403, "forbidden", "only reviewers and leads see previews")
    why = _text(reason, policy.max_reason_chars, "reason", required=False)
    return _next(entry), _record(entry, "unblur", actor, now, reason=why or None)


# ---------------------------------------------------------------- strikes and distribution
def active_strikes(
    strikes: Iterable[Mapping[str, Any]],
    voided: Iterable[str],
    policy: ReviewPolicy,
    now: datetime | None = None,
) -> list[Mapping[str, Any]]:
    since = now_iso((now or datetime.now(UTC)) - timedelta(days=policy.strike_window_days))
    gone = set(voided)
    return [s for s in strikes if s.get("at", "") >= since and s.get("sk") not in gone]


def account_escalates(before: int, after: int, policy: ReviewPolicy) -> bool:
    """Raise the account escalation when a strike brings the count in the window to the threshold (or past
    it: every further strike in the window escalates again)."""
    return after >= policy.strike_threshold and after > before


def distribution(kind: Any, verdict: Any, minor: Any, policy: ReviewPolicy) -> str:
    """``limited`` for allowed media with a likely/possible minor: the platform keeps it out of
    recommendations to strangers and can restrict comments."""
    return "limited" if kind == "media" and verdict == "allow" and minor in policy.limited_minor else "normal"
