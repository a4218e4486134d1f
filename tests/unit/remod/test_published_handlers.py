"""RemodPlan over the published listing and Remoderate on a retired comment batch, on moto: Act retires a
decided original (a delete marker), so a backfill finds allowed uploads through their published copies."""

from __future__ import annotations

from typing import Any

from tests.conftest import load_event
from tests.unit.test_remod_handlers import KEY, PUBLISHED, UPLOADS, allowed_upload, env, handler, items
from tutela.decision import object_item, step_decision
from tutela.objects import ObjectRef

__all__ = ["env"]  # the fixture


def _plan(source: str) -> dict[str, Any]:
    return {**load_event("remod_plan_item"), "since": "2000-01-01", "source": source}


def test_a_retired_original_is_planned_from_its_published_copy_once(
    env: dict[str, Any], lambda_context: Any
) -> None:
    ref = allowed_upload(env)
    plan = handler("remod_plan")
    # Act has not retired it yet: the upload listing plans it, the published listing leaves it alone
    assert plan(_plan("uploads"), lambda_context)["action"] == "media"
    assert plan(_plan("published"), lambda_context)["why"] == "listed_in_uploads"

    env["s3"].delete_object(Bucket=UPLOADS, Key=KEY)  # retired: a delete marker
    assert plan(_plan("uploads"), lambda_context)["why"] == "gone"
    out = plan(_plan("published"), lambda_context)
    assert out["action"] == "media" and out["source"] == "published"
    assert out["subject"]["bucket"]["name"] == UPLOADS
    assert out["subject"]["object"]["version-id"] == ref.version_id
    assert out["detail"]["bucket"]["name"] == PUBLISHED  # scanned: the same pixels, scrubbed
    copy = env["s3"].head_object(Bucket=PUBLISHED, Key=KEY)
    assert out["detail"]["object"]["version-id"] == copy["VersionId"]

    # Remoderate judges the subject, not the copy: the chain, and the withdrawal, are the upload version's
    event = load_event("remoderate_media")
    event["plan"] = {**event["plan"], "subject": out["subject"], "detail": out["detail"]}
    event["scan"] = {**event["scan"], "known_content": []}
    result = handler("remoderate")(event, lambda_context)
    assert result["key"] == KEY and result["was"] == "allow"
    assert any(sk.startswith(f"v#{ref.version_id}#remod#") for sk in items(env))


def test_a_retired_comment_batch_is_judged_while_its_original_is_kept(
    env: dict[str, Any], lambda_context: Any
) -> None:
    key = "comments/post-123/batch-0002.jsonl"
    body = b'{"id": "c1", "text": "lovely"}\n'
    version = env["s3"].put_object(Bucket=UPLOADS, Key=key, Body=body)["VersionId"]
    ref = ObjectRef(UPLOADS, key, version, len(body))
    decision = {"kind": "comments", "verdict": "allow", "severity": 0, "reasons": [], "minor_context": False}
    item = object_item(
        ref, step_decision(decision), execution_id="arn:first", event_time=None, retention_days=30
    )
    env["table"].put_item(Item=item)
    env["s3"].put_object(Bucket=PUBLISHED, Key=key, Body=b'{"id":"c1","text":"lovely"}\n',
                         Metadata={"tutela-decision": item["sk"], "tutela-sha256": "x"})  # fmt: skip
    env["s3"].delete_object(Bucket=UPLOADS, Key=key)  # retired

    plan = handler("remod_plan")({**_plan("published"), "key": key}, lambda_context)
    assert plan["action"] == "comments" and plan["detail"]["object"]["version-id"] == version
    event = {"op": "comments", "plan": plan, "execution_id": "arn:remod", "event_time": None}
    first = handler("remoderate")(event, lambda_context)  # read from the kept original
    assert first["outcome"] in ("same", "stricter") and first["sk"].startswith(f"v#{version}#remod#")

    # OriginalRetentionDays later, under new rules: the published lines alone are not judged
    env["s3"].delete_object(Bucket=UPLOADS, Key=key, VersionId=version)
    before = {sk for sk in items(env) if "#remod#" in sk}
    published = env["s3"].list_object_versions(Bucket=PUBLISHED, Prefix=key).get("Versions", [])
    later = {**plan, "fingerprint": "f" * 16}
    out = handler("remoderate")({**event, "plan": later}, lambda_context)
    assert out == {"key": key, "outcome": "original_expired", "was": first["verdict"]}
    assert {sk for sk in items(env) if "#remod#" in sk} == before  # nothing recorded, nothing changed
    assert env["s3"].list_object_versions(Bucket=PUBLISHED, Prefix=key).get("Versions", []) == published
