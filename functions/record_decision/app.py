"""RecordDecision: store exactly one decision per object version (and one per comment of a batch)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.s3 import S3
from tutela.aws.step import int_setting, logger, metrics, setting, step
from tutela.aws.store import DecisionStore
from tutela.decision import comment_items, normalize, object_item
from tutela.objects import ObjectRef

_s3 = S3()
RESULTS_MAX_BYTES = 64 * 1024**2


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ref = ObjectRef.from_detail(event.get("detail"))
    store = DecisionStore(setting("DECISIONS_TABLE"))
    decision = normalize(event.get("decision") or {})
    item = object_item(
        ref,
        decision,
        execution_id=event.get("execution_id"),
        event_time=event.get("event_time"),
        retention_days=int_setting("DECISION_RETENTION_DAYS", 400),
    )
    existing = None
    if decision.kind == "comments":
        # Comments first: if we die between the two writes, the retry finds no object decision and
        # rewrites the same comment keys; the object item, written last, closes the batch. A duplicate
        # delivery finds that item and rewrites nothing.
        existing = store.get(item["pk"], item["sk"])
        if existing is None:
            ptr = decision.extra.get("results") or {}
            results = _s3.get_jsonl(ptr["bucket"], ptr["key"], max_bytes=RESULTS_MAX_BYTES)
            store.put_many(
                comment_items(ref, results, decided=item["decided_at"], expires=item["expires_at"])
            )
    if existing is None:
        existing = store.put_once(item)  # the conditional write: exactly one decision per object version
    if existing is not None:
        logger.info("duplicate delivery: decision already stored", extra={"verdict": existing.get("verdict")})
        metrics.add_metric(name="DuplicateDelivery", unit=MetricUnit.Count, value=1)
        return {"duplicate": True, "decision": {k: existing.get(k) for k in ("pk", "sk", "verdict")}}
    logger.info("recorded", extra={"kind": decision.kind, "verdict": decision.verdict})
    metrics.add_metric(name=f"Verdict_{decision.verdict}", unit=MetricUnit.Count, value=1)
    return {"duplicate": False, "decision": item}
