"""Promise: a media decision item fits in one DynamoDB write unit (1 KB) and loses no provenance: the
policy's thresholds and the analyzers' versions are in the deployment's provenance item, which the decision
names by a digest of exactly that content (tutela.provenance)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.conftest import ROOT, load_event
from tutela.analysis import fuse
from tutela.decision import object_item, step_decision, to_dynamo
from tutela.objects import ObjectRef
from tutela.policy.media import POLICY_SHA256, THRESHOLDS
from tutela.provenance import PROVENANCE_PK, merged, split
from tutela_dev.emulator.meter import item_size

# What the cost run's photo carries: the local backend's version string, a geotagged JPEG's removed tags,
# one PDQ hash, an EXPRESS execution ARN; its keys as in `make cost`.
SCAN_VERSION = "opencv 4.14.0; haar frontal+profile; age-v1.onnx sha256:4f9f0075200b (CC0); skin-heuristic 1"
BUCKET = "tutela-local-uploadbucket-m346yzu5578r"
EXECUTION = (
    "arn:aws:states:us-east-1:123456789012:execution:tutela-local-ModerationStateMachine:"
    "884626ff-cbae-4712-8b4d-60c2ef273d76"
)


def _photo_item(key: str = "media/post-cost/photo.jpg") -> dict[str, Any]:
    analysis = load_event("record_media_analysis")["decision"]
    scan, scrub = analysis["analysis"][0]["scan"], analysis["analysis"][1]["scrub"]
    scan.update(
        backend={"name": "local", "version": SCAN_VERSION},
        frames=1,
        pdq=[{"pdq": "9050869677acb05a8cf56f2c381a6cf4a721c11a696dad69cd0bff6c72f35292", "quality": 47}],
        timings_ms={
            "read": 0.31,
            "decode": 4.32,
            "faces": 6.39,
            "age": 0.0,
            "exposure": 1.37,
            "total": 12.45,
        },
        Faces=[],
    )
    scrub.update(
        removed=["exif.artist", "exif.gps", "exif.serial"],
        staging={"sha256": hashlib.sha256(b"x").hexdigest(), "size": 36957},
        frames=1,
    )
    ref = ObjectRef(BUCKET, key, "361cd512-47cf-47e1-8b51-49b996953f67", 36957)
    decision = step_decision(fuse(analysis))
    return object_item(
        ref, decision, execution_id=EXECUTION, event_time="2026-12-02T05:25:38Z", retention_days=400
    )


def test_the_photos_decision_item_fits_one_write_unit_and_says_what_it_leaves_out() -> None:
    full = _photo_item()
    assert item_size(to_dynamo(full)) > 1024  # what it was: thresholds and version strings in every item
    item, provenance = split(full)
    assert provenance is not None and item_size(to_dynamo(item)) <= 1024 - 40  # with a margin for longer keys
    assert item["provenance"] == provenance["sk"] and provenance["pk"] == PROVENANCE_PK
    assert provenance["policy"]["thresholds"] == THRESHOLDS
    assert provenance["policy"]["sha256"] == POLICY_SHA256[:16]
    assert provenance["analyzers"] == {
        "scan": {"name": "local", "version": SCAN_VERSION},
        "scrub": {"name": "tutela.scrub"},
    }
    # the readable and the per-upload parts stay in the decision
    assert item["policy"] == {"version": full["policy"]["version"]}
    assert item["analyzers"] == {
        "scan": {"name": "local"},
        "scrub": {"removed": ["exif.artist", "exif.gps", "exif.serial"]},
    }
    assert merged(item, provenance) == full  # nothing lost
    assert split(item) == (item, None)  # already split: nothing moves again


def test_the_digest_names_exactly_that_content() -> None:
    item, provenance = split(_photo_item())
    _, other = split(_photo_item("media/another-post/other-name.jpg"))
    assert other is not None and provenance is not None
    assert other == provenance  # the same deployment: one provenance item for every upload
    changed = _photo_item()
    changed["policy"] = {**changed["policy"], "thresholds": {**THRESHOLDS, "adult_age": 21}}
    assert split(changed)[1]["sk"] != provenance["sk"]  # type: ignore[index]
    assert merged(item, other) == _photo_item() | {
        "decided_at": item["decided_at"],
        "expires_at": item["expires_at"],
    }
    assert merged(item, {**provenance, "sk": "0" * 16}) == item  # a provenance item it does not name: as is


@pytest.mark.parametrize("kind", ["comments", "error", "post"])
def test_other_decisions_are_left_as_they_are(kind: str) -> None:
    item = {"pk": "obj#b/k", "sk": "v#1", "kind": kind, "policy": {"version": "x", "thresholds": {}}}
    assert split(item) == (item, None)


def test_the_policy_digest_is_the_shipped_files() -> None:
    shipped = (ROOT / "layers" / "core" / "tutela" / "policy" / "media_policy.json").read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == POLICY_SHA256
    assert json.loads(shipped)["thresholds"] == THRESHOLDS
