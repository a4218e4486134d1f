"""tutela.redrive: telling the two dead-letter shapes apart (pure)."""

from __future__ import annotations

import json

from tests.conftest import load_event
from tutela.redrive import act_input, classify, execution_name


def test_an_upload_event_the_rule_could_not_deliver_starts_a_new_execution() -> None:
    event = load_event("object_created_media")
    replay = classify(json.dumps(event))
    assert replay.kind == "start"
    assert replay.key == event["detail"]["object"]["key"]
    assert replay.payload == event  # replayed exactly as S3 sent it


def test_a_state_machine_dead_letter_resumes_as_its_own_execution() -> None:
    state = load_event("record_decision")
    state["error"] = {"Error": "RuntimeError", "Cause": "table is gone"}
    state["record"] = {"duplicate": False, "decision": {"verdict": "allow"}}
    replay = classify(json.dumps(state))
    assert replay.kind == "resume" and replay.reason == "RuntimeError"
    # RecordDecision gets exactly what the ASL passes it, with the original execution id.
    assert replay.payload == {k: state[k] for k in ("detail", "execution_id", "event_time", "decision")}
    recorded = {"pk": "p", "sk": "s", "verdict": "allow"}
    assert act_input(replay, recorded) == {
        "detail": state["detail"],
        "execution_id": state["execution_id"],
        "event_time": state["event_time"],
        "decision": recorded,
    }


def test_anything_else_is_not_understood_and_says_why() -> None:
    state = load_event("record_decision")
    no_execution = {k: v for k, v in state.items() if k != "execution_id"}
    for body, reason in [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"detail": {}}', "no S3 object"),
        (json.dumps(no_execution), "neither"),
        ("[" * 100_000, "not JSON"),
    ]:
        replay = classify(body)
        assert replay.kind == "unknown" and reason in replay.reason, body[:40]


def test_execution_names_are_deterministic_and_valid() -> None:
    name = execution_name("a1b2/c3:d4 e5" + "x" * 200)
    assert name == execution_name("a1b2/c3:d4 e5" + "x" * 200)
    assert name.startswith("redrive-a1b2-c3-d4-e5") and len(name) == 80
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
