"""Act: carry out a recorded decision (rules and retry-safe ordering in ``tutela.act``)."""

from __future__ import annotations

from typing import Any

from tutela.act import Actor, Targets
from tutela.aws.bus import DecisionBus
from tutela.aws.s3 import S3
from tutela.aws.step import logger, setting, step
from tutela.aws.store import DecisionStore
from tutela.objects import ObjectRef

_s3 = S3()


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ref = ObjectRef.from_detail(event.get("detail"))
    actor = Actor(
        _s3,
        DecisionStore(setting("DECISIONS_TABLE")),
        DecisionBus(setting("EVENT_BUS_NAME")),
        Targets(setting("PUBLISHED_BUCKET"), setting("QUARANTINE_BUCKET")),
        execution_id=event.get("execution_id"),
    )
    action = actor.act(ref, event.get("decision") or {})
    logger.info(
        "acted", extra={"verdict": (event.get("decision") or {}).get("verdict"), "action": sorted(action)}
    )
    return action
