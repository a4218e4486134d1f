from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutela.cli import main


def test_cli_single(corpus: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "clean.jpg"
    assert main(["scrub", str(corpus["baseline.jpg"]), str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert out.exists() and report["verified"] and "exif.gps" in report["removed"]


def test_cli_unsupported_and_corrupt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    txt = tmp_path / "notes.jpg"  # the extension lies
    txt.write_text("definitely not a jpeg, just text")
    out = tmp_path / "o.jpg"
    assert main(["scrub", str(txt), str(out)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unsupported" in err
    assert not out.exists()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00II*\x00" + b"\x00" * 20)
    assert main(["scrub", str(bad), str(out)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupt_media" in err
    assert not out.exists()


def test_cli_batch(corpus: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    names = ["image.png", "video.mov", "image.heic"]
    rc = main(["scrub", *(str(corpus[n]) for n in names), str(bad), "--out-dir", str(tmp_path / "out")])
    assert rc == 1  # one failure
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4
    assert all(x["verified"] for x in lines[:3]) and lines[3]["output"] is None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)


def test_cli_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scrub", "a", "b", "c"]) == 2
