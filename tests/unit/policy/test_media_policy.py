"""Table-driven tests of the media policy matrix, fed with both backends' output shapes."""

from __future__ import annotations

import itertools
import json
from importlib import resources
from typing import Any

import pytest

from tutela.policy.media import POLICY_VERSION, classify_minor, decide_media
from tutela.verdict import Severity

# Faces as each backend reports them.
REK_FACE = {
    "likely": {
        "BoundingBox": {"Width": 0.2, "Height": 0.3, "Left": 0.4, "Top": 0.1},
        "AgeRange": {"Low": 9, "High": 15},
        "Confidence": 99.9,
    },
    "possible": {
        "BoundingBox": {"Width": 0.2, "Height": 0.3, "Left": 0.4, "Top": 0.1},
        "AgeRange": {"Low": 14, "High": 22},
        "Confidence": 99.8,
    },
    "none": {
        "BoundingBox": {"Width": 0.2, "Height": 0.3, "Left": 0.4, "Top": 0.1},
        "AgeRange": {"Low": 29, "High": 39},
        "Confidence": 99.9,
    },
}
LOCAL_FACE = {
    "likely": {
        "BoundingBox": {"Width": 0.11, "Height": 0.15, "Left": 0.3, "Top": 0.2},
        "AgeRange": {"Low": 4, "High": 14},
        "Confidence": 72.0,
    },
    "possible": {
        "BoundingBox": {"Width": 0.11, "Height": 0.15, "Left": 0.3, "Top": 0.2},
        "AgeRange": {"Low": 13, "High": 27},
        "Confidence": 68.0,
    },
    "none": {
        "BoundingBox": {"Width": 0.11, "Height": 0.15, "Left": 0.3, "Top": 0.2},
        "AgeRange": {"Low": 26, "High": 43},
        "Confidence": 80.0,
    },
}


def _chain(*pairs: tuple[str, str, int], conf: float) -> list[dict[str, Any]]:
    return [{"Name": n, "ParentName": p, "Confidence": conf, "TaxonomyLevel": lv} for n, p, lv in pairs]


# Labels as Rekognition DetectModerationLabels v7 returns them (leaf + ancestors).
REK_LABELS = {
    "explicit": _chain(
        ("Exposed Female Genitalia", "Explicit Nudity", 3),
        ("Explicit Nudity", "Explicit", 2),
        ("Explicit", "", 1),
        conf=97.1,
    ),
    "non_explicit": _chain(
        ("Partially Exposed Female Breast", "Non-Explicit Nudity", 3),
        ("Non-Explicit Nudity", "Non-Explicit Nudity of Intimate parts and Kissing", 2),
        ("Non-Explicit Nudity of Intimate parts and Kissing", "", 1),
        conf=88.0,
    ),
    "swimwear": _chain(
        ("Female Swimwear or Underwear", "Swimwear or Underwear", 2),
        ("Swimwear or Underwear", "", 1),
        conf=93.5,
    ),
    "nothing": [],
}
# Labels as the local backend emits them (skin heuristic; NudeNet plugin for explicit leaves).
LOCAL_LABELS = {
    "explicit": _chain(
        ("Exposed Male Genitalia", "Explicit Nudity", 3),
        ("Explicit Nudity", "Explicit", 2),
        ("Explicit", "", 1),
        conf=61.0,
    ),
    "non_explicit": _chain(
        ("Non-Explicit Nudity", "Non-Explicit Nudity of Intimate parts and Kissing", 2),
        ("Non-Explicit Nudity of Intimate parts and Kissing", "", 1),
        conf=55.0,
    ),
    "swimwear": _chain(("Swimwear or Underwear", "", 1), conf=58.0),
    "nothing": [],
}
# Legacy v6 names (older model versions) must map to the same families.
V6_LABELS = {
    "explicit": _chain(
        ("Graphic Female Nudity", "Explicit Nudity", 2), ("Explicit Nudity", "", 1), conf=90.0
    ),
    "non_explicit": _chain(("Partial Nudity", "Suggestive", 2), conf=90.0),
    "swimwear": _chain(("Female Swimwear Or Underwear", "Suggestive", 2), ("Suggestive", "", 1), conf=90.0),
    "nothing": [],
}

