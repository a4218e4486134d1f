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
