"""Chaos mode: `tutela local run FILES --out DIR --chaos SEED` on every sample kind ends with the same
verdicts, published bytes and events as a clean run, and its own audit (computed from what the bus and the
buckets received) finds nothing lost or doubled. Promise guarded: retries converge (DESIGN.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tutela_dev.cli import main
from tutela_dev.emulator.samples import write_samples

pytestmark = pytest.mark.integration
SEEDS = [3, 4]  # between them: faults before/after every step, throttles, duplicate deliveries


def _verdicts(out: Path) -> list[tuple[Any, ...]]:
    lines = [json.loads(x) for x in (out / "decisions.jsonl").read_text().splitlines()]
    return sorted((d["key"], d.get("comment_id"), d["verdict"], tuple(d["reasons"] or [])) for d in lines)


def _published(out: Path) -> dict[str, bytes]:
    root = out / "published"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _events(out: Path) -> list[tuple[str, str, str]]:
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    return sorted((e["detail-type"], e["detail"]["key"], e["detail"]["verdict"]) for e in events)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    tmp = tmp_path_factory.mktemp("chaos")
    samples = write_samples(tmp / "samples")
    out = tmp / "clean"
    assert main(["local", "run", *map(str, samples), "--out", str(out)]) == 0
    return samples, out


@pytest.mark.parametrize("seed", SEEDS)
def test_chaos_run_converges_on_the_clean_run(
    clean: tuple[list[Path], Path], tmp_path: Path, seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    samples, clean_out = clean
    capsys.readouterr()
    out = tmp_path / "chaos"
    assert main(["local", "run", *map(str, samples), "--out", str(out), "--chaos", str(seed)]) == 0
    summary = re.search(r"chaos: (\d+) faults injected, (\d+) lost, (\d+) doubled", capsys.readouterr().out)
    assert summary and int(summary[1]) > 0 and summary.groups()[1:] == ("0", "0")
    assert _verdicts(out) == _verdicts(clean_out)
    assert _published(out) == _published(clean_out) and _published(out)
    assert _events(out) == _events(clean_out) and _events(out)
    log = (out / "lambda.log").read_text()
    assert "chaos:" in log  # faults really reached the handlers


def test_chaos_is_deterministic() -> None:
    from tutela_dev.emulator.chaos import Chaos, ChaosFault

    def faults(seed: int) -> list[tuple[str, str, int, str | None, int | None]]:
        chaos, out = Chaos(seed), []
        for fn in ("ScanMediaFunction", "RecordDecisionFunction", "ActFunction"):
            for key in ("media/local/a.jpg", "comments/local/t.jsonl"):
                chaos.deliveries(key)
                for _ in range(4):
                    inv = chaos.start(fn, {"detail": {"object": {"key": key, "version-id": "random"}}})
                    out.append((fn, key, inv.attempt, inv.fault, inv.throttle_at))
                    try:
                        chaos.before(inv)
                        chaos.after(inv)
                    except ChaosFault:
                        pass
        return out

    assert faults(4) == faults(4) != faults(5)
    assert all(f[3] is None for f in faults(4) if f[2] == 4)  # the 4th attempt (MaxAttempts 3) is clean
    assert any(f[3] == "after" for f in faults(4)) and any(f[3] == "before" for f in faults(4))
