"""Start a re-moderation run and follow it: the execution, its map run's counts, its results in S3."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from tutela.aws import clients

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class RemodRuns:
    def __init__(self, state_machine_arn: str, sfn: Any = None, s3: Any = None) -> None:
        self.arn = state_machine_arn
        self._sfn = sfn
        self._s3 = s3

    @property
    def sfn(self) -> Any:
        if self._sfn is None:
            self._sfn = clients.client("stepfunctions")
        return self._sfn

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = clients.client("s3")
        return self._s3

    def start(self, run_input: dict[str, Any], name: str | None = None) -> str:
        name = name or f"{run_input.get('mode', 'run')}-{uuid.uuid4().hex[:12]}"
        resp = self.sfn.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(run_input))
        return str(resp["executionArn"])

    def status(self, execution_arn: str) -> dict[str, Any]:
        """The execution's status and, once its map run exists, the map run's item counts."""
        desc = self.sfn.describe_execution(executionArn=execution_arn)
        out: dict[str, Any] = {"status": desc["status"]}
        try:
            runs = self.sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", [])
        except (ClientError, AttributeError):  # no map run yet (moto raises AttributeError until it starts)
            runs = []
        if runs:  # a backfill has two: the upload listing, then the published one; their counts add up
            items: Counter[str] = Counter()
            for run in runs:
                counts = self.sfn.describe_map_run(mapRunArn=run["mapRunArn"]).get("itemCounts", {})
                items.update({k: int(v) for k, v in counts.items() if isinstance(v, int)})
            out["items"] = dict(items)
        if desc["status"] in TERMINAL:
            out["output"] = json.loads(desc.get("output") or "null")
            if desc.get("error"):
                out["error"] = desc.get("error")
        return out

    def follow(
        self,
        execution_arn: str,
        report: Callable[[dict[str, Any]], None],
        *,
        interval: float = 5.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Report the status whenever the counts change, until the execution ends."""
        started, last = time.monotonic(), None
        while True:
            now = self.status(execution_arn)
            view = (now["status"], json.dumps(now.get("items"), sort_keys=True))
            if view != last:
                report(now)
                last = view
            if now["status"] in TERMINAL:
                return now
            if timeout is not None and time.monotonic() - started > timeout:
                return now
            time.sleep(interval)

    def outcomes(self, result: Any) -> Counter[str] | None:
        """Per-outcome counts from the run's ResultWriter files, both listings' (None when it wrote none)."""
        if not isinstance(result, dict):
            return None
        counts: Counter[str] = Counter()
        wrote = False
        for name in ("upload_results", "results"):  # the upload listing's map run, then the published one's
            details = (result.get(name) or {}).get("ResultWriterDetails")
            if not details:
                continue
            manifest = self._json(details["Bucket"], details["Key"])
            files = [f for f in (manifest.get("ResultFiles") or {}).get("SUCCEEDED", []) if f.get("Key")]
            for f in files:
                wrote = True
                for entry in self._json(details["Bucket"], f["Key"]) or []:
                    counts[outcome_of(json.loads(entry.get("Output") or "{}"))] += 1
            for f in (manifest.get("ResultFiles") or {}).get("FAILED", []):
                counts["failed"] += len(self._json(details["Bucket"], f["Key"]) or [])
        return counts if wrote else None

    def _json(self, bucket: str, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def outcome_of(output: dict[str, Any]) -> str:
    """One word per item: stricter / looser / same / done_before, or skipped:{why}."""
    if output.get("action") == "skip":
        return f"skipped:{output.get('why')}"
    return str(output.get("outcome") or "unknown")


def iter_lines(items: dict[str, int]) -> Iterator[str]:
    for k in ("total", "succeeded", "failed", "running", "pending", "timedOut", "aborted"):
        if k in items:
            yield f"{k}={items[k]}"
