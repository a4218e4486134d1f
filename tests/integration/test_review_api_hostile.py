"""Hostile requests to the review API through the real template on moto: a malformed request is refused
with a 4xx and a machine-readable code, never a 500 (an unhandled exception: a traceback in the logs and
nothing the console can show), and it changes nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_review_api import call, held, queued_id
from tutela_dev.emulator.review_api import ApiResponse, ReviewApi, ReviewRules
from tutela_dev.emulator.runner import Runner
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration


def raw_call(api: ReviewApi, method: str, path: str, body: bytes, query: str = "") -> ApiResponse:
    return api.call(
        method, path, query=query, body=body, authorization=f"Bearer {api.identities['token'].token}"
    )


def refused(resp: ApiResponse, status: int = 400) -> dict[str, Any]:
    assert resp.status == status, (resp.status, resp.body[:300])
    body = resp.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


def history(api: ReviewApi, item: str) -> list[str]:
    shown = call(api, "GET", f"/api/items/{item}")
    assert shown.status == 200, shown.body
    return [h["action"] for h in shown.json()["history"]]


def test_a_deeply_nested_body_is_a_bad_request(
    stack: EmulatedStack, runner: Runner, rules: ReviewRules, api: ReviewApi, photo: Path, monkeypatch
) -> None:
    """Input class: JSON nested past the parser's recursion limit (a few hundred kB at most, well inside
    API Gateway's 10 MB) on every route that reads a body."""
    up = held(stack, runner, rules, photo, "media/rh-1/beach.jpg", monkeypatch)
    item = queued_id(api, up.key)
    deep = b"[" * 100_000 + b"]" * 100_000
    refused(raw_call(api, "POST", f"/api/items/{item}/decision", deep))
    refused(raw_call(api, "POST", "/api/reports", deep))
    refused(raw_call(api, "POST", "/api/appeals", deep))
    nested_value = b'{"verdict": "block", "reason": "x", "note": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused(raw_call(api, "POST", f"/api/items/{item}/decision", nested_value))
    assert history(api, item) == ["queued"]


@pytest.mark.parametrize("category", [[], ["grooming"], {}, {"grooming": True}])
def test_a_category_that_is_not_a_string_is_a_bad_request(
    stack: EmulatedStack,
    runner: Runner,
    rules: ReviewRules,
    api: ReviewApi,
    photo: Path,
    monkeypatch,
    category: Any,
) -> None:
    """Input class: a JSON array or object where the API takes a category name (the policy's categories
    are a set: an unhashable value must be refused, not looked up)."""
    key = f"media/rh-cat-{len(json.dumps(category))}-{type(category).__name__}/beach.jpg"
    up = held(stack, runner, rules, photo, key, monkeypatch)
    item = queued_id(api, up.key)
    decide = {"verdict": "block", "reason": "abuse", "category": category}
    refused(call(api, "POST", f"/api/items/{item}/decision", body=decide))
    report = {"key": up.key, "category": category, "reporter": "user-9"}
    refused(call(api, "POST", "/api/reports", body=report))
    assert history(api, item) == ["queued"]


def _cursor(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "start",
    [
        {"pk": 1.5},  # boto3 cannot even serialise a float
        {"pk": "obj#b/k"},  # not the index's key: DynamoDB refuses an ExclusiveStartKey without its keys
        {"pk": "obj#b/k", "sk": "v#1", "queue": "media#p0", "decided_at": 7},
        {"pk": ["x"], "sk": "v#1", "queue": "media#p0", "decided_at": "2026-01-01"},
        {"pk": "obj#b/k", "sk": "v#1", "queue": "media#p0", "decided_at": "t", "extra": "x"},
        {"pk": "obj#b/k", "sk": "v#1", "queue": "comment#p3", "decided_at": "t"},  # another partition
    ],
)
def test_a_forged_cursor_is_a_bad_request(api: ReviewApi, start: dict[str, Any]) -> None:
    """Input class: a cursor (opaque to the caller, base64 JSON) whose start key is not one the queue
    handed out: it would reach DynamoDB as an ExclusiveStartKey."""
    refused(call(api, "GET", "/api/queue", query=f"kind=media&cursor={_cursor({'p': 0, 'k': start})}"))


def test_the_queue_pages_with_the_cursors_it_hands_out(
    stack: EmulatedStack, runner: Runner, rules: ReviewRules, api: ReviewApi, photo: Path, monkeypatch
) -> None:
    """The cursor checks keep real cursors working: every queued item once, page by page."""
    for n in range(3):
        held(stack, runner, rules, photo, f"media/rh-page-{n}/beach.jpg", monkeypatch)
    everything = call(api, "GET", "/api/queue", query="kind=media&limit=100").json()["items"]
    seen: list[str] = []
    cursor = ""
    for _ in range(len(everything) + 1):
        resp = call(api, "GET", "/api/queue", query=f"kind=media&limit=1{cursor}")
        assert resp.status == 200, resp.body
        page = resp.json()
        seen += [i["id"] for i in page["items"]]
        if not page["cursor"]:
            break
        cursor = f"&cursor={page['cursor']}"
    assert seen == [i["id"] for i in everything] and len(seen) >= 3
