"""The hostile media corpus through the scrub and scan domain and CLIs: per file a clear error or verdict,
bounded time and memory, the expected outcome class, and no location in anything that would be published
(exiftool on the outputs and on every JPEG carved out of them is the independent oracle)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.exiftool_oracle import location_tags
from tests.hostile.media_corpus import HELD, OK, Case, generate

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 10.0  # per file, scrub + scan
RSS_MB = 400.0  # per file, above the warm baseline
ERROR_CODES = {"corrupt_media", "limit_exceeded", "unsupported_media", "verification_failed"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "core"), str(ROOT / "dev"), str(ROOT)])
    return env


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Case], Path]:
    d = tmp_path_factory.mktemp("hostile-media")
    return generate(d / "in"), d


@pytest.fixture(scope="module")
def results(corpus: tuple[list[Case], Path]) -> dict[str, dict[str, Any]]:
    _cases, d = corpus
    proc = subprocess.run(
        [sys.executable, "-m", "tests.hostile.run_media", str(d / "in"), str(d / "out")],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    return {r["name"]: r for r in rows}


def test_corpus_is_big_deterministic_and_covers_every_format(
    corpus: tuple[list[Case], Path], tmp_path: Path
) -> None:
    cases, _ = corpus
    assert len(cases) >= 60
    assert {c.expect for c in cases} == {OK, HELD}
    exts = {c.path.suffix for c in cases}
    assert {".jpg", ".png", ".webp", ".tif", ".mp4"} <= exts
    again = generate(tmp_path)
    assert [(c.name, c.path.read_bytes()) for c in again] == [(c.name, c.path.read_bytes()) for c in cases]


def _outcome(row: dict[str, Any]) -> str:
    return HELD if "error" in row["scrub"] or "error" in row["scan"] else OK


@pytest.mark.timeout(300)
def test_every_file_gets_a_clear_outcome_in_bounded_time_and_memory(
    corpus: tuple[list[Case], Path], results: dict[str, dict[str, Any]]
) -> None:
    cases, _ = corpus
    problems = []
    for c in cases:
        row = results[c.name]
        for step in ("scrub", "scan"):
            err = row[step].get("error")
            if err is not None and err not in ERROR_CODES:
                problems.append(f"{c.name}: {step} {err} {row[step].get('message')}")
        if _outcome(row) != c.expect:
            problems.append(f"{c.name}: expected {c.expect}, got {_outcome(row)} ({c.why})")
        if row["seconds"] > SECONDS:
            problems.append(f"{c.name}: {row['seconds']} s")
        if row["rss_mb"] > RSS_MB:
            problems.append(f"{c.name}: peak memory +{row['rss_mb']} MB")
        if c.expect == OK:
            scan_frames, scrub_frames = row["scan"].get("frames"), row["scrub"].get("frames")
            if c.frames is not None and (scan_frames, scrub_frames) != (c.frames, c.frames):
                problems.append(f"{c.name}: frames scan={scan_frames} scrub={scrub_frames}, want {c.frames}")
            if not row["scrub"].get("verified"):
                problems.append(f"{c.name}: scrub not verified")
    assert problems == []


@pytest.mark.timeout(180)
def test_nothing_published_carries_location(
    corpus: tuple[list[Case], Path], results: dict[str, dict[str, Any]]
) -> None:
    """exiftool -ee on every output that would be published, and on every JPEG carved out of it."""
    from tutela.scrub import find_location
    from tutela.scrub.core import BytesReader
    from tutela.scrub.verify import carve_location

    if not shutil.which("exiftool"):
        pytest.skip("exiftool not installed")
    cases, d = corpus
    outs = [d / "out" / c.name for c in cases if c.expect == OK]
    carved_dir = d / "carved"
    carved_dir.mkdir(exist_ok=True)
    files = list(outs)
    for out in outs:
        data = out.read_bytes()
        assert carve_location(BytesReader(data)) == [], out.name
        assert find_location(out) == [], out.name
        start = 1
        while (i := data.find(b"\xff\xd8\xff", start)) >= 0:
            piece = carved_dir / f"{out.name}.at{i}.jpg"
            piece.write_bytes(data[i:])
            files.append(piece)
            start = i + 1
    assert location_tags(files) == {}


def test_inputs_did_carry_location_for_the_oracle_to_miss(corpus: tuple[list[Case], Path]) -> None:
    """The oracle is not vacuous: exiftool (with carving) finds the location in the raw inputs."""
    if not shutil.which("exiftool"):
        pytest.skip("exiftool not installed")
    cases, _ = corpus
    probe = [c.path for c in cases if c.name in ("jpeg_gps.jpg", "tiff_gps.tif", "webp_exif_gps.webp")]
    hits = location_tags(probe)  # the same oracle the published bytes are checked with
    assert len(hits) == 3 and all(any("GPSLatitude" in k for k in tags) for tags in hits.values())


@pytest.mark.timeout(300)
def test_clis_give_a_clear_result_per_file(corpus: tuple[list[Case], Path], tmp_path: Path) -> None:
    cases, _d = corpus
    files = [str(c.path) for c in cases]
    cli = [sys.executable, "-c", "import sys; from tutela_dev.cli import main; sys.exit(main())"]
    scrub = subprocess.run(
        [*cli, "scrub", *files, "--out-dir", str(tmp_path / "cli-out")],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    scan = subprocess.run(
        [*cli, "scan", *files], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240
    )
    for proc in (scrub, scan):
        assert "Traceback" not in proc.stderr
        assert proc.returncode == (1 if proc is scrub else 3)  # some files are refused, none crash
    scrub_rows = {Path(r["input"]).name: r for r in map(json.loads, scrub.stdout.splitlines())}
    scan_rows = {Path(r["file"]).name: r for r in map(json.loads, scan.stdout.splitlines())}
    assert set(scrub_rows) == set(scan_rows) == {c.name for c in cases}
    for c in cases:
        s, v = scrub_rows[c.name], scan_rows[c.name]
        held = "error" in s or "error" in v
        assert held == (c.expect == HELD), (c.name, s.get("error"), v.get("error"))
        if "error" in v:
            assert v["error"]["code"] in ERROR_CODES
        else:
            assert v["verdict"] in ("allow", "review", "block") and v["frames"] >= 1
        if "error" in s:
            assert s["error"].split(":")[0] in ERROR_CODES and s["output"] is None
