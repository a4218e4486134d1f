"""What each step of the state machine receives and returns: one frozen record per payload, one
``from_event``/``to_event`` pair each. The handlers parse with these, the tests build events with them, and
``scripts/check_asl.py`` checks the ASL's ``Parameters`` and paths against ``FIELDS``.

Payloads (``statemachine/moderation.asl.json``):

| step | input | output (where the ASL puts it) |
| --- | --- | --- |
| ScanMedia, ScrubGeotags, ClassifyComments | :class:`StepInput` | report / decision dict |
| RecordDecision | :class:`RecordInput` | :class:`RecordOutput` (``$.record``) |
| Act | :class:`ActInput` | action dict (``$.action``) |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tutela.errors import InvalidInputError
from tutela.objects import ObjectRef
from tutela.record import FrozenRecord


def _opt_str(event: Mapping[str, Any], name: str) -> str | None:
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string")
    return value


def _mapping(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = event.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{name} must be an object")
    return dict(value)


# The key the first step that reads the object resolved (``S3.resolving``; docs/s3-keys.md), in its output:
# ClassifyComments' and ClassifyPost's decision, each branch of the media analysis. It rides in the state's
# ``$.decision`` to PostContext and RecordDecision, which take it instead of probing S3 again; RecordDecision
# stores the decision under it (not as a field) and Act finds it in the stored item.
RESOLVED_KEY = "resolved_key"


def carried_key(decision: Mapping[str, Any]) -> str | None:
    """The resolved key a decision payload carries, or None (a held error, an unsupported key, a payload
    from before keys were carried). A media analysis carries one per branch: both must name the same key."""
    if decision.get("kind") != "media_analysis":
        key = decision.get(RESOLVED_KEY)
        return key if isinstance(key, str) else None
    parts = decision.get("analysis")
    keys = {
        part[name].get(RESOLVED_KEY) if isinstance(part.get(name), Mapping) else None
        for part in (parts if isinstance(parts, list) else [])
        if isinstance(part, Mapping)
        for name in part
    }
    if len(keys) != 1:
        return None
    (key,) = keys
    return key if isinstance(key, str) else None


class StepInput(FrozenRecord):
    """The upload an execution is about: the S3 event detail, the execution id and the event time."""

    FIELDS: ClassVar[tuple[str, ...]] = ("detail", "execution_id", "event_time")
    __slots__ = ("detail", "event_time", "execution_id", "ref")

    def __init__(
        self, detail: dict[str, Any], execution_id: str | None = None, event_time: str | None = None
    ) -> None:
        self.detail = detail
        self.execution_id = execution_id
        self.event_time = event_time
        self.ref = ObjectRef.from_detail(detail)

    @classmethod
    def from_event(cls, event: Any) -> StepInput:
        if not isinstance(event, Mapping):
            raise InvalidInputError("a step event must be a JSON object")
        return cls(_mapping(event, "detail"), _opt_str(event, "execution_id"), _opt_str(event, "event_time"))

    def to_event(self) -> dict[str, Any]:
        return {"detail": self.detail, "execution_id": self.execution_id, "event_time": self.event_time}


class DecideInput(FrozenRecord):
    """The Parallel state's output: one labelled part per branch, ``[{"scan": ...}, {"scrub": ...}]``
    (``$.decision.analysis``; RecordDecision fuses it, ``tutela.analysis``)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("detail", "analysis")
    __slots__ = ("detail", "scan", "scrub")

    def __init__(self, detail: dict[str, Any], scan: dict[str, Any], scrub: dict[str, Any]) -> None:
        self.detail = detail
        self.scan = scan
        self.scrub = scrub

    @classmethod
    def from_event(cls, event: Any) -> DecideInput:
        if not isinstance(event, Mapping):
            raise InvalidInputError("a step event must be a JSON object")
        parts: dict[str, Any] = {}
        for part in event.get("analysis") or []:
            if isinstance(part, Mapping):
                parts.update(part)
        scan, scrub = parts.get("scan"), parts.get("scrub")
        if not isinstance(scan, Mapping) or not isinstance(scrub, Mapping):
            raise InvalidInputError("the media policy needs the scan and scrub results")
        # Fail closed: a scrub report that does not say it was verified was not.
        scrub = {**scrub, "verified": scrub.get("verified") is True}
        return cls(_mapping(event, "detail"), dict(scan), scrub)

    def to_event(self) -> dict[str, Any]:
        return {"detail": self.detail, "analysis": [{"scan": self.scan}, {"scrub": self.scrub}]}


