"""Act: carry out a recorded decision (rules and retry-safe ordering in ``tutela.act``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from tutela.act import Actor, Targets
from tutela.aws.bus import DecisionBus
from tutela.aws.s3 import S3
from tutela.aws.settings import ActSettings, at_init
from tutela.aws.step import logger, step
from tutela.aws.store import DecisionStore
from tutela.contracts import ActInput
from tutela.decision import object_keys
from tutela.objects import ObjectRef

_s3 = S3()
_settings = at_init(ActSettings.from_env)


def decided_ref(ref: ObjectRef, decision: dict[str, Any]) -> ObjectRef:
    """The object RecordDecision decided, named by the decision item's key: the event's key, or its
    ``unquote_plus`` form when that is what RecordDecision resolved (``S3.resolve``). No S3 request, and the
    same answer after the original is retired."""
    decoded = ObjectRef(ref.bucket, unquote_plus(ref.key), ref.version_id, ref.size, ref.etag, ref.sequencer)
    return decoded if decision.get("pk") == object_keys(decoded)["pk"] != object_keys(ref)["pk"] else ref


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    inp = ActInput.from_event(event)
    actor = Actor(
        _s3,
        DecisionStore(cfg.decisions_table),
        DecisionBus(cfg.event_bus_name),
        Targets(cfg.published_bucket, cfg.quarantine_bucket),
        execution_id=inp.step.execution_id,
        retire_originals=cfg.retire_originals,
    )
    action = actor.act(decided_ref(inp.step.ref, inp.decision), inp.decision, first=inp.first_act)
    logger.info("acted", extra={"verdict": inp.decision.get("verdict"), "action": sorted(action)})
    return action
