"""S3 access for the handlers: bounded reads, version-pinned downloads, managed copies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from tutela.aws import clients
from tutela.errors import LimitExceededError
from tutela.objects import ObjectRef, version_args

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


T = TypeVar("T")
# What S3 answers for a key or version that is not there (405: the version is a delete marker).
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound", "405", "MethodNotAllowed"})

SINGLE_COPY_MAX_BYTES = 5 * 1024**3  # CopyObject's limit
SINGLE_GET_MAX_BYTES = 64 * 1024**2  # = the template's EXPRESS/STANDARD split and SPLICE_MIN_BYTES


class S3:
    def __init__(self, client: S3Client | None = None) -> None:
        self._client = client

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = clients.client("s3")
        return self._client

    def resolve(self, ref: ObjectRef, known: Callable[[ObjectRef], bool] | None = None) -> ObjectRef:
        """The object an S3 "Object Created" event names. Classic S3 notifications URL-encode the key as a
        form (space -> '+', '+' -> '%2B', UTF-8 -> %XX); S3's EventBridge documentation does not say whether
        ``detail.object.key`` is encoded, and readers disagree (docs/s3-keys.md). So the key is taken as it
        is when that key (at the event's version) exists, else its ``unquote_plus`` form when that differs
        and exists. The version id pins one object, so every step of an execution resolves the same one.
        A key with no '+' or '%' decodes to itself: no request. ``known``: when neither exists any more (an
        allowed original is retired once published), whether the decoded form is the one already decided."""
        alt = unquote_plus(ref.key)
        if alt == ref.key or self.head(ref.bucket, ref.key, ref.version_id) is not None:
            return ref
        decoded = ObjectRef(ref.bucket, alt, ref.version_id, ref.size, ref.etag, ref.sequencer)
        if self.head(ref.bucket, alt, ref.version_id) is not None:
            return decoded
        if known is not None and not known(ref) and known(decoded):
            return decoded
        return ref  # neither exists: its read fails as it would have

    def resolving(self, ref: ObjectRef, read: Callable[[ObjectRef], T]) -> tuple[ObjectRef, T]:
        """``read`` the object an event names, resolving its key (as :meth:`resolve`) with that read instead
        of a HEAD: the key as it is, else - when that read finds nothing and the key has a decoded form -
        the ``unquote_plus`` form. A key that exists as delivered costs no request beyond the read; one
        delivered encoded costs one failed read. The first step that reads the object calls this and hands
        the resolved key on in its output (``tutela.contracts.RESOLVED_KEY``), so no later step probes."""
        alt = unquote_plus(ref.key)
        try:
            return ref, read(ref)
        except ClientError as exc:
            if alt == ref.key or not _not_found(exc):
                raise
        decoded = ObjectRef(ref.bucket, alt, ref.version_id, ref.size, ref.etag, ref.sequencer)
        return decoded, read(decoded)

    @staticmethod
    def carried(ref: ObjectRef, key: object) -> ObjectRef | None:
        """The event's object under the key an earlier step of the execution resolved, or None when there
        is none, or it is neither the event's key nor its decoded form (then the step resolves it itself)."""
        if not isinstance(key, str) or key not in (ref.key, unquote_plus(ref.key)):
            return None
        return ObjectRef(ref.bucket, key, ref.version_id, ref.size, ref.etag, ref.sequencer)

    def size(self, ref: ObjectRef) -> int:
        head = self.client.head_object(Bucket=ref.bucket, Key=ref.key, **ref.version_args())  # type: ignore[arg-type]
        return int(head["ContentLength"])

    def download(self, ref: ObjectRef, dest: Path, *, max_bytes: int) -> int:
        """Stream the exact object version to ``dest`` (never into memory). Refuses oversize objects.

        Up to SINGLE_GET_MAX_BYTES: one GET whose ContentLength is checked before the body is read (no HEAD:
        at most one request per object). Bigger: the transfer manager's parallel ranged GETs (faster for
        long videos), after a HEAD for the size."""
        if ref.size is not None and ref.size <= SINGLE_GET_MAX_BYTES:
            args: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key, **ref.version_args()}
            resp = self.client.get_object(**args)
            size = int(resp["ContentLength"])
            if size > max_bytes:
                resp["Body"].close()
                raise LimitExceededError(f"object is {size} bytes; the limit is {max_bytes}")
            with dest.open("wb") as fh:
                for chunk in resp["Body"].iter_chunks(1024 * 1024):
                    fh.write(chunk)
            return size
        size = self.size(ref)
        if size > max_bytes:
            raise LimitExceededError(f"object is {size} bytes; the limit is {max_bytes}")
        self.client.download_file(ref.bucket, ref.key, str(dest), ExtraArgs=ref.version_args() or None)
        return size

    def read_bytes(self, ref: ObjectRef, *, max_bytes: int) -> bytes:
        """The exact version's bytes in one GET; an oversize object is refused from its ContentLength."""
        args: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key, **ref.version_args()}
        resp = self.client.get_object(**args)
        size = int(resp["ContentLength"])
        if size > max_bytes:
            resp["Body"].close()
            raise LimitExceededError(f"object is {size} bytes; the limit is {max_bytes}")
        return bytes(resp["Body"].read())

    def read_version(self, ref: ObjectRef, *, max_bytes: int) -> bytes | None:
        """:meth:`read_bytes`, or None when that version is gone (deleted by its id, or expired)."""
        try:
            return self.read_bytes(ref, max_bytes=max_bytes)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise

    def read_judged(self, ref: ObjectRef, *, max_bytes: int) -> tuple[bytes | None, bool]:
        """:meth:`read_version`, and whether a plain DELETE hid the version since (True: the key's current
        version is a delete marker over it, the uploader withdrew it). One GET of the key's current version,
        which normally is the judged one (as many requests as :meth:`read_version`); a second GET, by version
        id, only when it is not: a later upload is current (not withdrawn), or nothing is. In a versioned
        bucket, a version that exists under a key that shows nothing is behind a delete marker: S3 says so
        with ``x-amz-delete-marker`` too, but moto leaves that header out of a GET."""
        if ref.version_id is None:  # unversioned: a deleted object is gone
            return self.read_version(ref, max_bytes=max_bytes), False
        try:
            resp = self.client.get_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as exc:
            if not _not_found(exc):
                raise
            data = self.read_version(ref, max_bytes=max_bytes)
            return data, data is not None
        if resp.get("VersionId") != ref.version_id:
            resp["Body"].close()  # a later upload's bytes: not read
            return self.read_version(ref, max_bytes=max_bytes), False
        size = int(resp["ContentLength"])
        if size > max_bytes:
            resp["Body"].close()
            raise LimitExceededError(f"object is {size} bytes; the limit is {max_bytes}")
        return bytes(resp["Body"].read()), False

    def key_state(self, ref: ObjectRef) -> str:
        """What the key shows now, from one HEAD without a version id: ``current`` (the version ``ref``, or
        an unversioned object), ``replaced`` (a later upload's version), ``withdrawn`` (a delete marker:
        S3 answers 404 with ``x-amz-delete-marker: true``) or ``gone`` (no object and no marker)."""
        try:
            head = self.client.head_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as exc:
            if not _not_found(exc):
                raise
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            return "withdrawn" if str(headers.get("x-amz-delete-marker", "")).lower() == "true" else "gone"
        if ref.version_id is None or head.get("VersionId") == ref.version_id:
            return "current"
        return "replaced"

    def get_jsonl(self, bucket: str, key: str, *, max_bytes: int) -> list[Any]:
        """JSON Lines this pipeline wrote itself (the staged per-comment results)."""
        raw = self.read_bytes(ObjectRef(bucket, key), max_bytes=max_bytes)
        return [json.loads(line) for line in raw.splitlines() if line.strip()]

    def put_jsonl(self, records: Iterable[Any], bucket: str, key: str) -> None:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        self.put_bytes(body, bucket, key, content_type="application/x-ndjson")

    def upload_file(
        self,
        path: Path,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.client.upload_file(str(path), bucket, key, ExtraArgs=_put_args(content_type, metadata) or None)

    def put_bytes(
        self,
        data: bytes,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        if_match: str | None = None,
    ) -> bool:
        """One PutObject. ``if_absent``: only if the key has no current version (``If-None-Match: *``);
        ``if_match``: only if the current version still has that ETag (``If-Match``). False when the
        condition failed (another write came first: 412, or 409 for a concurrent conditional write, or 404
        for If-Match on a key with no current object), True when written."""
        args = _put_args(content_type, metadata)
        _conditions(args, if_absent, if_match)
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=data, **args)
        except ClientError as exc:
            if _condition_failed(exc, if_absent, if_match):
                return False
            raise
        return True

    def copy(
        self,
        src: ObjectRef,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        if_match: str | None = None,
    ) -> bool:
        """Server-side managed copy (multipart above 8 MB, so objects over 5 GB work too). Replacing the
        metadata drops the source's Content-Type, so it is set again with it. ``if_absent`` / ``if_match``:
        the destination conditions of ``put_bytes`` (False when one failed); a conditional copy is one
        CopyObject (S3 takes them there; s3transfer's managed copy cannot pass them), so up to 5 GB."""
        source: dict[str, str] = {"Bucket": src.bucket, "Key": src.key, **src.version_args()}
        extra: dict[str, Any] = {}
        if metadata or content_type:
            extra = {"MetadataDirective": "REPLACE", **_put_args(content_type, metadata)}
        conditional = if_absent or if_match is not None
        if conditional or (src.size is not None and src.size <= SINGLE_COPY_MAX_BYTES):
            # The size is known (or a condition must be sent): one CopyObject (the managed copy would HEAD
            # the source first).
            _conditions(extra, if_absent, if_match)
            try:
                self.client.copy_object(CopySource=source, Bucket=bucket, Key=key, **extra)  # type: ignore[arg-type]
            except ClientError as exc:
                if _condition_failed(exc, if_absent, if_match):
                    return False
                raise
            return True
        self.client.copy(source, bucket, key, ExtraArgs=extra or None)  # type: ignore[arg-type]
        return True

    def head_bytes(self, ref: ObjectRef, n: int) -> bytes:
        """The first ``n`` bytes of the exact version (a ranged GET)."""
        args: dict[str, Any] = {
            "Bucket": ref.bucket,
            "Key": ref.key,
            "Range": f"bytes=0-{n - 1}",
            **ref.version_args(),
        }
        return self.client.get_object(**args)["Body"].read(n)

    def head(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
        """The object's metadata, or None if that key (or version) does not exist."""
        args: dict[str, Any] = {"Bucket": bucket, "Key": key, **version_args(version_id)}
        try:
            return dict(self.client.head_object(**args))
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise

    def delete_version(self, ref: ObjectRef) -> None:
        self.client.delete_object(Bucket=ref.bucket, Key=ref.key, **ref.version_args())  # type: ignore[arg-type]

    def retire(self, ref: ObjectRef) -> bool:
        """Make the exact original version noncurrent so that the upload bucket's noncurrent-version rule
        (template.yaml ``expire-old-versions``, OriginalRetentionDays) deletes it: one DeleteObject without a
        version id, which adds a delete marker (free; the version stays readable by its id until it expires).

        Conditional on the version still being the current one (``If-Match`` on the event's ETag; a HEAD
        first only when the event had none), so a newer upload of the same key is never hidden. True when
        the version is noncurrent afterwards: retired now, already retired (a retry finds the delete marker),
        or replaced by a newer upload (then the rule expires it anyway). False when it cannot be retired
        (no real version id: a delete would destroy it)."""
        if not ref.version_args():
            return False
        etag = ref.etag
        if etag is None:
            head = self.head(ref.bucket, ref.key)
            if head is None or head.get("VersionId") != ref.version_id:
                return True  # a delete marker or a newer version is current: this one is noncurrent
            etag = str(head.get("ETag", ""))
        try:
            self.client.delete_object(Bucket=ref.bucket, Key=ref.key, IfMatch=_quoted(etag))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                return True  # another version (412) or a delete marker (404) is current
            raise
        return True


def _conditions(args: dict[str, Any], if_absent: bool, if_match: str | None) -> None:
    if if_absent:
        args["IfNoneMatch"] = "*"
    if if_match is not None:
        args["IfMatch"] = _quoted(if_match)


def _condition_failed(exc: ClientError, if_absent: bool, if_match: str | None) -> bool:
    """Whether a conditional write's error is its condition failing (another write came first)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
        return if_absent or if_match is not None
    return if_match is not None and code in ("NoSuchKey", "404")  # If-Match on a key now without an object


def _put_args(content_type: str | None, metadata: dict[str, str] | None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if content_type:
        args["ContentType"] = content_type
    if metadata:
        args["Metadata"] = metadata
    return args


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def _not_found(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND
