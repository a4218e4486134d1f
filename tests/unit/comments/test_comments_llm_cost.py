"""The LLM stage's cost estimate: real prompt and formats, list prices from cost/prices.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tutela.comments.llm import system_prompt
from tutela_dev.emulator.llm_cost import per_million, render_table, typical_tokens

ROOT = Path(__file__).resolve().parents[3]
PRICES = tomllib.loads((ROOT / "cost" / "prices.toml").read_text())
SAMPLE = [("lovely photo", False)] * 9 + [("how old r u? add me on snap", True)]


def test_every_priced_model_is_dated_and_priced_per_token_direction() -> None:
    bedrock = PRICES["bedrock"]
    assert bedrock["date"] and len(bedrock["models"]) >= 2
    for m in bedrock["models"].values():
        assert 0 < m["input_per_1k"] < m["output_per_1k"] < 0.1 and m["name"]


def test_the_estimate_follows_calls_tokens_and_prices() -> None:
    models = {"m": {"name": "M", "input_per_1k": 0.001, "output_per_1k": 0.004}}
    [e] = per_million(SAMPLE, models, comments_per_call=25)
    assert e.calls == 40_000 and e.input_tokens > e.calls * typical_tokens(system_prompt())
    assert abs(e.dollars - (e.input_tokens * 0.001 + e.output_tokens * 0.004) / 1000) < 1e-9
    [bigger] = per_million(SAMPLE, models, comments_per_call=50)
    assert bigger.input_tokens < e.input_tokens  # the prompt is paid once per call
    [flagged] = per_million([(t, True) for t, _ in SAMPLE], models)
    assert flagged.output_tokens > e.output_tokens  # reasons cost output tokens
    assert "M" in render_table([e], "2026-12-01")


def test_typical_tokens() -> None:
    assert typical_tokens("abcd" * 10) == 10 and typical_tokens("好可爱") == 3


def test_make_cost_refuses_the_llm_parameter_clearly(tmp_path: Path) -> None:
    """The metered run has no Bedrock: `--param CommentsLLM=...` is refused with the reason, no traceback."""
    from tutela_dev.emulator.cost import main

    assert (
        main(["--root", str(ROOT), "--work", str(tmp_path), "--param", "CommentsLLM=amazon.nova-micro-v1:0"])
        == 2
    )
