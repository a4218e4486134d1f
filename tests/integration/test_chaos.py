"""Chaos mode: `tutela local run FILES --out DIR --chaos SEED` on every sample kind ends with the same
verdicts, published bytes and events as a clean run, and its own audit (computed from what the bus and the
buckets received) finds nothing lost or doubled. Promise guarded: retries converge (DESIGN.md)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tutela_dev.cli import main
from tutela_dev.emulator.samples import write_samples

pytestmark = pytest.mark.integration
# classic 3 and 4: between them, faults before/after every step, throttles, duplicate deliveries; writes 3:
# crashes right after Act's PutEvents and RecordDecision's BatchWriteItem/PutItem, and lost responses.
# TUTELA_CHAOS_SWEEP=1 runs seeds 1-5 of both families. Which write-fault kinds a seed fires is its own
# draw (writes 1 fires only lost responses, 7 of them, with or without the variable): each run checks that
# the kinds it fired reached the handlers; BOTH_KINDS is the seed whose run must fire both (a change of the
# draws that loses one fails there, not at whichever seed of the sweep happens to draw one kind).
SEEDS = (
    [(mode, seed) for mode in ("classic", "writes") for seed in range(1, 6)]
    if os.environ.get("TUTELA_CHAOS_SWEEP") == "1"
    else [("classic", 3), ("classic", 4), ("writes", 3)]
)
BOTH_KINDS = ("writes", 3)


def _verdicts(out: Path) -> list[tuple[Any, ...]]:
    lines = [json.loads(x) for x in (out / "decisions.jsonl").read_text().splitlines()]
    return sorted((d["key"], d.get("comment_id"), d["verdict"], tuple(d["reasons"] or [])) for d in lines)


def _published(out: Path) -> dict[str, bytes]:
    root = out / "published"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _events(out: Path) -> list[tuple[str, str, str]]:
    """What the platform acts on: one per event_id (a consumer drops a copy with an id it has seen)."""
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    unique = {e["detail"]["event_id"]: e for e in events}.values()
    return sorted((e["detail-type"], e["detail"]["key"], e["detail"]["verdict"]) for e in unique)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    tmp = tmp_path_factory.mktemp("chaos")
    samples = write_samples(tmp / "samples")
    out = tmp / "clean"
    assert main(["local", "run", *map(str, samples), "--out", str(out)]) == 0
    return samples, out


@pytest.mark.parametrize(("mode", "seed"), SEEDS)
def test_chaos_run_converges_on_the_clean_run(
    clean: tuple[list[Path], Path], tmp_path: Path, mode: str, seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Promise: retries converge, before *and after* a step's side effects (mode "writes": the invocation
    dies, or loses the response, right after one of its S3/DynamoDB/EventBridge writes)."""
    samples, clean_out = clean
    capsys.readouterr()
    out = tmp_path / "chaos"
    args = ["--chaos", str(seed), "--chaos-mode", mode]
    assert main(["local", "run", *map(str, samples), "--out", str(out), *args]) == 0
    printed = capsys.readouterr().out
    summary = re.search(r"chaos: (\d+) faults injected, (\d+) lost, (\d+) doubled, (\d+) repeated", printed)
    assert summary and int(summary[1]) > 0 and summary.groups()[1:3] == ("0", "0")
    fired = re.search(r"chaos faults: (.*)", printed)
    kinds = {k: int(n) for k, n in re.findall(r"(\w+) (\d+)", fired[1])} if fired else {}
    if mode == "classic":  # whole-step faults never repeat an event; only a crash right after PutEvents can
        assert summary[4] == "0"
    assert _verdicts(out) == _verdicts(clean_out)
    assert _published(out) == _published(clean_out) and _published(out)
    assert _events(out) == _events(clean_out) and _events(out)
    log = (out / "lambda.log").read_text()
    assert "chaos:" in log  # faults really reached the handlers
    if mode == "writes":
        # write faults fired, and every kind the harness counts is one the handlers met (and only those)
        assert kinds.get("crash", 0) + kinds.get("lost", 0) > 0, kinds
        assert ("died after write" in log) == ("crash" in kinds), kinds
        assert ("response lost" in log) == ("lost" in kinds), kinds
        if (mode, seed) == BOTH_KINDS:
            assert "crash" in kinds and "lost" in kinds, kinds


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
    assert Chaos(4, mode="writes")._rng("x").random() != Chaos(4)._rng("x").random()  # a second family
    assert all(f[3] is None for f in faults(4) if f[2] == 4)  # the 4th attempt (MaxAttempts 3) is clean
    assert any(f[3] == "after" for f in faults(4)) and any(f[3] == "before" for f in faults(4))


