"""A backfill's published listing: a copy names the upload version it was made from (media: its
``tutela-source-version``; a comment file: the version of the decision it carries out), that version is
re-judged once - by the upload listing when its original is still current there, else from the copy."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tutela.remod.plan import plan_item, plan_published, source_version
from tutela.remod.versions import fingerprint, remod_sk, ruleset

UP, PUB = "uploads", "published"
VERSIONS = {"media_policy": "m1", "model": "x", "banks": "3", "comments": "data-1"}
WHEN = datetime(2026, 11, 20, tzinfo=UTC)


class History:
    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = {(i["pk"], i["sk"]): i for i in items}

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.items.get((pk, sk))

    def query(self, pk: str, prefix: str) -> Iterable[dict[str, Any]]:
        return [i for (p, s), i in sorted(self.items.items()) if p == pk and s.startswith(prefix)]


def _decided(key: str, version: str, verdict: str = "allow") -> dict[str, Any]:
    return {"pk": f"obj#{UP}/{key}", "sk": f"v#{version}", "verdict": verdict, "decided_at": "2026-11-20"}


def _copy(meta: dict[str, str], version: str = "P1", size: int = 900) -> dict[str, Any]:
    return {"VersionId": version, "ContentLength": size, "LastModified": WHEN, "Metadata": meta}


def _plan(key: str, copy: Any, current: Any, history: History, **kw: Any) -> dict[str, Any]:
    return plan_published(UP, PUB, key, copy, current, history, VERSIONS, since=kw.pop("since", None), **kw)


def test_a_media_copy_is_scanned_and_its_upload_version_re_judged() -> None:
    key = "media/p/x.jpg"
    plan = _plan(key, _copy({"tutela-source-version": "V1"}), None, History(_decided(key, "V1")))
    assert plan["action"] == "media" and plan["source"] == "published"
    assert plan["subject"] == {"bucket": {"name": UP}, "object": {"key": key, "version-id": "V1"}}
    assert plan["detail"] == {
        "bucket": {"name": PUB},
        "object": {"key": key, "version-id": "P1", "size": 900},
    }
    assert plan["fingerprint"] == fingerprint(ruleset("media", VERSIONS))


def test_a_comment_file_is_re_judged_from_the_upload_version_its_decision_names() -> None:
    key = "comments/p/b.jsonl"
    # rewritten by a later re-evaluation: tutela-decision is that decision's sk, under the same version
    copy = _copy({"tutela-decision": "v#V7#post-context", "tutela-sha256": "ab"})
    assert source_version(key, copy) == "V7"
    plan = _plan(key, copy, None, History(_decided(key, "V7")))
    assert plan["action"] == "comments" and "subject" not in plan  # the kept original is read, not the copy
    assert plan["detail"] == {"bucket": {"name": UP}, "object": {"key": key, "version-id": "V7"}}


def test_an_original_still_current_belongs_to_the_upload_listing() -> None:
    key = "media/p/x.jpg"
    history = History(_decided(key, "V1"))
    copy = _copy({"tutela-source-version": "V1"})
    current = {"VersionId": "V1", "ContentLength": 1000, "LastModified": WHEN}
    assert _plan(key, copy, current, history) == {"action": "skip", "why": "listed_in_uploads", "key": key}
    assert plan_item(UP, key, current, history, VERSIONS, since=None)["action"] == "media"  # planned there
    # a newer upload at the key (held, undecided) is its own version: the copy's is still judged here
    newer = {**current, "VersionId": "V2"}
    assert _plan(key, copy, newer, history)["subject"]["object"]["version-id"] == "V1"


def test_once_per_version_and_ruleset_whichever_listing_sees_it() -> None:
    key = "media/p/x.jpg"
    fp = fingerprint(ruleset("media", VERSIONS))
    done = {
        "pk": f"obj#{UP}/{key}",
        "sk": remod_sk("v#V1", fp),
        "verdict": "allow",
        "decided_at": "2026-11-21",
    }
    plan = _plan(key, _copy({"tutela-source-version": "V1"}), None, History(_decided(key, "V1"), done))
    assert (plan["action"], plan["why"]) == ("skip", "done")


def test_what_is_skipped_and_why() -> None:
    key = "media/p/x.jpg"
    history = History(_decided(key, "V1"))
    good = _copy({"tutela-source-version": "V1"})
    assert _plan(key, None, None, history)["why"] == "gone"
    assert _plan(key, _copy({}), None, history)["why"] == "not_a_published_copy"
    assert _plan("comments/p/b.jsonl", _copy({"tutela-decision": "x"}), None, history)["why"] == (
        "not_a_published_copy"
    )
    assert _plan("posts/p.json", good, None, history)["why"] == "not_remoderated"
    assert _plan(key, good, None, history, since=datetime(2027, 1, 1, tzinfo=UTC))["why"] == "before_since"
    assert _plan(key, _copy({"tutela-source-version": "V9"}), None, history)["why"] == "undecided"
    dry = _plan(key, good, None, history, dry_run=True)
    assert dry == {
        "action": "skip",
        "why": "dry_run",
        "would": "media",
        "key": key,
        "was": "allow",
        "source": "published",
    }
