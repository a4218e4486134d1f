"""Each thin handler, invoked with its events/ sample on moto (what `sam local invoke -e` sends)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT, create_decisions_table, load_event
from tutela.comment_records import evidence_text
from tutela.scrub import find_location
from tutela_dev.emulator import samples
from tutela_dev.emulator.stack import load_handler

UPLOADS, STAGING, PUBLISHED, QUARANTINE = (
    "tutela-dev-uploads-example",
    "tutela-dev-staging-example",
    "tutela-dev-published",
    "tutela-dev-quarantine",
)


def handler(name: str) -> Any:
    return load_handler(ROOT / "functions" / name, "app.lambda_handler", cold=True)


@pytest.fixture
def env(aws: None, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    s3 = boto3.client("s3")
    for bucket in (UPLOADS, STAGING, PUBLISHED, QUARANTINE):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
    table = create_decisions_table(boto3.client("dynamodb"), template)
    bus = boto3.client("events").create_event_bus(Name="decisions")["EventBusArn"]
    for k, v in {
        "STAGING_BUCKET": STAGING,
        "PUBLISHED_BUCKET": PUBLISHED,
        "QUARANTINE_BUCKET": QUARANTINE,
        "DECISIONS_TABLE": table,
        "EVENT_BUS_NAME": "decisions",
        "VISION_BACKEND": "local",
    }.items():
        monkeypatch.setenv(k, v)
    return {"s3": s3, "table": boto3.resource("dynamodb").Table(table), "bus": bus}


def put(env: dict[str, Any], event: dict[str, Any], body: bytes) -> dict[str, Any]:
    """Upload the object the sample event names and pin the event to the version S3 gave it."""
    obj = event["detail"]["object"]
    obj["version-id"] = env["s3"].put_object(Bucket=UPLOADS, Key=obj["key"], Body=body)["VersionId"]
    obj["size"] = len(body)
    return event


def test_scan_media(env: dict[str, Any], tmp_path: Path, lambda_context: Any) -> None:
    event = put(env, load_event("scan_media"), samples.photo(tmp_path / "p.jpg", (320, 240)).read_bytes())
    out = handler("scan_media")(event, lambda_context)
    assert out["media_type"] == "jpeg" and out["backend"]["name"] == "local"
    assert out["ModerationLabels"] == []  # a beach scene: nothing to moderate
    for face in out["Faces"]:  # the Rekognition v7 shape, whichever backend ran
        assert {"BoundingBox", "AgeRange", "Confidence"} <= set(face)
        assert face["AgeRange"]["Low"] <= face["AgeRange"]["High"]


def test_scan_media_downloads_no_more_than_a_scan_accepts(
    env: dict[str, Any], tmp_path: Path, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: ScanMedia refuses an object bigger than any scan accepts (a video over 500 MiB) from its
    size, before fetching it, not after downloading up to the 2 GiB media cap."""
    import sys

    from tutela.vision.limits import ScanLimits

    scan = handler("scan_media")
    app = sys.modules[scan.__module__]
    caps: list[int] = []
    real = app._s3

    class Recording:
        def resolving(self, ref: Any, read: Any) -> Any:
            return real.resolving(ref, read)

        def download(self, ref: Any, dest: Path, *, max_bytes: int) -> int:
            caps.append(max_bytes)
            return real.download(ref, dest, max_bytes=max_bytes)

    monkeypatch.setattr(app, "_s3", Recording())
    event = put(env, load_event("scan_media"), samples.photo(tmp_path / "p.jpg", (64, 48)).read_bytes())
    assert scan(event, lambda_context)["media_type"] == "jpeg"
    assert caps == [ScanLimits().max_video_bytes] and caps[0] < app._settings().max_media_bytes


