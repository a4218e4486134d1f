"""PostContext: raise the post's context flags from its text decision, then re-evaluate what it makes stale.

Runs before the post's own decision is recorded: when the text declares a child, every earlier media decision
of the post below ``likely`` and every comment batch judged as under an adult's post is judged again and acted
on in the stricter direction only (``tutela.posts.reevaluate``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.act import Targets
from tutela.aws.bus import DecisionBus
from tutela.aws.post_context import PostContextStore, raise_for
from tutela.aws.s3 import S3
from tutela.aws.step import int_setting, logger, metrics, setting, step
from tutela.aws.store import DecisionStore
from tutela.decision import expires_at
from tutela.errors import InvalidInputError
from tutela.objects import ObjectRef
from tutela.posts.reevaluate import Cause, Reevaluator

_s3 = S3()


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ref = ObjectRef.from_detail(event.get("detail"))
    decision = event.get("decision") or {}
    if decision.get("kind") != "post" or not ref.post_id:
        raise InvalidInputError("PostContext needs a post-text decision")
    table = setting("DECISIONS_TABLE")
    retention = int_setting("DECISION_RETENTION_DAYS", 400)
    store = PostContextStore(table)
    raised = raise_for(store, ref, decision, expires_at=expires_at(retention))
    done: list[dict[str, Any]] = []
    if decision.get("minor_declared"):
        reevaluator = Reevaluator(
            _s3,
            DecisionStore(table),
            store,
            DecisionBus(setting("EVENT_BUS_NAME")),
            Targets(setting("PUBLISHED_BUCKET"), setting("QUARANTINE_BUCKET")),
            Cause(ref, event.get("execution_id"), event.get("event_time"), retention),
        )
        done = reevaluator.run(ref.post_id)
    logger.info("post context", extra={"raised": raised, "reevaluated": len(done)})
    if done:
        metrics.add_metric(name="DecisionsReevaluated", unit=MetricUnit.Count, value=len(done))
    # Bounded: the state carries counts and the first few keys, the decisions table has the rest.
    return {"raised": raised, "reevaluated": len(done), "first": done[:20]}
