"""Promises of the review store (the decisions table as human review sees it), on moto: history is
append-only, two reviewers acting on the same revision cannot both win, queue pages come oldest first, and
reads are bounded. (Mutation testing found this adapter reached by no unit test.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import create_decisions_table
from tutela.aws.review_store import ReviewStore
from tutela.review.rules import ReviewError


@pytest.fixture
def store(aws: None, template: dict[str, Any]) -> Iterator[ReviewStore]:
    yield ReviewStore(create_decisions_table(boto3.client("dynamodb"), template))


def _entry(rev: int, **extra: Any) -> dict[str, Any]:
    return {"pk": "obj#b/k", "sk": "v#1", "rev": rev, "state": "open", "skipped": None, **extra}


def test_commit_creates_then_advances_only_from_the_revision_read(store: ReviewStore) -> None:
    store.commit(_entry(1), {"pk": "obj#b/k", "sk": "v#1#r#1", "action": "open"}, expected_rev=0)
    got = store.get("obj#b/k", "v#1")
    assert got is not None and got["rev"] == 1 and "skipped" not in got  # None values are not stored
    with pytest.raises(ReviewError) as first:  # a second creator loses
        store.commit(_entry(1), None, expected_rev=0)
    assert (first.value.status, first.value.code) == (409, "conflict")
    store.commit(
        _entry(2, state="decided"), {"pk": "obj#b/k", "sk": "v#1#r#2", "action": "block"}, expected_rev=1
    )
    with pytest.raises(ReviewError) as stale:  # a reviewer who read revision 1 acts after the other
        store.commit(_entry(2, state="reopened"), {"pk": "obj#b/k", "sk": "v#1#r#3"}, expected_rev=1)
    assert stale.value.status == 409
    assert store.get("obj#b/k", "v#1")["state"] == "decided"  # type: ignore[index]
    assert store.get("obj#b/k", "v#1#r#3") is None  # the loser's record was not written either


def test_a_review_record_is_never_overwritten(store: ReviewStore) -> None:
    store.commit(_entry(1), {"pk": "obj#b/k", "sk": "v#1#r#1", "action": "open"}, expected_rev=0)
    with pytest.raises(ReviewError):
        store.commit(_entry(2), {"pk": "obj#b/k", "sk": "v#1#r#1", "action": "forged"}, expected_rev=1)
    assert store.get("obj#b/k", "v#1#r#1")["action"] == "open"  # type: ignore[index]
    assert store.get("obj#b/k", "v#1")["rev"] == 1  # type: ignore[index]


def test_put_once_appends_and_reports_who_wrote(store: ReviewStore) -> None:
    assert store.put_once({"pk": "acct#u", "sk": "strike#1", "n": 1}) is True
    assert store.put_once({"pk": "acct#u", "sk": "strike#1", "n": 2}) is False
    assert store.get("acct#u", "strike#1")["n"] == 1  # type: ignore[index]


def test_other_dynamodb_errors_are_not_mistaken_for_conflicts(store: ReviewStore) -> None:
    broken = ReviewStore("no-such-table")
    with pytest.raises(ClientError):
        broken.commit(_entry(1), None, expected_rev=0)
    with pytest.raises(ClientError):
        broken.put_once({"pk": "a", "sk": "b"})


def test_query_prefix_is_bounded_and_pages(store: ReviewStore) -> None:
    for i in range(12):
        store.put_once({"pk": "obj#b/k", "sk": f"v#1#r#{i:03d}", "i": i})
    store.put_once({"pk": "obj#b/k", "sk": "v#2", "i": 99})
    assert [r["i"] for r in store.query_prefix("obj#b/k", "v#1#r#")] == list(range(12))
    assert [r["i"] for r in store.query_prefix("obj#b/k", "v#1#r#", limit=5)] == list(range(5))
    assert len(store.query_prefix("obj#b/k", "")) == 13  # no prefix: the whole partition


def test_query_queue_pages_oldest_first(store: ReviewStore) -> None:
    for i in (3, 1, 2):
        store.put_once({"pk": f"obj#b/{i}", "sk": "v#1", "queue": "review", "decided_at": f"2026-12-0{i}"})
    store.put_once({"pk": "obj#b/9", "sk": "v#1", "queue": "other", "decided_at": "2026-11-01"})
    page, start = store.query_queue("review", limit=2)
    assert [p["pk"] for p in page] == ["obj#b/1", "obj#b/2"] and start is not None
    rest, end = store.query_queue("review", limit=2, start=start)
    assert [p["pk"] for p in rest] == ["obj#b/3"]
    assert end is None
