"""The bank bucket as the store behind ``tutela.bank.store.BankRepository``."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tutela.aws import clients
from tutela.errors import TransientError


class S3Blobs:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("s3")
        return self._client

    def get(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)  # the bucket's default encryption


class BankConflict(TransientError):
    """Another writer changed the bank between this writer's read and its write: read again and retry."""


# A snapshot version nobody committed counts as abandoned once it is older than this. Taking over a version
# whose writer is still alive could lose that writer's additions (it may commit the index after the
# takeover's overwrite), so this must exceed the lifetime of every conditional writer: the review function
# (Lambda ends it at its 29 s timeout; tests/unit/remod/test_retro_and_removals.py checks the template).
ABANDONED_AFTER_S = 120.0


class ConditionalS3Blobs(S3Blobs):
    """S3Blobs whose writes cannot lose another writer's: the bank index is replaced only if it is still
    the version this writer read (If-Match, or If-None-Match when there was none), and a snapshot object is
    written only if no other writer wrote that version first (If-None-Match). A version written by a writer
    that died before committing the index (older than ``abandoned_after``) is taken over."""

    def __init__(
        self, bucket: str, client: Any | None = None, abandoned_after: float = ABANDONED_AFTER_S
    ) -> None:
        super().__init__(bucket, client)
        self.abandoned_after = abandoned_after
        self._etags: dict[str, str | None] = {}

    def get(self, key: str) -> bytes | None:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                self._etags[key] = None
                return None
            raise
        self._etags[key] = str(resp.get("ETag"))
        return bytes(resp["Body"].read())

    def put(self, key: str, data: bytes) -> None:
        from tutela.bank.store import INDEX_KEY

        if key == INDEX_KEY:
            seen = self._etags.get(key)
            cond = {"IfMatch": seen} if seen else {"IfNoneMatch": "*"}
        else:
            cond = {"IfNoneMatch": "*"}
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **cond)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
            if key != INDEX_KEY and self._abandoned(key, data):
                return
            raise BankConflict(f"the bank changed while writing {key.rsplit('/', 1)[-1]}") from exc

    def _abandoned(self, key: str, data: bytes) -> bool:
        """A snapshot version left by a writer that never committed it (the index, read again now, is still
        below it, and it is older than any live writer): replace it, If-Match its ETag."""
        import datetime as dt
        import json

        from tutela.bank.store import INDEX_KEY

        parts = key.split("/")  # banks/{name}/v{k}.{ext}
        if len(parts) != 3 or not parts[2].startswith("v"):
            return False
        version = parts[2][1:].split(".", 1)[0]
        raw = super().get(INDEX_KEY)
        committed = (json.loads(raw) if raw else {"banks": {}})["banks"].get(parts[1], {}).get("version", 0)
        if not version.isdigit() or int(committed) >= int(version):
            return False
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        if (dt.datetime.now(dt.UTC) - head["LastModified"]).total_seconds() <= self.abandoned_after:
            return False
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfMatch=str(head["ETag"]))
        except ClientError:
            return False
        return True


class RemovedBank:
    """The bank a reviewer's confirmed block adds to (conditional writes; a lost race is read again)."""

    def __init__(self, bucket: str, name: str, client: Any | None = None, attempts: int = 6) -> None:
        self.bucket = bucket
        self.name = name
        self._client = client
        self.attempts = attempts

    def add(self, entries: Any, videos: Any) -> dict[str, Any]:
        import random
        import time

        from tutela.bank.model import Bank
        from tutela.bank.store import BankRepository

        defaults = Bank(self.name, label="platform_removed", action="block")
        for attempt in range(self.attempts):
            repo = BankRepository(ConditionalS3Blobs(self.bucket, self._client))
            try:
                done = repo.add(self.name, list(entries), defaults=defaults, videos=list(videos))
            except BankConflict:
                time.sleep(random.uniform(0.05, 0.2) * 2**attempt)
                continue
            return {"bank": self.name, "added": done.added + done.videos_added, "version": done.version}
        raise BankConflict("the bank kept changing while adding a removal: try again")
