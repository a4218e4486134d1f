from __future__ import annotations

import json
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


def test_cli_batch_uses_a_pool_only_for_enough_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small photos are scrubbed in this process by default (a pool costs more per file than the work);
    inputs adding up to POOL_MIN_BYTES get one worker per CPU; --jobs N always gets N."""
    import multiprocessing

    from tests.hostile.media_corpus import jpeg
    from tutela_dev.cli import scrub as cli

    files = []
    for i in range(16):
        p = tmp_path / "in" / f"f{i:02d}.jpg"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(jpeg(i))
        files.append(str(p))
    pools: list[str] = []
    real = multiprocessing.get_context

    def counted(method: str | None = None) -> object:
        pools.append(str(method))
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", counted)
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    assert main(["scrub", *files, "--out-dir", str(tmp_path / "a")]) == 0
    assert pools == []  # 16 small files: no pool
    monkeypatch.setattr(cli, "POOL_MIN_BYTES", 1)
    assert main(["scrub", *files, "--out-dir", str(tmp_path / "b")]) == 0
    assert pools == ["forkserver"]
    capsys.readouterr()
