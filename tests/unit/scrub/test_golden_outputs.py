"""Every output byte, report and error code is what the recorded version produced (scrub_golden.py).

Fails on any difference; skips (asking for a re-record) only when the generators no longer produce the
recorded inputs at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import scrub_fixtures as gen
import scrub_golden as golden

from tutela.scrub import api


@pytest.fixture(scope="module")
def table_and_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, bytes]]:
    if not gen.EXIFTOOL:
        pytest.skip("exiftool not installed")
    table = json.loads(golden.GOLDEN.read_text())
    files = golden.inputs(tmp_path_factory.mktemp("golden"))
    known = {n: d for n, d in files.items() if golden.key(d) in table}
    if len(known) < 0.9 * len(files):
        pytest.skip(
            f"only {len(known)}/{len(files)} generated inputs are in golden_outputs.json (generator library "
            "versions changed?): re-record with scrub_golden.py --record from the last good version"
        )
    return table, known


def _diff(table: dict[str, str], files: dict[str, bytes], run: Callable[[bytes], str]) -> list[str]:
    bad = []
    for name, data in files.items():
        got = run(data)
        if got != table[golden.key(data)]:
            bad.append(f"{name}: {table[golden.key(data)]} -> {got}")
    return bad


def test_scrub_bytes_outputs_are_unchanged(table_and_inputs: tuple[dict[str, str], dict[str, bytes]]) -> None:
    table, files = table_and_inputs
    assert _diff(table, files, golden.outcome) == []


def test_scrub_file_outputs_are_unchanged(
    table_and_inputs: tuple[dict[str, str], dict[str, bytes]], tmp_path: Path
) -> None:
    table, files = table_and_inputs
    assert _diff(table, files, lambda d: golden.outcome(d, tmp_path)) == []


def test_spliced_outputs_are_unchanged(
    table_and_inputs: tuple[dict[str, str], dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JPEGs verified and written spliced (header + the input's scan bytes, spliced.py) at every size."""
    table, files = table_and_inputs
    monkeypatch.setattr(api, "SPLICE_MIN", 0)
    assert _diff(table, files, lambda d: golden.outcome(d, tmp_path)) == []


def test_streamed_outputs_are_unchanged(
    table_and_inputs: tuple[dict[str, str], dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The big-file path (range copies, the output re-read from disk) gives the same bytes."""
    table, files = table_and_inputs
    monkeypatch.setattr(api, "IN_MEMORY_MAX", 0)
    originals = {n: d for n, d in files.items() if "~" not in n or n.endswith(("~0", "~1"))}
    assert _diff(table, originals, lambda d: golden.outcome(d, tmp_path)) == []
