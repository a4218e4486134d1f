"""The uploaded object a state machine execution is about, parsed from the S3 event detail."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Literal

from tutela.errors import InvalidInputError

Route = Literal["media", "comments", "other"]


@dataclass(frozen=True, slots=True)
class ObjectRef:
    bucket: str
    key: str
    version_id: str | None = None
    size: int | None = None

    @classmethod
    def from_detail(cls, detail: Any) -> ObjectRef:
        """Parse the ``detail`` of an EventBridge "Object Created" event (or the state's copy of it)."""
        try:
            bucket = detail["bucket"]["name"]
            obj = detail["object"]
            key = obj["key"]
        except (KeyError, TypeError) as exc:
            raise InvalidInputError("event detail lacks bucket.name / object.key") from exc
        if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
            raise InvalidInputError("bucket name and object key must be non-empty strings")
        version = obj.get("version-id") or obj.get("versionId")
        size = obj.get("size")
        return cls(bucket, key, str(version) if version else None, int(size) if size is not None else None)

    @property
    def route(self) -> Route:
        top = self.key.split("/", 1)[0]
        return top if top in ("media", "comments") else "other"  # type: ignore[return-value]

    @property
    def post_id(self) -> str | None:
        """``media/{post_id}/{file}`` and ``comments/{post_id}/{batch}.jsonl`` carry the post id."""
        parts = self.key.split("/")
        return parts[1] if len(parts) >= 3 and parts[0] in ("media", "comments") and parts[1] else None

    @property
    def filename(self) -> str:
        return posixpath.basename(self.key)

    @property
    def version_label(self) -> str:
        # Unversioned buckets report no version id; S3 itself calls that version "null".
        return self.version_id or "null"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def version_args(self) -> dict[str, str]:
        """Extra boto3 arguments that pin the exact version the event was about."""
        return {"VersionId": self.version_id} if self.version_id else {}
