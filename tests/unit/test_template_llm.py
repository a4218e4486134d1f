"""CommentsLLM in the template: off by default with no Bedrock permission at all; on, exactly
bedrock:InvokeModel on the one foundation model the parameter names, for ClassifyComments only."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.test_template_security import FUNCTIONS, REGION, ROOT, Resolved
from tutela.aws.settings import ClassifySettings
from tutela.comments.llm import check_model_id
from tutela_dev.emulator.cfn_yaml import load_template

MODEL = "amazon.nova-micro-v1:0"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def bedrock_statements(res: Resolved, function: str) -> list[dict[str, Any]]:
    out = []
    for policy in res.props(function).get("Policies", []):
        for stmt in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = stmt.get("Action")
            if any(
                str(a).startswith("bedrock:") for a in (actions if isinstance(actions, list) else [actions])
            ):
                out.append(stmt)
    return out


def test_off_by_default_grants_nothing(raw: dict[str, Any]) -> None:
    res = Resolved(raw)
    assert raw["Parameters"]["CommentsLLM"]["Default"] == ""
    assert all(not bedrock_statements(res, f) for f in FUNCTIONS)
    env = res.props("ClassifyCommentsFunction")["Environment"]["Variables"]
    assert ClassifySettings.from_env({k: str(v) for k, v in env.items()}).llm is None


def test_on_grants_invoke_model_on_that_foundation_model_only(raw: dict[str, Any]) -> None:
    res = Resolved(raw, CommentsLLM=MODEL, CommentsLLMScope="all")
    [stmt] = bedrock_statements(res, "ClassifyCommentsFunction")
    assert stmt["Effect"] == "Allow" and stmt["Action"] == "bedrock:InvokeModel"
    assert stmt["Resource"] == f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}"
    assert all(not bedrock_statements(res, f) for f in FUNCTIONS if f != "ClassifyCommentsFunction")
    env = res.props("ClassifyCommentsFunction")["Environment"]["Variables"]
    llm = ClassifySettings.from_env({k: str(v) for k, v in env.items()}).llm
    assert llm is not None and (llm.model_id, llm.scope, llm.batch_tokens) == (MODEL, "all", 30_000)


@pytest.mark.parametrize(
    "model_id",
    [
        MODEL,
        "amazon.nova-lite-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "meta.llama3-1-8b-instruct-v1:0",
    ],
)
def test_what_the_code_accepts_the_template_accepts(raw: dict[str, Any], model_id: str) -> None:
    pattern = raw["Parameters"]["CommentsLLM"]["AllowedPattern"]
    assert check_model_id(model_id) and re.fullmatch(pattern, model_id)
    assert re.fullmatch(pattern, "") and not re.fullmatch(pattern, "nova micro")


@pytest.mark.parametrize(
    "env",
    [
        {"COMMENTS_LLM": "us.amazon.nova-micro-v1:0"},  # a profile: the grant would not cover it
        {"COMMENTS_LLM": "nova micro"},
        {"COMMENTS_LLM": MODEL, "COMMENTS_LLM_SCOPE": "adults"},
        {"COMMENTS_LLM": MODEL, "COMMENTS_LLM_BATCH_TOKENS": "10"},
    ],
)
def test_a_bad_llm_setting_is_a_deployment_fault(env: dict[str, str]) -> None:
    from tutela.aws.settings import LLMSettings
    from tutela.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        LLMSettings.from_env(env)
    assert LLMSettings.from_env({"COMMENTS_LLM": " "}) is None