def test_scrub_geotags_verifies_a_copy_and_stages_nothing_below_the_splice_size(
    env: dict[str, Any], tmp_path: Path, lambda_context: Any
) -> None:
    """A photo is scrubbed and verified in memory; the step returns the verified bytes' sha256 and size
    (what Act re-creates and checks before publishing) and writes nothing."""
    import hashlib

    from tutela.scrub import scrub_bytes

    original = samples.photo(tmp_path / "p.jpg", (320, 240)).read_bytes()
    event = put(env, load_event("scrub_geotags"), original)
    out = handler("scrub_geotags")(event, lambda_context)
    assert out["verified"] is True and out["location_found"] is True and "exif.gps" in out["removed"]
    assert out["content_type"] == "image/jpeg"
    clean, _ = scrub_bytes(original)
    assert out["staging"] == {"sha256": hashlib.sha256(clean).hexdigest(), "size": len(clean)}
    staged = tmp_path / "clean.jpg"
    staged.write_bytes(clean)
    assert find_location(staged) == []
    assert env["s3"].list_objects_v2(Bucket=STAGING).get("KeyCount", 0) == 0


def test_scrub_rejects_non_media(env: dict[str, Any], lambda_context: Any) -> None:
    from tutela.errors import UnsupportedMediaError

    event = put(env, load_event("scrub_geotags"), b"MZ" + b"\0" * 200)
    with pytest.raises(UnsupportedMediaError):
        handler("scrub_geotags")(event, lambda_context)
    assert env["s3"].list_objects_v2(Bucket=STAGING).get("KeyCount", 0) == 0


def test_record_decision_fuses_a_media_analysis(env: dict[str, Any], lambda_context: Any) -> None:
    """The media path hands RecordDecision the Parallel state's output; it stores the media policy's decision
    (what the Decide step returned before it was folded in), exactly once."""
    event = load_event("record_media_analysis")
    out = handler("record_decision")(event, lambda_context)
    stored = out["decision"]
    assert out["duplicate"] is False and out["fresh"] is True
    assert stored["kind"] == "media" and stored["verdict"] == "allow" and stored["minor"] == "none"
    assert stored["staged"]["key"].startswith("scrubbed/") and stored["policy"]["version"]
    # Provenance (issue 9 mutation 'Decide stores no labels' survived): the signals the verdict rests on.
    scan = event["decision"]["analysis"][0]["scan"]
    assert stored["signals"]["labels"] == scan["ModerationLabels"]
    assert stored["signals"]["faces"] == [f["AgeRange"] for f in scan["Faces"]]
    # a retry of the same execution fuses the same analysis again and carries on with the stored decision
    retry = handler("record_decision")(event, lambda_context)
    assert retry["duplicate"] is False and retry["fresh"] is False and retry["decision"] == stored
    (item,) = [i for i in env["table"].scan()["Items"] if i["pk"].startswith("obj#")]
    assert item["verdict"] == "allow" and item["kind"] == "media"
    # The policy's thresholds and the scan's version are in the provenance item the decision names.
    from tutela.policy.media import THRESHOLDS
    from tutela.provenance import PROVENANCE_PK, merged

    (provenance,) = [i for i in env["table"].scan()["Items"] if i["pk"] == PROVENANCE_PK]
    assert stored["provenance"] == provenance["sk"] and "thresholds" not in stored["policy"]
    whole = merged(stored, json.loads(json.dumps(provenance, default=float)))
    assert whole["policy"]["thresholds"] == THRESHOLDS
    assert whole["analyzers"]["scan"] == scan["backend"]


def test_record_decision_never_allows_an_unverified_scrub(env: dict[str, Any], lambda_context: Any) -> None:
    event = load_event("record_media_analysis")
    event["decision"]["analysis"][1]["scrub"]["verified"] = False
    stored = handler("record_decision")(event, lambda_context)["decision"]
    assert stored["verdict"] == "review" and "scrub_unverified" in [r["code"] for r in stored["reasons"]]


@pytest.mark.parametrize(
    "analysis",
    [
        [{"scan": {}}],  # the scrub part missing
        [{"scan": "labels"}, {"scrub": {}}],  # malformed
        [{"scan": {"ModerationLabels": "x", "Faces": 7}}, {"scrub": {"verified": True}}],  # the policy fails
    ],
    ids=["missing", "malformed", "policy-error"],
)
def test_an_analysis_that_cannot_be_fused_is_recorded_held(
    env: dict[str, Any], lambda_context: Any, analysis: list[Any]
) -> None:
    """Fail closed, as the Catch on the old Decide state did: a stored review decision with the error as its
    reason, never an exception that would send the upload to the dead-letter queue undecided."""
    event = load_event("record_media_analysis")
    event["decision"]["analysis"] = analysis
    out = handler("record_decision")(event, lambda_context)
    stored = out["decision"]
    assert out["duplicate"] is False and stored["kind"] == "error" and stored["verdict"] == "review"
    assert stored["reasons"][0]["error"] and "staged" not in stored


