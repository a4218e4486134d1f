"""PostContext: raise the post's context flags from its text decision, then re-evaluate what it makes stale.

Runs before the post's own decision is recorded: when the text declares a child, every earlier media decision
of the post below ``likely`` and every comment batch judged as under an adult's post is judged again and acted
on in the stricter direction only (``tutela.posts.reevaluate``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.post_context import PostContextStore, raise_for
from tutela.aws.s3 import S3
from tutela.aws.settings import ReevaluateSettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.contracts import RESOLVED_KEY, StepInput
from tutela.decision import expires_at
from tutela.errors import InvalidInputError

_s3 = S3()
_settings = at_init(ReevaluateSettings.from_env)


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    step_input = StepInput.from_event(event)
    decision = event.get("decision") if isinstance(event.get("decision"), dict) else {}
    # ClassifyPost resolved the key when it read the post: no probe here.
    ref = _s3.carried(step_input.ref, decision.get(RESOLVED_KEY)) or _s3.resolve(step_input.ref)
    if decision.get("kind") != "post" or not ref.post_id:
        raise InvalidInputError("PostContext needs a post-text decision")
    table, retention = cfg.decisions_table, cfg.retention_days
    store = PostContextStore(table)
    raised = raise_for(store, ref, decision, expires_at=expires_at(retention))
    done: list[dict[str, Any]] = []
    if decision.get("minor_declared"):
        # Only a post that declares a child re-evaluates: the re-evaluation (with Act's planning, the comment
        # lines and the event bus, ~15 ms of imports) loads then, not at every cold start.
        from tutela.act import Targets
        from tutela.aws.bus import DecisionBus
        from tutela.aws.store import DecisionStore
        from tutela.posts.reevaluate import Cause, Reevaluator

        reevaluator = Reevaluator(
            _s3,
            DecisionStore(table),
            store,
            DecisionBus(cfg.act.event_bus_name),
            Targets(cfg.act.published_bucket, cfg.act.quarantine_bucket),
            Cause(ref, step_input.execution_id, step_input.event_time, retention),
        )
        done = reevaluator.run(ref.post_id)
    logger.info("post context", extra={"raised": raised, "reevaluated": len(done)})
    if done:
        metrics.add_metric(name="DecisionsReevaluated", unit=MetricUnit.Count, value=len(done))
    # Bounded: the state carries counts and the first few keys, the decisions table has the rest.
    return {"raised": raised, "reevaluated": len(done), "first": done[:20]}
