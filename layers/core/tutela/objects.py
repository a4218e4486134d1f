"""The uploaded object a state machine execution is about, parsed from the S3 event detail."""

from __future__ import annotations

import posixpath
import re
from typing import Any, Literal

from tutela.errors import InvalidInputError, UnsafeKeyError
from tutela.record import FrozenRecord

Route = Literal["media", "comments", "posts", "other"]
_HEX = re.compile("[0-9A-Fa-f]{1,64}")
_CONTROL = re.compile("[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def key_problem(key: str) -> str | None:
    """See :meth:`ObjectRef.key_problem`."""
    if _CONTROL.search(key):
        return "key has control characters"
    if "\\" in key:
        return "key has backslashes"
    if key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        return "key has empty, '.' or '..' segments"
    return None


class ObjectRef(FrozenRecord):
    __slots__ = ("bucket", "etag", "key", "sequencer", "size", "version_id")

    def __init__(
        self,
        bucket: str,
        key: str,
        version_id: str | None = None,
        size: int | None = None,
        etag: str | None = None,
        sequencer: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.size = size
        # The event's ETag of this version: Act retires the original only while it is still the current
        # version (a conditional delete). Not part of the identity (==, hash).
        self.etag = etag
        # The event's sequencer: which of two writes of the key came later (Act never puts an older upload's
        # copy over a newer one's: events arrive in any order). Not part of the identity either.
        self.sequencer = sequencer

    def _identity(self) -> tuple[str, str, str | None, int | None]:
        return (self.bucket, self.key, self.version_id, self.size)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

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
        size, etag, sequencer = obj.get("size"), obj.get("etag"), obj.get("sequencer")
        return cls(
            bucket,
            key,
            str(version) if version else None,
            int(size) if size is not None else None,
            etag if isinstance(etag, str) and etag else None,
            sequencer if isinstance(sequencer, str) and _HEX.fullmatch(sequencer) else None,
        )

    @property
    def route(self) -> Route:
        top = self.key.split("/", 1)[0]
        return top if top in ("media", "comments", "posts") else "other"  # type: ignore[return-value]

    @property
    def post_id(self) -> str | None:
        """``media/{post_id}/{file}``, ``comments/{post_id}/{batch}.jsonl``, ``posts/{post_id}.json`` and
        ``posts/{post_id}/{name}.json`` carry the post id."""
        parts = self.key.split("/")
        if len(parts) == 2 and parts[0] == "posts" and parts[1].endswith(".json") and len(parts[1]) > 5:
            return parts[1][: -len(".json")]
        return (
            parts[1] if len(parts) >= 3 and parts[0] in ("media", "comments", "posts") and parts[1] else None
        )

    @property
    def filename(self) -> str:
        return posixpath.basename(self.key)

    @property
    def version_label(self) -> str:
        # Unversioned buckets report no version id; S3 itself calls that version "null".
        return self.version_id or "null"

    def key_problem(self) -> str | None:
        """Why this key must not be published as is, or None. S3 keys are opaque strings, but a key with
        ``..``/``.``/empty segments, a leading slash, backslashes or control characters escapes or
        confuses every consumer that maps keys to paths or URLs (the emulator runner writes files)."""
        return key_problem(self.key)

    def require_safe_key(self) -> ObjectRef:
        """Analyzers call this first: an unsafe key is held with its own reason (``unsafe_key``)."""
        problem = self.key_problem()
        if problem:
            raise UnsafeKeyError(problem)
        return self

    def version_args(self) -> dict[str, str]:
        """Extra boto3 arguments that pin the exact version the event was about."""
        return version_args(self.version_id)


def quarantine_key(ref: ObjectRef) -> str:
    """Where an original (or a batch's blocked lines) is kept in the quarantine bucket."""
    return f"{ref.key}@{ref.version_label}"


def version_args(version_id: str | None) -> dict[str, str]:
    """``{"VersionId": ...}`` for a real version id; nothing for none or S3's ``"null"``."""
    return {"VersionId": version_id} if version_id and version_id != "null" else {}


def version_id_of(label: object) -> str | None:
    """A stored version label (``ObjectRef.version_label``) back to a version id: S3 calls an
    unversioned object's version ``"null"``, which is no version id. With :func:`version_args` and
    ``version_label``, the only code that knows that name."""
    return None if label is None or label == "null" else str(label)


def later(a: str | None, b: str | None) -> bool:
    """Is sequencer ``a`` a later write of the same key than ``b``? S3: pad the shorter with leading zeros,
    then the greater is the later. Unknown either way: False."""
    if not a or not b:
        return False
    n = max(len(a), len(b))
    return a.upper().zfill(n) > b.upper().zfill(n)
