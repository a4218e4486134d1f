"""The bank bucket as the store behind ``tutela.bank.store.BankRepository``."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tutela.aws import clients


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