# The regulator-facing table: (minor, content) -> (verdict, severity, escalate, reason code)
EXPECTED = {
    ("likely", "explicit"): ("block", Severity.CRITICAL, True, "minor_with_explicit_nudity"),
    ("likely", "non_explicit"): ("block", Severity.HIGH, False, "minor_with_nudity"),
    ("likely", "swimwear"): ("review", Severity.HIGH, False, "minor_with_swimwear"),
    ("likely", "nothing"): ("allow", Severity.NONE, False, "minor_present"),
    ("possible", "explicit"): ("block", Severity.CRITICAL, True, "possible_minor_with_explicit_nudity"),
    ("possible", "non_explicit"): ("review", Severity.HIGH, False, "possible_minor_with_nudity"),
    ("possible", "swimwear"): ("review", Severity.MEDIUM, False, "possible_minor_with_swimwear"),
    ("possible", "nothing"): ("allow", Severity.NONE, False, None),
    ("none", "explicit"): ("block", Severity.HIGH, False, "explicit_nudity"),
    ("none", "non_explicit"): ("review", Severity.MEDIUM, False, "adult_nudity"),
    ("none", "swimwear"): ("allow", Severity.LOW, False, "adult_swimwear"),
    ("none", "nothing"): ("allow", Severity.NONE, False, None),
}
SHAPES = {
    "rekognition": (REK_FACE, REK_LABELS),
    "local": (LOCAL_FACE, LOCAL_LABELS),
    "v6": (REK_FACE, V6_LABELS),
}


def _scan(faces: list[dict[str, Any]], labels: list[dict[str, Any]], backend: str) -> dict[str, Any]:
    return {
        "media_type": "jpeg",
        "kind": "image",
        "backend": {"name": backend, "version": "x"},
        "ModerationLabels": labels,
        "Faces": faces,
    }


CELLS = list(
    itertools.product(
        SHAPES, ["likely", "possible", "none"], ["explicit", "non_explicit", "swimwear", "nothing"]
    )
)


@pytest.mark.parametrize(("shape", "minor", "content"), CELLS, ids=["-".join(c) for c in CELLS])
def test_matrix_cell(shape: str, minor: str, content: str) -> None:
    faces, labels = SHAPES[shape]
    out = decide_media(_scan([faces[minor]], labels[content], shape), None)
    verdict, severity, escalate, code = EXPECTED[(minor, content)]
    assert out["minor"] == minor
    assert out["verdict"] == verdict
    assert out["severity"] == severity
    assert out["escalate"] is escalate
    codes = [r["code"] for r in out["reasons"]]
    assert codes == ([code] if code else [])
    assert out["policy"]["version"] == POLICY_VERSION
    for reason in out["reasons"]:
        assert reason["message"] and isinstance(reason["message"], str)


@pytest.mark.parametrize("content", ["explicit", "non_explicit", "swimwear"])
def test_no_face_is_possible_minor_and_never_allowed(content: str) -> None:
    for labels in (REK_LABELS, LOCAL_LABELS):
        out = decide_media(_scan([], labels[content], "x"), None)
        assert out["minor"] == "possible"
        assert out["verdict"] != "allow"
        # the reviewer reads why: the family, the possible minor, and that no face (no age) was found
        family = {"explicit": "explicit nudity or sexual content", "non_explicit": "non-explicit nudity"}
        what = family.get(content, "swimwear or underwear")
        assert out["reasons"][0]["message"] == f"{what} with a possible minor (no face found, age unknown)"


def test_core_rule_nudity_or_swimwear_with_minor_never_allowed() -> None:
    for (minor, content), (verdict, sev, esc, _) in EXPECTED.items():
        if minor in ("likely", "possible") and content != "nothing":
            assert verdict != "allow"
        if content == "explicit" and minor != "none":
            assert (verdict, sev, esc) == ("block", Severity.CRITICAL, True)


def test_policy_file_matches_expected_table() -> None:
    policy = json.loads(resources.files("tutela.policy").joinpath("media_policy.json").read_text())
    for (minor, content), (verdict, sev, esc, code) in EXPECTED.items():
        cell = policy["matrix"][minor][content]
        assert (cell["verdict"], Severity[cell["severity"]], cell["escalate"], cell["code"]) == (
            verdict,
            sev,
            esc,
            code,
        )


