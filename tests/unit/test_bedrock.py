"""The Bedrock Converse adapter (tutela.aws.bedrock) under botocore's Stubber: what it sends, what it makes of
each kind of answer, and that every failure reaches the stage as a review (fail closed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import ANY, Stubber

from tutela.aws import clients
from tutela.aws.bedrock import READ_TIMEOUT_S, WORST_CALL_SECONDS, BedrockConverse, client_config
from tutela.comments import default_lexicon
from tutela.comments.llm import CODE_INVALID, CODE_UNAVAILABLE, LLMConfig, LLMUnavailable, judge

MODEL = "amazon.nova-micro-v1:0"


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def converse_response(
    text: str, stop: str = "end_turn", tokens: tuple[int, int] = (900, 40)
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 420},
    }


def verdicts(*entries: tuple[str, str, list[str]]) -> str:
    return json.dumps(
        {
            "verdicts": [
                {"id": i, "verdict": v, "categories": c, "reason": "r" if c else ""} for i, v, c in entries
            ]
        }
    )


def results(n: int) -> tuple[list[dict[str, Any]], dict[int, str]]:
    rs = [
        {"id": f"c{i}", "line": i, "verdict": "allow", "severity": 0, "categories": [], "evidence": []}
        for i in range(1, n + 1)
    ]
    return rs, {i: f"comment {i}" for i in range(1, n + 1)}


def run(client: Any, n: int = 2) -> tuple[list[dict[str, Any]], Any]:
    rs, texts = results(n)
    ask = BedrockConverse(MODEL, client=client).ask
    report = judge(rs, texts, config=LLMConfig(MODEL), ask=ask, lexicon=default_lexicon())
    return rs, report


def test_success_sends_one_converse_and_uses_the_validated_answer(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    expected = {
        "modelId": MODEL,
        "system": [{"text": ANY}],
        "messages": [{"role": "user", "content": [{"text": ANY}]}],
        "inferenceConfig": {"maxTokens": 64 + 80 * 2, "temperature": 0.0},
    }
    answer = verdicts(("1", "allow", []), ("2", "review", ["grooming"]))
    stub.add_response("converse", converse_response(answer), expected)
    rs, report = run(client)
    assert [r["verdict"] for r in rs] == ["allow", "review"]
    assert rs[1]["categories"] == ["grooming"] and rs[1]["evidence"][0]["rule"] == f"llm:{MODEL}"
    assert (report.calls, report.input_tokens, report.output_tokens) == (1, 900, 40)


def test_invalid_json_reviews_every_comment_of_the_call(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    stub.add_response("converse", converse_response("Sure! Both comments look fine to me."))
    rs, report = run(client)
    assert [(r["verdict"], r["code"]) for r in rs] == [("review", CODE_INVALID)] * 2
    assert report.held == {CODE_INVALID: 2}


def test_partial_output_is_not_used(bedrock: tuple[Any, Stubber]) -> None:
    """Cut at maxTokens: the first entry is complete, but the answer is not; nothing of it is used."""
    client, stub = bedrock
    cut = verdicts(("1", "allow", []), ("2", "allow", []))[:60]
    stub.add_response("converse", converse_response(cut, stop="max_tokens"))
    rs, _ = run(client)
    assert [(r["verdict"], r["code"]) for r in rs] == [("review", CODE_INVALID)] * 2


def test_an_answer_missing_a_comment_reviews_that_comment(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    stub.add_response("converse", converse_response(verdicts(("1", "allow", []))))
    rs, _ = run(client)
    assert rs[0]["verdict"] == "allow" and (rs[1]["verdict"], rs[1]["code"]) == ("review", CODE_INVALID)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("ThrottlingException", "throttled"),
        ("ServiceQuotaExceededException", "throttled"),
        ("ModelTimeoutException", "timeout"),
        ("AccessDeniedException", "denied"),
        ("ValidationException", "error:ValidationException"),
        ("InternalServerException", "error:InternalServerException"),
    ],
)
def test_service_errors_fail_closed(bedrock: tuple[Any, Stubber], code: str, kind: str) -> None:
    client, stub = bedrock
    stub.add_client_error("converse", service_error_code=code, http_status_code=400)
    with pytest.raises(LLMUnavailable) as exc:
        BedrockConverse(MODEL, client=client).ask("s", "u", 10)
    assert exc.value.kind == kind
    stub.add_client_error("converse", service_error_code=code, http_status_code=400)
    rs, report = run(client)
    assert [(r["verdict"], r["code"]) for r in rs] == [("review", CODE_UNAVAILABLE)] * 2
    assert report.failed_calls == 1 and kind in rs[0]["error"]


def test_a_read_timeout_fails_closed(bedrock: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = bedrock

    def timed_out(**_: Any) -> Any:
        raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    monkeypatch.setattr(client, "converse", timed_out)
    rs, report = run(client)
    assert [(r["verdict"], r["code"]) for r in rs] == [("review", CODE_UNAVAILABLE)] * 2
    assert "timeout" in rs[0]["error"] and report.failed_calls == 1


def test_a_network_failure_fails_closed_and_names_its_cause(
    bedrock: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: a call that never reached Bedrock (no connection) holds every asked comment for review, and
    the recorded error names what failed (the operator's first clue), not a placeholder."""
    from botocore.exceptions import EndpointConnectionError

    client, _ = bedrock

    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    monkeypatch.setattr(client, "converse", unreachable)
    with pytest.raises(LLMUnavailable) as exc:
        BedrockConverse(MODEL, client=client).ask("s", "u", 10)
    assert exc.value.kind == "error:EndpointConnectionError"
    rs, _ = run(client)
    assert [(r["verdict"], r["code"]) for r in rs] == [("review", CODE_UNAVAILABLE)] * 2
    assert "error:EndpointConnectionError" in rs[0]["error"]