def test_classify_comments(env: dict[str, Any], tmp_path: Path, lambda_context: Any) -> None:
    event = put(env, load_event("classify_comments"), samples.thread(tmp_path / "t.jsonl").read_bytes())
    out = handler("classify_comments")(event, lambda_context)
    assert out["kind"] == "comments" and out["results"]["count"] == len(samples.THREAD)
    assert out["verdict"] == "block" and out["severity"] >= 3 and out["minor_context"] is None
    assert out["counts"] == {"allow": 3, "block": 2}
    assert "comment_grooming" in [r["code"] for r in out["reasons"]]
    # A small batch's results travel in the state (no staged object), without the comment text.
    results = out["results"]["inline"]
    assert "key" not in out["results"]
    assert [e.get("text") for r in results for e in r.get("evidence", [])] == [None] * sum(
        len(r.get("evidence", [])) for r in results
    )
    assert [(r["id"], r["line"], r["verdict"]) for r in results] == [
        ("c1", 1, "allow"),
        ("c2", 2, "allow"),
        ("c3", 3, "block"),
        ("c4", 4, "allow"),
        ("c5", 5, "block"),
    ]
    assert "don't tell your parents" not in json.dumps(out)  # the state carries counts, not text


def test_classify_comments_asks_the_configured_llm_and_records_its_stricter_verdict(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: with COMMENTS_LLM set, ClassifyComments asks exactly that model (Bedrock Converse) about the
    comments stages 1-2 allowed under a post of unknown age, applies its stricter verdict to that comment
    only, and says in the decision which stages judged the batch and the comment."""
    from botocore.stub import ANY, Stubber

    from tutela.aws import clients
    from tutela_dev.emulator.stack import FakeContext

    model = "amazon.nova-micro-v1:0"
    monkeypatch.setenv("COMMENTS_LLM", model)
    bedrock = boto3.client("bedrock-runtime")
    answer = {
        "verdicts": [
            {"id": "1", "verdict": "review", "categories": ["grooming"], "reason": "asks to move the chat"},
            {"id": "2", "verdict": "allow", "categories": [], "reason": "a compliment"},
        ]
    }
    reply = {
        "output": {"message": {"role": "assistant", "content": [{"text": json.dumps(answer)}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 900, "outputTokens": 40, "totalTokens": 940},
        "metrics": {"latencyMs": 300},
    }
    asked = {"modelId": model, "system": ANY, "messages": ANY, "inferenceConfig": ANY}
    batch = b'{"id": "c1", "text": "lovely photo"}\n{"id": "c2", "text": "great shot"}\n'
    event = put(env, load_event("classify_comments"), batch)
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply, asked)
        clients.override("bedrock-runtime", bedrock)
        try:
            # the function's own timeout leaves room for a model call (a 60 s one would hold both lines)
            out = handler("classify_comments")(event, FakeContext("classify", 300, 1024))
        finally:
            clients.override("bedrock-runtime", None)
        stub.assert_no_pending_responses()
    assert out["verdict"] == "review" and out["counts"] == {"allow": 1, "review": 1}
    assert out["analyzers"]["comments"]["stages"][-1] == f"llm:{model}"
    assert out["analyzers"]["comments"]["llm"]["calls"] == 1
    # the model's reason may quote the comment: the results are staged, never carried in the state
    assert "inline" not in out["results"] and out["results"]["bucket"] == STAGING
    body = env["s3"].get_object(Bucket=STAGING, Key=out["results"]["key"])["Body"].read()
    first, second = (json.loads(line) for line in body.splitlines())
    assert (first["line"], first["verdict"], first["llm"]) == (
        1,
        "review",
        {"model": model, "verdict": "review"},
    )
    assert first["stages"][-1] == f"llm:{model}" and second["verdict"] == "allow"


def test_the_llm_stage_honours_the_configured_scope(env: dict[str, Any]) -> None:
    """Promise: COMMENTS_LLM_SCOPE=all also asks the model about comments under an adult's post (the default
    scope, child-or-unknown, never does): the operator's setting reaches the stage."""
    import sys

    from botocore.stub import ANY, Stubber

    from tutela.aws import clients
    from tutela.aws.settings import LLMSettings
    from tutela.comments import classify_lines

    model = "amazon.nova-micro-v1:0"
    app = sys.modules[handler("classify_comments").__module__]
    lines = [b'{"id": "c1", "text": "great shot"}']
    answer = {"verdicts": [{"id": "1", "verdict": "allow", "categories": [], "reason": "a compliment"}]}
    reply = {
        "output": {"message": {"role": "assistant", "content": [{"text": json.dumps(answer)}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 500, "outputTokens": 20, "totalTokens": 520},
        "metrics": {"latencyMs": 100},
    }
    bedrock = boto3.client("bedrock-runtime")
    asked = {"modelId": model, "system": ANY, "messages": ANY, "inferenceConfig": ANY}
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply, asked)
        clients.override("bedrock-runtime", bedrock)
        try:
            calls = {}
            for scope in ("child-or-unknown", "all"):
                results = list(classify_lines(lines, minor_context=False))
                report = app.run_llm_stage(LLMSettings(model, scope, 30_000), results, lines, False, None)
                calls[scope] = report.calls
        finally:
            clients.override("bedrock-runtime", None)
        stub.assert_no_pending_responses()
    assert calls == {"child-or-unknown": 0, "all": 1}


def test_record_decision_is_idempotent(env: dict[str, Any], lambda_context: Any) -> None:
    """Promise: exactly one decision per object version; a retry of the same execution continues with the
    stored decision, a redelivery (another execution) stops (issue 8, item 5: today the retry stopped)."""
    event = load_event("record_decision")
    first = handler("record_decision")(event, lambda_context)
    retry = handler("record_decision")(event, lambda_context)
    other = handler("record_decision")({**event, "execution_id": "arn:other"}, lambda_context)
    assert first["duplicate"] is False and retry["duplicate"] is False and other["duplicate"] is True
    assert retry["decision"] == first["decision"]  # the stored decision, not a second one
    items = [i for i in env["table"].scan()["Items"] if i["pk"].startswith("obj#")]  # not post#
    assert len(items) == 1 and items[0]["verdict"] == "allow" and items[0]["post_id"] == "post-123"


def _record_and_act(event: dict[str, Any], decision: dict[str, Any], execution: str, context: Any) -> Any:
    """RecordDecision, then (unless it stopped a redelivery) Act, as the state machine runs them."""
    record = {**event, "execution_id": execution, "decision": decision}
    recorded = handler("record_decision")(record, context)
    if recorded["duplicate"]:
        return recorded, None
    act = {**record, "decision": recorded["decision"], "fresh": recorded["fresh"], "attempt": 0}
    return recorded, handler("act")(act, context)


def test_a_redelivery_never_rewrites_comment_records(
    env: dict[str, Any], tmp_path: Path, lambda_context: Any
) -> None:
    """Promise: history is append-only; a redelivery (another execution) stops before writing anything
    (issue 9 mutation 'RecordDecision skips the comment pre-read' survived). The records are Act's to write:
    RecordDecision stores the batch item only."""
    event = put(env, load_event("classify_comments"), samples.thread(tmp_path / "t.jsonl").read_bytes())
    decision = handler("classify_comments")(event, lambda_context)
    recorded = handler("record_decision")(
        {**event, "execution_id": "arn:first", "decision": decision}, lambda_context
    )
    assert recorded["duplicate"] is False
    assert [i["sk"] for i in env["table"].scan()["Items"] if i["pk"].startswith("obj#")] == [
        recorded["decision"]["sk"]
    ]
    act = {
        **event,
        "execution_id": "arn:first",
        "decision": recorded["decision"],
        "fresh": True,
        "attempt": 0,
    }
    handler("act")(act, lambda_context)
    items = {
        i["sk"]: i for i in env["table"].scan()["Items"] if i["pk"].startswith("obj#") and "action" not in i
    }
    # The batch item (plainly allowed lines listed in it) + one item per flagged comment (c3, c5).
    assert len(items) == 1 + 2
    batch = next(i for i in items.values() if "#c#" not in i["sk"])
    assert batch["allowed_lines"] == "1-2,4"
    first = next(sk for sk in items if sk.endswith("#c#000003"))
    # its evidence text: cut from its uploaded line (a blocked record keeps the spans only)
    assert items[first]["evidence"] and all(e["text"] for e in evidence_text(items[first]))
    assert (
        items[first]["decided_at"] == batch["decided_at"]
        and items[first]["expires_at"] == batch["expires_at"]
    )
    env["table"].update_item(
        Key={"pk": items[first]["pk"], "sk": first},
        UpdateExpression="SET marker = :m",
        ExpressionAttributeValues={":m": "untouched"},
    )
    again, acted = _record_and_act(event, decision, "arn:second", lambda_context)
    assert again["duplicate"] is True and acted is None
    assert env["table"].get_item(Key={"pk": items[first]["pk"], "sk": first})["Item"]["marker"] == "untouched"


def test_a_small_batchs_blocked_lines_are_kept_in_their_records_not_quarantined(
    env: dict[str, Any], tmp_path: Path, lambda_context: Any
) -> None:
    """Inline results: Act keeps each blocked line's uploaded bytes in its record, publishes the allowed
    lines and writes no quarantine object (one PUT per batch fewer); RecordDecision reads no batch."""
    thread = samples.thread(tmp_path / "t.jsonl").read_bytes()
    event = put(env, load_event("classify_comments"), thread)
    decision = handler("classify_comments")(event, lambda_context)
    assert "inline" in decision["results"]
    calls: list[str] = []
    env["s3"].meta.events.register("before-call.s3.GetObject", lambda **kw: calls.append("GetObject"))
    from tutela.aws import clients

    clients.override("s3", env["s3"])
    try:
        recorded = handler("record_decision")({**event, "decision": decision}, lambda_context)
        assert calls == []  # the batch is read once per upload, by Act
        action = handler("act")({**event, "decision": recorded["decision"]}, lambda_context)
        assert calls == ["GetObject"]
    finally:
        clients.override("s3", None)
    items = {i["sk"]: i for i in env["table"].scan()["Items"] if "#c#" in i["sk"]}
    lines = thread.splitlines()
    for n in (3, 5):  # the two blocked lines: their exact uploaded bytes
        (item,) = [i for sk, i in items.items() if sk.endswith(f"#c#{n:06d}")]
        assert item["verdict"] == "block" and item["uploaded"].encode() == lines[n - 1]
    assert action["quarantined"] == {"comments": 2, "in_records": 2}
    assert env["s3"].list_objects_v2(Bucket=QUARANTINE).get("KeyCount", 0) == 0
    assert action["published"]["comments"] == 3


def _staged_act_event(env: dict[str, Any]) -> dict[str, Any]:
    """events/act.json with a staged copy (what a big video's allow carries) instead of a verified hash, for
    an original that is in the upload bucket (Act publishes nothing for one that is gone or withdrawn)."""
    event = put(env, load_event("act"), b"original")
    version = event["detail"]["object"]["version-id"]
    event["decision"].update(sk=f"v#{version}", version_id=version)
    key = f"scrubbed/{version}/media/post-123/beach.jpg"
    event["decision"]["staged"] = {"bucket": STAGING, "key": key, "content_type": "image/jpeg"}
    return event


def test_act_publishes_the_staged_copy(env: dict[str, Any], lambda_context: Any) -> None:
    event = _staged_act_event(env)
    decision = event["decision"]
    env["s3"].create_bucket(Bucket=decision["staged"]["bucket"])
    env["s3"].put_object(Bucket=decision["staged"]["bucket"], Key=decision["staged"]["key"], Body=b"scrubbed")
    env["table"].put_item(Item={"pk": decision["pk"], "sk": decision["sk"], "verdict": "allow"})
    out = handler("act")(event, lambda_context)
    assert out == {"published": {"bucket": PUBLISHED, "key": "media/post-123/beach.jpg"}}
    assert (
        env["s3"].get_object(Bucket=PUBLISHED, Key="media/post-123/beach.jpg")["Body"].read() == b"scrubbed"
    )
    # Act's outcome is a new item next to the decision; the decision item itself is never updated.
    logged = env["table"].get_item(Key={"pk": decision["pk"], "sk": decision["sk"] + "#action"})["Item"]
    assert logged["action"] == out and logged["kind"] == "action"
    assert "action" not in env["table"].get_item(Key={"pk": decision["pk"], "sk": decision["sk"]})["Item"]


def test_act_refuses_allow_without_staged_copy(env: dict[str, Any], lambda_context: Any) -> None:
    from tutela.errors import InvalidInputError

    event = load_event("act")
    event["decision"].pop("staged")
    with pytest.raises(InvalidInputError):
        handler("act")(event, lambda_context)
    assert env["s3"].list_objects_v2(Bucket=PUBLISHED).get("KeyCount", 0) == 0


def test_scrub_geotags_splices_big_objects_in_s3(
    env: dict[str, Any], tmp_path: Path, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutela.scrub import scrub_bytes

    monkeypatch.setenv("SPLICE_MIN_BYTES", "1")  # every object takes the server-side path
    body = samples.photo(tmp_path / "p.jpg", (320, 240)).read_bytes()
    event = put(env, load_event("scrub_geotags"), body)
    out = handler("scrub_geotags")(event, lambda_context)
    staged = env["s3"].get_object(Bucket=STAGING, Key=out["staging"]["key"])
    assert staged["Body"].read() == scrub_bytes(body)[0]  # same bytes as the local path
    assert staged["ContentType"] == "image/jpeg" and out["verified"] is True


def test_act_publishes_with_the_media_content_type(env: dict[str, Any], lambda_context: Any) -> None:
    event = _staged_act_event(env)
    staged = event["decision"]["staged"]
    env["s3"].create_bucket(Bucket=staged["bucket"])
    env["s3"].put_object(Bucket=staged["bucket"], Key=staged["key"], Body=b"x", ContentType="image/jpeg")
    env["table"].put_item(Item={"pk": event["decision"]["pk"], "sk": event["decision"]["sk"]})
    handler("act")(event, lambda_context)
    head = env["s3"].head_object(Bucket=PUBLISHED, Key="media/post-123/beach.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert head["Metadata"]["tutela-decision"] == event["decision"]["sk"]


def test_scan_media_refuses_a_report_the_state_cannot_carry(
    env: dict[str, Any], tmp_path: Path, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: every upload ends in one decision. A report over ScanMedia's share of the 256 KiB state
    would fail the execution with States.DataLimitExceeded (no catcher matches it): it is refused with a
    Tutela error instead, which the ASL's Catch turns into a held decision."""
    import sys

    from tutela.errors import LimitExceededError
    from tutela.limits import SCAN_REPORT_MAX_BYTES

    scan = handler("scan_media")
    app = sys.modules[scan.__module__]
    event = put(env, load_event("scan_media"), samples.photo(tmp_path / "p.jpg", (64, 48)).read_bytes())
    real = app.scan_and_match

    def padded(pad: int) -> Any:
        def scan_and_match(*args: Any, **kwargs: Any) -> dict[str, Any]:
            return {**real(*args, **kwargs), "notes": ["x" * pad]}

        return scan_and_match

    base = len(json.dumps(scan(event, lambda_context)))
    monkeypatch.setattr(app, "scan_and_match", padded(SCAN_REPORT_MAX_BYTES - base - 20))
    assert len(json.dumps(scan(event, lambda_context))) <= SCAN_REPORT_MAX_BYTES  # at the share: carried
    monkeypatch.setattr(app, "scan_and_match", padded(SCAN_REPORT_MAX_BYTES - base + 20))
    with pytest.raises(LimitExceededError, match="scan report"):
        scan(event, lambda_context)
