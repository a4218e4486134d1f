"""RemodPlan (read-only): the planning steps of the RemoderationStateMachine.

``op``:
- ``versions``: the ruleset a backfill judges with (this code's policies + ScanMedia's model and banks);
- ``item``: one listed object (``source``: ``uploads``, the default, or ``published``: an allowed upload's
  copy) -> skip (and why) or the exact upload version to re-moderate;
- ``retro``: a bank snapshot key -> the rows that bank version added (and the HashIndex shards to read);
- ``retro_page``: one page of a HashIndex shard matched against the added rows.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tutela.aws.banks import S3Blobs
from tutela.aws.remod_store import RemodStore
from tutela.aws.s3 import S3
from tutela.aws.settings import RemodPlanSettings, at_init
from tutela.aws.step import logger, metrics, step
from tutela.bank.index import BankIndex
from tutela.bank.store import BankRepository
from tutela.errors import InvalidInputError
from tutela.policy.media import match_policy
from tutela.remod.plan import parse_since, plan_item, plan_published
from tutela.remod.retro import SHARDS, Addition, added_index, addition, match_stored, parse_snapshot_key
from tutela.remod.versions import code_versions

_s3 = S3()
_settings = at_init(RemodPlanSettings.from_env)
PAGE = 200  # items per HashIndex page: the matches of a page stay well inside a state's 256 KB
_added: dict[tuple[str, int], BankIndex] = {}  # per warm container: one addition's index, built once


def _versions(event: dict[str, Any]) -> dict[str, Any]:
    probe = event.get("probe") if isinstance(event.get("probe"), dict) else {}
    if not probe.get("model") or probe.get("banks") in (None, ""):
        raise InvalidInputError("versions need ScanMedia's model and bank versions")
    return {**code_versions(), "model": str(probe["model"]), "banks": str(probe["banks"])}


def _item(cfg: RemodPlanSettings, event: dict[str, Any]) -> dict[str, Any]:
    key = event.get("key")
    versions = event.get("versions")
    if not isinstance(key, str) or not key or not isinstance(versions, dict):
        raise InvalidInputError("a backfill item needs the listed key and the run's versions")
    try:
        since = parse_since(event.get("since") or None)
    except ValueError as exc:
        raise InvalidInputError("since must be an ISO date") from exc
    dry_run = event.get("dry_run") is True
    if event.get("source") == "published":  # an allowed upload's copy: its original is no longer current
        plan = plan_published(
            cfg.upload_bucket,
            cfg.published_bucket,
            key,
            _s3.head(cfg.published_bucket, key),
            _s3.head(cfg.upload_bucket, key),
            RemodStore(cfg.decisions_table),
            versions,
            since=since,
            dry_run=dry_run,
        )
    else:
        head = _s3.head(cfg.upload_bucket, key)
        plan = plan_item(
            cfg.upload_bucket,
            key,
            head,
            RemodStore(cfg.decisions_table),
            versions,
            since=since,
            dry_run=dry_run,
        )
    metrics.add_metric(name=f"Backfill_{plan.get('why') or plan['action']}", unit=MetricUnit.Count, value=1)
    return plan


def _retro(cfg: RemodPlanSettings, event: dict[str, Any]) -> dict[str, Any]:
    try:
        name, version = parse_snapshot_key(str(event.get("snapshot") or ""))
    except ValueError as exc:
        raise InvalidInputError("retro needs a bank snapshot key banks/{name}/v{k}.pdq") from exc
    add = addition(BankRepository(S3Blobs(cfg.bank_bucket)), name, version)
    if add is None or add.total <= add.first:
        return {"skip": True, "bank": name, "version": version, "shards": []}
    logger.info("retro", extra={"bank": name, "version": version, "added": add.total - add.first})
    return {"skip": False, "addition": add.to_dict(), "shards": SHARDS}


def _retro_page(cfg: RemodPlanSettings, event: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(event.get("addition"), dict) or event.get("shard") not in SHARDS:
        raise InvalidInputError("a retro page needs the addition and a shard")
    add = Addition.from_dict(event["addition"])
    index = _added.get((add.bank.name, add.version))
    if index is None:
        _added.clear()
        index = _added[(add.bank.name, add.version)] = added_index(
            BankRepository(S3Blobs(cfg.bank_bucket)), add
        )
    cursor = event.get("cursor") if isinstance(event.get("cursor"), str) else None
    items, nxt = RemodStore(cfg.decisions_table).hash_page(str(event["shard"]), cursor, PAGE)
    matches = match_stored(items, index, match_policy())
    if matches:
        metrics.add_metric(name="RetroMatches", unit=MetricUnit.Count, value=len(matches))
    return {"matches": matches, "cursor": nxt, "read": len(items)}


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = _settings()
    op = event.get("op") if isinstance(event, dict) else None
    if op == "versions":
        return _versions(event)
    if op == "item":
        return _item(cfg, event)
    if op == "retro":
        return _retro(cfg, event)
    if op == "retro_page":
        return _retro_page(cfg, event)
    raise InvalidInputError("op must be versions, item, retro or retro_page")
