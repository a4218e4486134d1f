"""``tutela backfill``: refuses what it cannot run, and reads a run's per-outcome counts from the files its
ResultWriter wrote (AWS writes them; moto writes only the manifest, so this is the test of that path)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tutela.aws.remod_runs import RemodRuns, outcome_of
from tutela_dev.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["backfill"],  # --since is required
        ["backfill", "--since", "last tuesday"],
        ["backfill", "--since", "2026-11-01", "--prefix", "posts/"],
    ],
)
def test_refuses_what_it_cannot_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--state-machine-arn", "arn:aws:states:us-east-1:1:stateMachine:x"]) == 2
    assert "tutela backfill:" in capsys.readouterr().err


def test_outcomes_are_counted_from_the_result_writer_files(aws: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="staging")

    def entry(output: dict[str, Any]) -> dict[str, Any]:
        return {"Output": json.dumps(output), "Status": "SUCCEEDED"}

    succeeded = [
        entry({"key": "a", "outcome": "stricter"}),
        entry({"key": "b", "outcome": "same"}),
        entry({"key": "c", "outcome": "same"}),
        entry({"action": "skip", "why": "done", "key": "d"}),
    ]
    s3.put_object(Bucket="staging", Key="runs/x/SUCCEEDED_0.json", Body=json.dumps(succeeded))
    s3.put_object(Bucket="staging", Key="runs/x/FAILED_0.json", Body=json.dumps([{"Status": "FAILED"}]))
    manifest = {
        "ResultFiles": {
            "SUCCEEDED": [{"Key": "runs/x/SUCCEEDED_0.json"}],
            "FAILED": [{"Key": "runs/x/FAILED_0.json"}],
            "PENDING": [],
        }
    }
    s3.put_object(Bucket="staging", Key="runs/x/manifest.json", Body=json.dumps(manifest))
    output = {"results": {"ResultWriterDetails": {"Bucket": "staging", "Key": "runs/x/manifest.json"}}}
    counts = RemodRuns("arn:x", s3=s3).outcomes(output)
    assert dict(counts or {}) == {"stricter": 1, "same": 2, "skipped:done": 1, "failed": 1}
    assert outcome_of({"action": "skip", "why": "gone"}) == "skipped:gone"
