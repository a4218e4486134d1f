"""``eval/comments/crossval.py --folds K``: every judged group lands in exactly one fold, folds balanced."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "eval" / "comments"))

import crossval


def _groups(sizes: dict[str, int]) -> dict[str, list[int]]:
    return {g: list(range(n)) for g, n in sizes.items()}


def test_each_group_is_judged_once_and_folds_are_balanced_by_comments() -> None:
    sizes = {"a": 900, "b": 800, "c": 400, "d": 400, "e": 300, "f": 100, "g": 100, "project": 50}
    judged = [g for g in sizes if g != "project"]
    folds = crossval.group_folds(judged, _groups(sizes), 3)
    assert len(folds) == 3
    assert sorted(g for f in folds for g in f) == sorted(judged)
    totals = [sum(sizes[g] for g in f) for f in folds]
    assert max(totals) - min(totals) <= 200  # greedy largest-first: within a small group of even
    assert folds == crossval.group_folds(list(reversed(judged)), _groups(sizes), 3)  # deterministic


def test_zero_or_too_many_folds_is_leave_one_group_out() -> None:
    sizes = {"a": 3, "b": 2}
    assert crossval.group_folds(["a", "b"], _groups(sizes), 0) == [["a"], ["b"]]
    assert crossval.group_folds(["a", "b"], _groups(sizes), 5) == [["a"], ["b"]]
