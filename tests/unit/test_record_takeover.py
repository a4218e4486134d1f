"""Promise: a decision whose execution ended without carrying it out (failed, timed out, aborted: the
event went to the dead-letter queue) is taken over by a redelivery or replay — it is not left undone —
while one whose execution is running, succeeded, or already acted stops the redelivery.
(make mutation: ``_abandoned`` was reached by no unit test.)"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.conftest import load_event
from tests.unit.test_handlers import env, handler  # noqa: F401  (env is a fixture)


class _Status:
    def __init__(self, status: str | None) -> None:
        self.value, self.asked = status, list[str]()

    def status(self, execution_id: str) -> str | None:
        self.asked.append(execution_id)
        return self.value


@pytest.mark.parametrize(
    ("status", "acted", "taken_over"),
    [("FAILED", False, True), ("TIMED_OUT", False, True), ("ABORTED", False, True),
     ("RUNNING", False, False), ("SUCCEEDED", False, False), ("FAILED", True, False)],
)  # fmt: skip
def test_a_redelivery_takes_over_only_a_decision_its_execution_never_carried_out(
    env: dict[str, Any],  # noqa: F811  (the handler tests' moto fixture)
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    status: str,
    acted: bool,
    taken_over: bool,
) -> None:
    record = handler("record_decision")
    module = sys.modules[record.__module__]
    fake = _Status(status)
    monkeypatch.setattr(module, "_executions", fake)
    event = load_event("record_decision")
    first = record({**event, "execution_id": "arn:first"}, lambda_context)
    assert first["duplicate"] is False
    stored = first["decision"]
    if acted:
        env["table"].put_item(Item={"pk": stored["pk"], "sk": f"{stored['sk']}#action", "kind": "action"})
    again = record({**event, "execution_id": "arn:second"}, lambda_context)
    assert again["duplicate"] is (not taken_over)
    if taken_over:
        assert again["decision"]["execution_id"] == "arn:first"  # the stored decision, carried on
        assert again["decision"]["verdict"] == stored["verdict"]
    assert fake.asked == ([] if acted else ["arn:first"])  # an action item answers without asking


EXPRESS_ARN = "arn:aws:states:us-east-1:123456789012:express:tutela-moderation-dev:e1:0f6c"


@pytest.mark.parametrize(("age_s", "taken_over"), [(3600, True), (0, False)])
def test_an_express_execution_that_ended_without_acting_is_taken_over_once_it_cannot_be_running(
    env: dict[str, Any],  # noqa: F811
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    age_s: int,
    taken_over: bool,
) -> None:
    """The default StateMachineType is EXPRESS, whose executions DescribeExecution does not describe: one that
    recorded a decision and timed out (5 minutes) before Act left it undone for ever - every redelivery
    stopped as a duplicate of an execution nobody could ask about. An EXPRESS execution is over once its
    five minutes are: a decision older than that with no action is taken over; a younger one stops."""
    from datetime import UTC, datetime, timedelta

    from tutela.decision import decided_at

    record = handler("record_decision")
    module = sys.modules[record.__module__]
    fake = _Status(None)
    monkeypatch.setattr(module, "_executions", fake)
    event = load_event("record_decision")
    first = record({**event, "execution_id": EXPRESS_ARN}, lambda_context)
    stored = env["table"].get_item(Key={k: first["decision"][k] for k in ("pk", "sk")})["Item"]
    stored["decided_at"] = decided_at(datetime.now(UTC) - timedelta(seconds=age_s))
    env["table"].put_item(Item=stored)
    again = record({**event, "execution_id": "arn:second"}, lambda_context)
    assert again["duplicate"] is (not taken_over)
    assert fake.asked == []  # DescribeExecution refuses EXPRESS executions: not asked


def test_an_express_execution_is_never_described() -> None:
    from tutela.aws.executions import Executions

    class Refuses:
        def describe_execution(self, **_: Any) -> Any:
            raise AssertionError("DescribeExecution refuses EXPRESS executions")

    assert Executions(Refuses()).status(EXPRESS_ARN) is None
