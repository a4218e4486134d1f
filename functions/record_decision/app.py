"""RecordDecision: store exactly one decision per object version (and one per comment of a batch)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.s3 import S3
from tutela.aws.step import int_setting, logger, metrics, setting, step
from tutela.aws.store import DecisionStore
from tutela.decision import comment_items, normalize, object_item, object_keys
from tutela.objects import ObjectRef

_s3 = S3()


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
    keys = object_keys(ref)
    existing = store.table.get_item(Key=keys, ConsistentRead=True).get("Item")
    if existing is None and decision.kind == "comments":
        # Comments first: if we die between the two writes, the retry finds no object decision and
        # rewrites the same comment keys; the object item, written last, closes the batch.
        ptr = decision.extra.get("results") or {}
        raw = _s3.get_bytes(ptr["bucket"], ptr["key"], max_bytes=64 * 1024**2)
        results = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        store.put_many(comment_items(ref, results, decided=item["decided_at"], expires=item["expires_at"]))
    if existing is None:
        existing = store.put_once(item)
    if existing is not None:
        logger.info("duplicate delivery: decision already stored", extra={"verdict": existing.get("verdict")})
        metrics.add_metric(name="DuplicateDelivery", unit=MetricUnit.Count, value=1)
        return {"duplicate": True, "decision": {k: existing.get(k) for k in ("pk", "sk", "verdict")}}
    logger.info("recorded", extra={"kind": decision.kind, "verdict": decision.verdict})
    metrics.add_metric(name=f"Verdict_{decision.verdict}", unit=MetricUnit.Count, value=1)
    return {"duplicate": False, "decision": item}
