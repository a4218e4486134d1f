"""The pipeline's decision events (tutela.decision.event_detail, as Act sends them) match the schemas, and
the schemas reject what they must."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError

from tests.event_schemas import validate_event
from tutela.decision import event_detail, event_id


def item(**kw):
    base = {
        "pk": "obj#b/media/p/x.jpg",
        "sk": "v#1",
        "bucket": "b",
        "key": "media/p/x.jpg",
        "version_id": "1",
        "post_id": "p",
        "kind": "media",
        "verdict": "allow",
        "severity": 0,
        "reasons": [],
        "minor": "likely",
    }
    return base | kw


def test_pipeline_decision_events_match_and_carry_distribution():
    allowed = {
        **event_detail(item(), {"published": {"bucket": "pub", "key": "media/p/x.jpg"}}),
        "event_id": event_id(item(), "Moderation Decision"),
    }
    validate_event("Moderation Decision", allowed)
    assert allowed["distribution"] == "limited"
    adult = event_detail(item(minor="none"))
    assert adult["distribution"] == "normal"
    blocked = item(
        verdict="block", severity=4, escalate=True, reasons=[{"code": "minor_with_explicit_nudity"}]
    )
    detail = {**event_detail(blocked, {"quarantined": {"bucket": "q", "key": "k"}}), "event_id": "0" * 32}
    validate_event("Moderation Escalation", detail)
    assert event_detail(item(kind="comments", minor=None))["distribution"] == "normal"


def test_schemas_refuse_malformed_events():
    good = {**event_detail(item()), "event_id": "a" * 32}
    for bad in (
        {**good, "verdict": "maybe"},
        {**good, "distribution": "wide"},
        {k: v for k, v in good.items() if k != "distribution"},
    ):
        with pytest.raises(ValidationError):
            validate_event("Moderation Decision", bad)
    with pytest.raises(ValidationError):
        validate_event("Moderation Escalation", {**good, "escalate": False})
    with pytest.raises(ValidationError):
        validate_event("Account Escalation", {"uploader": "u", "active_strikes": 3})
