"""Every function through `sam local invoke` with its events/ file, against seeded moto: the README's promise.

One object's way through the media path (scan, scrub, record the policy's decision, act) and a batch's
classification, each a real Lambda container from the built template and layers. The events/ files name the
example buckets and an example version id; the seeded objects get real version ids from moto, so each event is
the file with that id (and the object's real size) substituted — nothing else changes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.sam_local.conftest import NAMES, ROOT, Invoker, Moto

EVENTS = ROOT / "events"
MEDIA_KEY = "media/post-123/beach.jpg"
COMMENTS_KEY = "comments/post-123/batch-0001.jsonl"
HELD_KEY = "media/post-456/held.jpg"
EXAMPLE_MEDIA_VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"
EXAMPLE_COMMENTS_VERSION = "Ua8Jq0bQ7lx1vN3_Y4pXz0Wc2kq9mS1e"
POST_KEY = "posts/post-456.json"
EXAMPLE_POST_VERSION = "Pq2Lm8nR4tV6xZ0bD3fH5jK7mN9pQ1sU"
POST = {
    "post_id": "post-456",
    "caption": "My 8-year-old's first dance recital",
    "location": {"lat": 48.85837, "lon": 2.29448},
}
EXAMPLE_HELD_VERSION = "Hd7Qm2xVb9LpZ0rT4kYc6sNw1eJf8uAa"

pytestmark = pytest.mark.timeout(900)


class Seeded:
    def __init__(self, moto: Moto, work: Path) -> None:
        from tests.conftest import create_decisions_table
        from tutela_dev.emulator import samples
        from tutela_dev.emulator.cfn_yaml import load_template

        self.moto = moto
        s3 = moto.client("s3")
        for name in [n for n in NAMES if n.endswith("_BUCKET")]:
            s3.create_bucket(Bucket=NAMES[name])
            if name not in ("STAGING_BUCKET", "BANK_BUCKET"):
                s3.put_bucket_versioning(Bucket=NAMES[name], VersioningConfiguration={"Status": "Enabled"})
        self.photo = samples.photo(work / "beach.jpg").read_bytes()
        self.thread = samples.thread(work / "thread.jsonl").read_bytes()
        self.post = json.dumps(POST).encode()
        upload, meta = NAMES["UPLOAD_BUCKET"], {"uploader-id": "u-42"}
        self.bodies = {
            MEDIA_KEY: self.photo,
            COMMENTS_KEY: self.thread,
            POST_KEY: self.post,
            HELD_KEY: self.photo,
        }
        self.versions = {
            key: s3.put_object(Bucket=upload, Key=key, Body=body, Metadata=meta)["VersionId"]
            for key, body in self.bodies.items()
        }
        template = load_template(ROOT / "template.yaml")
        create_decisions_table(moto.client("dynamodb"), template, NAMES["DECISIONS_TABLE"])
        moto.client("events").create_event_bus(Name=NAMES["EVENT_BUS_NAME"])

    def event(self, name: str) -> dict[str, Any]:
        """events/NAME.json with the seeded objects' real version ids and sizes."""
        text = (EVENTS / f"{name}.json").read_text()
        text = text.replace(EXAMPLE_MEDIA_VERSION, self.versions[MEDIA_KEY])
        text = text.replace(EXAMPLE_COMMENTS_VERSION, self.versions[COMMENTS_KEY])
        text = text.replace(EXAMPLE_POST_VERSION, self.versions[POST_KEY])
        text = text.replace(EXAMPLE_HELD_VERSION, self.versions[HELD_KEY])
        event = json.loads(text)
        obj = event["detail"].get("object")
        if obj:
            obj["size"] = len(self.bodies[obj["key"]])
        return dict(event)

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.moto.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def seeded(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return Seeded(moto, tmp_path_factory.mktemp("seed"))


def _location_tags(data: bytes, work: Path) -> list[str]:
    """exiftool, the independent oracle: every GPS/location tag it can find in the bytes."""
    path = work / "check.jpg"
    path.write_bytes(data)
    out = subprocess.run(
        ["exiftool", "-j", "-G", "-a", str(path)], capture_output=True, text=True, check=True
    )
    (tags,) = json.loads(out.stdout)
    return [k for k in tags if "GPS" in k or "Location" in k]


def test_scan_media(invoker: Invoker, seeded: Seeded) -> None:
    out = invoker.invoke("ScanMediaFunction", seeded.event("scan_media"))
    assert out["media_type"] == "jpeg"
    assert isinstance(out["ModerationLabels"], list) and isinstance(out["Faces"], list)
    assert out["backend"]["name"] == "local"


def _verified_copy(photo: bytes) -> tuple[bytes, dict[str, Any]]:
    """What ScrubGeotags verifies for a photo (the same library), and the fields it hands on to Act."""
    import hashlib

    from tutela.scrub import scrub_bytes

    clean, _ = scrub_bytes(photo)
    return clean, {"sha256": hashlib.sha256(clean).hexdigest(), "size": len(clean)}


def test_scrub_geotags_verifies_a_copy_without_location(
    invoker: Invoker, seeded: Seeded, tmp_path: Path
) -> None:
    assert _location_tags(seeded.photo, tmp_path), "the seeded photo must carry GPS, or this proves nothing"
    out = invoker.invoke("ScrubGeotagsFunction", seeded.event("scrub_geotags"))
    assert out["verified"] is True and out["location_found"] is True
    clean, fields = _verified_copy(seeded.photo)
    assert out["staging"] == fields  # below the splice size nothing is staged: Act scrubs again
    assert _location_tags(clean, tmp_path) == []


def test_classify_comments(invoker: Invoker, seeded: Seeded) -> None:
    out = invoker.invoke("ClassifyCommentsFunction", seeded.event("classify_comments"))
    assert out["kind"] == "comments"
    assert out["verdict"] == "block"  # the sample thread has grooming comments
    results = out["results"]
    if "inline" in results:  # a small batch's results travel in the state (without the comment text)
        judged = results["inline"]
        assert all("text" not in e for r in judged for e in r.get("evidence") or [])
    else:
        judged = seeded.get(results["bucket"], results["key"]).decode().splitlines()
    assert len(judged) == results["count"] == len(seeded.thread.splitlines())


def test_record_decision_fuses_the_analysis_and_stores_the_item(invoker: Invoker, seeded: Seeded) -> None:
    out = invoker.invoke("RecordDecisionFunction", seeded.event("record_media_analysis"))
    assert out["duplicate"] is False
    decision = out["decision"]
    assert decision["kind"] == "media" and decision["verdict"] == "allow" and decision["policy"]["version"]
    table = seeded.moto.client("dynamodb")
    item = table.get_item(
        TableName=NAMES["DECISIONS_TABLE"],
        Key={"pk": {"S": decision["pk"]}, "sk": {"S": decision["sk"]}},
        ConsistentRead=True,
    ).get("Item")
    assert item is not None and item["verdict"] == {"S": "allow"}
    assert decision["sk"].startswith(f"v#{seeded.versions[MEDIA_KEY]}")


def test_act_publishes_the_scrubbed_copy(invoker: Invoker, seeded: Seeded, tmp_path: Path) -> None:
    event = seeded.event("act")
    clean, fields = _verified_copy(seeded.photo)
    event["decision"]["staged"] = {**fields, "content_type": "image/jpeg"}  # what ScrubGeotags verified
    out = invoker.invoke("ActFunction", event)
    assert out["published"] == {"bucket": NAMES["PUBLISHED_BUCKET"], "key": MEDIA_KEY}
    published = seeded.get(NAMES["PUBLISHED_BUCKET"], MEDIA_KEY)
    assert published == clean and published != seeded.photo
    assert _location_tags(published, tmp_path) == []


def test_classify_post_stages_the_judged_coarsened_post(invoker: Invoker, seeded: Seeded) -> None:
    out = invoker.invoke("ClassifyPostFunction", seeded.event("classify_post"))
    assert out["kind"] == "post" and out["minor_declared"] is True
    assert out["verdict"] == "review"  # a declared child with precise coordinates: location_risk_minor
    staged = json.loads(seeded.get(out["staged"]["bucket"], out["staged"]["key"]))
    assert staged["location"] == {"lat": 48.9, "lon": 2.3}


def test_post_context_raises_the_posts_flag(invoker: Invoker, seeded: Seeded) -> None:
    out = invoker.invoke("PostContextFunction", seeded.event("post_context"))
    assert out["raised"] == ["text_minor"]
    item = seeded.moto.client("dynamodb").get_item(
        TableName=NAMES["DECISIONS_TABLE"],
        Key={"pk": {"S": "post#post-456"}, "sk": {"S": "flag#text_minor"}},
        ConsistentRead=True,
    )
    assert "Item" in item


def test_review_intake_queues_a_held_decision_once(invoker: Invoker, seeded: Seeded) -> None:
    """The review function's EventBridge intake (events/review_intake.json) on a held media decision."""
    import boto3

    from tutela.decision import object_item, step_decision, to_dynamo
    from tutela.objects import ObjectRef

    ref = ObjectRef(NAMES["UPLOAD_BUCKET"], HELD_KEY, seeded.versions[HELD_KEY], len(seeded.photo))
    held = {
        "kind": "media",
        "verdict": "review",
        "severity": 2,
        "reasons": [{"code": "possible_minor_swimwear"}],
    }
    item = object_item(ref, step_decision(held), execution_id="arn:ex", event_time=None, retention_days=30)
    table = boto3.resource(
        "dynamodb", endpoint_url=seeded.moto.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).Table(NAMES["DECISIONS_TABLE"])  # fmt: skip
    table.put_item(Item=to_dynamo(item))
    event = seeded.event("review_intake")
    assert event["detail"]["decision"] == {"pk": item["pk"], "sk": item["sk"]}
    assert invoker.invoke("ReviewApiFunction", event) == {"queued": 1}
    assert invoker.invoke("ReviewApiFunction", event) == {"queued": 0}  # redelivered: still one entry


def _remod_event(name: str, seeded: Seeded) -> dict[str, Any]:
    """events/NAME.json (a re-moderation step: no S3 event detail at its top) with the seeded version."""
    text = (EVENTS / f"{name}.json").read_text().replace(EXAMPLE_MEDIA_VERSION, seeded.versions[MEDIA_KEY])
    return dict(json.loads(text))


def test_remod_plan_pins_the_recorded_version(invoker: Invoker, seeded: Seeded) -> None:
    """RemodPlan (read-only) on a key whose decision RecordDecision stored above. Act (above) allowed it
    and retired the original, so a backfill meets it in the published listing: the copy names the version."""
    event = {**_remod_event("remod_plan_item", seeded), "source": "published"}
    out = invoker.invoke("RemodPlanFunction", event)
    assert out["action"] == "media" and out["key"] == MEDIA_KEY and out["source"] == "published"
    # re-judged: the recorded upload version; scanned: the published copy (same pixels, scrubbed)
    assert out["subject"]["object"]["version-id"] == seeded.versions[MEDIA_KEY]
    assert out["detail"]["object"]["key"] == MEDIA_KEY
    assert len(out["fingerprint"]) == 16 and out["ruleset"]["banks"] == "3"


def test_remoderate_appends_a_re_moderation(invoker: Invoker, seeded: Seeded) -> None:
    """Remoderate with ScanMedia's fresh report: the same verdict under new rules is recorded, once."""
    event = _remod_event("remoderate_media", seeded)
    event["scan"]["known_content"] = []  # the same verdict: recorded, nothing else changes
    out = invoker.invoke("RemoderateFunction", event)
    assert out["outcome"] == "same" and out["was"] == "allow" and "#remod#" in out["sk"]
    again = invoker.invoke("RemoderateFunction", {**event, "execution_id": "arn:another"})
    assert again["outcome"] == "done_before"
