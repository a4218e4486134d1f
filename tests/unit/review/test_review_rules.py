"""The review rules, pure: queue order, who may decide, appeals, reports, strikes, distribution."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tutela.review import rules
from tutela.review.identity import actor_from_event
from tutela.review.policy import ReviewPolicy, load_policy
from tutela.review.rules import Actor, ReviewError

POLICY = load_policy()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ALICE = Actor("sub-alice", "alice", frozenset({"reviewer"}))
BOB = Actor("sub-bob", "bob", frozenset({"reviewer"}))
PLATFORM = Actor("arn:aws:iam::1:role/platform", "platform", frozenset({"platform"}), "iam")


def decision(**kw: Any) -> dict[str, Any]:
    base = {
        "pk": "obj#b/media/p/x.jpg",
        "sk": "v#1",
        "kind": "media",
        "bucket": "b",
        "key": "media/p/x.jpg",
        "version_id": "1",
        "verdict": "review",
        "severity": 2,
        "reasons": [{"code": "x"}],
        "minor": "none",
    }
    return base | kw


def opened(**kw: Any) -> dict[str, Any]:
    entry, record = rules.open_entry(decision(**kw), queue="media", policy=POLICY, uploader="u1", now=NOW)
    assert record["action"] == "queued" and entry["rev"] == 1 and record["sk"].endswith("#review#h#000001")
    return entry


def test_minor_related_and_severe_items_come_first():
    child = rules.priority(decision(minor="likely", severity=1), POLICY)
    adult_critical = rules.priority(decision(minor="none", severity=4), POLICY)
    grooming = rules.priority({"kind": "comment", "severity": 1, "categories": ["grooming"]}, POLICY)
    plain = rules.priority(decision(minor="none", severity=0, reasons=[]), POLICY)
    assert child < adult_critical and grooming < adult_critical and adult_critical < plain
    assert rules.queue_partitions("media")[0] == "media#p0" and len(rules.queue_partitions("media")) == 10


def test_item_ids_round_trip_and_refuse_other_records():
    assert rules.parse_item_id(rules.item_id("obj#b/k", "v#1#c#000002")) == ("obj#b/k", "v#1#c#000002")
    for bad in (
        "",
        "!!!",
        rules.item_id("obj#b/k", "v#1#action"),
        rules.item_id("acct#u", "strike#x"),
        rules.item_id("obj#b/k", "v#1#review"),
    ):
        with pytest.raises(ReviewError) as exc:
            rules.parse_item_id(bad)
        assert exc.value.status == 404


def test_decision_needs_a_reviewer_a_verdict_a_reason_and_a_pending_item():
    entry = opened()
    with pytest.raises(ReviewError, match="only reviewers"):
        rules.check_decision(entry, PLATFORM, {"verdict": "allow", "reason": "x"}, POLICY)
    with pytest.raises(ReviewError, match="verdict"):
        rules.check_decision(entry, ALICE, {"verdict": "review", "reason": "x"}, POLICY)
    with pytest.raises(ReviewError, match="reason"):
        rules.check_decision(entry, ALICE, {"verdict": "allow", "reason": "  "}, POLICY)
    d = rules.check_decision(
        entry, ALICE, {"verdict": "block", "reason": "r", "category": "grooming"}, POLICY
    )
    assert d.escalate and not d.appeal
    closed, record = rules.apply_decision(entry, d, ALICE, NOW)
    assert closed["status"] == "closed" and "queue" not in closed and closed["decided_by"] == "sub-alice"
    assert record["previous_verdict"] == "review" and record["verdict"] == "block"
    assert record["actor"]["sub"] == "sub-alice" and record["sk"].endswith("#000002")
    with pytest.raises(ReviewError) as exc:
        rules.check_decision(closed, BOB, {"verdict": "allow", "reason": "x"}, POLICY)
    assert exc.value.code == "not_pending"


def test_an_appeal_is_decided_by_someone_else_and_only_once():
    d = rules.check_decision(opened(), ALICE, {"verdict": "block", "reason": "r"}, POLICY)
    blocked, _ = rules.apply_decision(opened(), d, ALICE, NOW)
    appealed, record = rules.apply_appeal(blocked, PLATFORM, "it is my cat", POLICY, NOW)
    assert (
        appealed["queue"].startswith("appeal#p")
        and appealed["appeal"] == "pending"
        and appealed["round"] == 2
    )
    assert record["statement"] == "it is my cat"
    with pytest.raises(ReviewError) as exc:
        rules.check_decision(appealed, ALICE, {"verdict": "allow", "reason": "x"}, POLICY)
    assert exc.value.code == "same_reviewer" and exc.value.status == 403
    d2 = rules.check_decision(appealed, BOB, {"verdict": "allow", "reason": "a cat"}, POLICY)
    overturned, rec2 = rules.apply_decision(appealed, d2, BOB, NOW)
    assert d2.appeal and overturned["appeal"] == "overturned" and rec2["action"] == "appeal_decision"
    with pytest.raises(ReviewError, match="cannot be appealed"):
        rules.apply_appeal(overturned, PLATFORM, "again", POLICY, NOW)
    upheld, _ = rules.apply_decision(
        appealed, rules.check_decision(appealed, BOB, {"verdict": "block", "reason": "no"}, POLICY), BOB, NOW
    )
    assert upheld["appeal"] == "upheld"
    with pytest.raises(ReviewError) as exc:
        rules.apply_appeal(upheld, PLATFORM, "again", POLICY, NOW)
    assert exc.value.code == "already_appealed"
    with pytest.raises(ReviewError) as exc:
        rules.apply_appeal(opened(), PLATFORM, "pending", POLICY, NOW)
    assert exc.value.code == "pending"


def _allowed() -> dict[str, Any]:
    return rules.unqueued_entry(decision(verdict="allow"), POLICY, "u1", NOW)


def test_a_report_requeues_an_allowed_item_and_a_reporter_counts_once():
    out = rules.apply_report(_allowed(), PLATFORM, "r1", {"category": "spam", "note": "ad"}, POLICY, NOW)
    assert out.requeued and not out.hide and out.entry["queue"].startswith("report#p")
    assert out.entry["status"] == "pending" and out.entry["rev"] == 1
    with pytest.raises(ReviewError) as exc:
        rules.apply_report(out.entry, PLATFORM, "r1", {"category": "spam"}, POLICY, NOW)
    assert exc.value.code == "already_reported"
    with pytest.raises(ReviewError):
        rules.apply_report(out.entry, PLATFORM, "r2", {"category": "made-up"}, POLICY, NOW)
    blocked = rules.unqueued_entry(decision(verdict="block"), POLICY, "u1", NOW)
    assert not rules.apply_report(blocked, PLATFORM, "r1", {"category": "spam"}, POLICY, NOW).requeued


def test_child_safety_reports_hide_at_the_threshold_of_distinct_reporters():
    n = POLICY.hide_after_reporters
    entry = _allowed()
    for i in range(n):
        out = rules.apply_report(entry, PLATFORM, f"r{i}", {"category": "grooming"}, POLICY, NOW)
        assert out.hide is (i == n - 1)
        entry = out.entry
    assert entry["hidden"] is True
    # other categories never hide; one reporter in several child-safety categories counts once
    entry = _allowed()
    for i in range(n + 2):
        out = rules.apply_report(entry, PLATFORM, f"r{i}", {"category": "spam"}, POLICY, NOW)
        assert not out.hide
        entry = out.entry
    entry = _allowed()
    for category in ("grooming", "child_location", "child_sexualisation"):
        entry = rules.apply_report(entry, PLATFORM, "same", {"category": category}, POLICY, NOW).entry
    assert not entry["hidden"]


def test_strikes_count_in_the_window_and_escalate_at_the_threshold():
    def strike(days: int, sk: str) -> dict[str, Any]:
        return {"sk": sk, "at": rules.now_iso(NOW - timedelta(days=days))}

    strikes = [
        strike(1, "a"),
        strike(POLICY.strike_window_days - 1, "b"),
        strike(POLICY.strike_window_days + 1, "c"),
    ]
    assert [s["sk"] for s in rules.active_strikes(strikes, [], POLICY, NOW)] == ["a", "b"]
    assert [s["sk"] for s in rules.active_strikes(strikes, ["a"], POLICY, NOW)] == ["b"]
    t = POLICY.strike_threshold
    assert not rules.account_escalates(t - 2, t - 1, POLICY)
    assert rules.account_escalates(t - 1, t, POLICY) and rules.account_escalates(t, t + 1, POLICY)


def test_distribution_is_limited_only_for_allowed_media_with_a_possible_minor():
    assert rules.distribution("media", "allow", "likely", POLICY) == "limited"
    assert rules.distribution("media", "allow", "possible", POLICY) == "limited"
    assert rules.distribution("media", "allow", "none", POLICY) == "normal"
    assert rules.distribution("media", "block", "likely", POLICY) == "normal"
    assert rules.distribution("comments", "allow", "likely", POLICY) == "normal"


def test_policy_file_is_checked():
    raw = json.loads(
        (
            __import__("importlib.resources").resources.files("tutela.review") / "review_policy.json"
        ).read_text()
    )
    raw["reports"]["child_safety_categories"] = ["not-a-category"]
    with pytest.raises(ValueError):
        ReviewPolicy.from_dict(raw)
    assert POLICY.version.startswith("review-")


def test_identity_comes_from_the_authorizer_context_only():
    jwt = {
        "requestContext": {
            "authorizer": {
                "jwt": {
                    "claims": {"sub": "s1", "cognito:username": "alice", "cognito:groups": "[reviewer lead]"}
                }
            }
        },
        "body": json.dumps({"sub": "mallory"}),
    }
    actor = actor_from_event(jwt)
    assert actor.sub == "s1" and actor.groups == {"reviewer", "lead"} and actor.via == "jwt"
    iam = {"requestContext": {"authorizer": {"iam": {"userArn": "arn:aws:iam::1:role/p"}}}}
    assert actor_from_event(iam).via == "iam"
    for event in ({}, {"requestContext": {"authorizer": {"jwt": {"claims": {}}}}}, {"requestContext": {}}):
        with pytest.raises(ReviewError) as exc:
            actor_from_event(event)
        assert exc.value.status == 401


def test_an_item_id_with_keys_dynamodb_cannot_hold_is_not_found():
    """Input class: an item id (base64, up to 2,048 characters) decoding to a sort key over DynamoDB's
    1,024 bytes. DynamoDB refuses such a key with a ValidationException (a 500), moto does not check it:
    the id is refused before any read. The longest real ids (a 1,024-byte object key) still parse."""
    key = "media/p/" + "k" * 1016  # S3's longest key
    longest = rules.item_id(f"obj#{'b' * 63}/{key}", "v#" + "0" * 32 + "#c#000001")
    assert rules.parse_item_id(longest)[0].endswith(key)
    for sk in ("v#" + "x" * 1023, "v#" + "\u00e9" * 512):
        with pytest.raises(ReviewError) as exc:
            rules.parse_item_id(rules.item_id("obj#b/k", sk))
        assert exc.value.status == 404