def test_the_sweep_cuts_each_kind_of_object_after_each_write_in_turn() -> None:
    from tutela_dev.emulator.chaos import SWEEP_DEPTH, Chaos

    chaos = Chaos(1, mode="sweep")
    plan = []
    for i in range(2 * SWEEP_DEPTH):
        for key in (f"media/p{i}/a.jpg", f"comments/p{i}/b.jsonl"):
            inv = chaos.start("ActFunction", {"detail": {"object": {"key": key}}})
            plan.append((key.split("/")[0], inv.write_at, inv.fault))
            chaos.end()
            assert chaos.start("ActFunction", {"detail": {"object": {"key": key}}}).fault is None  # retry
            chaos.end()
    for kind in ("media", "comments"):
        cuts = [(n, f) for k, n, f in plan if k == kind]
        assert sorted(cuts) == sorted((n, f) for f in ("crash", "lost") for n in range(1, SWEEP_DEPTH + 1))


@pytest.mark.skipif(os.environ.get("TUTELA_CHAOS_SWEEP") != "1", reason="~2.5 min: TUTELA_CHAOS_SWEEP=1")
def test_every_step_cut_after_each_of_its_writes_converges(tmp_path: Path) -> None:
    """Promise: retries converge after side effects. 16 posts (a photo, a comment thread, an unsupported
    file, the post's text) so every step is cut after each of its first 8 writes, by a crash and by a lost
    response; the end state equals a clean run's (one event per event_id)."""
    from tutela_dev.emulator.chaos import Chaos
    from tutela_dev.emulator.runner import Runner
    from tutela_dev.emulator.stack import EmulatedStack

    samples = {p.name: p for p in write_samples(tmp_path / "samples")}
    files = []
    for i in range(16):
        post = json.loads(samples["post.json"].read_text())
        (tmp_path / f"post{i}.json").write_text(json.dumps({**post, "post_id": f"p{i}"}))
        files += [
            (samples["beach.jpg"], f"media/p{i}/beach.jpg"),
            (samples["thread.jsonl"], f"comments/p{i}/thread.jsonl"),
            (samples["notes.exe"], f"media/p{i}/notes.exe"),
            (tmp_path / f"post{i}.json", f"posts/p{i}.json"),
        ]

    def run(chaos: Chaos | None) -> tuple[Any, ...]:
        root = Path(__file__).resolve().parents[2]
        with (
            (tmp_path / "lambda.log").open("w") as log,
            EmulatedStack(root, log=log, retry_scale=0.02, chaos=chaos) as stack,
        ):
            runner = Runner(stack)
            runner.observe_events()
            ups = []
            for path, key in files:
                ups.append(runner.upload(path, key))
                for _ in range(chaos.deliveries(key) if chaos else 1):
                    runner.deliver(ups[-1])
            lines = sorted(
                (x["key"], str(x.get("comment_id")), str(x["verdict"]), str(x.get("reasons")))
                for u in ups
                for x in runner.decisions(u)
            )
            events = runner.received_events()
            audit = runner.audit(ups, events)
            unique = {e["detail"]["event_id"]: e for e in events}.values()
            return (
                lines,
                {k: v for k, v in runner.published()},
                sorted((e["detail-type"], e["detail"]["key"], e["detail"]["verdict"]) for e in unique),
                (audit.lost, audit.doubled),
            )

    clean = run(None)
    chaos = Chaos(1, mode="sweep")
    swept = run(chaos)
    assert swept == clean and swept[3] == (0, 0)
    fired = {(f[0], f[1], f[3]) for f in chaos.fired}
    for step in ("ActFunction", "RecordDecisionFunction", "PostContextFunction"):
        assert {n for s, n, f in fired if s == step and f == "crash"} >= {1, 2, 3}, step
        assert {n for s, n, f in fired if s == step and f == "lost"} >= {1, 2, 3}, step


def test_each_service_is_throttled_its_own_way_and_every_one_is_retried() -> None:
    """S3 says SlowDown (503), DynamoDB ProvisionedThroughputExceededException, EventBridge
    ThrottlingException: each must reach the ASL as TransientError (retried), never as a held error."""
    from types import SimpleNamespace

    from botocore.exceptions import ClientError

    from tutela.aws.errors import is_retryable
    from tutela_dev.emulator.chaos import Chaos, Invocation

    seen = {}
    for service in ("s3", "dynamodb", "events"):
        chaos = Chaos(1)
        chaos._current = Invocation("F", "k", 1, chaos._rng("x"), fault="throttle", throttle_at=1)
        model = SimpleNamespace(name="Op", service_model=SimpleNamespace(service_name=service))
        _, parsed = chaos.on_call(model=model)
        seen[service] = (parsed["Error"]["Code"], parsed["ResponseMetadata"]["HTTPStatusCode"])
        assert is_retryable(ClientError(parsed, "Op"))
    assert seen == {
        "s3": ("SlowDown", 503),
        "dynamodb": ("ProvisionedThroughputExceededException", 400),
        "events": ("ThrottlingException", 400),
    }
