"""``eval/comments/thresholds.py``: the adult's-post cells get a false-positive budget of their own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "eval" / "comments"))

import thresholds


def _rows(ctx: bool, bad_p: np.ndarray, good_p: np.ndarray) -> list[dict[str, Any]]:
    return [
        {
            "text": "x",
            "minor_context": ctx,
            "labels": ["grooming"] if bad else [],
            "p": {"any": float(p)},
            "rules": "allow",
            "rule_cats": [],
            "rule_feats": [],
            "writer": "w",
        }
        for bad, ps in ((True, bad_p), (False, good_p))
        for p in ps
    ]


def _fp(rows: list[dict[str, Any]], th: Any) -> int:
    return sum(1 for r in rows if not r["labels"] and r["p"]["any"] >= th.review)


def test_adult_cells_spend_their_own_budget_before_the_shared_one() -> None:
    # under a child's post a false positive buys many true positives; under an adult's post few
    minor_good = np.concatenate([np.linspace(0.0, 0.4, 190), np.linspace(0.5, 0.7, 10)])
    minor = _rows(True, np.linspace(0.5, 0.99, 200), minor_good)
    adult = _rows(False, np.linspace(0.20, 0.99, 200), np.linspace(0.0, 0.95, 200))
    rows = minor + adult
    cues: tuple[str, ...] = ()
    shared = thresholds.choose(rows, 0.025, 0.95, cues, 0.03, 0.05)
    own = thresholds.choose(rows, 0.025, 0.95, cues, 0.03, 0.05, adult_fpr=0.02)
    # without a reserve the cheap cell takes the whole pooled budget (10 of 400 acceptable)
    assert _fp(adult, shared["adult"]) == 0 and _fp(minor, shared["minor"]) == 10
    # with it the adult cell spends up to 2% of its 200 acceptable comments first, the rest is shared
    assert 0 < _fp(adult, own["adult"]) <= 4
    assert own["adult"].review < shared["adult"].review
    assert _fp(adult, own["adult"]) + _fp(minor, own["minor"]) <= 0.025 * 400
