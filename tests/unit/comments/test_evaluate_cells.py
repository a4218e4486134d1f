"""The evaluation script's tables: the issue asks for the worst (language, category, evasion) cells."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"


def test_worst_cells_by_language_category_and_evasion(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(EVAL))
    sys.modules.pop("evaluate", None)
    import evaluate

    f = tmp_path / "set.jsonl"
    f.write_text(
        "\n".join(
            [
                '{"text": "a", "labels": ["grooming"], "lang": "en", "style": "tiktok", "evasion": "leet"}',
                '{"text": "b", "labels": ["grooming"], "lang": "en", "style": "tiktok", "evasion": "emoji"}',
                '{"text": "c", "labels": ["grooming"], "lang": "en", "style": "ig", "evasion": "none"}',
                '{"text": "d", "labels": ["grooming"], "lang": "en", "style": "ig"}',
                '{"text": "e", "labels": [], "lang": "en", "style": "ig", "evasion": "none"}',
            ]
        ),
        encoding="utf-8",
    )
    rows = evaluate.read_rows([f])
    assert [r["evasion"] for r in rows] == ["evaded", "evaded", "plain", "plain", "plain"]
    verdicts = ["allow", "block", "review", "review", "allow"]
    s = evaluate.score(rows, [{"verdict": v} for v in verdicts])
    ranked = evaluate.worst_cells(s["evasion_cells"], 2)
    assert [(k, c["flagged"], c["blocked"], c["bad"]) for k, c in ranked] == [
        (("en", "grooming", "evaded"), 1, 1, 2),
        (("en", "grooming", "plain"), 2, 0, 2),
    ]
    assert s["groups"]["evasion"]["plain"]["good"] == 1
    assert evaluate.summary(s)["evasion"]["evaded"]["recall"] == 0.5


def test_rows_without_an_evasion_are_unknown_not_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """thresholds.py reports on learn.load_rows' rows, which record no evasion: they are counted as unknown
    ("?"), never as plain, and left out of the worst-evasion table."""
    monkeypatch.syspath_prepend(str(EVAL))
    sys.modules.pop("evaluate", None)
    import evaluate

    rows = [{"text": "a", "labels": ["grooming"], "minor_context": None, "lang": "en", "style": "x"}]
    s = evaluate.score(rows, [{"verdict": "review"}])
    assert set(s["groups"]["evasion"]) == {"?"}