def test_minor_classification_edges() -> None:
    f = lambda lo, hi, c=99.0: {"AgeRange": {"Low": lo, "High": hi}, "Confidence": c}  # noqa: E731
    assert classify_minor([f(10, 17)])[0] == "likely"
    assert classify_minor([f(17, 18)])[0] == "possible"  # straddles: High == 18 is not < 18
    assert classify_minor([f(18, 25)])[0] == "none"
    assert classify_minor([f(30, 40), f(8, 12)])[0] == "likely"  # any likely face wins
    assert classify_minor([f(30, 40), {"Confidence": 99.0}])[0] == "possible"  # age unknown
    assert classify_minor([f(8, 12, c=20.0)]) == ("possible", "no_face", None)  # low-confidence face ignored
    assert classify_minor([f(30, 40), f(8, 12)])[2] == {"Low": 8, "High": 12}


def test_labels_below_threshold_are_ignored() -> None:
    weak = _chain(("Swimwear or Underwear", "", 1), conf=30.0)
    assert decide_media(_scan([REK_FACE["likely"]], weak, "x"), None)["verdict"] == "allow"


def test_multiple_families_take_the_worst_and_list_all_reasons() -> None:
    labels = REK_LABELS["swimwear"] + REK_LABELS["explicit"]
    out = decide_media(_scan([REK_FACE["possible"]], labels, "x"), None)
    assert out["verdict"] == "block" and out["severity"] == Severity.CRITICAL and out["escalate"]
    assert [r["code"] for r in out["reasons"]] == [
        "possible_minor_with_explicit_nudity",
        "possible_minor_with_swimwear",
    ]


@pytest.mark.parametrize(("minor", "expect"), [("likely", True), ("possible", True), ("none", False)])
def test_location_risk_reason(minor: str, expect: bool) -> None:
    out = decide_media(_scan([REK_FACE[minor]], [], "x"), {"location_found": True, "verified": True})
    codes = [r["code"] for r in out["reasons"]]
    assert ("location_risk_minor" in codes) is expect
    if expect:
        assert out["severity"] >= Severity.LOW and out["verdict"] == "allow"


def test_location_without_any_face_is_not_a_minor_risk() -> None:
    out = decide_media(_scan([], [], "x"), {"location_found": True, "verified": True})
    assert out["reasons"] == [] and out["verdict"] == "allow"


def test_video_reasons_carry_timestamps() -> None:
    scan = _scan([REK_FACE["likely"]], REK_LABELS["swimwear"], "local")
    scan["kind"] = "video"
    scan["samples"] = [
        {"t": 0.0, "ModerationLabels": [], "Faces": [REK_FACE["likely"]]},
        {"t": 4.0, "ModerationLabels": REK_LABELS["swimwear"], "Faces": []},
    ]
    out = decide_media(scan, None)
    assert out["verdict"] == "review"
    assert out["reasons"][0]["t"] == [4.0]
    assert "4.0s" in out["reasons"][0]["message"]


def test_disturbing_content_goes_to_review() -> None:
    labels = [{"Name": "Violence", "ParentName": "", "Confidence": 91.0, "TaxonomyLevel": 1}]
    out = decide_media(_scan([REK_FACE["none"]], labels, "x"), None)
    assert out["verdict"] == "review"
    # the reviewer sees which labels fired and how sure the scan was (the recorded reason, exactly)
    assert out["reasons"] == [
        {
            "code": "disturbing_content",
            "message": "violent, disturbing or hateful content",
            "labels": ["Violence"],
            "confidence": 91.0,
        }
    ]


def test_an_unverified_scrub_is_never_allowed() -> None:
    """Promise: published = scrubbed; the rule lives in the versioned policy (issue 9), not in Decide."""
    scan = _scan([REK_FACE["none"]], [], "x")
    assert decide_media(scan, {"verified": True})["verdict"] == "allow"
    for scrub in ({"verified": False}, {"verified": False, "location_found": True}):
        out = decide_media(scan, scrub)
        assert out["verdict"] == "review" and "scrub_unverified" in [r["code"] for r in out["reasons"]]


def test_scrubbed_frames_must_be_the_scanned_frames() -> None:
    """Published = scanned: an image whose scrubbed copy holds other frames than the scan covered is held
    (the rule moved from Decide into the versioned policy, issue 9)."""
    scan = {**_scan([REK_FACE["none"]], [], "x"), "kind": "image", "frames": 1}
    assert decide_media(scan, {"verified": True, "frames": 1})["verdict"] == "allow"
    out = decide_media(scan, {"verified": True, "frames": 3})
    assert out["verdict"] == "review"
    assert out["reasons"] == [
        {"code": "frames_mismatch", "message": "scrubbed copy and scan cover different frames"}
    ]
