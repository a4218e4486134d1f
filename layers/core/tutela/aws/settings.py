"""One settings object per function, parsed from its environment at INIT.

``at_init(Parser)`` parses once when the handler module is imported (Lambda INIT). A missing or invalid
setting is a deployment fault: every invocation of that function then raises :class:`ConfigurationError`
(which the ASL records as ``configuration_error``), instead of an import error or an ``invalid_input``
blamed on the upload. Only the variables the template declares are read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from tutela.errors import ConfigurationError
from tutela.limits import MAX_COMMENT_BATCH_BYTES, MAX_COMMENTS_PER_BATCH
from tutela.record import FrozenRecord

Env = Mapping[str, str]
MAX_MEDIA_BYTES = 2 * 1024**3
SPLICE_MIN_BYTES = 64 * 1024**2


def _str(env: Env, name: str, default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        raise ConfigurationError(f"configuration {name} is not set")
    return value


def _int(env: Env, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = env.get(name)
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ConfigurationError(f"configuration {name} must be an integer") from exc
    if value < low or (high is not None and value > high):
        raise ConfigurationError(f"configuration {name} is out of range")
    return value


def _bool(env: Env, name: str) -> bool:
    raw = env.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ConfigurationError(f"configuration {name} must be true or false")
    return raw == "true"


class ScanSettings(FrozenRecord):
    __slots__ = ("bank_bucket", "max_media_bytes", "vision_backend")

    def __init__(self, vision_backend: str, max_media_bytes: int, bank_bucket: str | None = None) -> None:
        self.vision_backend = vision_backend
        self.max_media_bytes = max_media_bytes
        self.bank_bucket = bank_bucket  # known-content hash banks; unset = no banks (hashes still recorded)

    @classmethod
    def from_env(cls, env: Env) -> ScanSettings:
        backend = _str(env, "VISION_BACKEND", "local")
        if backend not in ("local", "rekognition"):
            raise ConfigurationError("configuration VISION_BACKEND must be local or rekognition")
        max_bytes = _int(env, "MAX_MEDIA_BYTES", MAX_MEDIA_BYTES, low=1)
        return cls(backend, max_bytes, env.get("BANK_BUCKET") or None)


class ScrubSettings(FrozenRecord):
    __slots__ = ("max_media_bytes", "splice_min_bytes", "staging_bucket")

    def __init__(self, staging_bucket: str, max_media_bytes: int, splice_min_bytes: int) -> None:
        self.staging_bucket = staging_bucket
        self.max_media_bytes = max_media_bytes
        self.splice_min_bytes = splice_min_bytes

    @classmethod
    def from_env(cls, env: Env) -> ScrubSettings:
        return cls(
            _str(env, "STAGING_BUCKET"),
            _int(env, "MAX_MEDIA_BYTES", MAX_MEDIA_BYTES, low=1),
            _int(env, "SPLICE_MIN_BYTES", SPLICE_MIN_BYTES, low=1),
        )


class ClassifySettings(FrozenRecord):
    __slots__ = ("comprehend", "decisions_table", "llm", "max_batch_bytes", "max_comments", "staging_bucket")

    def __init__(
        self,
        staging_bucket: str,
        decisions_table: str,
        max_batch_bytes: int,
        max_comments: int,
        comprehend: bool,
        llm: LLMSettings | None = None,
    ) -> None:
        self.staging_bucket = staging_bucket
        self.decisions_table = decisions_table
        self.max_batch_bytes = max_batch_bytes
        self.max_comments = max_comments
        self.comprehend = comprehend
        self.llm = llm  # stage 3 (Amazon Bedrock); None = off

    @classmethod
    def from_env(cls, env: Env) -> ClassifySettings:
        return cls(
            _str(env, "STAGING_BUCKET"),
            _str(env, "DECISIONS_TABLE"),
            _int(
                env,
                "MAX_COMMENT_BATCH_BYTES",
                MAX_COMMENT_BATCH_BYTES,
                low=1,
                high=MAX_COMMENT_BATCH_BYTES * 8,
            ),
            _int(env, "MAX_COMMENTS_PER_BATCH", MAX_COMMENTS_PER_BATCH, low=1, high=MAX_COMMENTS_PER_BATCH),
            _bool(env, "COMMENTS_COMPREHEND"),
            LLMSettings.from_env(env),
        )


class LLMSettings(FrozenRecord):
    """The comments' optional LLM stage: ``COMMENTS_LLM`` (a Bedrock foundation-model id; empty = off),
    ``COMMENTS_LLM_SCOPE`` and ``COMMENTS_LLM_BATCH_TOKENS`` (estimated input tokens per comment batch)."""

    __slots__ = ("batch_tokens", "model_id", "scope")

    def __init__(self, model_id: str, scope: str, batch_tokens: int) -> None:
        self.model_id = model_id
        self.scope = scope
        self.batch_tokens = batch_tokens

    @classmethod
    def from_env(cls, env: Env) -> LLMSettings | None:
        model_id = env.get("COMMENTS_LLM", "").strip()
        if not model_id:
            return None
        from tutela.comments.llm import SCOPES, check_model_id

        try:
            check_model_id(model_id)
        except ValueError as exc:
            raise ConfigurationError(f"configuration COMMENTS_LLM: {exc}") from None
        scope = env.get("COMMENTS_LLM_SCOPE") or "child-or-unknown"
        if scope not in SCOPES:
            raise ConfigurationError(f"configuration COMMENTS_LLM_SCOPE must be one of {', '.join(SCOPES)}")
        return cls(
            model_id, scope, _int(env, "COMMENTS_LLM_BATCH_TOKENS", 30_000, low=1_000, high=10_000_000)
        )


class RecordSettings(FrozenRecord):
    __slots__ = ("decisions_table", "retention_days")

    def __init__(self, decisions_table: str, retention_days: int) -> None:
        self.decisions_table = decisions_table
        self.retention_days = retention_days

    @classmethod
    def from_env(cls, env: Env) -> RecordSettings:
        return cls(_str(env, "DECISIONS_TABLE"), _int(env, "DECISION_RETENTION_DAYS", 400, low=1))


class ActSettings(FrozenRecord):
    __slots__ = (
        "decisions_table",
        "event_bus_name",
        "published_bucket",
        "quarantine_bucket",
        "retire_originals",
    )

    def __init__(
        self,
        decisions_table: str,
        event_bus_name: str,
        published_bucket: str,
        quarantine_bucket: str,
        retire_originals: bool = False,
    ) -> None:
        self.decisions_table = decisions_table
        self.event_bus_name = event_bus_name
        self.published_bucket = published_bucket
        self.quarantine_bucket = quarantine_bucket
        self.retire_originals = (
            retire_originals  # OriginalRetentionDays > 0: final originals are made noncurrent
        )

    @classmethod
    def from_env(cls, env: Env) -> ActSettings:
        return cls(
            _str(env, "DECISIONS_TABLE"),
            _str(env, "EVENT_BUS_NAME"),
            _str(env, "PUBLISHED_BUCKET"),
            _str(env, "QUARANTINE_BUCKET"),
            _bool(env, "RETIRE_ORIGINALS"),
        )


class PostSettings(FrozenRecord):
    """ClassifyPost (the post file's limits are policy, in tutela/posts/data/posts.toml)."""

    __slots__ = ("decisions_table", "staging_bucket")

    def __init__(self, staging_bucket: str, decisions_table: str) -> None:
        self.staging_bucket = staging_bucket
        self.decisions_table = decisions_table

    @classmethod
    def from_env(cls, env: Env) -> PostSettings:
        return cls(_str(env, "STAGING_BUCKET"), _str(env, "DECISIONS_TABLE"))


class ReviewApiSettings(FrozenRecord):
    __slots__ = (
        "bank_bucket",
        "decisions_table",
        "event_bus_name",
        "published_bucket",
        "quarantine_bucket",
        "removed_bank",
        "staging_bucket",
        "upload_bucket",
    )

    def __init__(
        self,
        upload_bucket: str,
        staging_bucket: str,
        published_bucket: str,
        quarantine_bucket: str,
        decisions_table: str,
        event_bus_name: str,
        bank_bucket: str | None = None,
        removed_bank: str | None = None,
    ) -> None:
        self.upload_bucket = upload_bucket
        self.staging_bucket = staging_bucket
        self.published_bucket = published_bucket
        self.quarantine_bucket = quarantine_bucket
        self.decisions_table = decisions_table
        self.event_bus_name = event_bus_name
        self.bank_bucket = bank_bucket
        self.removed_bank = removed_bank  # a confirmed block's hashes go to this bank (unset: off)

    @classmethod
    def from_env(cls, env: Env) -> ReviewApiSettings:
        removed = env.get("REMOVED_BANK") or None
        bank_bucket = env.get("BANK_BUCKET") or None
        if removed and not bank_bucket:
            raise ConfigurationError("configuration REMOVED_BANK needs BANK_BUCKET")
        return cls(
            _str(env, "UPLOAD_BUCKET"),
            _str(env, "STAGING_BUCKET"),
            _str(env, "PUBLISHED_BUCKET"),
            _str(env, "QUARANTINE_BUCKET"),
            _str(env, "DECISIONS_TABLE"),
            _str(env, "EVENT_BUS_NAME"),
            bank_bucket,
            removed,
        )


class RemodPlanSettings(FrozenRecord):
    """RemodPlan (read-only): which version of a listed upload to re-moderate; what a bank version added."""

    __slots__ = ("bank_bucket", "decisions_table", "published_bucket", "upload_bucket")

    def __init__(
        self,
        upload_bucket: str,
        decisions_table: str,
        bank_bucket: str,
        published_bucket: str,
    ) -> None:
        self.upload_bucket = upload_bucket
        self.decisions_table = decisions_table
        self.bank_bucket = bank_bucket
        self.published_bucket = published_bucket

    @classmethod
    def from_env(cls, env: Env) -> RemodPlanSettings:
        return cls(
            _str(env, "UPLOAD_BUCKET"),
            _str(env, "DECISIONS_TABLE"),
            _str(env, "BANK_BUCKET"),
            _str(env, "PUBLISHED_BUCKET"),
        )


class ReevaluateSettings(FrozenRecord):
    """PostContext and Remoderate: both append decisions to uploads already decided (a post's flags, a
    re-moderation run) and carry them out as Act does, with Act's settings."""

    __slots__ = ("act", "decisions_table", "retention_days")

    def __init__(self, decisions_table: str, retention_days: int, act: ActSettings) -> None:
        self.decisions_table = decisions_table
        self.retention_days = retention_days
        self.act = act

    @classmethod
    def from_env(cls, env: Env) -> ReevaluateSettings:
        return cls(
            _str(env, "DECISIONS_TABLE"),
            _int(env, "DECISION_RETENTION_DAYS", 400, low=1),
            ActSettings.from_env(env),
        )


def at_init[T](parse: Callable[[Env], T]) -> Callable[[], T]:
    """Parse now (INIT); the returned getter gives the settings or raises the ConfigurationError."""
    try:
        parsed: T | None = parse(os.environ)
        error: ConfigurationError | None = None
    except ConfigurationError as exc:
        parsed, error = None, exc

    def get() -> T:
        if error is not None:
            raise ConfigurationError(str(error))
        return parsed  # type: ignore[return-value]

    return get