def test_the_client_is_bounded_to_fit_the_function_timeout(template: dict[str, Any]) -> None:
    """One call with its retry, after the rules stages' time, must fit ClassifyComments' timeout with the
    handler's reserve; the shared client is built with these bounds."""
    from functions.classify_comments.app import RESERVE_SECONDS

    timeout = template["Resources"]["ClassifyCommentsFunction"]["Properties"]["Timeout"]
    config = client_config()
    assert config is client_config()  # one object: the client cache keys on it
    assert config.read_timeout == READ_TIMEOUT_S and config.retries["total_max_attempts"] == 2
    assert timeout / 2 >= WORST_CALL_SECONDS + RESERVE_SECONDS
    clients.reset()
    try:
        made = clients.client("bedrock-runtime", config)
        assert made is clients.client("bedrock-runtime", config)
        assert made.meta.config.read_timeout == READ_TIMEOUT_S
        assert made is not clients.client("bedrock-runtime")
    finally:
        clients.reset()


def test_the_cli_runs_stage_3_on_a_file(
    bedrock: tuple[Any, Stubber], tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tutela comments FILE --llm MODEL``: the file is one batch; the model can only add a review."""
    from tutela_dev.cli import main

    client, stub = bedrock
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "lovely photo"}\n{"id": "b", "text": "great shot"}\n')
    stub.add_response(
        "converse", converse_response(verdicts(("1", "allow", []), ("2", "review", ["grooming"])))
    )
    clients.override("bedrock-runtime", client)
    try:
        assert main(["comments", str(path), "--llm", MODEL]) == 0
    finally:
        clients.override("bedrock-runtime", None)
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["verdict"]) for r in out] == [("a", "allow"), ("b", "review")]
    assert out[1]["stages"][-1] == f"llm:{MODEL}"
    assert main(["comments", str(path), "--llm", "us.amazon.nova-micro-v1:0"]) == 2
