"""Reviewer feedback -> training rows: the pure join, the CLI on a decisions.jsonl and on the table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from tests.conftest import create_decisions_table
from tutela.comments.feedback import comment_texts, review_outcomes, training_rows
from tutela_dev.cli import main

KEY = "comments/p1/b1.jsonl"
MACHINE = [
    {
        "kind": "comment",
        "key": KEY,
        "comment_id": "c1",
        "verdict": "review",
        "categories": ["grooming"],
        "minor_context": True,
    },
    {
        "kind": "comment",
        "key": KEY,
        "comment_id": "c2",
        "verdict": "review",
        "categories": ["grooming"],
        "minor_context": True,
    },
    {
        "kind": "comment",
        "key": KEY,
        "comment_id": "c3",
        "verdict": "allow",
        "categories": [],
        "minor_context": False,
    },
]
REVIEWS = [
    # c1: the reviewer confirmed, with the machine's category; c2: a false positive (allowed)
    {
        "kind": "comment_review",
        "key": KEY,
        "comment_id": "c1",
        "outcome": "block",
        "reviewed_at": "2026-12-01T10",
    },
    {
        "kind": "comment_review",
        "key": KEY,
        "comment_id": "c2",
        "outcome": "review",
        "reviewed_at": "2026-12-01T09",
        "categories": ["grooming"],
    },
    {
        "kind": "comment_review",
        "key": KEY,
        "comment_id": "c2",
        "outcome": "allow",
        "reviewed_at": "2026-12-01T11",
    },
    # c3: a miss found by a reviewer, with its own category
    {
        "kind": "comment",
        "key": KEY,
        "comment_id": "c3",
        "review": {"outcome": "review", "categories": ["solicitation"]},
    },
    {"kind": "comment_review", "key": KEY, "comment_id": "c9", "outcome": "maybe"},  # not a verdict: ignored
]
BATCH = [
    json.dumps({"id": "c1", "text": "what school u at? add my snap"}),
    json.dumps({"id": "c2", "text": "call me later sis"}),
    json.dumps({"id": "c3", "text": "dm me for a good time 😏"}),
    "not json",
]


def test_outcomes_join_texts_into_training_rows() -> None:
    outcomes = review_outcomes([*MACHINE, *REVIEWS])
    assert [(o.comment_id, o.verdict) for o in outcomes] == [
        ("c1", "block"),
        ("c2", "allow"),
        ("c3", "review"),
    ]
    rows, missing = training_rows(outcomes, comment_texts(BATCH, "b1.jsonl"))
    assert missing == 0
    by_text = {r["text"]: r for r in rows}
    assert by_text["what school u at? add my snap"]["labels"] == ["grooming"]  # machine's category
    assert by_text["call me later sis"]["labels"] == []  # the latest outcome: a false positive
    assert by_text["dm me for a good time 😏"]["labels"] == ["solicitation"]
    assert by_text["call me later sis"]["minor_context"] is True
    assert all(r["style"] == "review" and r["lang"] == "en" for r in rows)


def test_outcomes_without_text_are_counted_not_invented() -> None:
    rows, missing = training_rows(review_outcomes(REVIEWS[:1]), {})
    assert rows == [] and missing == 1


def _write(tmp_path: Path, name: str, lines: list[Any]) -> Path:
    p = tmp_path / name
    p.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8"
    )
    return p


def test_cli_reads_a_decisions_file(tmp_path: Path) -> None:
    decisions = _write(tmp_path, "decisions.jsonl", [*MACHINE, *REVIEWS])
    batch = _write(tmp_path, "b1.jsonl", BATCH)
    out = tmp_path / "labels.jsonl"
    rc = main(
        ["comments", "export-labels", "--decisions", str(decisions), "--comments", str(batch), "-o", str(out)]
    )
    assert rc == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 and {tuple(r["labels"]) for r in rows} == {("grooming",), (), ("solicitation",)}


def test_cli_exit_code_when_texts_are_missing(tmp_path: Path) -> None:
    decisions = _write(tmp_path, "decisions.jsonl", [*MACHINE, *REVIEWS])
    assert main(["comments", "export-labels", "--decisions", str(decisions), "-o", str(tmp_path / "o")]) == 1
    assert main(["comments", "export-labels", "--decisions", str(tmp_path / "absent.jsonl")]) == 2


def test_cli_scans_the_decisions_table(aws: None, template: dict[str, Any], tmp_path: Path) -> None:
    name = create_decisions_table(boto3.client("dynamodb"), template)
    table = boto3.resource("dynamodb").Table(name)
    for i, item in enumerate([*MACHINE, *REVIEWS]):
        table.put_item(Item={"pk": f"obj#b/{KEY}", "sk": f"v#1#c#{item['comment_id']}#{i}", **item})
    table.put_item(Item={"pk": "obj#b/media/x.jpg", "sk": "v#1", "kind": "media", "verdict": "allow"})
    batch = _write(tmp_path, "b1.jsonl", BATCH)
    out = tmp_path / "labels.jsonl"
    assert (
        main(["comments", "export-labels", "--table", name, "--comments", str(tmp_path), "-o", str(out)]) == 0
    )
    assert batch.exists() and len(out.read_text(encoding="utf-8").splitlines()) == 3


def test_training_script_accepts_exported_rows(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "train", Path(__file__).resolve().parents[3] / "eval" / "comments" / "train.py"
    )
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    rows_file = _write(
        tmp_path,
        "labels.jsonl",
        [{"text": "call me later sis", "labels": [], "minor_context": True, "style": "review"}],
    )
    rows = train.load_rows([rows_file], "reviewers")
    assert rows == [
        {
            "text": "call me later sis",
            "labels": [],
            "minor_context": True,
            "lang": "?",
            "style": "review",
            "writer": "reviewers",
        }
    ]
