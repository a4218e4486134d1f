"""What a reviewer's decision does to S3: publish a freshly scrubbed and verified copy, quarantine the
original, take a published copy down, rebuild a comment batch's published lines, and fetch preview bytes.

Publishing after review always scrubs again from the original (or from the quarantined copy when an
appeal overturns a block): the scrubber verifies what it wrote and deletes it on failure, so only verified
bytes are ever copied to the published bucket, whatever happened to the pipeline's staged copy. It obeys
Act's order (``tutela.act.write_once``): a later upload's published copy is never replaced, and nothing is
published for an original its uploader withdrew (a delete marker over it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tutela.aws.s3 import S3
from tutela.errors import TransientError, TutelaError
from tutela.limits import MAX_COMMENT_BATCH_CEILING
from tutela.objects import ObjectRef, later, quarantine_key, version_id_of
from tutela.record import FrozenRecord
from tutela.review.rules import ReviewError
from tutela.sniff import SNIFF_BYTES, sniff


class Buckets(FrozenRecord):
    __slots__ = ("published", "quarantine", "staging", "upload")

    def __init__(self, upload: str, staging: str, published: str, quarantine: str) -> None:
        self.upload = upload
        self.staging = staging
        self.published = published
        self.quarantine = quarantine


def ref_of(entry: Mapping[str, Any]) -> ObjectRef:
    return ObjectRef(str(entry["bucket"]), str(entry["key"]), version_id_of(entry.get("version_id")))


class ReviewMedia:
    def __init__(self, buckets: Buckets, s3: S3 | None = None) -> None:
        self.b = buckets
        self.s3 = s3 or S3()

    # ------------------------------------------------------------ sources
    def uploader(self, entry: Mapping[str, Any]) -> str | None:
        """The ``uploader-id`` user metadata the platform sets on the upload (None when absent/gone)."""
        ref = ref_of(entry)
        head = self.s3.head(ref.bucket, ref.key, ref.version_id)
        value = ((head or {}).get("Metadata") or {}).get("uploader-id")
        return str(value)[:200] if value else None

    def source(self, entry: Mapping[str, Any]) -> ObjectRef | None:
        """The original version if it is still in the upload bucket, else its quarantined copy."""
        ref = ref_of(entry)
        if self.s3.head(ref.bucket, ref.key, ref.version_id) is not None:
            return ref
        qkey = quarantine_key(ref)
        return ObjectRef(self.b.quarantine, qkey) if self.s3.head(self.b.quarantine, qkey) else None

    # ------------------------------------------------------------ media
    def prepare_media(self, entry: Mapping[str, Any]) -> tuple[ObjectRef, str | None]:
        """Scrub the item again from its source into staging and verify it (private: nothing is public
        yet). Raises ReviewError 422 when it cannot be scrubbed or verified: then it cannot be allowed."""
        ref = ref_of(entry)
        if ref.key_problem():
            raise ReviewError(422, "cannot_publish", "the key is unsafe to publish")
        src = self.source(entry)
        if src is None:
            raise ReviewError(409, "source_gone", "neither the original nor a quarantined copy exists")
        from tutela.aws.s3_splice import scrub_object  # only this route scrubs: not at the API's INIT

        media = sniff(self.s3.head_bytes(src, SNIFF_BYTES))
        staged = ObjectRef(self.b.staging, f"reviewed/{ref.version_label}/{ref.key}")
        try:
            scrub_object(
                src.bucket,
                src.key,
                staged.bucket,
                staged.key,
                version_id=src.version_id,
                client=self.s3.client,
                extra_args={"ContentType": media.mime} if media else None,
            )
        except TransientError:
            raise
        except TutelaError as exc:
            raise ReviewError(
                422, "cannot_publish", f"the item cannot be scrubbed and verified ({exc.code})"
            ) from exc
        return staged, media.mime if media else None

    def publish(
        self,
        staged: ObjectRef,
        entry: Mapping[str, Any],
        tag: str,
        content_type: str | None,
        *,
        sequencer: str | None = None,
        newer: Callable[[Mapping[str, Any]], bool] | None = None,
        withdrawable: bool = True,
    ) -> dict:
        """Copy the verified staged copy to the published key, in Act's order: ``sequencer`` (the reviewed
        upload's, from its decision record) goes into the copy's metadata, and a copy there that ``newer``
        says is of a later upload (default: a later ``tutela-sequencer``) stays: ``superseded``, nothing
        written. An original its uploader hid with a delete marker is not published: ``withdrawn``
        (``tutela.act.hidden_outcome``; only when ``withdrawable``: the pipeline kept the original current,
        so the marker is not Act's retire; and not for an overturned block's quarantined copy, whose
        original the block itself deleted). Each write is conditional on what the HEAD read (a retry copies
        nothing again; a newer copy written in between is read again and wins)."""
        from tutela.act import hidden_outcome, write_once  # only this route publishes: not at the API's INIT

        ref = ref_of(entry)
        ref = ObjectRef(ref.bucket, ref.key, ref.version_id, sequencer=sequencer)
        dst = self.b.published
        meta = {"tutela-decision": tag, "tutela-source-version": ref.version_label}
        if sequencer:
            meta["tutela-sequencer"] = sequencer

        def by_sequencer(head: Mapping[str, Any]) -> bool:
            return later(_meta(head).get("tutela-sequencer"), sequencer)

        is_newer = newer or by_sequencer
        if (
            withdrawable
            and self.s3.key_state(ref) == "withdrawn"
            and self.s3.head(ref.bucket, ref.key, ref.version_id) is not None
        ):
            outcome = hidden_outcome(self.s3, ref, dst, meta, is_newer)
            if outcome is not None:
                return outcome
        written = write_once(
            self.s3,
            dst,
            ref.key,
            meta,
            lambda etag: self.s3.copy(
                staged,
                dst,
                ref.key,
                content_type=content_type,
                metadata=meta,
                if_absent=etag is None,
                if_match=etag,
            ),
            later=is_newer,
            read_first=True,
        )
        if not written:
            return {"superseded": {"bucket": dst, "key": ref.key}}
        return {"published": {"bucket": dst, "key": ref.key}}

    def unpublish(self, key: str) -> int:
        """Remove every version of ``key`` from the published bucket (a delete marker alone would leave the
        bytes reachable by version id)."""
        client = self.s3.client
        removed = 0
        for page in client.get_paginator("list_object_versions").paginate(
            Bucket=self.b.published, Prefix=key
        ):
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if v["Key"] == key:
                    client.delete_object(Bucket=self.b.published, Key=key, VersionId=v["VersionId"])
                    removed += 1
        return removed

    def quarantine(self, entry: Mapping[str, Any], tag: str) -> dict[str, Any]:
        """Copy the original to quarantine and check the copy (size and ETag) before anything deletes it."""
        ref = ref_of(entry)
        key = quarantine_key(ref)
        meta = {"tutela-decision": tag, "tutela-source-version": ref.version_label}
        original = self.s3.head(ref.bucket, ref.key, ref.version_id)
        copy = self.s3.head(self.b.quarantine, key)
        if original is None:
            if copy is None:
                raise ReviewError(409, "source_gone", "the original is gone and no quarantined copy exists")
            return {"quarantined": {"bucket": self.b.quarantine, "key": key}}
        if not _same(copy, original):
            self.s3.copy(ref, self.b.quarantine, key, content_type=original.get("ContentType"), metadata=meta)
            if not _same(self.s3.head(self.b.quarantine, key), original):
                raise TransientError("the quarantined copy does not match the original yet")
        return {"quarantined": {"bucket": self.b.quarantine, "key": key}}

    def delete_original(self, entry: Mapping[str, Any]) -> None:
        ref = ref_of(entry)
        if ref.version_id and self.s3.head(ref.bucket, ref.key, ref.version_id) is not None:
            self.s3.delete_version(ref)

    # ------------------------------------------------------------ comments
    def comment_lines(self, entry: Mapping[str, Any]) -> bytes:
        return self.s3.read_bytes(ref_of(entry), max_bytes=MAX_COMMENT_BATCH_CEILING)

    def rebuild_comments(
        self, entry: Mapping[str, Any], verdicts: Sequence[Mapping[str, Any]], tag: str
    ) -> dict:
        """Publish exactly the lines whose current verdict is allow (judged fields only), and keep every
        blocked line's uploaded bytes in quarantine."""
        ref = ref_of(entry)
        from tutela.act import plan_comments  # only this route rebuilds a batch: not at the API's INIT

        plan = plan_comments(verdicts, self.comment_lines(entry))
        action: dict[str, Any] = {"held_comments": plan.held}
        if plan.published:
            body = b"\n".join(plan.published) + b"\n"
            self.s3.put_bytes(
                body,
                self.b.published,
                ref.key,
                content_type="application/x-ndjson",
                metadata={"tutela-decision": tag},
            )
            action["published"] = {
                "bucket": self.b.published,
                "key": ref.key,
                "comments": len(plan.published),
            }
        else:
            self.unpublish(ref.key)
        if plan.quarantined:
            qkey = quarantine_key(ref)
            body = b"\n".join(plan.quarantined) + b"\n"
            self.s3.put_bytes(
                body,
                self.b.quarantine,
                qkey,
                content_type="application/x-ndjson",
                metadata={"tutela-decision": tag},
            )
            action["quarantined"] = {
                "bucket": self.b.quarantine,
                "key": qkey,
                "comments": len(plan.quarantined),
            }
        return action

    # ------------------------------------------------------------ previews
    def preview_bytes(self, entry: Mapping[str, Any], max_bytes: int) -> bytes:
        """Bytes to render a preview from: the published (scrubbed) copy of allowed media, never its
        original; otherwise the original or its quarantined copy. Only re-encoded pixels leave."""
        ref = ref_of(entry)
        if entry.get("verdict") == "allow":
            head = self.s3.head(self.b.published, ref.key)
            if head is None:
                raise ReviewError(404, "no_preview", "the allowed item has no published copy to preview")
            return self.s3.read_bytes(ObjectRef(self.b.published, ref.key), max_bytes=max_bytes)
        src = self.source(entry)
        if src is None:
            raise ReviewError(404, "no_preview", "the item's bytes are gone")
        return self.s3.read_bytes(src, max_bytes=max_bytes)


def _meta(head: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in ((head or {}).get("Metadata") or {}).items()}


def _holds(head: Mapping[str, Any] | None, expected: Mapping[str, str]) -> bool:
    meta = _meta(head)
    return head is not None and all(meta.get(k) == v for k, v in expected.items())


def _same(copy: Mapping[str, Any] | None, original: Mapping[str, Any]) -> bool:
    if copy is None or copy.get("ContentLength") != original.get("ContentLength"):
        return False
    a, b = str(copy.get("ETag", "")), str(original.get("ETag", ""))
    return "-" in a or "-" in b or a == b
