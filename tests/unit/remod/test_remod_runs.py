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
