"""A post's context: monotone flags, O(1) reads at any size, the media floor, and the re-evaluation order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from tests.conftest import create_decisions_table
from tutela.aws.post_context import PostContextStore, batch_context, media_context, raise_for
from tutela.aws.store import DecisionStore
from tutela.errors import TransientError
from tutela.objects import ObjectRef
from tutela.policy.media import decide_media
from tutela.posts.context import comment_context, floor_media, post_minor, raised_by
from tutela.posts.reevaluate import Cause, Reevaluator

BOX = {"Width": 0.3, "Height": 0.4, "Left": 0.3, "Top": 0.2}
ADULT = [{"BoundingBox": BOX, "AgeRange": {"Low": 30, "High": 40}, "Confidence": 99.0}]


def media_decision(labels: list[str], location: bool = False) -> dict[str, Any]:
    scan = {"ModerationLabels": [{"Name": n, "Confidence": 90.0} for n in labels], "Faces": ADULT}
    return {
        "kind": "media",
        **decide_media(scan, {"location_found": location}),
        "signals": {"location_found": location},
    }


# ---------------------------------------------------------------- pure
def test_comment_context_and_post_minor_from_flags() -> None:
    assert comment_context(set()) is None
    assert comment_context({"media_seen"}) is False
    for raised in ("text_minor", "media_possible", "media_likely"):
        assert comment_context({"media_seen", raised}) is True
    assert post_minor(set()) == ("possible", "unknown")
    assert post_minor({"media_seen"}) == ("none", "media")
    assert post_minor({"media_seen"}, declared=True) == ("likely", "text")
    assert post_minor({"media_seen", "media_possible", "text_minor"}) == ("likely", "text")


def test_flags_a_decision_raises() -> None:
    assert raised_by({"kind": "media", "minor": "none"}, "media") == {"media_seen"}
    assert raised_by({"kind": "media", "minor": "likely", "signals": {"location_found": True}}, "media") == {
        "media_seen",
        "media_likely",
        "location",
    }
    assert raised_by({"kind": "media"}, "media") == {"media_seen", "media_possible"}  # no signal: fail closed
    assert raised_by({"kind": "error"}, "media") == {"media_seen", "media_possible"}
    assert raised_by({"kind": "error"}, "comments") == set()
    assert raised_by({"kind": "post", "minor_declared": True}, "posts") == {"text_minor"}


@pytest.mark.parametrize(
    ("labels", "verdict", "severity", "escalate"),
    [
        ([], "allow", 0, False),
        (["Swimwear or Underwear"], "review", 3, False),
        (["Non-Explicit Nudity"], "block", 3, False),
        (["Explicit Nudity"], "block", 4, True),
    ],
)
def test_floor_judges_the_same_evidence_as_with_a_likely_minor(
    labels: list[str], verdict: str, severity: int, escalate: bool
) -> None:
    before = media_decision(labels)
    assert before["minor"] == "none"
    after = floor_media(before)
    assert (after["verdict"], after["severity"], after["escalate"]) == (verdict, severity, escalate)
    assert after["minor"] == "likely" and after["reasons"][-1]["code"] == "minor_declared_in_post"
    direct = decide_media(
        {
            "ModerationLabels": [{"Name": n, "Confidence": 90.0} for n in labels],
            "Faces": [{"BoundingBox": BOX, "AgeRange": {"Low": 6, "High": 10}, "Confidence": 99.0}],
        }
    )
    assert direct["verdict"] == after["verdict"] and direct["severity"] == after["severity"]


def test_floor_never_lowers_and_leaves_other_kinds_alone() -> None:
    held = {**media_decision([]), "verdict": "review", "reasons": [{"code": "frames_mismatch"}]}
    after = floor_media(held)
    assert after["verdict"] == "review" and {"code": "frames_mismatch"} in after["reasons"]
    blocked = {**media_decision(["Explicit Nudity"]), "verdict": "block", "severity": 4}
    assert floor_media(blocked)["severity"] == 4
    likely = {**media_decision([]), "minor": "likely"}
    assert floor_media(likely) == likely
    assert floor_media({"kind": "error", "verdict": "review"}) == {"kind": "error", "verdict": "review"}
    located = floor_media(media_decision([], location=True))
    assert "location_risk_minor" in [r["code"] for r in located["reasons"]]


# ---------------------------------------------------------------- the table
@pytest.fixture
def table(aws: None, template: dict[str, Any]) -> str:
    return create_decisions_table(boto3.client("dynamodb"), template)


def test_flags_are_set_once_and_read_in_one_query_whatever_the_post_size(table: str) -> None:
    store = PostContextStore(table)
    for n in range(300):  # a post with many comment batches (the flags read does not grow with them)
        store.register("big", ObjectRef("up", f"comments/big/b{n}.jsonl", f"v{n}"), "comments")
    first = ObjectRef("up", "media/big/a.jpg", "v1")
    assert store.raise_flags("big", ["media_seen"], source=first) == ["media_seen"]
    assert store.raise_flags(
        "big", ["media_seen", "text_minor"], source=ObjectRef("up", "posts/big.json")
    ) == ["text_minor"]
    calls: list[dict[str, Any]] = []
    real = store.table.query

    def counted(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    store.table.query = counted  # type: ignore[method-assign]
    assert store.flags("big") == {"media_seen", "text_minor"}
    assert len(calls) == 1 and calls[0]["ConsistentRead"] is True
    kept = DecisionStore(table).get("post#big", "flag#media_seen")
    assert kept and kept["source"]["pk"].endswith("media/big/a.jpg")  # the first writer's source is kept
    # the audit of a post's context: when each flag was first raised (the item is never updated)
    assert kept["kind"] == "post_flag" and datetime.fromisoformat(kept["raised_at"]).tzinfo is not None
    assert sum(1 for _ in store.members("big")) == 300
    with pytest.raises(ValueError):
        store.raise_flags("big", ["minor_lowered"], source=first)


def test_a_media_decision_raises_all_its_flags_in_one_write(table: str) -> None:
    store = PostContextStore(table)
    puts: list[dict[str, Any]] = []
    real = store.table.put_item

    def counted(**kwargs: Any) -> Any:
        puts.append(kwargs)
        return real(**kwargs)

    store.table.put_item = counted  # type: ignore[method-assign]
    geotagged_child = {"kind": "media", "minor": "possible", "signals": {"location_found": True}}
    photo = ObjectRef("up", "media/p9/a.jpg", "v1")
    assert raise_for(store, photo, geotagged_child) == ["location", "media_possible", "media_seen"]
    assert len(puts) == 1
    assert store.flags("p9") == {"location", "media_possible", "media_seen"}
    assert raise_for(store, photo, geotagged_child) == []  # a retry: the item exists, nothing new
    # A post's text still raises its own items; the context is the union of every flag item.
    raise_for(store, ObjectRef("up", "posts/p9.json", "v1"), {"kind": "post", "minor_declared": True})
    assert store.flags("p9") == {"location", "media_possible", "media_seen", "text_minor"}
    assert batch_context(store, ObjectRef("up", "comments/p9/b.jsonl", "v1")) is True


def test_media_is_recorded_with_the_child_its_post_declares(table: str) -> None:
    store = PostContextStore(table)
    ref = ObjectRef("up", "media/p1/a.jpg", "v1")
    decision = media_decision(["Swimwear or Underwear"])
    assert media_context(store, ref, decision) == decision  # nothing declared yet
    raise_for(store, ObjectRef("up", "posts/p1.json", "v1"), {"kind": "post", "minor_declared": True})
    floored = media_context(store, ref, decision)
    assert floored["verdict"] == "review" and floored["minor"] == "likely"
    assert [m["key"] for m in store.members("p1")] == ["media/p1/a.jpg"]  # registered before reading


def test_a_batch_registers_before_reading_its_context(table: str) -> None:
    store = PostContextStore(table)
    ref = ObjectRef("up", "comments/p2/b.jsonl", "v1")
    assert batch_context(store, ref) is None
    # the member's record says what it is (media or a comment batch), for the post's audit
    assert [(m["key"], m["member_kind"]) for m in store.members("p2")] == [
        ("comments/p2/b.jsonl", "comments")
    ]
    raise_for(store, ObjectRef("up", "media/p2/a.jpg", "v1"), {"kind": "media", "minor": "none"})
    assert batch_context(store, ref) is False
    raise_for(store, ObjectRef("up", "posts/p2.json", "v1"), {"kind": "post", "minor_declared": True})
    assert batch_context(store, ref) is True


class _Nothing:
    """Storage and bus that must not be touched while a member is still in flight."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} called before the member was recorded and acted on")


