"""What a backfill does with one listed object: skip it (and why) or re-moderate one exact version.

The listing (S3 ListObjectsV2, through the Distributed Map's ItemReader) names current objects without
version ids; the object's HEAD pins the version, and the version's decisions say whether this ruleset
already judged it. Cheap checks come first, so a second backfill for the same versions reads but never
rescans or writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tutela.objects import ObjectRef
from tutela.remod.chain import ChainReader, read_chain
from tutela.remod.versions import fingerprint, remod_sk, ruleset


def parse_since(value: str | None) -> datetime | None:
    """An ISO date or date-time; naive ones are UTC. ValueError when unreadable."""
    if not value:
        return None
    from datetime import UTC

    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan_item(
    bucket: str,
    key: str,
    head: Mapping[str, Any] | None,
    history: ChainReader,
    versions: Mapping[str, Any],
    *,
    since: datetime | None,
    dry_run: bool = False,
    published: str | None = None,
) -> dict[str, Any]:
    """``{"action": "skip", "why": ...}`` or ``{"action": "media"|"comments", "detail": ..., ...}``.

    ``published``: the listing is of this published bucket, ``head`` is a published copy's. Originals of
    allowed uploads expire (OriginalRetentionDays); their published copy has the same pixels, scrubbed, and
    names the upload version it was made from: that version is re-judged (``subject``) from the copy
    (``detail``). Media only: a published comment file holds only the lines that were allowed."""
    ref = ObjectRef(bucket, key)
    if ref.route not in ("media", "comments") or (published and ref.route != "media"):
        return {"action": "skip", "why": "not_remoderated", "key": key}
    if head is None:
        return {"action": "skip", "why": "gone", "key": key}
    modified = head.get("LastModified")
    if since is not None and isinstance(modified, datetime) and modified < since:
        return {"action": "skip", "why": "before_since", "key": key}
    version = head.get("VersionId")
    copy: dict[str, Any] | None = None
    if published:
        meta = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
        source = meta.get("tutela-source-version")
        if not source:
            return {"action": "skip", "why": "not_a_published_copy", "key": key}
        copy = _detail(published, key, str(version) if version else None, _size(head.get("ContentLength")))
        ref = ObjectRef(bucket, key, None if source == "null" else source)
    else:
        ref = ObjectRef(bucket, key, str(version) if version else None, _size(head.get("ContentLength")))
    chain = read_chain(history, ref)
    if chain is None:
        return {"action": "skip", "why": "undecided", "key": key}  # the pipeline has not recorded it yet
    rules = ruleset(ref.route, versions)
    fp = fingerprint(rules)
    if history.get(str(chain.base["pk"]), remod_sk(str(chain.base["sk"]), fp)) is not None:
        return {"action": "skip", "why": "done", "key": key}
    if dry_run:
        return {"action": "skip", "why": "dry_run", "would": ref.route, "key": key, "was": chain.verdict}
    detail = _detail(bucket, key, ref.version_label, ref.size)
    plan = {"action": ref.route, "detail": detail, "fingerprint": fp, "ruleset": rules, "key": key}
    if copy is not None:
        plan["subject"], plan["detail"] = detail, copy
    return plan


def _detail(bucket: str, key: str, version: str | None, size: int | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "version-id": version or "null"}
    if size is not None:
        obj["size"] = size
    return {"bucket": {"name": bucket}, "object": obj}


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
