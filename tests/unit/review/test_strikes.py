"""Account strikes: the escalation threshold is never missed when two blocks land at the same moment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tutela.review import rules
from tutela.review.policy import load_policy
from tutela.review.service import ACCOUNT_EVENT, ReviewService

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = load_policy()


class Table:
    """The decisions table's semantics that matter here: conditional put, consistent prefix query."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.on_put: Any = None

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.items.get((pk, sk))

    def query_prefix(self, pk: str, prefix: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        found = [v for (p, s), v in sorted(self.items.items()) if p == pk and s.startswith(prefix)]
        return found[:limit]

    def put_once(self, item: Mapping[str, Any]) -> bool:
        if self.on_put is not None:
            hook, self.on_put = self.on_put, None
            hook()
        key = (str(item["pk"]), str(item["sk"]))
        if key in self.items:
            return False
        self.items[key] = dict(item)
        return True


class Bus:
    def __init__(self) -> None:
        self.events: list[tuple[str, Mapping[str, Any]]] = []

    def publish_all(self, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        self.events.extend(entries)


def _service(table: Table, bus: Bus) -> ReviewService:
    return ReviewService(table, None, bus, POLICY, upload_bucket="uploads", now=NOW)  # type: ignore[arg-type]


def _entry(n: int) -> dict[str, Any]:
    return {"pk": f"obj#media/u/{n}.jpg", "target_sk": "v#1", "uploader": "user-9", "key": f"media/u/{n}.jpg"}


def _strike_item(n: int) -> dict[str, Any]:
    e = _entry(n)
    return {"pk": "acct#user-9", "sk": f"strike#{e['pk']}|v#1", "kind": "strike", "at": rules.now_iso(NOW)}


def test_two_concurrent_strikes_reaching_the_threshold_escalate_the_account() -> None:
    table, bus = Table(), Bus()
    service = _service(table, bus)
    for n in range(POLICY.strike_threshold - 2):  # two short of the threshold
        service._strike(_entry(n), {"sk": f"r{n}"})
    assert bus.events == []
    last = POLICY.strike_threshold - 1
    # The other reviewer's block (the threshold-th strike) lands while this one is being written.
    table.on_put = lambda: table.items.update({("acct#user-9", _strike_item(last)["sk"]): _strike_item(last)})
    service._strike(_entry(last - 1), {"sk": "r-last"})
    escalations = [d for t, d in bus.events if t == ACCOUNT_EVENT]
    assert escalations and escalations[0]["active_strikes"] == POLICY.strike_threshold


def test_a_strike_counted_twice_escalates_once_and_strikes_below_the_threshold_do_not() -> None:
    table, bus = Table(), Bus()
    service = _service(table, bus)
    for n in range(POLICY.strike_threshold - 1):
        service._strike(_entry(n), {"sk": f"r{n}"})
    assert bus.events == []
    service._strike(_entry(99), {"sk": "r99"})
    service._strike(_entry(99), {"sk": "r99"})  # the same block confirmed again, or a retry
    assert [d["active_strikes"] for _, d in bus.events] == [POLICY.strike_threshold]


def test_a_strike_on_the_longest_s3_key_fits_a_sort_key_and_is_voided_by_the_same_key() -> None:
    """Promise: a reviewer's block of any upload is recorded. The strike's sort key embedded the whole object
    key: past 1 KiB DynamoDB refuses it, and S3 keys run to 1,024 bytes."""
    table, bus = Table(), Bus()
    service = _service(table, bus)
    entry = {**_entry(1), "pk": "obj#uploads/media/u/" + "照" * 330 + ".jpg"}
    service._strike(entry, {"sk": "r1"})
    [(pk, sk)] = list(table.items)
    assert pk == "acct#user-9" and len(sk.encode()) <= 1024
    service._strike(entry, {"sk": "r1"})  # counted once
    service._void_strike(entry)
    assert [k for k in table.items if k[1].startswith("void#")] == [("acct#user-9", f"void#{sk}")]
    assert len(table.items) == 2