def test_reevaluation_waits_for_a_member_still_being_recorded_or_acted_on(table: str) -> None:
    store, history = PostContextStore(table), DecisionStore(table)
    ref = ObjectRef("up", "media/p3/a.jpg", "v1")
    store.register("p3", ref, "media")  # registered, decision not written yet
    cause = Cause(ObjectRef("up", "posts/p3.json", "v1"), "exec-1", None, 30)
    from tutela.act import Targets

    again = Reevaluator(_Nothing(), history, store, _Nothing(), Targets("pub", "quar"), cause)  # type: ignore[arg-type]
    with pytest.raises(TransientError, match="not recorded"):
        again.run("p3")
    history.put_once({"pk": "obj#up/media/p3/a.jpg", "sk": "v#v1", "kind": "media", "minor": "none"})
    with pytest.raises(TransientError, match="being carried out"):
        again.run("p3")
    # Already judged with a likely minor: nothing to do, whether or not it was acted on.
    store.register("p3", ObjectRef("up", "media/p3/b.jpg", "v1"), "media")
    history.put_once({"pk": "obj#up/media/p3/b.jpg", "sk": "v#v1", "kind": "media", "minor": "likely"})
    assert again.one(ObjectRef("up", "media/p3/b.jpg", "v1")) is None


class _Recording:
    """A store that records the order of calls (the Dekker argument needs write-then-read on each side)."""

    def __init__(self, flags: frozenset[str]) -> None:
        self.calls: list[str] = []
        self._flags = flags

    def register(self, *_a: Any, **_k: Any) -> None:
        self.calls.append("register")

    def flags(self, _post: str) -> frozenset[str]:
        self.calls.append("flags")
        return self._flags


