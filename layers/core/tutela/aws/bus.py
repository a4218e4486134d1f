"""Decision events on the EventBridge bus."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tutela.aws import clients
from tutela.decision import EVENT_SOURCE
from tutela.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class DecisionBus:
    def __init__(self, bus_name: str, client: EventBridgeClient | None = None) -> None:
        self.bus_name = bus_name
        self._client = client

    @property
    def client(self) -> EventBridgeClient:
        if self._client is None:
            self._client = clients.client("events")
        return self._client

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        resp = self.client.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if resp.get("FailedEntryCount"):
            raise TransientError("EventBridge rejected the decision event")
