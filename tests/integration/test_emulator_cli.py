"""Issue #2's acceptance run, through the real CLI:
`tutela local run a.jpg a.jpg thread.jsonl notes.exe`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tutela.scrub import find_location
from tutela_dev.cli import main
from tutela_dev.emulator import samples

pytestmark = pytest.mark.integration


def test_emulator_run_acceptance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = samples.photo(tmp_path / "a.jpg", (640, 480))
    thread = samples.thread(tmp_path / "thread.jsonl")
    notes = samples.unsupported(tmp_path / "notes.exe")
    post = samples.post(tmp_path / "post.json")  # the post's own text: a child declared, precise coordinates
    out = tmp_path / "out"
    args = [str(a), str(a), str(thread), str(notes), str(post)]
    assert main(["local", "run", *args, "--out", str(out)]) == 0
    lines = [json.loads(x) for x in (out / "decisions.jsonl").read_text().splitlines()]
    by_key: dict[str, list[dict]] = {}
    for line in lines:
        by_key.setdefault(line["key"], []).append(line)

    [photo] = by_key["media/local/a.jpg"]  # named twice, delivered twice, decided once
    assert photo["verdict"] == "allow" and "exif.gps" in photo["removed"]
    published = out / "published" / "media/local/a.jpg"
    assert find_location(published) == []
    if shutil.which("exiftool"):  # the independent oracle
        tags = json.loads(
            subprocess.run(
                ["exiftool", "-j", "-G1", "-a", str(published)], capture_output=True, text=True, check=True
            ).stdout
        )[0]
        assert not [t for t in tags if "GPS" in t], tags

    comments = {c["comment_id"]: c for c in by_key["comments/local/thread.jsonl"]}
    assert "grooming" in comments["c3"]["reasons"] and comments["c3"]["verdict"] != "allow"

    [exe] = by_key["media/local/notes.exe"]
    assert exe["verdict"] == "review" and exe["reasons"] == ["unsupported_media"]
    assert not (out / "published" / "media/local/notes.exe").exists()

    [text] = by_key["posts/local/post.json"]  # .json is a post, keyed posts/local/<name>
    assert text["kind"] == "post" and text["verdict"] == "review"
    assert {"minor_declared", "location_risk_minor"} <= set(text["reasons"])
    assert not (out / "published" / "posts/local/post.json").exists()
    assert photo["reevaluated"]["minor"] == "likely"  # the earlier photo, judged again with the child
    assert "Tutela decisions" in capsys.readouterr().out
