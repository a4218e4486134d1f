from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutela_dev.cli import main


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


def test_cli_batch_jobs_keep_input_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Worker processes change nothing but speed: same lines, same order, same files, same exit code."""
    from tests.hostile.media_corpus import jpeg, png

    files = []
    for i in range(24):  # >= 8 per worker: the pool is really used
        p = tmp_path / "in" / f"f{i:02d}.{'jpg' if i % 3 else 'png'}"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"junk" if i == 5 else (jpeg(i) if i % 3 else png(i)))
        files.append(str(p))
    runs = []
    for jobs in ("1", "3"):
        out = tmp_path / f"out{jobs}"
        rc = main(["scrub", *files, "--out-dir", str(out), "--jobs", jobs])
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        runs.append((rc, [(x["input"], x.get("error"), x.get("removed")) for x in lines]))
        assert [Path(x["input"]).name for x in lines] == [Path(f).name for f in files]
    assert runs[0] == runs[1] and runs[0][0] == 1
    assert (tmp_path / "out1" / "f01.jpg").read_bytes() == (tmp_path / "out3" / "f01.jpg").read_bytes()


def _in_fresh_process(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Fork tests run in a fresh interpreter: this test process may have threads (a fork copies their
    locks), which the CLI itself refuses to fork under."""
    root = Path(__file__).resolve().parents[3]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "layers/core"), str(root / "dev"), str(root)]),
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def _jpegs(tmp_path: Path, n: int) -> list[str]:
    from tests.hostile.media_corpus import jpeg

    files = []
    for i in range(n):
        p = tmp_path / "in" / f"f{i:02d}.jpg"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(jpeg(i))
        files.append(str(p))
    return files


def test_cli_batch_forks_workers_only_for_enough_files(tmp_path: Path) -> None:
    """A few files are scrubbed in this process; FORK_MIN_FILES or more get one forked worker per CPU;
    --jobs N always gets N. The output is the same either way."""
    from tutela_dev.cli.scrub import FORK_MIN_FILES

    files = _jpegs(tmp_path, FORK_MIN_FILES)
    code = f"""
import json, os, sys
from tutela_dev.cli import main, scrub as cli
forks = []
real = os.fork
def counted():
    forks.append(1)
    return real()
cli.os.fork = counted
cli._idle_cpus = lambda: 2
files = {files!r}
for i, (args, n) in enumerate(((files[:-1], 0), (files, 2), ([*files[:3], "--jobs", "3"], 3))):
    forks.clear()
    with open(f"out{{i}}.jsonl", "w") as sys.stdout:
        rc = main(["scrub", *args, "--out-dir", f"dir{{i}}"])
    sys.stdout = sys.__stdout__
    assert rc == 0 and len(forks) == n, (i, rc, forks)
"""
    res = _in_fresh_process(code, tmp_path)
    assert res.returncode == 0, res.stderr
    outs = [[json.loads(x) for x in (tmp_path / f"out{i}.jsonl").read_text().splitlines()] for i in range(3)]
    assert [x["input"] for x in outs[1]] == files
    assert [x["removed"] for x in outs[1][:3]] == [x["removed"] for x in outs[2]]
    assert [x["removed"] for x in outs[0]] == [x["removed"] for x in outs[1][:-1]]
    assert all(x["verified"] for x in outs[1])


def test_cli_batch_reports_a_dead_worker_per_file(tmp_path: Path) -> None:
    """A worker that dies mid-batch: each of its remaining inputs gets an error line; the others are
    scrubbed; exit 1."""
    files = _jpegs(tmp_path, 10)
    code = f"""
import os, sys
from tutela_dev.cli import main, scrub as cli
real = cli._job
def dies_on_f05(src, dst, limits):
    if src.endswith("f05.jpg"):
        os._exit(3)
    return real(src, dst, limits)
cli._job = dies_on_f05
sys.exit(main(["scrub", *{files!r}, "--out-dir", "out", "--jobs", "2"]))
"""
    res = _in_fresh_process(code, tmp_path)
    assert res.returncode == 1
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [x["input"] for x in lines] == files
    dead = [x["input"][-7:] for x in lines if x.get("error")]
    assert dead == ["f05.jpg", "f07.jpg", "f09.jpg"]  # worker 1 had f01, f03, then died at f05
    assert res.stderr.count("worker stopped") == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"f0{i}.jpg" for i in (0, 1, 2, 3, 4, 6, 8)
    ]


def test_auto_workers_are_the_idle_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    from tutela_dev.cli import scrub as cli

    monkeypatch.setattr(cli, "_cpus", lambda: 2)
    for load, want in ((0.0, 2), (1.0, 2), (2.0, 1), (6.7, 1)):
        monkeypatch.setattr(cli.os, "getloadavg", lambda load=load: (load, load, load))
        assert cli._idle_cpus() == want, load