class RecordInput(FrozenRecord):
    """A decision to store: a media analysis (the Parallel state's output, fused by RecordDecision), or a
    decision from ClassifyComments, PostContext, HoldOnError or the Unsupported pass state."""

    FIELDS: ClassVar[tuple[str, ...]] = ("detail", "execution_id", "event_time", "decision")
    __slots__ = ("decision", "step")

    def __init__(self, step: StepInput, decision: dict[str, Any]) -> None:
        self.step = step
        self.decision = decision

    @classmethod
    def from_event(cls, event: Any) -> RecordInput:
        step = StepInput.from_event(event)
        return cls(step, _mapping(event, "decision"))

    def to_event(self) -> dict[str, Any]:
        return {**self.step.to_event(), "decision": self.decision}


class RecordOutput(FrozenRecord):
    """``duplicate``: a redelivery found another execution's decision (the ASL stops); otherwise
    ``decision`` is the stored item Act carries out. ``fresh``: this invocation created the decision item
    (nothing can have acted on it yet)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("duplicate", "decision", "fresh")
    __slots__ = ("decision", "duplicate", "fresh")

    def __init__(self, duplicate: bool, decision: dict[str, Any], fresh: bool = False) -> None:
        self.duplicate = duplicate
        self.decision = decision
        self.fresh = fresh

    @classmethod
    def from_event(cls, event: Any) -> RecordOutput:
        if not isinstance(event, Mapping) or not isinstance(event.get("duplicate"), bool):
            raise InvalidInputError("RecordDecision output needs a boolean duplicate")
        return cls(bool(event["duplicate"]), _mapping(event, "decision"), event.get("fresh") is True)

    def to_event(self) -> dict[str, Any]:
        return {"duplicate": self.duplicate, "decision": self.decision, "fresh": self.fresh}


class ActInput(FrozenRecord):
    """A recorded decision (the stored item) to carry out. ``fresh`` (RecordDecision's) and ``attempt``
    (the state's ``$$.State.RetryCount``) together say whether any Act can have run for it before: on the
    first attempt for a decision created by this execution's RecordDecision none can, so Act skips reading
    its action record. Without them (a redrive, an older machine) Act reads it, as always."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "detail",
        "execution_id",
        "event_time",
        "decision",
        "fresh",
        "attempt",
    )
    __slots__ = ("attempt", "decision", "fresh", "step")

    def __init__(
        self, step: StepInput, decision: dict[str, Any], fresh: bool = False, attempt: int | None = None
    ) -> None:
        self.step = step
        self.decision = decision
        self.fresh = fresh
        self.attempt = attempt

    @classmethod
    def from_event(cls, event: Any) -> ActInput:
        step = StepInput.from_event(event)
        decision = _mapping(event, "decision")
        if decision.get("verdict") not in ("allow", "review", "block") or not decision.get("sk"):
            raise InvalidInputError("Act needs a recorded decision")
        attempt = event.get("attempt")
        valid = isinstance(attempt, int) and not isinstance(attempt, bool) and attempt >= 0
        return cls(step, decision, event.get("fresh") is True, attempt if valid else None)

    @property
    def first_act(self) -> bool:
        """No Act can have run for this decision yet."""
        return self.fresh and self.attempt == 0

    def to_event(self) -> dict[str, Any]:
        return {
            **self.step.to_event(),
            "decision": self.decision,
            "fresh": self.fresh,
            "attempt": self.attempt,
        }


# The ASL's Task resources (DefinitionSubstitutions names) and the contract of what each one is sent.
STEP_INPUTS: dict[str, type[Any]] = {
    "ScanMediaFunctionArn": StepInput,
    "ScrubGeotagsFunctionArn": StepInput,
    "ClassifyCommentsFunctionArn": StepInput,
    "RecordDecisionFunctionArn": RecordInput,
    "ActFunctionArn": ActInput,
}


class VersionsProbe(FrozenRecord):
    """ScanMedia asked which model and bank versions it runs (the re-moderation machine's first step)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("op",)


class RescanInput(FrozenRecord):
    """ScanMedia in a re-moderation: the upload plus the bank index version the run is keyed on."""

    FIELDS: ClassVar[tuple[str, ...]] = (*StepInput.FIELDS, "banks")


# Other payloads a function also accepts (the re-moderation machine's uses of the pipeline's functions).
STEP_ALTERNATIVES: dict[str, list[type[Any]]] = {"ScanMediaFunctionArn": [VersionsProbe, RescanInput]}
# Where the ASL stores a step's result (ResultPath) -> the contract the later states read from it.
RESULT_PATHS: dict[str, type[Any]] = {"$.record": RecordOutput}
