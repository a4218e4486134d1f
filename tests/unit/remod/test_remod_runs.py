"""A backfill has two map runs (the upload listing, then the published one): progress adds their counts,
the summary reads both runs' results."""

from __future__ import annotations

import json
from typing import Any

from tutela.aws.remod_runs import RemodRuns


class Sfn:
    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"status": "RUNNING"}

    def list_map_runs(self, executionArn: str) -> dict[str, Any]:
        return {"mapRuns": [{"mapRunArn": "published"}, {"mapRunArn": "uploads"}]}

    def describe_map_run(self, mapRunArn: str) -> dict[str, Any]:
        n = {"uploads": 2, "published": 5}[mapRunArn]
        return {"itemCounts": {"total": n, "succeeded": n - 1, "failed": 1}}


class S3:
    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        body = json.dumps(self.objects[Key]).encode()
        return {"Body": type("B", (), {"read": lambda self: body})()}


def _entries(*outputs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Output": json.dumps(o)} for o in outputs]


def test_progress_adds_both_listings_counts() -> None:
    assert RemodRuns("arn", sfn=Sfn()).status("exec")["items"] == {"total": 7, "succeeded": 5, "failed": 2}


def test_outcomes_count_both_listings_results() -> None:
    s3 = S3(
        {
            "u/manifest.json": {"ResultFiles": {"SUCCEEDED": [{"Key": "u/ok.json"}]}},
            "u/ok.json": _entries({"outcome": "looser"}, {"action": "skip", "why": "undecided"}),
            "p/manifest.json": {"ResultFiles": {"SUCCEEDED": [{"Key": "p/ok.json"}], "FAILED": []}},
            "p/ok.json": _entries({"outcome": "stricter"}, {"action": "skip", "why": "listed_in_uploads"}),
        }
    )
    result = {
        "upload_results": {"ResultWriterDetails": {"Bucket": "b", "Key": "u/manifest.json"}},
        "results": {"ResultWriterDetails": {"Bucket": "b", "Key": "p/manifest.json"}},
    }
    assert dict(RemodRuns("arn", s3=s3).outcomes(result) or {}) == {
        "looser": 1,
        "skipped:undecided": 1,
        "stricter": 1,
        "skipped:listed_in_uploads": 1,
    }
    assert RemodRuns("arn", s3=s3).outcomes({}) is None


class Recording:
    """A Step Functions client that answers from a script and records what it was asked."""

    def __init__(self, statuses: list[dict[str, Any]], map_runs: bool = True) -> None:
        self.statuses = statuses
        self.map_runs = map_runs
        self.started: list[dict[str, Any]] = []

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"executionArn": f"arn:exec:{kwargs['name']}"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def list_map_runs(self, executionArn: str) -> dict[str, Any]:
        if not self.map_runs:
            raise AttributeError("no map run yet")  # what moto does before the map state starts
        return {"mapRuns": []}


def test_a_run_starts_on_its_state_machine_with_its_input_under_a_named_execution() -> None:
    """Promise: `tutela backfill` starts exactly one execution of the re-moderation state machine with the
    run's input, named after its mode (unique per run unless the operator names it) and returns its ARN."""
    sfn = Recording([{"status": "RUNNING"}])
    runs = RemodRuns("arn:sm", sfn=sfn)
    arn = runs.start({"mode": "backfill", "since": "2026-11-01"})
    (call,) = sfn.started
    assert call["stateMachineArn"] == "arn:sm" and json.loads(call["input"]) == {
        "mode": "backfill",
        "since": "2026-11-01",
    }
    assert call["name"].startswith("backfill-") and len(call["name"]) == len("backfill-") + 12
    assert arn == f"arn:exec:{call['name']}"
    assert runs.start({}, name="mine") == "arn:exec:mine" and sfn.started[-1]["name"] == "mine"
    runs.start({})
    assert sfn.started[-1]["name"].startswith("run-")


def test_status_before_the_map_run_and_at_the_end() -> None:
    """Promise: the backfill's progress works before its map run exists (no counts yet, no crash), and a
    finished run reports its output and error for the summary."""
    running = RemodRuns("arn", sfn=Recording([{"status": "RUNNING"}], map_runs=False)).status("e")
    assert running == {"status": "RUNNING"}
    ended = {"status": "FAILED", "output": '{"listed": 3}', "error": "States.TaskFailed"}
    assert RemodRuns("arn", sfn=Recording([ended])).status("e") == {
        "status": "FAILED",
        "output": {"listed": 3},
        "error": "States.TaskFailed",
    }


def test_follow_reports_each_change_until_the_run_ends_or_the_timeout() -> None:
    """Promise: `tutela backfill --follow` prints each new state once and returns at the end of the run; with
    a timeout it returns while the run is still going instead of waiting forever."""
    seen: list[str] = []
    sfn = Recording([{"status": "RUNNING"}, {"status": "RUNNING"}, {"status": "SUCCEEDED"}])
    end = RemodRuns("arn", sfn=sfn).follow("e", lambda s: seen.append(s["status"]), interval=0, timeout=60)
    assert end["status"] == "SUCCEEDED" and seen == ["RUNNING", "SUCCEEDED"]
    forever = Recording([{"status": "RUNNING"}])
    out = RemodRuns("arn", sfn=forever).follow("e", lambda s: None, interval=0.01, timeout=0.05)
    assert out["status"] == "RUNNING"
