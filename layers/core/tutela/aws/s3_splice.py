"""Server-side scrubbing of S3 objects: plan from ranged reads, build the result with multipart
``UploadPartCopy`` ranges, verify by ranged reads of the result. A 2 GB video never passes through the
Lambda: only its metadata boxes are read, and ``mdat`` is copied inside S3.

``build_parts`` turns a scrub plan (copy-from-source ranges and new bytes) into multipart parts: copy
parts for long unchanged ranges, and "assembled" parts (small new pieces plus the source bytes needed to
reach S3's 5 MiB minimum part size, fetched with ranged GETs). Every part but the last is >= 5 MiB.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from tutela.aws import clients
from tutela.aws.errors import is_retryable
from tutela.errors import InvalidInputError, TransientError, VerificationError
from tutela.objects import version_args
from tutela.record import FrozenRecord, Record
from tutela.scrub import Copy, Data, Plan, Reader, ScrubLimits, ScrubReport, Zero, plan_reader, verify_reader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIN_PART = 5 * 1024 * 1024
MAX_PART = 5 * 1024 * 1024 * 1024
MAX_PARTS = 10_000


class CopyPart(FrozenRecord):
    __slots__ = ("end", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start = start  # source byte range [start, end)
        self.end = end


class AssembledPart(Record):
    """Uploaded with UploadPart: a mix of source ranges (fetched) and new bytes."""

    __slots__ = ("pieces",)

    def __init__(self, pieces: list[Copy | Data] | None = None) -> None:
        self.pieces = [] if pieces is None else pieces

    @property
    def size(self) -> int:
        return sum(p.length if isinstance(p, Copy) else len(p.data) for p in self.pieces)


Part = CopyPart | AssembledPart


def build_parts(plan: Plan, *, min_part: int = MIN_PART, max_part: int = MAX_PART) -> list[Part]:
    """Parts for a multipart upload that reproduces ``plan`` exactly."""
    parts: list[Part] = []
    buf = AssembledPart()

    def flush() -> None:
        nonlocal buf
        if buf.pieces:
            parts.append(buf)
            buf = AssembledPart()

    for piece in plan.pieces:
        if isinstance(piece, Zero):
            piece = Data(bytes(piece.length))  # zeroed ranges are small (metadata samples)
        if isinstance(piece, Data):
            buf.pieces.append(piece)
            if buf.size >= min_part:
                flush()
            continue
        start, end = piece.offset, piece.offset + piece.length
        if buf.pieces:
            # Top the pending small part up to the minimum from the head of this copy range.
            need = min_part - buf.size
            take = min(need, end - start)
            buf.pieces.append(Copy(start, take))
            start += take
            if buf.size >= min_part:
                flush()
        while end - start >= min_part:
            n = min(max_part, end - start)
            if 0 < end - start - n < min_part:  # keep the remainder large enough
                n = end - start - min_part
            parts.append(CopyPart(start, start + n))
            start += n
        if start < end:
            buf.pieces.append(Copy(start, end - start))
    flush()
    # Every part but the last is >= min_part by construction: copy parts are only emitted when long
    # enough, assembled parts are flushed only once topped up (the final flush may be short).
    if len(parts) > MAX_PARTS:
        raise ValueError("too many multipart parts")
    return parts


def _size(p: Part) -> int:
    return p.end - p.start if isinstance(p, CopyPart) else p.size


class S3Reader(Reader):
    """``Reader`` over one S3 object version with ranged GETs and a small block cache."""

    BLOCK = 256 * 1024

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        version_id: str | None = None,
        *,
        cache_blocks: int = 64,
    ) -> None:
        self._c = client
        self._args: dict[str, Any] = {"Bucket": bucket, "Key": key, **version_args(version_id)}
        head = client.head_object(**self._args)
        super().__init__(int(head["ContentLength"]))
        self.etag = str(head.get("ETag", ""))
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._max = cache_blocks
        self.gets = 0

    def _get(self, start: int, end: int) -> bytes:
        self.gets += 1
        try:
            r = self._c.get_object(Range=f"bytes={start}-{end - 1}", **self._args)
            return bytes(r["Body"].read())
        except Exception as exc:
            if is_retryable(exc):
                raise TransientError("ranged read from S3 failed") from exc  # throttling, 5xx, network
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            raise InvalidInputError(f"object cannot be read ({code or type(exc).__name__})") from exc

    def _block(self, i: int) -> bytes:
        b = self._cache.get(i)
        if b is None:
            start = i * self.BLOCK
            b = self._get(start, min(self.size, start + self.BLOCK))
            self._cache[i] = b
            if len(self._cache) > self._max:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(i)
        return b

    def _read(self, offset: int, n: int) -> bytes:
        if n > 4 * self.BLOCK:  # large reads bypass the cache
            return self._get(offset, offset + n)
        first, last = offset // self.BLOCK, (offset + n - 1) // self.BLOCK
        data = b"".join(self._block(i) for i in range(first, last + 1))
        rel = offset - first * self.BLOCK
        return data[rel : rel + n]


def _copy_source(reader: S3Reader) -> dict[str, str]:
    src = {"Bucket": reader._args["Bucket"], "Key": reader._args["Key"]}
    if "VersionId" in reader._args:
        src["VersionId"] = reader._args["VersionId"]
    return src


def splice(
    client: S3Client,
    plan: Plan,
    source: S3Reader,
    dst_bucket: str,
    dst_key: str,
    *,
    min_part: int = MIN_PART,
    extra_args: dict[str, Any] | None = None,
) -> str | None:
    """Write ``plan`` (over ``source``) to ``dst_bucket/dst_key``. Returns the new version id, if any."""
    parts = build_parts(plan, min_part=min_part)
    extra = dict(extra_args or {})
    if len(parts) <= 1 and plan.size < min_part:
        body = b"".join(
            source.read_at(p.offset, p.length) if isinstance(p, Copy) else _bytes(p) for p in plan.pieces
        )
        put = client.put_object(Bucket=dst_bucket, Key=dst_key, Body=body, **extra)
        return put.get("VersionId")
    mpu = client.create_multipart_upload(Bucket=dst_bucket, Key=dst_key, **extra)
    upload_id = mpu["UploadId"]
    done: list[Any] = []
    try:
        for n, part in enumerate(parts, 1):
            if isinstance(part, CopyPart):
                r = client.upload_part_copy(
                    Bucket=dst_bucket,
                    Key=dst_key,
                    UploadId=upload_id,
                    PartNumber=n,
                    CopySource=_copy_source(source),  # type: ignore[arg-type]
                    CopySourceRange=f"bytes={part.start}-{part.end - 1}",
                )
                etag = r["CopyPartResult"]["ETag"]
            else:
                body = b"".join(
                    source.read_at(p.offset, p.length) if isinstance(p, Copy) else p.data for p in part.pieces
                )
                etag = client.upload_part(
                    Bucket=dst_bucket, Key=dst_key, UploadId=upload_id, PartNumber=n, Body=body
                )["ETag"]
            done.append({"ETag": etag, "PartNumber": n})
        res = client.complete_multipart_upload(
            Bucket=dst_bucket, Key=dst_key, UploadId=upload_id, MultipartUpload={"Parts": done}
        )
        return res.get("VersionId")
    except BaseException:
        client.abort_multipart_upload(Bucket=dst_bucket, Key=dst_key, UploadId=upload_id)
        raise


def _bytes(p: Data | Zero) -> bytes:
    return p.data if isinstance(p, Data) else bytes(p.length)


def scrub_object(
    src_bucket: str,
    src_key: str,
    dst_bucket: str,
    dst_key: str,
    *,
    version_id: str | None = None,
    client: S3Client | None = None,
    limits: ScrubLimits | None = None,
    extra_args: dict[str, Any] | None = None,
) -> ScrubReport:
    """Scrub an S3 object version into another key server-side, verify the written object, and on any
    verification failure delete it (fail closed)."""
    import time

    if client is None:
        client = clients.client("s3")
    t0 = time.perf_counter()
    reader = S3Reader(client, src_bucket, src_key, version_id)
    plan, report = plan_reader(reader, limits=limits)
    new_version = splice(client, plan, reader, dst_bucket, dst_key, extra_args=extra_args)
    t1 = time.perf_counter()
    try:
        verify_reader(S3Reader(client, dst_bucket, dst_key, new_version), report, limits=limits)
    except BaseException:
        client.delete_object(Bucket=dst_bucket, Key=dst_key, **version_args(new_version))  # type: ignore[arg-type]
        raise
    if not report.verified:  # pragma: no cover - verify_reader raises instead
        raise VerificationError("scrubbed object was not verified")
    report.timings_ms = {
        "scrub": round((t1 - t0) * 1000, 3),
        "verify": round((time.perf_counter() - t1) * 1000, 3),
    }
    return report
