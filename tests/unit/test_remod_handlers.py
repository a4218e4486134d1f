"""RemodPlan, Remoderate and ScanMedia's versions probe, invoked with their events/ samples on moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.conftest import ROOT, create_decisions_table, load_event
from tests.event_schemas import validate_event
from tutela.decision import object_item, step_decision
from tutela.errors import InvalidInputError, TransientError
from tutela.objects import ObjectRef
from tutela_dev.emulator.stack import load_handler

UPLOADS, PUBLISHED, QUARANTINE, BANKS = (
    "tutela-dev-uploads-example",
    "tutela-dev-published",
    "tutela-dev-quarantine",
    "tutela-dev-banks-example",
)
KEY = "media/post-123/beach.jpg"


def handler(name: str) -> Any:
    return load_handler(ROOT / "functions" / name, "app.lambda_handler", cold=True)


@pytest.fixture
def env(aws: None, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    s3 = boto3.client("s3")
    for bucket in (UPLOADS, PUBLISHED, QUARANTINE, BANKS):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    table = create_decisions_table(boto3.client("dynamodb"), template)
    boto3.client("events").create_event_bus(Name="decisions")
    for k, v in {
        "UPLOAD_BUCKET": UPLOADS,
        "PUBLISHED_BUCKET": PUBLISHED,
        "QUARANTINE_BUCKET": QUARANTINE,
        "BANK_BUCKET": BANKS,
        "DECISIONS_TABLE": table,
        "EVENT_BUS_NAME": "decisions",
        "VISION_BACKEND": "local",
    }.items():
        monkeypatch.setenv(k, v)
    return {"s3": s3, "table": boto3.resource("dynamodb").Table(table)}


def allowed_upload(env: dict[str, Any], body: bytes = b"\xff\xd8original") -> ObjectRef:
    """An upload the pipeline allowed and published (its decision and its published copy)."""
    version = env["s3"].put_object(Bucket=UPLOADS, Key=KEY, Body=body)["VersionId"]
    ref = ObjectRef(UPLOADS, KEY, version, len(body))
    decision = {"kind": "media", "verdict": "allow", "severity": 0, "reasons": [], "minor": "none"}
    item = object_item(
        ref, step_decision(decision), execution_id="arn:first", event_time=None, retention_days=30
    )
    env["table"].put_item(Item=item)
    meta = {"tutela-decision": item["sk"], "tutela-source-version": version}
    env["s3"].put_object(Bucket=PUBLISHED, Key=KEY, Body=b"scrubbed", Metadata=meta)
    return ref


def remoderate_event(ref: ObjectRef) -> dict[str, Any]:
    event = load_event("remoderate_media")
    event["plan"]["detail"]["object"]["version-id"] = ref.version_id
    return event


def items(env: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["sk"]: i for i in env["table"].scan()["Items"] if i["pk"].startswith("obj#")}


def test_plan_pins_the_version_and_skips_what_this_ruleset_judged(
    env: dict[str, Any], lambda_context: Any
) -> None:
    ref = allowed_upload(env)
    plan = handler("remod_plan")(load_event("remod_plan_item"), lambda_context)
    assert plan["action"] == "media" and plan["detail"]["object"]["version-id"] == ref.version_id
    assert plan["ruleset"]["banks"] == "3" and len(plan["fingerprint"]) == 16
    dry = handler("remod_plan")({**load_event("remod_plan_item"), "dry_run": True}, lambda_context)
    assert dry == {"action": "skip", "why": "dry_run", "would": "media", "key": KEY, "was": "allow"}
    late = handler("remod_plan")({**load_event("remod_plan_item"), "since": "2999-01-01"}, lambda_context)
    assert late["why"] == "before_since"
    same = remoderate_event(ref)
    same["scan"]["known_content"] = []
    assert handler("remoderate")(same, lambda_context)["outcome"] == "same"  # recorded: which rules judged it
    again = handler("remod_plan")(load_event("remod_plan_item"), lambda_context)
    assert again["why"] == "done"  # a second backfill for the same versions does nothing
    newer = {**load_event("remod_plan_item")}
    newer["versions"] = {**newer["versions"], "banks": "4"}
    assert handler("remod_plan")(newer, lambda_context)["action"] == "media"  # a bank change: judged again
    with pytest.raises(InvalidInputError):
        handler("remod_plan")(
            {"op": "item", "key": KEY, "since": "yesterday", "versions": {}}, lambda_context
        )


def test_plan_skips_what_it_does_not_re_moderate(env: dict[str, Any], lambda_context: Any) -> None:
    event = load_event("remod_plan_item")
    assert handler("remod_plan")(event, lambda_context)["why"] == "gone"
    env["s3"].put_object(Bucket=UPLOADS, Key=KEY, Body=b"x")
    assert handler("remod_plan")(event, lambda_context)["why"] == "undecided"  # the pipeline has it
    other = handler("remod_plan")({**event, "key": "posts/p.json"}, lambda_context)
    assert other["why"] == "not_remoderated"


def test_stricter_is_applied_once_and_a_retry_converges(
    env: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bank now matches an allowed upload: withdrawn, quarantined (verified copy), original deleted last;
    a fault after the side effects (the events fail) is retried by the same execution to one clean end."""
    from tutela.aws.bus import DecisionBus

    ref = allowed_upload(env)
    sent: list[Any] = []
    calls = {"n": 0}

    def flaky(self: Any, entries: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientError("the bus is throttling")
        sent.extend(entries)

    monkeypatch.setattr(DecisionBus, "publish_all", flaky)
    event = remoderate_event(ref)
    with pytest.raises(TransientError):
        handler("remoderate")(event, lambda_context)
    out = handler("remoderate")(event, lambda_context)  # the state machine's retry: same execution
    assert out["outcome"] == "stricter" and out["was"] == "allow" and out["verdict"] == "block"
    assert {"withdrawn", "quarantined"} <= set(out["action"])
    stored = items(env)
    remod = [i for sk, i in stored.items() if "#remod#" in sk and not sk.endswith("#action")]
    assert len(remod) == 1 and remod[0]["remoderates"]["verdict"] == "allow"
    assert {r["code"] for r in remod[0]["reasons"]} >= {"known_content"}
    assert stored[f"v#{ref.version_id}"]["verdict"] == "allow"  # the pipeline's decision is never changed
    assert [t for t, _ in sent] == ["Moderation Decision", "Moderation Escalation"]
    for detail_type, detail in sent:
        validate_event(detail_type, detail)  # the platform's contract (events/schemas)
    assert sent[0][1]["remoderates"]["sk"] == f"v#{ref.version_id}" and sent[0][1]["verdict"] == "block"
    assert "Contents" not in env["s3"].list_objects_v2(Bucket=PUBLISHED)
    q = env["s3"].get_object(Bucket=QUARANTINE, Key=f"{KEY}@{ref.version_id}#remod")
    assert q["Body"].read() == b"\xff\xd8original"
    assert not env["s3"].list_object_versions(Bucket=UPLOADS).get("Versions")
    # Another execution (a second run, a redelivered item) finds it done and changes nothing.
    other = handler("remoderate")({**event, "execution_id": "arn:another"}, lambda_context)
    assert other["outcome"] == "done_before" and len(sent) == 2


def test_looser_goes_to_review_never_to_publish(env: dict[str, Any], lambda_context: Any) -> None:
    version = env["s3"].put_object(Bucket=UPLOADS, Key=KEY, Body=b"\xff\xd8x")["VersionId"]
    ref = ObjectRef(UPLOADS, KEY, version, 3)
    held = {"kind": "media", "verdict": "review", "severity": 2, "reasons": [{"code": "known_content"}]}
    item = object_item(ref, step_decision(held), execution_id="arn:first", event_time=None, retention_days=30)
    env["table"].put_item(Item=item)
    event = remoderate_event(ref)
    event["scan"]["known_content"] = []  # the bank that held it is gone: the model says allow
    out = handler("remoderate")(event, lambda_context)
    assert out["outcome"] == "looser" and out["verdict"] == "review"
    remod = next(i for sk, i in items(env).items() if "#remod#" in sk and not sk.endswith("#action"))
    assert remod["computed_verdict"] == "allow" and "requeue" not in remod  # it is in the queue already
    assert "Contents" not in env["s3"].list_objects_v2(Bucket=PUBLISHED)


def test_a_scan_that_fails_holds_a_published_upload(env: dict[str, Any], lambda_context: Any) -> None:
    """Fail closed: a version the current scanner cannot judge any more is held, and its copy withdrawn."""
    ref = allowed_upload(env)
    event = remoderate_event(ref)
    del event["scan"]
    event["error"] = {"Error": "LimitExceededError", "Cause": '{"errorMessage": "too many pixels"}'}
    out = handler("remoderate")(event, lambda_context)
    assert out["outcome"] == "stricter" and out["verdict"] == "review" and "withdrawn" in out["action"]
    remod = next(i for sk, i in items(env).items() if "#remod#" in sk and not sk.endswith("#action"))
    assert remod["requeue"] is True and remod["reasons"][0]["code"] == "limit_exceeded"


def test_retro_plan_reads_what_a_bank_version_added(env: dict[str, Any], lambda_context: Any) -> None:
    from tutela.aws.banks import S3Blobs
    from tutela.bank.model import Bank, BankEntry
    from tutela.bank.store import BankRepository

    repo = BankRepository(S3Blobs(BANKS))
    with pytest.raises(TransientError):  # the snapshot event can arrive before the index commits it
        handler("remod_plan")(load_event("remod_retro"), lambda_context)
    repo.add("platform_removed", [BankEntry("platform_removed", "0" * 64)], defaults=Bank("platform_removed"))
    repo.add(
        "platform_removed", [BankEntry("platform_removed", "f" * 64), BankEntry("platform_removed", "e" * 64)]
    )
    out = handler("remod_plan")(load_event("remod_retro"), lambda_context)
    assert out["skip"] is False and len(out["shards"]) == 16
    assert {k: out["addition"][k] for k in ("name", "version", "first", "total", "action")} == {
        "name": "platform_removed", "version": 2, "first": 1, "total": 3, "action": "block",
    }  # fmt: skip


def test_scan_media_reports_its_model_and_bank_versions(env: dict[str, Any], lambda_context: Any) -> None:
    pytest.importorskip("cv2")
    out = handler("scan_media")({"op": "versions"}, lambda_context)
    assert out["banks"] == "0" and out["model"].startswith("local: opencv")


def test_a_comment_batch_judged_again_applies_stricter_lines_and_holds_looser_ones(
    env: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New rules block line 2 (published before: withdrawn, quarantined) and allow line 3 (held before:
    it stays held, for a human); line 1 stays published."""
    import json

    import tutela.comments
    from tutela.remod.versions import code_versions, fingerprint, ruleset

    key = "comments/post-123/batch-0001.jsonl"
    body = b"".join(json.dumps({"id": f"c{i}", "text": f"comment {i}"}).encode() + b"\n" for i in (1, 2, 3))
    version = env["s3"].put_object(Bucket=UPLOADS, Key=key, Body=body)["VersionId"]
    detail = {"bucket": {"name": UPLOADS}, "object": {"key": key, "version-id": version, "size": len(body)}}

    def result(line: int, verdict: str) -> dict[str, Any]:
        flagged = verdict != "allow"
        return {"line": line, "id": f"c{line}", "verdict": verdict, "severity": 2 if flagged else 0,
                "categories": ["innuendo"] if flagged else [], "score": 0.1, "evidence": [],
                "minor_context": False}  # fmt: skip

    before = [result(1, "allow"), result(2, "allow"), result(3, "review")]
    recorded = handler("record_decision")(
        {
            "detail": detail,
            "execution_id": "arn:first",
            "event_time": None,
            "decision": {
                "kind": "comments",
                "verdict": "review",
                "severity": 2,
                "reasons": [],
                "minor_context": False,
                "results": {"count": 3, "inline": before},
            },
        },
        lambda_context,
    )["decision"]
    published = b'{"id":"c1","text":"comment 1"}\n{"id":"c2","text":"comment 2"}\n'
    env["s3"].put_object(
        Bucket=PUBLISHED, Key=key, Body=published, Metadata={"tutela-decision": recorded["sk"]}
    )

    now = [result(1, "allow"), result(2, "block"), result(3, "allow")]
    monkeypatch.setattr(tutela.comments, "classify_lines", lambda lines, **kw: iter(now), raising=False)
    rules = ruleset("comments", code_versions())
    plan = {
        "action": "comments",
        "key": key,
        "detail": detail,
        "fingerprint": fingerprint(rules),
        "ruleset": rules,
    }
    out = handler("remoderate")(
        {"op": "comments", "plan": plan, "execution_id": "arn:remod", "event_time": None}, lambda_context
    )
    assert out["outcome"] == "stricter" and out["verdict"] == "block"
    kept = env["s3"].get_object(Bucket=PUBLISHED, Key=key)["Body"].read()
    # line 2 withdrawn; line 3 never published
    assert [json.loads(x) for x in kept.splitlines()] == [{"id": "c1", "text": "comment 1"}]
    quarantined = env["s3"].get_object(Bucket=QUARANTINE, Key=f"{key}@{version}#remod")["Body"].read()
    assert quarantined == json.dumps({"id": "c2", "text": "comment 2"}).encode() + b"\n"
    lines = {i["sk"].rsplit("#", 1)[-1]: i for sk, i in items(env).items() if "#remod#" in sk and "#c#" in sk}
    assert lines["000003"]["verdict"] == "review" and lines["000003"]["computed_verdict"] == "allow"
    assert lines["000002"]["verdict"] == "block"
    batch = next(i for sk, i in items(env).items() if sk.endswith(plan["fingerprint"]))
    assert (
        batch["analyzers"]["comments"]["lexicon_version"] == tutela.comments.LEXICON_VERSION
    )  # what judged it


def test_an_original_past_its_retention_is_quarantined_from_its_published_copy(
    env: dict[str, Any], lambda_context: Any
) -> None:
    """OriginalRetentionDays expired the allowed original; a bank now matches it: the published copy (same
    pixels, scrubbed) is the evidence - quarantined and verified before it is withdrawn."""
    ref = allowed_upload(env)
    env["s3"].delete_object(Bucket=UPLOADS, Key=KEY, VersionId=ref.version_id)
    out = handler("remoderate")(remoderate_event(ref), lambda_context)
    assert out["outcome"] == "stricter" and {"quarantined", "withdrawn"} <= set(out["action"])
    q = env["s3"].get_object(Bucket=QUARANTINE, Key=f"{KEY}@{ref.version_id}#remod")
    assert q["Body"].read() == b"scrubbed"
    assert "Contents" not in env["s3"].list_objects_v2(Bucket=PUBLISHED)
    logged = next(i for sk, i in items(env).items() if sk.endswith("#action"))
    assert logged["action"]["quarantined"]["from"] == "published"


def test_plan_versions_are_this_codes_policies_with_scan_medias_model_and_banks(
    env: dict[str, Any], lambda_context: Any
) -> None:
    """Promise: a backfill judges with the ruleset it names - this code's policy versions plus the model and
    bank versions ScanMedia reported (the probe); without that probe it refuses rather than guess."""
    from tutela.remod.versions import code_versions

    probe = {"model": "local: opencv 4.10", "banks": "3"}
    out = handler("remod_plan")({"op": "versions", "probe": probe}, lambda_context)
    assert out == {**code_versions(), "model": "local: opencv 4.10", "banks": "3"}
    with pytest.raises(InvalidInputError):
        handler("remod_plan")({"op": "versions"}, lambda_context)


def test_scan_media_without_banks_reports_bank_version_zero(
    env: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: a stack deployed without a bank bucket still reports its versions (banks "0"), so a
    backfill can run there; it never reads a bank that is not configured."""
    pytest.importorskip("cv2")
    monkeypatch.delenv("BANK_BUCKET")
    out = handler("scan_media")({"op": "versions"}, lambda_context)
    assert out["banks"] == "0" and out["model"].startswith("local: ")


def test_a_retro_page_finds_the_stored_uploads_a_bank_addition_matches(
    env: dict[str, Any], lambda_context: Any
) -> None:
    """Promise: when a bank version adds a hash, the retro pages over the HashIndex find every stored media
    decision whose hash it matches (and only those), page by page from the cursor."""
    from tutela.aws.banks import S3Blobs
    from tutela.bank.model import Bank, BankEntry
    from tutela.bank.store import BankRepository
    from tutela.decision import hash_shard

    repo = BankRepository(S3Blobs(BANKS))
    repo.add("platform_removed", [BankEntry("platform_removed", "0" * 64)], defaults=Bank("platform_removed"))
    repo.add("platform_removed", [BankEntry("platform_removed", "f" * 64)])
    plan = handler("remod_plan")(load_event("remod_retro"), lambda_context)
    decision = {"kind": "media", "verdict": "allow", "severity": 0, "reasons": [], "minor": "none"}
    stored = {}
    for n, h in enumerate(("f" * 64, "0" * 64, "f" * 64)):  # v2 added f...: two uploads hold it
        ref = ObjectRef(UPLOADS, f"media/p/{n}.jpg", f"v{n}")
        item = object_item(
            ref,
            step_decision({**decision, "pdq": [{"pdq": h, "quality": 100}]}),
            execution_id="arn:x",
            event_time=None,
            retention_days=30,
        )
        env["table"].put_item(Item=item)
        stored[ref.key] = item["pk"]
    found, read = set(), 0
    for shard in plan["shards"]:
        cursor = None
        while True:
            page = {"op": "retro_page", "addition": plan["addition"], "shard": shard}
            out = handler("remod_plan")({**page, **({"cursor": cursor} if cursor else {})}, lambda_context)
            found |= {(m["key"], m["version_id"]) for m in out["matches"]}
            read += out["read"]
            cursor = out["cursor"]
            if not cursor:
                break
    assert found == {("media/p/0.jpg", "v0"), ("media/p/2.jpg", "v2")} and read == 3
    assert {hash_shard(pk) for pk in stored.values()} <= set(plan["shards"])
    with pytest.raises(InvalidInputError):
        handler("remod_plan")(
            {"op": "retro_page", "addition": plan["addition"], "shard": "99"}, lambda_context
        )
