"""Promises of the recorded media decision beyond its verdict (mutation testing found them unguarded):
the provenance a regulator asks for is stored exactly, label presence follows each family's threshold
(inclusive, per frame for video), and the known-content operating point is the policy file's."""

from __future__ import annotations

from typing import Any

import pytest

from tutela.bank.model import MatchPolicy
from tutela.policy.media import (
    POLICY_SHA256,
    POLICY_VERSION,
    THRESHOLDS,
    decide_media,
    match_policy,
    media_decision,
)

ADULT = [{"AgeRange": {"Low": 30, "High": 40}, "Confidence": 99.0}]


def _scan(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "image",
        "media_type": "jpeg",
        "frames": 1,
        "Faces": ADULT,
        "ModerationLabels": [],
        **extra,
    }


def test_the_recorded_media_decision_carries_exact_provenance() -> None:
    """Promise: the stored record names what was scanned, by what, what was removed, the signals (capped
    at 25 labels/faces), the staged copy Act may publish with its content type, and the timings."""
    labels = [{"Name": f"Label {i}", "Confidence": 90.0} for i in range(30)]
    faces = [{"AgeRange": {"Low": 30 + i, "High": 40 + i}, "Confidence": 99.0} for i in range(30)]
    scan = _scan(
        ModerationLabels=labels,
        Faces=faces,
        pdq=[{"hex": "ab" * 32, "quality": 90}],
        backend={"name": "local", "version": "1"},
        timings_ms={"total": 12},
    )
    scrub = {
        "removed": ["exif:gps"],
        "location_found": True,
        "staging": {"bucket": "staging", "key": "media/a.jpg"},
        "content_type": "image/jpeg",
        "timings_ms": {"total": 3},
        "verified": True,
        "frames": 1,
    }
    record = media_decision(scan, scrub)
    assert record == {
        "kind": "media",
        **decide_media(scan, scrub),
        "media_type": "jpeg",
        "frames": 1,
        "pdq": [{"hex": "ab" * 32, "quality": 90}],
        "analyzers": {
            "scan": {"name": "local", "version": "1"},
            "scrub": {"name": "tutela.scrub", "removed": ["exif:gps"]},
        },
        "signals": {
            "labels": labels[:25],
            "faces": [f["AgeRange"] for f in faces[:25]],
            "location_found": True,
        },
        "staged": {"bucket": "staging", "key": "media/a.jpg", "content_type": "image/jpeg"},
        "timings_ms": {"scan": 12, "scrub": 3},  # totals in whole ms (the stages are in ScanMedia's log)
    }
    assert record["policy"] == {
        "version": POLICY_VERSION,
        "sha256": POLICY_SHA256[:16],
        "thresholds": THRESHOLDS,
    }
    # without a total, the stages' sum
    assert (
        media_decision(scan, {**scrub, "timings_ms": {"scrub": 0.4, "verify": 1.3}})["timings_ms"]["scrub"]
        == 2
    )
    assert record["escalate"] is False


def test_a_sparse_scan_still_records_every_field() -> None:
    record = media_decision({"ModerationLabels": []}, {})
    assert record["pdq"] == [] and record["media_type"] is None and record["frames"] is None
    assert record["signals"] == {"labels": [], "faces": [], "location_found": False}
    assert record["analyzers"]["scrub"] == {"name": "tutela.scrub", "removed": []}
    assert record["staged"] == {"content_type": None}


def test_a_label_is_present_from_its_familys_threshold_inclusive() -> None:
    at = THRESHOLDS["label_min_confidence"]["swimwear"]
    below = decide_media(
        _scan(ModerationLabels=[{"Name": "Female Swimwear Or Underwear", "Confidence": at - 0.01}])
    )
    exact = decide_media(_scan(ModerationLabels=[{"Name": "Female Swimwear Or Underwear", "Confidence": at}]))
    assert not any(r.get("family") == "swimwear" for r in below["reasons"])
    (reason,) = [r for r in exact["reasons"] if r.get("family") == "swimwear"]
    assert reason["labels"] == ["Female Swimwear Or Underwear"] and reason["confidence"] == at


def test_presence_merges_labels_keeps_the_highest_rounded_confidence_and_frame_times() -> None:
    scan = _scan(
        kind="video",
        ModerationLabels=[],
        samples=[
            {"t": 1.5, "ModerationLabels": [{"Name": "Explicit Nudity", "Confidence": 70.123}]},
            {"t": 0.5, "ModerationLabels": [{"Name": "Explicit Nudity", "Confidence": 91.456}]},
            {"ModerationLabels": [{"Name": "Explicit", "Confidence": 80.0}]},  # no time: 0.0
            {
                "t": 2.0,
                "ModerationLabels": [{"Confidence": 99.0}, {"Name": "Nothing We Know", "Confidence": 99}],
            },
        ],
    )
    (reason,) = [r for r in decide_media(scan)["reasons"] if r.get("family") == "explicit"]
    assert reason["labels"] == ["Explicit Nudity", "Explicit"]
    assert reason["confidence"] == 91.46
    assert reason["t"] == [0.0, 0.5, 1.5]
    assert "at 0.0s, 0.5s, 1.5s" in reason["message"]


def test_a_label_without_confidence_is_not_present() -> None:
    decision = decide_media(_scan(ModerationLabels=[{"Name": "Explicit Nudity"}]))
    assert decision["verdict"] == "allow" and not [
        r for r in decision["reasons"] if r.get("family") == "explicit"
    ]


def test_a_family_without_its_own_threshold_uses_50(monkeypatch: pytest.MonkeyPatch) -> None:
    thresholds = {k: v for k, v in THRESHOLDS["label_min_confidence"].items() if k != "swimwear"}
    monkeypatch.setitem(THRESHOLDS, "label_min_confidence", thresholds)
    swim = "Female Swimwear Or Underwear"
    assert any(
        r.get("family") == "swimwear"
        for r in decide_media(_scan(ModerationLabels=[{"Name": swim, "Confidence": 50.0}]))["reasons"]
    )
    assert not any(
        r.get("family") == "swimwear"
        for r in decide_media(_scan(ModerationLabels=[{"Name": swim, "Confidence": 49.9}]))["reasons"]
    )


def test_decide_media_refuses_what_is_not_a_scan_report() -> None:
    with pytest.raises(TypeError, match="scan must be a scan report dict"):
        decide_media([])  # type: ignore[arg-type]


def test_the_known_content_operating_point_is_the_policy_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Promise: tuning the bank match lives in the versioned policy file, not in code defaults."""
    cfg = {
        "max_distance": 7,
        "min_quality": 81,
        "video_query_match_percent": 66.0,
        "video_compared_match_percent": 5.0,
    }
    monkeypatch.setitem(THRESHOLDS, "known_content", cfg)
    assert match_policy() == MatchPolicy(7, 81, 66.0, 5.0)
    monkeypatch.setitem(THRESHOLDS, "known_content", {})
    assert match_policy() == MatchPolicy(31, 50, 80.0, 0.0)  # the documented defaults
    monkeypatch.delitem(THRESHOLDS, "known_content")
    assert match_policy() == MatchPolicy(31, 50, 80.0, 0.0)
