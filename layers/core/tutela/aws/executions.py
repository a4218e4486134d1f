"""Step Functions executions: is the execution that recorded a decision still going to act on it?"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tutela.aws import clients

ENDED_WITHOUT_SUCCESS = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
# An EXPRESS execution runs at most 5 minutes; past this (with a margin for clock skew) it has ended.
EXPRESS_MAX_SECONDS = 300 + 60


def is_express(execution_arn: str) -> bool:
    """EXPRESS executions are named ``arn:...:express:machine:name:id``; DescribeExecution refuses them."""
    return ":express:" in execution_arn


class Executions:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("stepfunctions")
        return self._client

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED... or None when no such execution exists or it
        cannot be described (EXPRESS: no request is made)."""
        if is_express(execution_arn):
            return None
        try:
            return str(self.client.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
                return None
            raise
