"""Importing writers' training files (train.py --sync): valid lines only, exact duplicates dropped."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"


def _train(monkeypatch: pytest.MonkeyPatch, train_dir: Path) -> ModuleType:
    monkeypatch.syspath_prepend(str(EVAL))
    spec = importlib.util.spec_from_file_location("train_under_test", EVAL / "train.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod.learn, "TRAIN_DIR", train_dir)
    return mod


def test_sync_keeps_valid_lines_and_drops_exact_duplicates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    train_dir = tmp_path / "train"
    (train_dir / "old").mkdir(parents=True)
    known = {"text": "seen before", "labels": [], "minor_context": True}
    (train_dir / "old" / "part01.jsonl").write_text(json.dumps(known) + "\n", encoding="utf-8")
    src = tmp_path / "incoming" / "newwriter"
    src.mkdir(parents=True)
    lines = [
        json.dumps({"text": "what school u go to", "labels": ["locating_minor"], "minor_context": True}),
        json.dumps({"text": "what school u go to", "labels": ["locating_minor"], "minor_context": True}),
        json.dumps(known),  # already in another writer's files
        json.dumps({"text": "what school u go to", "labels": ["locating_minor"], "minor_context": False}),
        json.dumps({"text": "x", "labels": ["not_a_category"]}),
        json.dumps({"text": 5, "labels": []}),
        json.dumps({"text": "ok", "labels": [], "minor_context": "yes"}),
        "{not json",
        "",
    ]
    (src / "part01.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    train = _train(monkeypatch, train_dir)
    train.sync(tmp_path / "incoming")
    out = (train_dir / "newwriter" / "part01.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["minor_context"] for x in out] == [True, False]
    train.sync(
        tmp_path / "incoming"
    )  # importing the same file again replaces it, it is not its own duplicate
    assert (train_dir / "newwriter" / "part01.jsonl").read_text(encoding="utf-8").splitlines() == out
