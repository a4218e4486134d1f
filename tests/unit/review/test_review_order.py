"""A reviewer's allow obeys Act's publishing order (``ReviewService._newer_than``): by the S3 sequencers the
decision records store, else (records from before they were stored) by the uploads' event times, else the
published copy is kept; and an allow that publishes nothing is recorded in the item's history."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.review.test_strikes import Bus, Table
from tutela.review import rules
from tutela.review.policy import load_policy
from tutela.review.rules import Actor
from tutela.review.service import ReviewService

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PK = "obj#uploads/media/p/a.jpg"
REVIEWER = Actor("rev-1", "Rev", groups=frozenset({"reviewer"}))


class Store(Table):
    def commit(
        self, entry: Mapping[str, Any], record: Mapping[str, Any] | None, *, expected_rev: int
    ) -> None:
        self.items[(str(entry["pk"]), rules.entry_sk(str(entry["target_sk"])))] = dict(entry)
        if record is not None:
            self.items[(str(record["pk"]), str(record["sk"]))] = dict(record)


class Media:
    """Publishes nothing itself: answers what the S3 adapter would, and keeps what it was asked."""

    def __init__(self, action: dict[str, Any]) -> None:
        self.action = action
        self.asked: list[dict[str, Any]] = []

    def uploader(self, entry: Mapping[str, Any]) -> str | None:
        return None

    def prepare_media(self, entry: Mapping[str, Any]) -> tuple[Any, str | None]:
        return "staged", "image/jpeg"

    def publish(self, staged: Any, entry: Any, tag: str, content_type: Any, **order: Any) -> dict:
        self.asked.append(order)
        return dict(self.action)


def _decision(version: str, **extra: Any) -> dict[str, Any]:
    return {"pk": PK, "sk": f"v#{version}", "kind": "media", "verdict": "review", "severity": 2,
            "reasons": [], "bucket": "uploads", "key": "media/p/a.jpg", "version_id": version,
            "decided_at": "2026-12-01T11:00:00.000+00:00", **extra}  # fmt: skip


def _service(store: Store, media: Media, bus: Bus | None = None) -> ReviewService:
    return ReviewService(store, media, bus or Bus(), load_policy(), upload_bucket="uploads", now=NOW)  # type: ignore[arg-type]


def _newer(store: Store, decision: dict[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    return _service(store, Media({}))._newer_than(decision)


def _copy(**meta: str) -> dict[str, Any]:
    return {"Metadata": meta, "ETag": '"e"'}


def test_sequencers_order_the_uploads_when_both_are_known() -> None:
    newer = _newer(Store(), _decision("v1", sequencer="0A"))
    assert newer(_copy(**{"tutela-sequencer": "0B", "tutela-source-version": "v2"}))
    assert not newer(_copy(**{"tutela-sequencer": "09", "tutela-source-version": "v0"}))


@pytest.mark.parametrize(
    ("other_time", "kept"),
    [
        ("2026-12-01T10:00:02Z", True),
        ("2026-12-01T10:00:00Z", False),
        ("2026-12-01T10:00:01Z", True),
        (None, True),
    ],
    ids=["later", "earlier", "same-second", "no-record"],
)
def test_an_old_record_without_a_sequencer_is_ordered_by_event_time_else_the_copy_stays(
    other_time: str | None, kept: bool
) -> None:
    """A decision recorded before sequencers were: the published copy's upload is found by its
    ``tutela-source-version`` and the two S3 event times compared; unordered, the copy stays."""
    store = Store()
    if other_time is not None:
        store.items[(PK, "v#v2")] = _decision("v2", event_time=other_time, sequencer="0B")
    newer = _newer(store, _decision("v1", event_time="2026-12-01T10:00:01Z"))
    assert newer(_copy(**{"tutela-sequencer": "0B", "tutela-source-version": "v2"})) is kept
    assert not newer(_copy(**{"tutela-source-version": "v1"}))  # its own earlier copy: replaced


@pytest.mark.parametrize("outcome", ["superseded", "withdrawn"])
def test_an_allow_that_publishes_nothing_is_recorded_in_the_items_history(outcome: str) -> None:
    store = Store()
    decision = _decision("v1", sequencer="0A")
    store.items[(PK, "v#v1")] = decision
    detail = {"bucket": "published", "key": "media/p/a.jpg"}
    media, bus = Media({outcome: detail}), Bus()
    service = _service(store, media, bus)
    assert service.enqueue({"decision": {"pk": PK, "sk": "v#v1"}}) == 1
    item = rules.item_id(PK, "v#v1")
    out = service.decide(item, REVIEWER, {"verdict": "allow", "reason": "fine"})
    assert out["action"] == {outcome: detail}
    assert media.asked[0]["sequencer"] == "0A"  # the decision record's sequencer goes to the publish
    [event] = [d for t, d in bus.events if t == "Moderation Decision"]
    assert event["action"] == {outcome: detail}
    history = service.item(item)["history"]
    assert [(h["action"], h.get("outcome")) for h in history][-1] == ("not_published", outcome)
    # a repeat of the same decision carries it out again without a second outcome item
    again = service.decide(item, REVIEWER, {"verdict": "allow", "reason": "fine"})
    assert again["repeat"] is True
    assert [h["action"] for h in service.item(item)["history"]].count("not_published") == 1


def test_a_published_allow_adds_no_outcome_item() -> None:
    store = Store()
    store.items[(PK, "v#v1")] = _decision("v1", sequencer="0A")
    service = _service(store, Media({"published": {"bucket": "published", "key": "media/p/a.jpg"}}))
    assert service.enqueue({"decision": {"pk": PK, "sk": "v#v1"}}) == 1
    item = rules.item_id(PK, "v#v1")
    service.decide(item, REVIEWER, {"verdict": "allow", "reason": "fine"})
    assert "not_published" not in [h["action"] for h in service.item(item)["history"]]


@pytest.mark.parametrize(
    ("acted", "withdrawable"),
    [(None, True), ({"held": True}, True), ({"published": {"bucket": "p", "key": "k"}}, False)],
    ids=["not-acted", "held", "published-and-retired"],
)
def test_only_an_original_the_pipeline_kept_current_can_be_withdrawn(
    acted: dict[str, Any] | None, withdrawable: bool
) -> None:
    """Act retires what it published with its own delete marker: a reported (hidden) or re-moderated item
    that the pipeline published is published again on allow, whatever marker is over its original."""
    store = Store()
    store.items[(PK, "v#v1")] = _decision("v1", sequencer="0A")
    if acted is not None:
        store.items[(PK, "v#v1#action")] = {"pk": PK, "sk": "v#v1#action", "kind": "action", "action": acted}
    media = Media({"published": {"bucket": "published", "key": "media/p/a.jpg"}})
    service = _service(store, media)
    assert service.enqueue({"decision": {"pk": PK, "sk": "v#v1"}}) == 1
    service.decide(rules.item_id(PK, "v#v1"), REVIEWER, {"verdict": "allow", "reason": "fine"})
    assert media.asked[0]["withdrawable"] is withdrawable


def test_the_decision_record_keeps_the_sequencer_of_what_a_reviewer_may_publish() -> None:
    from tutela.decision import object_item, step_decision
    from tutela.objects import ObjectRef

    ref = ObjectRef("uploads", "media/p/a.jpg", "v1", 10, None, "0062E99A88DC407460")

    def item(verdict: str) -> dict[str, Any]:
        base = {"kind": "media", "verdict": verdict, "severity": 0, "reasons": []}
        return object_item(ref, step_decision(base), execution_id=None, event_time=None, retention_days=1)

    assert item("review")["sequencer"] == item("block")["sequencer"] == "0062E99A88DC407460"
    assert "sequencer" not in item("allow")  # its published copy names it
