"""Decision events on the EventBridge bus."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
        self.publish_all([(detail_type, detail)])

    def publish_all(self, entries: Sequence[tuple[str, Mapping[str, Any]]], *, attempts: int = 3) -> None:
        """One PutEvents call; entries EventBridge rejects are re-sent on their own (the accepted ones are
        never sent twice), then a TransientError lets the state machine retry the step."""
        pending = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": self.bus_name,
            }
            for detail_type, detail in entries
        ]
        for _ in range(attempts):
            if not pending:
                return
            resp = self.client.put_events(Entries=pending)
            if not resp.get("FailedEntryCount"):
                return
            results = resp.get("Entries") or []
            pending = [e for e, r in zip(pending, results, strict=False) if r.get("ErrorCode")]
        if pending:
            raise TransientError("EventBridge rejected the decision event")
