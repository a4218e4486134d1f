"""``tutela comments FILE|-``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tutela_dev.cli import main


def _write(tmp_path: Path, *lines: str) -> Path:
    p = tmp_path / "batch.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_file_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(
        tmp_path,
        json.dumps({"id": "1", "text": "so cute"}),
        json.dumps({"id": "2", "text": "加我微信 别告诉你爸妈"}, ensure_ascii=False),
    )
    assert main(["comments", str(p), "--minor-context"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == ["1", "2"]
    assert [o["verdict"] for o in out] == ["allow", "block"]
    assert out[1]["categories"] == ["grooming"]
    assert {"id", "verdict", "categories", "score", "evidence"} <= set(out[1])


def test_invalid_lines_give_error_lines_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _write(tmp_path, "{oops", json.dumps({"id": "3"}), json.dumps({"id": "4", "text": "hi"}))
    assert main(["comments", str(p), "--adult-context", "--summary"]) == 1
    cap = capsys.readouterr()
    out = [json.loads(line) for line in cap.out.splitlines()]
    assert [o.get("error") for o in out] == ["invalid JSON", "missing text", None]
    assert json.loads(cap.err)["invalid_lines"] == 2


def test_stdin_and_output_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (json.dumps({"id": "x", "text": "约炮吗"}, ensure_ascii=False) + "\n").encode() + b"\xff\xfe\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = tmp_path / "out.jsonl"
    assert main(["comments", "-", "-o", str(out)]) == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["verdict"] == "block" and rows[0]["minor_context"] is None
    assert rows[1]["verdict"] == "review" and "error" in rows[1]


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["comments", str(tmp_path / "nope.jsonl")]) == 2


def test_lone_surrogates_do_not_break_the_output(tmp_path: Path) -> None:
    p = _write(tmp_path, '{"id": "s", "text": "s3xy \\ud800 girl"}')
    out = tmp_path / "out.jsonl"
    assert main(["comments", str(p), "--minor-context", "-o", str(out)]) == 0
    (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert row["verdict"] != "allow"
    assert all("\ud800" not in e["text"] for e in row["evidence"])


def test_lone_surrogate_in_an_id(tmp_path: Path) -> None:
    """A lone surrogate is no character: no record or file could hold the id, so the line is held under the
    id's hash (the Lambda crashed on it with a UnicodeEncodeError); the CLI says so and writes valid UTF-8."""
    p = _write(tmp_path, '{"id": "\\udcff", "text": "hi"}')
    out = tmp_path / "out.jsonl"
    assert main(["comments", str(p), "-o", str(out)]) == 1
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["id"].startswith("sha256:") and row["code"] == "unsafe_id" and row["verdict"] == "review"
