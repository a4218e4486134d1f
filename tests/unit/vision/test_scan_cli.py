from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tutela_dev.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    rc = main(["scan", *argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return rc, json.loads(out.out)


def test_scan_portrait(capsys: pytest.CaptureFixture[str], ordinary: dict[str, Path]) -> None:
    rc, out = _run(capsys, str(ordinary["astronaut"]))
    assert rc == 0
    assert out["verdict"] == "allow" and out["reasons"] == []
    assert out["faces"][0]["AgeRange"]["Low"] >= 18
    assert out["backend"]["name"] == "local" and out["policy"]
    assert {"labels", "timings_ms", "severity", "minor"} <= out.keys()


def test_scan_location_flag(capsys: pytest.CaptureFixture[str], ordinary: dict[str, Path]) -> None:
    rc, out = _run(capsys, str(ordinary["chelsea"]), "--location-found", "--compact")
    assert rc == 0 and out["verdict"] != "block"


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all, just text", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff\xff\xff"],
)
def test_hostile_input_gives_json_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    rc, out = _run(capsys, str(path))
    assert rc != 0
    assert out["error"]["code"] in {"unsupported_media", "corrupt_media", "limit_exceeded"}
    assert out["error"]["message"]


def test_missing_file_gives_json_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out = _run(capsys, str(tmp_path / "absent.jpg"))
    assert rc != 0 and out["error"]["code"] == "invalid_input"
