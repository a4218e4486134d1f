"""What a backfill does with one listed object: skip it (and why) or re-moderate one exact version.

A backfill lists two buckets (S3 ListObjectsV2, through the Distributed Map's ItemReader), because a
decided original does not stay current in the upload bucket: Act retires an allowed one (a delete marker)
and moves a blocked one to quarantine. So:

- the *upload* listing names what is still current there: uploads held for review, undecided ones, and
  allowed ones Act has not retired yet;
- the *published* listing names the copies of allowed uploads. A media copy says which upload version it
  was made from (``tutela-source-version``), a comment file the decision it carries out
  (``tutela-decision``, ``v#{version}…``); that version is re-judged. A copy whose upload version is still
  current belongs to the upload listing (``listed_in_uploads``): one run plans a version once.

The object's HEAD pins the version, and the version's decisions say whether this ruleset already judged it.
Cheap checks come first, so a second backfill for the same versions reads but never rescans or writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tutela.objects import ObjectRef, version_id_of
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
) -> dict[str, Any]:
    """``{"action": "skip", "why": ...}`` or ``{"action": "media"|"comments", "detail": ..., ...}``."""
    early = _early_skip(ObjectRef(bucket, key), head, since)
    if early is not None or head is None:
        return early or {"action": "skip", "why": "gone", "key": key}
    version = head.get("VersionId")
    ref = ObjectRef(bucket, key, str(version) if version else None, _size(head.get("ContentLength")))
    return _plan_version(ref, history, versions, dry_run=dry_run)


def plan_published(
    upload_bucket: str,
    published_bucket: str,
    key: str,
    copy: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None,
    history: ChainReader,
    versions: Mapping[str, Any],
    *,
    since: datetime | None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """A published copy (``copy``: its HEAD) -> the upload version it was made from, re-judged.

    ``current``: the HEAD of the same key in the upload bucket (None when nothing is current there). A media
    plan scans the copy (``detail``: the same pixels, scrubbed; the original may have expired) and
    re-judges the upload version (``subject``); a comment plan reads the upload version itself (only the
    allowed lines were published, and records are keyed by the original's line numbers)."""
    early = _early_skip(ObjectRef(upload_bucket, key), copy, since)
    if early is not None or copy is None:
        return early or {"action": "skip", "why": "gone", "key": key}
    source = source_version(key, copy)
    if source is None:
        return {"action": "skip", "why": "not_a_published_copy", "key": key}
    if current is not None and str(current.get("VersionId") or "null") == source:
        return {"action": "skip", "why": "listed_in_uploads", "key": key}
    subject = ObjectRef(upload_bucket, key, version_id_of(source))
    plan = _plan_version(subject, history, versions, dry_run=dry_run)
    if plan["action"] == "media":
        plan["subject"] = plan["detail"]
        copy_version = copy.get("VersionId")
        plan["detail"] = _detail(
            ObjectRef(
                published_bucket,
                key,
                str(copy_version) if copy_version else None,
                _size(copy.get("ContentLength")),
            )
        )
    plan["source"] = "published"
    return plan


def source_version(key: str, copy: Mapping[str, Any]) -> str | None:
    """The upload version a published object was made from (its version label), or None when the object
    does not say (not written by Act or a re-moderation: never re-judged as someone's upload)."""
    meta = {str(k).lower(): str(v) for k, v in (copy.get("Metadata") or {}).items()}
    if ObjectRef("", key).route == "media":
        return meta.get("tutela-source-version") or None
    # a comment file: tutela-decision is the sk of the decision it carries out, v#{version}[#...]
    parts = meta.get("tutela-decision", "").split("#")
    return parts[1] if len(parts) >= 2 and parts[0] == "v" and parts[1] else None


def _early_skip(
    ref: ObjectRef, head: Mapping[str, Any] | None, since: datetime | None
) -> dict[str, Any] | None:
    if ref.route not in ("media", "comments"):
        return {"action": "skip", "why": "not_remoderated", "key": ref.key}
    if head is None:
        return {"action": "skip", "why": "gone", "key": ref.key}
    modified = head.get("LastModified")
    if since is not None and isinstance(modified, datetime) and modified < since:
        return {"action": "skip", "why": "before_since", "key": ref.key}
    return None


def _plan_version(
    ref: ObjectRef, history: ChainReader, versions: Mapping[str, Any], *, dry_run: bool
) -> dict[str, Any]:
    key = ref.key
    chain = read_chain(history, ref)
    if chain is None:
        return {"action": "skip", "why": "undecided", "key": key}  # the pipeline has not recorded it yet
    rules = ruleset(ref.route, versions)
    fp = fingerprint(rules)
    if history.get(str(chain.base["pk"]), remod_sk(str(chain.base["sk"]), fp)) is not None:
        return {"action": "skip", "why": "done", "key": key}
    if dry_run:
        return {"action": "skip", "why": "dry_run", "would": ref.route, "key": key, "was": chain.verdict}
    return {"action": ref.route, "detail": _detail(ref), "fingerprint": fp, "ruleset": rules, "key": key}


def _detail(ref: ObjectRef) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": ref.key, "version-id": ref.version_label}
    if ref.size is not None:
        obj["size"] = ref.size
    return {"bucket": {"name": ref.bucket}, "object": obj}


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
