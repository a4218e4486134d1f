"""Promises of the canonical step decision and the bus event id (make mutation survivors): a step's
severity that is not a number is 0 (never a crash), its reasons are kept as given, and two objects'
decisions never share an event id (consumers drop redeliveries by it)."""

from __future__ import annotations

from tutela.decision import event_id, step_decision


def test_a_non_numeric_severity_is_zero_and_reasons_are_kept() -> None:
    reasons = [{"code": "c", "message": "m"}]
    for severity, expected in (("high", 0), (True, 0), (None, 0), (2.9, 2), (-3, 0), (99, 4)):
        d = step_decision({"kind": "media", "verdict": "review", "severity": severity, "reasons": reasons})
        assert d.severity == expected, severity
        assert d.reasons == reasons


def test_event_ids_differ_per_object_version_and_event_type() -> None:
    a = {"pk": "obj#b/a.jpg", "sk": "v#1"}
    b = {"pk": "obj#b/b.jpg", "sk": "v#1"}
    assert event_id(a, "Moderation Decision") != event_id(b, "Moderation Decision")
    assert event_id(a, "Moderation Decision") != event_id(a, "Moderation Action")
    assert event_id(a, "Moderation Decision") == event_id(dict(a), "Moderation Decision")  # stable
    assert len(event_id(a, "x")) == 32
