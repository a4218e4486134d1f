"""What the optional LLM stage costs per million comments asked, at the list prices of ``cost/prices.toml``.

The emulated stack has no Bedrock, so this is an estimate from the stage's real request and answer formats:
the versioned prompt, one call's user message rendered from a typical 10%-bad comment sample (the batch
``make cost`` measures), and the answer the prompt asks for. Tokens are counted as a typical tokenizer does
(``typical_tokens``: ~4 ASCII characters per token, one token per other character), not with the budget's
deliberate over-estimate; the billed numbers come back in each batch record (``analyzers.comments.llm``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tutela.comments.llm import CALL_COMMENTS, render, request_item, system_prompt

PER_MILLION = 1_000_000
REASON = "asks a child for private contact and to keep it secret"  # a typical 10-word reason


def typical_tokens(text: str) -> int:
    ascii_chars = sum(1 for ch in text if ch.isascii())
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


@dataclass(frozen=True, slots=True)
class Estimate:
    model_id: str
    name: str
    calls: int
    input_tokens: int
    output_tokens: int
    dollars: float


def per_million(
    sample: Sequence[tuple[str, bool]],
    models: Mapping[str, Mapping[str, Any]],
    *,
    comments_per_call: int = CALL_COMMENTS,
) -> list[Estimate]:
    """``sample``: (text, flagged by the model) pairs, cycled to fill one call of ``comments_per_call``."""
    batch = [sample[i % len(sample)] for i in range(comments_per_call)]
    user = render(request_item(str(n), None, text) for n, (text, _) in enumerate(batch, 1))
    answer = json.dumps(
        {
            "verdicts": [
                {"id": str(n), "verdict": "review", "categories": ["grooming"], "reason": REASON}
                if bad
                else {"id": str(n), "verdict": "allow", "categories": [], "reason": ""}
                for n, (_, bad) in enumerate(batch, 1)
            ]
        }
    )
    calls = math.ceil(PER_MILLION / comments_per_call)
    tokens_in = calls * (typical_tokens(system_prompt()) + typical_tokens(user))
    tokens_out = calls * typical_tokens(answer)
    return [
        Estimate(
            model_id,
            str(m.get("name", model_id)),
            calls,
            tokens_in,
            tokens_out,
            tokens_in / 1000 * float(m["input_per_1k"]) + tokens_out / 1000 * float(m["output_per_1k"]),
        )
        for model_id, m in models.items()
    ]


def render_table(estimates: Sequence[Estimate], date: str) -> str:
    out = [
        f"optional CommentsLLM (not metered; list prices of {date}): per million comments asked",
        f"{'model':36s} {'calls':>8s} {'input tokens':>14s} {'output tokens':>14s} {'$':>10s}",
    ]
    out.extend(
        f"{e.name[:36]:36s} {e.calls:8d} {e.input_tokens:14,d} {e.output_tokens:14,d} {e.dollars:10.2f}"
        for e in estimates
    )
    return "\n".join(out)
