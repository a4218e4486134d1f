"""Stage 3 (CommentsLLM) through the real template and ASL on moto, with a Stubber bedrock-runtime (moto has
no Converse): a comment stages 1-2 allow is blocked by the model, a Bedrock failure fails closed, and the
records say which stages ran. Without a stub, the emulated stack refuses the parameter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.stub import ANY, Stubber

from tests.integration.stacks import ROOT
from tutela.comment_records import expand
from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator.runner import Runner
from tutela_dev.emulator.stack import REGION, EmulatedStack, EmulatorError

pytestmark = pytest.mark.integration
MODEL = "amazon.nova-micro-v1:0"
STAGES = ["rules", "model", f"llm:{MODEL}"]
TEXTS = ["lovely photo", "great shot"]  # both allowed by stages 1-2 (checked below)


@pytest.fixture(scope="module")
def bedrock() -> Iterator[Stubber]:
    client = boto3.client(
        "bedrock-runtime", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield stub


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs") / "lambda.log"


@pytest.fixture(scope="module")
def runner(bedrock: Stubber, log_path: Path) -> Iterator[Runner]:
    with (
        log_path.open("w") as log,
        EmulatedStack(
            ROOT,
            parameters={"CommentsLLM": MODEL},
            stubs={"bedrock-runtime": bedrock.client},
            log=log,
            retry_scale=0.01,
        ) as stack,
    ):
        yield Runner(stack)


def _batch(tmp: Path) -> Path:
    path = tmp / "thread.jsonl"
    path.write_text("".join(json.dumps({"id": f"c{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS, 1)))
    return path


def _items(runner: Runner, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pk = object_keys(ObjectRef(runner.bucket, key))["pk"]
    items = runner.table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]
    (batch,) = [i for i in items if "#c#" not in i["sk"] and not i["sk"].endswith("#action")]
    return batch, expand(batch, [i for i in items if "#c#" in i["sk"]])


def _answer(*entries: tuple[str, str, list[str], str]) -> dict[str, Any]:
    body = {"verdicts": [{"id": i, "verdict": v, "categories": c, "reason": r} for i, v, c, r in entries]}
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": json.dumps(body)}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1200, "outputTokens": 60, "totalTokens": 1260},
        "metrics": {"latencyMs": 300},
    }


def test_stages_1_2_allow_and_the_model_blocks(
    runner: Runner, bedrock: Stubber, tmp_path: Path, log_path: Path
) -> None:
    expected = {
        "modelId": MODEL,
        "system": ANY,
        "messages": ANY,
        "inferenceConfig": {"maxTokens": ANY, "temperature": 0.0},
    }
    answer = _answer(("1", "allow", [], ""), ("2", "block", ["solicitation"], "asks for photos"))
    bedrock.add_response("converse", answer, expected)
    up = runner.upload(_batch(tmp_path), "comments/llm-post/a.jsonl")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    bedrock.assert_no_pending_responses()
    batch, records = _items(runner, up.key)
    first, second = records
    # a plain allow the model was asked about: its stages come from the batch record
    assert first["verdict"] == "allow" and first["stages"] == STAGES
    assert second["verdict"] == "block" and second["llm"] == {"model": MODEL, "verdict": "block"}
    assert second["stages"] == STAGES and "solicitation" in second["categories"]
    assert int(second["severity"]) == 3  # the model alone never reaches the legal escalation (4)
    [ev] = [e for e in second["evidence"] if e["rule"] == f"llm:{MODEL}"]
    assert ev["reason"] == "asks for photos" and ev["text"] == "great shot"
    analyzer = batch["analyzers"]["comments"]
    assert analyzer["stages"] == STAGES
    assert analyzer["llm"]["asked"] == 2 and analyzer["llm"]["escalated"] == 1
    assert analyzer["llm"]["prompt"] == "innuendo-v1" and analyzer["llm"]["input_tokens"] == 1200
    # the model's reason never travelled in the execution state: the results were staged, not inline
    assert batch["results"].get("key")
    published = dict(runner.published()).get(up.key, b"")
    assert b"lovely photo" in published and b"great shot" not in published
    # the handlers logged the stage (counts and codes), never a comment nor the model's reason
    logs = log_path.read_text()
    assert '"message":"llm stage"' in logs and '"escalated":1' in logs
    assert "great shot" not in logs and "asks for photos" not in logs and "lovely photo" not in logs


def test_a_bedrock_failure_fails_closed(runner: Runner, bedrock: Stubber, tmp_path: Path) -> None:
    bedrock.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    up = runner.upload(_batch(tmp_path), "comments/llm-post-2/b.jsonl")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    bedrock.assert_no_pending_responses()
    batch, records = _items(runner, up.key)
    assert [(r["verdict"], r["reasons"][0]["code"]) for r in records] == [("review", "llm_unavailable")] * 2
    assert all(r["stages"] == STAGES and "throttled" in r["reasons"][0]["message"] for r in records)
    assert batch["verdict"] == "review" and batch["analyzers"]["comments"]["llm"]["failed_calls"] == 1
    assert up.key not in dict(runner.published())


def test_the_emulated_stack_refuses_the_llm_without_a_stub(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match="moto has no Converse"):
        EmulatedStack(ROOT, parameters={"CommentsLLM": MODEL})
    from tutela_dev.cli import main

    batch = _batch(tmp_path)
    assert main(["local", "run", str(batch), "--out", str(tmp_path / "out"), "--comments-llm", MODEL]) == 2