def test_members_are_written_before_the_flags_are_read() -> None:
    """Promise: of a caption and a concurrent media/batch, at least one sees the other (docs/posts.md)."""
    media = _Recording(frozenset({"text_minor"}))
    out = media_context(media, ObjectRef("up", "media/p/a.jpg", "v"), media_decision([]))  # type: ignore[arg-type]
    assert media.calls == ["register", "flags"] and out["minor"] == "likely"
    batch = _Recording(frozenset({"media_seen"}))
    assert batch_context(batch, ObjectRef("up", "comments/p/b.jsonl", "v")) is False  # type: ignore[arg-type]
    assert batch.calls == ["register", "flags"]


@pytest.mark.parametrize("name", ["x" * 1000 + ".jpg", "照" * 330 + ".jpg"])
def test_a_member_with_the_longest_s3_key_is_registered(table: str, name: str) -> None:
    """Promise: every upload ends in exactly one stored decision. S3 keys run to 1,024 bytes and a member's
    sort key embedded the whole key: DynamoDB refused it (sort keys stop at 1 KiB) and RecordDecision failed
    into the dead-letter queue for any post member with a long file name."""
    store = PostContextStore(table)
    ref = ObjectRef("up", f"media/p7/{name}", "v1")
    assert len(ref.key.encode()) <= 1024
    assert media_context(store, ref, {"kind": "media", "minor": "none"})["kind"] == "media"
    store.register("p7", ref, "media")  # a retry: the same member, once
    [member] = store.members("p7")
    assert member["key"] == ref.key and member["decision"]["pk"].endswith(name)
    assert batch_context(store, ObjectRef("up", f"comments/p7/{name[:-4]}.jsonl", "v1")) is None
    assert len(list(store.members("p7"))) == 2
