"""Remoderate: record a re-moderation (appended, once per object version and ruleset) and carry it out in
the stricter direction only (``tutela.remod.apply``).

``op``: ``media`` (ScanMedia's fresh report, or the error that stopped it), ``comments`` (judged here, from
the batch), ``known`` (a retroactive bank match: the decision in force plus the match).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.act import Targets
from tutela.aws.bus import DecisionBus
from tutela.aws.post_context import PostContextStore
from tutela.aws.remod_store import RemodStore
from tutela.aws.s3 import S3
from tutela.aws.settings import ReevaluateSettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.errors import InvalidInputError
from tutela.limits import MAX_COMMENT_BATCH_CEILING
from tutela.objects import ObjectRef
from tutela.remod.apply import Remoderator, Run
from tutela.remod.media import comment_context, remade_media
from tutela.remod.retro import Addition
from tutela.remod.versions import retro_fingerprint

_s3 = S3()
_settings = at_init(ReevaluateSettings.from_env)


def _remoderator(cfg: ReevaluateSettings, event: dict[str, Any], run_args: dict[str, Any]) -> Remoderator:
    run = Run(
        execution_id=event.get("execution_id") if isinstance(event.get("execution_id"), str) else None,
        event_time=event.get("event_time") if isinstance(event.get("event_time"), str) else None,
        retention_days=cfg.retention_days,
        **run_args,
    )
    act = cfg.act
    return Remoderator(
        _s3,
        RemodStore(cfg.decisions_table),
        DecisionBus(act.event_bus_name),
        Targets(act.published_bucket, act.quarantine_bucket),
        run,
    )


def _planned(event: dict[str, Any]) -> tuple[ObjectRef, dict[str, Any]]:
    plan = event.get("plan")
    if not isinstance(plan, dict) or not isinstance(plan.get("detail"), dict) or not plan.get("fingerprint"):
        raise InvalidInputError("Remoderate needs the item's plan")
    # "subject": the upload version re-judged, when "detail" (what is scanned) is its published copy
    return ObjectRef.from_detail(plan.get("subject") or plan["detail"]), plan


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    op = event.get("op") if isinstance(event, dict) else None
    if op in ("media", "comments"):
        ref, plan = _planned(event)
        rem = _remoderator(
            cfg, event, {"fingerprint": plan["fingerprint"], "ruleset": plan.get("ruleset") or {}}
        )
        chain = rem.chain(ref)
        if chain is None:
            raise InvalidInputError("the object version has no recorded decision")
        posts = PostContextStore(cfg.decisions_table)
        if op == "media":
            decision = remade_media(event.get("scan"), event.get("error"), chain.latest, posts.flags, ref)
            out = rem.media(ref, chain, decision)
        elif _s3.head(ref.bucket, ref.key, ref.version_id) is None:
            # An allowed batch's retired original expired (OriginalRetentionDays): its published file holds
            # only the allowed lines' judged fields, not the batch its records are numbered by. Not judged.
            out = {"key": ref.key, "outcome": "original_expired", "was": chain.verdict}
        else:
            data = _s3.read_bytes(ref, max_bytes=MAX_COMMENT_BATCH_CEILING)
            out = rem.comments(ref, chain, data, comment_context(chain.latest, posts.flags, ref))
    elif op == "known":
        match = event.get("match")
        if not isinstance(match, dict) or not isinstance(event.get("addition"), dict):
            raise InvalidInputError("a retroactive match needs the match and the bank addition")
        add = Addition.from_dict(event["addition"])
        ref = ObjectRef(str(match["bucket"]), str(match["key"]), match.get("version_id") or None)
        cause = {"bank": add.bank.name, "bank_version": add.version}
        rem = _remoderator(
            cfg,
            event,
            {"fingerprint": retro_fingerprint(add.bank.name, add.version), "ruleset": cause, "cause": cause},
        )
        chain = rem.chain(ref)
        if chain is None:
            return {"key": ref.key, "outcome": "undecided"}
        out = rem.known(ref, chain, match["match"])
    else:
        raise InvalidInputError("op must be media, comments or known")
    logger.info("remoderated", extra={"op": op, "outcome": out.get("outcome"), "verdict": out.get("verdict")})
    metrics.add_metric(name=f"Remoderated_{out.get('outcome')}", unit=MetricUnit.Count, value=1)
    return out
