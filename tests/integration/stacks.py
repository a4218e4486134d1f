"""What the integration modules share: a emulated stack per module and an observer on the decisions bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tutela_dev.emulator.stack import EmulatedStack

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def emulated_stack(
    tmp_path_factory: pytest.TempPathFactory, retry_scale: float = 1.0
) -> Iterator[EmulatedStack]:
    """The real template on moto; handler logs go to a file of the test's own."""
    with (
        (tmp_path_factory.mktemp("logs") / "lambda.log").open("w") as log,
        EmulatedStack(ROOT, log=log, retry_scale=retry_scale) as stack,
    ):
        yield stack


def observe_decisions(stack: EmulatedStack, name: str) -> str:
    """Subscribe an SQS queue (and rule) named ``name`` to the decisions bus: what the platform receives."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.outputs["DecisionsBusName"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["tutela.moderation"]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url
