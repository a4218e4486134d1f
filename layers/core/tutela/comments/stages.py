"""Which stages judged a comment batch, and whether its results may travel in the execution state.

Apart from :mod:`tutela.comments.llm` so that ClassifyComments, which asks both on every request, loads the
LLM stage's code (prompts, answer validation, Bedrock) only when that stage is configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tutela.comments.lexicon import Lexicon


def base_stages(lexicon: Lexicon) -> list[str]:
    """The stages every comment went through before this one."""
    return ["rules", "model"] if lexicon.model is not None else ["rules"]


def carries_model_text(results: Iterable[Mapping[str, Any]]) -> bool:
    """Does any result hold a model's reason? Such results never travel in the execution state (the
    state carries verdicts, never what a child was told, and a reason may quote it): they are staged."""
    return any("reason" in e for r in results if r.get("llm") for e in r.get("evidence") or [])
