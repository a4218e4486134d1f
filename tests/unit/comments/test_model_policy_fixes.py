"""What the learned stage may and may not do to the rules stage (issue 11, policy after round-3 scoring)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tutela.comments import classify_lines, classify_text

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("dancing without clothes", True),  # explicit words under a child's post: never vetoed
        ("take off your clothes", None),
        ("hey cutie how old are you? add me on snap, don't tell your parents", False),  # secrecy: any post
        ("don't tell your mom about our chats", False),
    ],
)
def test_the_model_cannot_veto_explicit_words_near_a_child_or_secrecy_anywhere(
    text: str, context: bool | None
) -> None:
    assert classify_text(text, minor_context=context)["verdict"] != "allow"


def test_reported_speech_of_a_secrecy_cue_stays_vetoable() -> None:
    r = classify_text("groomers often say 'don't tell your parents', watch out", minor_context=True)
    assert r["verdict"] == "allow"


def test_a_block_by_the_learned_stage_alone_never_reaches_the_legal_escalation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Severity 4 (critical: escalated for legal reporting) needs the rules stage's explicit terms or a
    human; over the whole labelled corpus, no model-only block carries it."""
    monkeypatch.syspath_prepend(str(EVAL))
    sys.modules.pop("evaluate", None)
    import evaluate

    model_only = 0
    for f in sorted(EVAL.rglob("*.jsonl")):
        rows = evaluate.read_rows([f])
        by_ctx: dict[object, list[str]] = {}
        for r in rows:
            by_ctx.setdefault(r["minor_context"], []).append(r["text"])
        for ctx, texts in by_ctx.items():
            lines = [json.dumps({"id": str(i), "text": t}, ensure_ascii=False) for i, t in enumerate(texts)]
            for res in classify_lines(lines, minor_context=ctx):  # type: ignore[arg-type]
                rules = {e["rule"] for e in res["evidence"]}
                if res["verdict"] == "block" and rules and all(r.startswith("model:") for r in rules):
                    model_only += 1
                    assert res["severity"] <= 3, res["evidence"]
    assert model_only > 100  # the promise is exercised, not vacuous
