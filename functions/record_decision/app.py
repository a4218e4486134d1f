"""RecordDecision: store exactly one decision per object version; a media analysis is fused through the
media policy first (``tutela.analysis``). A comment batch's per-line records are written by Act, which reads
the batch anyway (``tutela.act``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.analysis import fuse, is_analysis
from tutela.aws.executions import ENDED_WITHOUT_SUCCESS, EXPRESS_MAX_SECONDS, Executions, is_express
from tutela.aws.post_context import PostContextStore, media_context, raise_for
from tutela.aws.s3 import S3
from tutela.aws.settings import RecordSettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.aws.store import DecisionStore
from tutela.comment_records import (
    allowed_lines,
)
from tutela.contracts import RESOLVED_KEY, RecordInput, RecordOutput, carried_key
from tutela.decision import object_item, object_keys, same_execution, step_decision
from tutela.errors import InvalidInputError
from tutela.limits import MAX_COMMENT_RESULTS_BYTES
from tutela.provenance import split

_s3 = S3()
_executions = Executions()
_settings = at_init(RecordSettings.from_env)


def _abandoned(store: DecisionStore, existing: dict[str, Any]) -> bool:
    """A decision whose execution ended without carrying it out (it went to the dead-letter queue): a
    redelivery or a replay of that event takes it over, instead of stopping and leaving it undone."""
    keys = {"pk": existing.get("pk"), "sk": f"{existing.get('sk')}#action"}
    if not existing.get("execution_id") or store.get(str(keys["pk"]), keys["sk"]) is not None:
        return False
    execution_id = str(existing["execution_id"])
    if is_express(execution_id):
        # DescribeExecution does not describe EXPRESS executions, and one that timed out (5 minutes) sent
        # nothing to the dead-letter queue: it is over once it has outlived its limit.
        status = "ENDED" if _older_than(existing.get("decided_at"), EXPRESS_MAX_SECONDS) else "RUNNING"
    else:
        status = _executions.status(execution_id) or "UNKNOWN"
    if status in ENDED_WITHOUT_SUCCESS or status == "ENDED":
        logger.info("taking over a decision its execution never carried out", extra={"status": status})
        return True
    return False


def _older_than(stamp: Any, seconds: int) -> bool:
    try:
        then = datetime.fromisoformat(str(stamp))
    except ValueError:
        return False  # not ours: never guess that an execution is over
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return datetime.now(UTC) - then > timedelta(seconds=seconds)


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    inp = RecordInput.from_event(event)
    store = DecisionStore(cfg.decisions_table)
    # The analyzer that read the object resolved its key (S3.resolving) and the decision carries it; only a
    # decision no analyzer made (unsupported, a held error, an older state replayed) probes S3 here.
    ref = _s3.carried(inp.step.ref, carried_key(inp.decision)) or _s3.resolve(
        inp.step.ref, known=lambda r: store.get(**object_keys(r)) is not None
    )
    execution_id = inp.step.execution_id
    posts = PostContextStore(cfg.decisions_table)
    raw, results = dict(inp.decision), None
    raw.pop(RESOLVED_KEY, None)  # the item's key says it
    if is_analysis(raw):  # the media path: scan + scrub -> the versioned media policy (pure)
        raw = fuse(raw)
    if raw.get("kind") == "comments":
        # The results (inline or staged) are read first: the batch item names the plainly allowed lines
        # instead of storing one item each (tutela.comment_records), and never stores the inline list.
        # The per-comment records are Act's to write: it reads the batch anyway (tutela.act).
        ptr = raw.get("results") if isinstance(raw.get("results"), dict) else {}
        if isinstance(ptr.get("inline"), list):
            results = ptr["inline"]
        elif ptr.get("bucket") and ptr.get("key"):
            results = _s3.get_jsonl(ptr["bucket"], ptr["key"], max_bytes=MAX_COMMENT_RESULTS_BYTES)
        if results is not None:
            raw["results"] = {k: v for k, v in ptr.items() if k != "inline"}
            raw["allowed_lines"] = allowed_lines(results)
    # A media decision of a post whose text declares a child is recorded with that minor floor (tutela.posts).
    decision = step_decision(media_context(posts, ref, raw))
    # The policy's thresholds and the analyzers' version strings go to the deployment's provenance item
    # (tutela.provenance; written before any decision names it); the item keeps their digest.
    item, provenance = split(
        object_item(
            ref,
            decision,
            execution_id=execution_id,
            event_time=inp.step.event_time,
            retention_days=cfg.retention_days,
        )
    )
    if provenance is not None:
        store.put_provenance(provenance)
    # The conditional put claims the object version. If the item exists, the execution id in it says who
    # wrote it: this execution (a retry after the put committed: carry on with what was stored), another one
    # that is running or done (a redelivery: stop), or another one that failed before acting (take over).
    existing = store.put_once(item)
    if (
        existing is not None
        and not same_execution(existing, execution_id)
        and not _abandoned(store, existing)
    ):
        logger.info("duplicate delivery: decision already stored", extra={"verdict": existing.get("verdict")})
        metrics.add_metric(name="DuplicateDelivery", unit=MetricUnit.Count, value=1)
        stored = {k: existing.get(k) for k in ("pk", "sk", "verdict")}
        return RecordOutput(duplicate=True, decision=stored).to_event()
    if existing is not None:
        item = existing
    raise_for(posts, ref, item, expires_at=item.get("expires_at"))  # idempotent: the context only rises
    if decision.kind == "comments":
        if results is None:
            raise InvalidInputError("comment decision without results")
        if isinstance((inp.decision.get("results") or {}).get("inline"), list):
            # Act publishes from the results: hand them on in the state (they are not stored).
            item = {
                **item,
                "results": {**(item.get("results") or {}), "inline": inp.decision["results"]["inline"]},
            }
    logger.info(
        "recorded",
        extra={"kind": decision.kind, "verdict": item.get("verdict"), "retry": existing is not None},
    )
    metrics.add_metric(name=f"Verdict_{item.get('verdict')}", unit=MetricUnit.Count, value=1)
    return RecordOutput(duplicate=False, decision=item, fresh=existing is None).to_event()
