"""Record a re-moderation and carry it out in the stricter direction only.

The new decision is appended (``sk = {pipeline decision sk}#remod#{ruleset}``: a conditional put, so one
ruleset judges an object version once whichever execution gets there first; a retry of the same execution
continues with what it stored). Against the verdict in force (:mod:`tutela.remod.chain`):

- stricter: applied as the policy says - a published copy of this version is withdrawn, a ``block``
  quarantines the original (verified copy first, original deleted last) and escalates when the policy
  escalates; a ``review`` is queued for a human;
- looser: recorded as ``review`` (reason ``remoderation_looser``, the computed verdict kept beside it) and
  queued: a human releases content, a re-run never publishes;
- the same: recorded (provenance: which rules judged it), nothing changes.

Retries converge the way :mod:`tutela.act` does: effects are checked before they are made, events precede
the action item (``…#remod#{ruleset}#action``), and the original of a block is deleted last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from tutela.act import DECISION_EVENT, ESCALATION_EVENT, Bus, Storage, Targets, quarantine_key
from tutela.decision import action_item, event_detail, event_id, object_item, same_execution, step_decision
from tutela.errors import TransientError
from tutela.objects import ObjectRef
from tutela.posts.context import stricter
from tutela.record import FrozenRecord
from tutela.remod.chain import Chain, carried, read_chain
from tutela.remod.versions import remod_sk
from tutela.verdict import Severity, Verdict, worst

QUARANTINE_SUFFIX = "#remod"


class History(Protocol):
    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...
    def query(self, pk: str, prefix: str) -> Iterable[dict[str, Any]]: ...
    def put_once(self, item: Mapping[str, Any]) -> dict[str, Any] | None: ...
    def append(self, item: Mapping[str, Any]) -> dict[str, Any]: ...
    def put_many(self, items: Iterable[Mapping[str, Any]]) -> int: ...


class Run(FrozenRecord):
    """What judged this re-moderation: the ruleset (stored) and its fingerprint (in the key)."""

    __slots__ = ("cause", "event_time", "execution_id", "fingerprint", "retention_days", "ruleset")

    def __init__(
        self,
        fingerprint: str,
        ruleset: dict[str, Any],
        execution_id: str | None,
        event_time: str | None,
        retention_days: int,
        cause: dict[str, Any] | None = None,
    ) -> None:
        self.fingerprint = fingerprint
        self.ruleset = ruleset
        self.execution_id = execution_id
        self.event_time = event_time
        self.retention_days = retention_days
        self.cause = {} if cause is None else cause  # e.g. {"bank": ..., "version": ...} for retro


def looser(new: str, old: str) -> bool:
    return stricter(old, new)


def codes(item: Mapping[str, Any]) -> set[str]:
    return {str(r.get("code")) for r in item.get("reasons") or [] if isinstance(r, Mapping)}


class Remoderator:
    def __init__(self, storage: Storage, history: History, bus: Bus, targets: Targets, run: Run) -> None:
        self.s3 = storage
        self.history = history
        self.bus = bus
        self.targets = targets
        self.run = run

    def chain(self, ref: ObjectRef) -> Chain | None:
        return read_chain(self.history, ref, fingerprint=self.run.fingerprint)

    # ------------------------------------------------------------------ entry points
    def media(self, ref: ObjectRef, chain: Chain, decision: Mapping[str, Any]) -> dict[str, Any]:
        """Record and carry out a media (or error) decision re-made for ``ref``."""
        stored, outcome = self._record(ref, chain, decision)
        if stored is None:
            return outcome
        logged = self.history.get(stored["pk"], f"{stored['sk']}#action")
        action, original = self._act_media(ref, chain, stored)
        return self._finish(ref, chain, stored, action, logged, original)

    def known(self, ref: ObjectRef, chain: Chain, match: Mapping[str, Any]) -> dict[str, Any]:
        """A bank addition matched this upload's stored hash: the decision in force plus the match."""
        from tutela.policy.media import known_content

        cell, reason = known_content(dict(match))
        base = carried(chain.latest)
        verdict: Verdict = worst([str(chain.verdict), cell["verdict"]])  # type: ignore[list-item]
        decision = {
            **base,
            "kind": "media",
            "verdict": verdict,
            "severity": max(int(base.get("severity") or 0), int(Severity[cell["severity"]])),
            "escalate": bool(base.get("escalate")) or bool(cell["escalate"]),
            "reasons": [*(r for r in base.get("reasons") or [] if r.get("code") != "known_content"), reason],
            "known_content": [dict(match)],
        }
        return self.media(ref, chain, decision)

    def comments(
        self, ref: ObjectRef, chain: Chain, data: bytes, minor_context: bool | None
    ) -> dict[str, Any]:
        """Judge a comment batch again; a line judged looser than before is held for a human."""
        from tutela.comment_records import expand
        from tutela.comments import LEXICON_VERSION, classify_lines
        from tutela.comments.lines import split_batch
        from tutela.policy.comments import summarize

        latest = chain.latest
        before = {
            int(r["line"]): str(r.get("verdict"))
            for r in expand(latest, self.history.query(latest["pk"], f"{latest['sk']}#c#"))
            if isinstance(r.get("line"), int)
        }
        results = []
        for r in classify_lines(split_batch(data), minor_context=minor_context):
            was = before.get(int(r["line"]), "review")
            if looser(str(r.get("verdict")), was):
                r = {**r, "verdict": "review", "computed_verdict": r.get("verdict")}
            results.append(r)
        batch = summarize(results)
        decision = {
            "kind": "comments",
            "verdict": batch.verdict,
            "severity": batch.severity,
            "reasons": batch.reasons,
            "counts": batch.counts,
            "minor_context": minor_context,
            "analyzers": {"comments": {"name": "tutela.comments", "lexicon_version": LEXICON_VERSION}},
        }
        stored, outcome = self._record(ref, chain, decision)
        if stored is None:
            return outcome
        logged = self.history.get(stored["pk"], f"{stored['sk']}#action")
        action = self._reevaluator().comments(ref, latest, stored, data, results)
        action = {"remoderates": latest["sk"], **action}
        return self._finish(ref, chain, stored, action, logged, None)

    def _reevaluator(self) -> Any:
        from tutela.posts.reevaluate import Cause, Reevaluator

        cause = Cause(ObjectRef("", ""), self.run.execution_id, self.run.event_time, self.run.retention_days)
        records: Any = self.history  # its comments() reads a batch's records with query() only
        return Reevaluator(
            self.s3,
            self.history,
            records,
            self.bus,
            self.targets,
            cause,
            quarantine_suffix=QUARANTINE_SUFFIX,
        )

    # ------------------------------------------------------------------ record
    def _record(
        self, ref: ObjectRef, chain: Chain, decision: Mapping[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the stored item to carry out, or None and the outcome when another execution owns it)."""
        item = object_item(
            ref,
            step_decision(decision),
            execution_id=self.run.execution_id,
            event_time=self.run.event_time,
            retention_days=self.run.retention_days,
        )
        computed = item["verdict"]
        if looser(computed, chain.verdict):
            item["verdict"] = "review"
            item["computed_verdict"] = computed
            item["severity"] = max(int(item.get("severity") or 0), int(Severity.MEDIUM))
            item["reasons"] = [
                *item["reasons"],
                {
                    "code": "remoderation_looser",
                    "message": f"judged {computed} under the new rules, was {chain.verdict}: a human decides",
                },
            ]
        item["sk"] = remod_sk(str(chain.base["sk"]), self.run.fingerprint)
        item["remoderates"] = {"sk": chain.latest["sk"], "verdict": chain.verdict, "by_human": chain.by_human}
        item["ruleset"] = dict(self.run.ruleset)
        if self.run.cause:
            item["cause"] = dict(self.run.cause)
        # Queued for a human only when the verdict in force was not already review (it is queued then).
        if item["verdict"] == "review" and chain.verdict != "review":
            item["requeue"] = True
            item["queue"] = "review"
        else:
            item.pop("queue", None)
        existing = self.history.put_once(item)
        if existing is not None and not same_execution(existing, self.run.execution_id):
            return None, {"key": ref.key, "sk": existing.get("sk"), "outcome": "done_before"}
        return (existing or item), {}

    # ------------------------------------------------------------------ act
    def _act_media(
        self, ref: ObjectRef, chain: Chain, decision: Mapping[str, Any]
    ) -> tuple[dict[str, Any], ObjectRef | None]:
        old, new = chain.verdict, str(decision["verdict"])
        action: dict[str, Any] = {"remoderates": chain.latest["sk"], "was": old}
        if not stricter(new, old):
            action["unchanged"] = True
            if decision.get("requeue"):
                action["held"] = True
            return action, None
        original: ObjectRef | None = None
        if new == "block":  # the evidence first: nothing is withdrawn or deleted before it is quarantined
            action["quarantined"], original = self._quarantine(ref, decision)
            if action["quarantined"] is None:
                action["original_missing"] = True
        else:
            action["held"] = True
            if old == "allow" and self.s3.head(ref.bucket, ref.key, ref.version_id) is None:
                # The original expired (OriginalRetentionDays): the published copy is all that is left of
                # it. Keep it where the review console looks for a held item's gone original (its
                # quarantine key) before it is withdrawn, or the reviewer would have nothing to judge.
                action["kept_for_review"], _ = self._quarantine(ref, decision, suffix="")
        if old == "allow":
            action["withdrawn"] = self._withdraw(ref)
        return action, original

    def _quarantine(
        self, ref: ObjectRef, decision: Mapping[str, Any], suffix: str = QUARANTINE_SUFFIX
    ) -> tuple[dict[str, Any] | None, ObjectRef | None]:
        """Copy the original version to quarantine and verify it. An original the upload bucket no longer
        keeps (OriginalRetentionDays) is quarantined from its published copy: the same pixels, scrubbed.
        Returns (where, the original to delete last or None)."""
        dst, key = self.targets.quarantine_bucket, quarantine_key(ref) + suffix
        meta = {"tutela-decision": str(decision["sk"]), "tutela-source-version": ref.version_label}
        copy = self.s3.head(dst, key)
        source: ObjectRef | None = ref
        head = self.s3.head(ref.bucket, ref.key, ref.version_id)
        if head is None:
            source, head = self._published_copy(ref)
        if head is None or source is None:
            return ({"bucket": dst, "key": key} if _holds(copy, meta) else None), None
        if not _same(copy, head, meta):
            self.s3.copy(source, dst, key, content_type=head.get("ContentType"), metadata=meta)
            if not _same(self.s3.head(dst, key), head, meta):
                raise TransientError("the quarantined copy does not match its source yet")
        where = {"bucket": dst, "key": key}
        if source is not ref:
            where["from"] = "published"
            return where, None
        return where, ref

    def _published_copy(self, ref: ObjectRef) -> tuple[ObjectRef | None, dict[str, Any] | None]:
        bucket = self.targets.published_bucket
        head = self.s3.head(bucket, ref.key)
        if head is None or _meta(head).get("tutela-source-version") != ref.version_label:
            return None, None
        return ObjectRef(bucket, ref.key, head.get("VersionId") or None), head

    def _withdraw(self, ref: ObjectRef) -> dict[str, Any] | None:
        """Remove the published copy if it was made from this very version (never another upload's)."""
        source, head = self._published_copy(ref)
        if source is None or head is None:
            return None
        self.s3.delete_version(source)
        return {"bucket": source.bucket, "key": ref.key}

    def _finish(
        self,
        ref: ObjectRef,
        chain: Chain,
        decision: Mapping[str, Any],
        action: dict[str, Any],
        logged: dict[str, Any] | None,
        original: ObjectRef | None,
    ) -> dict[str, Any]:
        if logged is None:
            types = [DECISION_EVENT]
            if decision.get("escalate") and not chain.latest.get("escalate"):
                types.append(ESCALATION_EVENT)
            detail = {
                **event_detail(decision, action),
                "remoderates": {"pk": decision["pk"], "sk": chain.latest["sk"]},
                "requeue": bool(decision.get("requeue")),
            }
            self.bus.publish_all([(t, {**detail, "event_id": event_id(decision, t)}) for t in types])
            logged = self.history.append(action_item(decision, action, execution_id=self.run.execution_id))
        if original is not None and self.s3.head(original.bucket, original.key, original.version_id):
            self.s3.delete_version(original)  # last: the verified copy, the events and the record exist
        new, old = str(decision["verdict"]), chain.verdict
        outcome = (
            "stricter" if stricter(new, old) else "looser" if decision.get("computed_verdict") else "same"
        )
        return {
            "key": ref.key,
            "sk": decision["sk"],
            "was": old,
            "verdict": new,
            "outcome": outcome,
            "action": sorted((logged.get("action") or action).keys()),
        }


def _meta(head: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in ((head or {}).get("Metadata") or {}).items()}


def _holds(head: Mapping[str, Any] | None, expected: Mapping[str, str]) -> bool:
    meta = _meta(head)
    return head is not None and all(meta.get(k) == v for k, v in expected.items())


def _same(copy: Mapping[str, Any] | None, original: Mapping[str, Any], meta: Mapping[str, str]) -> bool:
    return (
        _holds(copy, meta) and copy is not None and copy.get("ContentLength") == original.get("ContentLength")
    )
