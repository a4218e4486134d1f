"""Replay the dead-letter queue into the pipeline (see tutela.redrive for what each dead letter is).

A message is deleted only once its replay succeeded (an execution was started, or the tail ran to the end, or
another execution had already decided the version). Failed and unrecognised messages stay hidden for the rest
of the run and are released at its end, so one run never loops on them and the next run sees them again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from tutela.aws import clients
from tutela.redrive import Replay, act_input, classify, execution_name

HIDE_SECONDS = 900  # the longest a replay can take: Act's own timeout


@dataclass(frozen=True)
class Targets:
    queue_url: str
    state_machine_arn: str
    record_function: str
    act_function: str
    review_function: str | None = None  # the review API's intake (stacks without it: None)

    @classmethod
    def from_stack(cls, stack_name: str, cfn: Any = None) -> Targets:
        """The names a deployed stack gives its queue, state machine and the two tail functions."""
        cfn = cfn or clients.client("cloudformation")
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

        def physical(logical: str) -> str:
            res = cfn.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical)
            return str(res["StackResourceDetail"]["PhysicalResourceId"])

        try:
            review: str | None = physical("ReviewApiFunction")
        except ClientError:
            review = None
        return cls(
            outputs["DeadLetterQueueUrl"],
            outputs["StateMachineArn"],
            physical("RecordDecisionFunction"),
            physical("ActFunction"),
            review,
        )


@dataclass
class Summary:
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return self.counts["failed"] + self.counts["not understood"]

    def line(self) -> str:
        total = sum(self.counts.values())
        parts = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        return f"redrive: {total} message(s){': ' + parts if parts else ''}"


class Redriver:
    def __init__(self, targets: Targets, *, sqs: Any = None, sfn: Any = None, lam: Any = None) -> None:
        self.targets = targets
        self.sqs = sqs or clients.client("sqs")
        self.sfn = sfn or clients.client("stepfunctions")
        self.lam = lam or clients.client("lambda")

    def run(
        self,
        *,
        dry_run: bool = False,
        max_messages: int | None = None,
        report: Callable[[dict[str, Any]], None],
    ) -> Summary:
        summary, kept, seen = Summary(), list[str](), set[str]()
        try:
            while max_messages is None or len(seen) < max_messages:
                want = 10 if max_messages is None else min(10, max_messages - len(seen))
                batch = self.sqs.receive_message(
                    QueueUrl=self.targets.queue_url,
                    MaxNumberOfMessages=want,
                    VisibilityTimeout=HIDE_SECONDS,
                    WaitTimeSeconds=0,
                ).get("Messages", [])
                fresh = [m for m in batch if m["MessageId"] not in seen]
                if not fresh:
                    kept += [m["ReceiptHandle"] for m in batch]
                    break
                for message in fresh:
                    seen.add(message["MessageId"])
                    outcome = self._one(message, dry_run)
                    summary.counts[outcome["outcome"]] += 1
                    report(outcome)
                    if outcome["delete"]:
                        self.sqs.delete_message(
                            QueueUrl=self.targets.queue_url, ReceiptHandle=message["ReceiptHandle"]
                        )
                    else:
                        kept.append(message["ReceiptHandle"])
        finally:
            for handle in kept:  # visible again for the next run (or another operator)
                self.sqs.change_message_visibility(
                    QueueUrl=self.targets.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
        return summary

    # ------------------------------------------------------------------ one message
    def _one(self, message: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        replay = classify(message.get("Body", ""))
        base = {"message_id": message["MessageId"], "kind": replay.kind, "key": replay.key}
        if replay.kind == "unknown":
            return {**base, "outcome": "not understood", "delete": False, "reason": replay.reason}
        if replay.kind == "intake" and not self.targets.review_function:
            return {**base, "outcome": "not understood", "delete": False, "reason": "no review function"}
        if dry_run:
            what = {"start": "would start", "resume": "would resume", "intake": "would re-queue"}[replay.kind]
            return {**base, "outcome": what, "delete": False, "reason": replay.reason}
        try:
            if replay.kind == "start":
                return {**base, **self._start(replay, message["MessageId"])}
            if replay.kind == "intake":
                return {**base, **self._intake(replay)}
            return {**base, **self._resume(replay)}
        except ClientError as exc:  # throttled, missing permission...: leave it for the next run
            return {**base, "outcome": "failed", "delete": False, "reason": _code(exc)}

    def _start(self, replay: Replay, message_id: str) -> dict[str, Any]:
        name = execution_name(message_id)
        try:
            run = self.sfn.start_execution(
                stateMachineArn=self.targets.state_machine_arn, name=name, input=json.dumps(replay.payload)
            )
            return {"outcome": "started", "delete": True, "execution": run["executionArn"]}
        except ClientError as exc:
            if _code(exc) != "ExecutionAlreadyExists":
                raise
            return {"outcome": "already started", "delete": True, "execution": name}

    def _resume(self, replay: Replay) -> dict[str, Any]:
        recorded, error = self._invoke(self.targets.record_function, replay.payload)
        if error:
            return {"outcome": "failed", "delete": False, "reason": f"RecordDecision: {error}"}
        if recorded.get("duplicate"):
            # Another execution owns this version's decision: it acts (or dead-letters) on its own.
            return {"outcome": "decided by another execution", "delete": True}
        action, error = self._invoke(self.targets.act_function, act_input(replay, recorded["decision"]))
        if error:
            return {"outcome": "failed", "delete": False, "reason": f"Act: {error}"}
        return {"outcome": "resumed", "delete": True, "verdict": recorded["decision"].get("verdict"),
                "action": sorted(action)}  # fmt: skip

    def _intake(self, replay: Replay) -> dict[str, Any]:
        out, error = self._invoke(str(self.targets.review_function), replay.payload)
        if error:
            return {"outcome": "failed", "delete": False, "reason": f"review intake: {error}"}
        return {"outcome": "re-queued", "delete": True, "queued": out.get("queued")}

    def _invoke(self, function: str, payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
        resp = self.lam.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        body = json.loads(resp["Payload"].read() or b"{}")
        if not isinstance(body, dict):
            body = {}
        if resp.get("FunctionError"):
            return {}, str(body.get("errorType") or resp["FunctionError"])
        return body, ""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "ClientError"))
