"""Promise: one home for error decisions (``tutela.held``). Every refusal is recorded the same way — a
``review`` verdict with ``{"code", "message"}`` reasons — whoever refuses: the same invalid UTF-8 comment
line gives the same recorded error from the CLI and from the Lambda (issue 9: they used to differ)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import load_event
from tests.unit.test_handlers import _record_and_act, env, handler, put  # noqa: F401  (env is a fixture)
from tutela.decision import step_decision
from tutela.errors import CorruptMediaError, TransientError
from tutela.held import (
    MAX_REASON_CHARS,
    comment_reason,
    exception_reason,
    held_decision,
    reason,
    step_error_reason,
)
from tutela.policy.comments import summarize

BATCH = b'{"id": "a", "text": "hi"}\n\xff\xfe\n{"id": "c"}\n'


def test_the_same_invalid_utf8_line_is_recorded_the_same_from_the_cli_and_the_lambda(
    env: dict[str, Any],  # noqa: F811  (the handler tests' moto fixture)
    tmp_path: Path,
    lambda_context: Any,
) -> None:
    from tutela_dev.cli import main

    src, out = tmp_path / "b.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(BATCH)
    assert main(["comments", str(src), "-o", str(out)]) == 1
    cli = {r["line"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}

    event = put(env, load_event("classify_comments"), BATCH)
    decision = handler("classify_comments")(event, lambda_context)
    _record_and_act(event, decision, "arn:x", lambda_context)  # Act writes the comment records
    stored = {
        int(i["line"]): i["reasons"]
        for i in env["table"].scan()["Items"]
        if "#c#" in i["sk"] and i.get("reasons")
    }
    assert stored == {
        2: [{"code": "invalid_comment", "message": "line is not valid UTF-8"}],
        3: [{"code": "invalid_comment", "message": "missing text"}],
    }
    assert {n: [comment_reason(cli[n])] for n in stored} == stored
    # The batch's own reasons count the held lines under the same code.
    assert {"code": "invalid_comment", "message": "2 line(s) could not be read", "count": 2} in decision[
        "reasons"
    ]


def test_a_step_error_and_a_malformed_payload_are_held_with_one_shape() -> None:
    cause = '{"errorMessage": "bad"}'
    caught = step_decision({"kind": "error", "error": "CorruptMediaError", "cause": cause})
    malformed = step_decision({"kind": "media", "verdict": "maybe", "reasons": []})
    for d in (caught, malformed):
        assert (d.kind, d.verdict, d.severity) == ("error", "review", 2)
        assert set(d.reasons[0]) >= {"code", "message"}
    assert caught.reasons == [step_error_reason("CorruptMediaError", cause)]
    assert caught.reasons[0]["code"] == CorruptMediaError.code
    assert malformed.reasons == [reason("malformed_decision", "a step returned no valid verdict")]


def test_an_exception_in_process_gets_the_code_the_pipeline_would_record() -> None:
    assert exception_reason(CorruptMediaError("truncated")) == {
        "code": "corrupt_media",
        "message": "truncated",
    }
    assert exception_reason(TransientError("x"))["code"] == step_error_reason("TransientError", None)["code"]
    assert exception_reason(KeyError("k"), limit=5)["code"] == "internal_error"
    assert len(exception_reason(ValueError("v" * 9000))["message"]) == MAX_REASON_CHARS


def test_reasons_never_carry_more_than_the_clip() -> None:
    assert len(reason("x", "y" * 9000)["message"]) == MAX_REASON_CHARS
    assert comment_reason({"verdict": "review", "error": "z" * 9000})["message"].endswith("…")  # type: ignore[index]
    assert comment_reason({"verdict": "allow"}) is None


def test_held_decisions_hold_for_review() -> None:
    d = held_decision("comments", [reason("batch_unavailable", "gone")], minor_context=True)
    assert d == {
        "kind": "comments",
        "verdict": "review",
        "severity": 2,
        "reasons": [{"code": "batch_unavailable", "message": "gone"}],
        "minor_context": True,
    }
    assert summarize([{"verdict": "review", "error": "bad", "code": "unsafe_id"}]).reasons == [
        {"code": "unsafe_id", "message": "1 line(s) held: unsafe_id", "count": 1}
    ]
