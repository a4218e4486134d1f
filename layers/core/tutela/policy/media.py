"""Minor-aware media policy: scan signals (Rekognition v7 shape, any backend) -> verdict.

The matrix, thresholds and label families live in ``media_policy.json`` (versioned); this module only
applies them. Pure code: no AWS, no OpenCV.

Minor estimate over the faces at or above ``face_min_confidence``:
  likely   - some face has AgeRange.High < adult_age
  possible - some face's range straddles adult_age (Low < adult_age <= High) or has no AgeRange,
             or no face was found at all (age unknown)
  none     - every face has AgeRange.Low >= adult_age
Each content family present (label confidence >= its threshold) fires one cell of the matrix; the
decision is the most restrictive cell (verdict, severity, escalate) with one reason per cell.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from tutela.bank.model import MatchPolicy
from tutela.verdict import Severity, Verdict, worst

Minor = Literal["likely", "possible", "none"]

# Next to this file, not through importlib.resources: importing that (tempfile, shutil, bz2, lzma...) was
# ~10 ms of every cold start.
_POLICY_BYTES = (Path(__file__).parent / "media_policy.json").read_bytes()
_POLICY: dict[str, Any] = json.loads(_POLICY_BYTES)
POLICY_VERSION: str = _POLICY["version"]
# The file's digest pins all of it (matrix, families, thresholds), whatever its version string says.
POLICY_SHA256: str = hashlib.sha256(_POLICY_BYTES).hexdigest()
THRESHOLDS: dict[str, Any] = _POLICY["thresholds"]
_FAMILIES: dict[str, frozenset[str]] = {
    fam: frozenset(n.casefold() for n in names) for fam, names in _POLICY["families"].items()
}
_ORDER: list[str] = _POLICY["family_order"]
_MESSAGES = {
    "explicit": "explicit nudity or sexual content",
    "non_explicit": "non-explicit nudity",
    "swimwear": "swimwear or underwear",
    "nothing": "no nudity or swimwear detected",
}
_MINOR_TEXT = {
    "likely": "with a likely minor",
    "possible": "with a possible minor",
    "none": "with no minor detected",
}


def family_of(name: str) -> str | None:
    key = name.casefold()
    for fam, names in _FAMILIES.items():
        if key in names:
            return fam
    return None


def classify_minor(faces: list[dict[str, Any]]) -> tuple[Minor, str, dict[str, int] | None]:
    """(minor, basis, youngest AgeRange) where basis is "face" or "no_face"."""
    adult = int(THRESHOLDS["adult_age"])
    min_conf = float(THRESHOLDS["face_min_confidence"])
    seen = [f for f in faces if float(f.get("Confidence", 100.0)) >= min_conf]
    if not seen:
        return "possible", "no_face", None
    ranges = [f.get("AgeRange") for f in seen]
    known = [r for r in ranges if isinstance(r, dict) and "Low" in r and "High" in r]
    youngest = min(known, key=lambda r: (int(r["High"]), int(r["Low"])), default=None)
    young = {"Low": int(youngest["Low"]), "High": int(youngest["High"])} if youngest else None
    if any(int(r["High"]) < adult for r in known):
        return "likely", "face", young
    if len(known) < len(ranges) or any(int(r["Low"]) < adult for r in known):
        return "possible", "face", young
    return "none", "face", young


def _present(scan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """family -> {"labels": [...], "confidence": max, "t": [...]} for families above threshold."""
    thresholds = THRESHOLDS["label_min_confidence"]
    out: dict[str, dict[str, Any]] = {}

    def add(label: dict[str, Any], t: float | None) -> None:
        fam = family_of(str(label.get("Name", "")))
        if fam is None:
            return
        conf = float(label.get("Confidence", 0.0))
        if conf < float(thresholds.get(fam, 50.0)):
            return
        slot = out.setdefault(fam, {"labels": [], "confidence": 0.0, "t": []})
        if label["Name"] not in slot["labels"]:
            slot["labels"].append(label["Name"])
        slot["confidence"] = max(slot["confidence"], round(conf, 2))
        if t is not None and t not in slot["t"]:
            slot["t"].append(t)

    for label in scan.get("ModerationLabels") or []:
        add(label, None)
    for frame in scan.get("samples") or []:  # per sampled video frame
        for label in frame.get("ModerationLabels") or []:
            add(label, float(frame.get("t", 0.0)))
    return out


def _decision(
    verdict: Verdict,
    severity: Severity,
    reasons: list[dict[str, Any]],
    minor: Minor,
    escalate: bool,
) -> dict[str, Any]:
    return {
        "verdict": verdict,
        "severity": int(severity),
        "reasons": reasons,
        "minor": minor,
        "escalate": escalate,
        "policy": {"version": POLICY_VERSION, "sha256": POLICY_SHA256[:16], "thresholds": THRESHOLDS},
    }


def match_policy() -> MatchPolicy:
    """The known-content operating point (PDQ distance and quality floor) from the policy file."""
    cfg = THRESHOLDS.get("known_content") or {}
    return MatchPolicy(
        int(cfg.get("max_distance", 31)),
        int(cfg.get("min_quality", 50)),
        float(cfg.get("video_query_match_percent", 80.0)),
        float(cfg.get("video_compared_match_percent", 0.0)),
    )


def known_content(match: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The policy cell of a bank match (by the bank's action) and its reason (also used retroactively)."""
    cell = _POLICY["other"][
        "known_content_block" if match.get("action") == "block" else "known_content_review"
    ]
    reason = {
        "code": cell["code"],
        "message": f"matches known content in bank {match.get('bank')} ({match.get('label')})",
        "bank": match.get("bank"),
        "label": match.get("label"),
        "distance": match.get("distance"),
    }
    return cell, reason


def decide_media(scan: dict[str, Any], scrub: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fuse a scan report (``ScanReport.to_dict()`` or an equivalent dict) and the scrub report."""
    if not isinstance(scan, dict):
        raise TypeError("scan must be a scan report dict")
    minor, basis, youngest = classify_minor(list(scan.get("Faces") or []))
    present = _present(scan)
    verdicts: list[Verdict] = ["allow"]
    severity = Severity.NONE
    escalate = False
    reasons: list[dict[str, Any]] = []

    # Known content decides before any classifier: a bank match is the most precise signal there is.
    for match in scan.get("known_content") or []:
        cell, known = known_content(match)
        verdicts.append(cell["verdict"])
        severity = max(severity, Severity[cell["severity"]])
        escalate = escalate or bool(cell["escalate"])
        reasons.append(known)

    fired = [fam for fam in _ORDER if fam in present] or ["nothing"]
    for fam in fired:
        cell = _POLICY["matrix"][minor][fam]
        verdicts.append(cell["verdict"])
        severity = max(severity, Severity[cell["severity"]])
        escalate = escalate or bool(cell["escalate"])
        if not cell["code"]:
            continue
        message = f"{_MESSAGES[fam]} {_MINOR_TEXT[minor]}"
        reason: dict[str, Any] = {"code": cell["code"], "message": message, "family": fam, "minor": minor}
        if fam in present:
            info = present[fam]
            reason["labels"] = info["labels"]
            reason["confidence"] = info["confidence"]
            if info["t"]:
                times = sorted(info["t"])
                reason["t"] = times
                reason["message"] += " at " + ", ".join(f"{t:.1f}s" for t in times[:5])
        if youngest is not None and minor != "none":
            reason["age_range"] = youngest
        if basis == "no_face" and minor == "possible":
            reason["message"] += " (no face found, age unknown)"
        reasons.append(reason)

    if "disturbing" in present:
        cell = _POLICY["other"]["disturbing"]
        verdicts.append(cell["verdict"])
        severity = max(severity, Severity[cell["severity"]])
        info = present["disturbing"]
        reasons.append(
            {
                "code": cell["code"],
                "message": "violent, disturbing or hateful content",
                "labels": info["labels"],
                "confidence": info["confidence"],
            }
        )

    if scrub and scrub.get("location_found") and basis == "face" and minor in ("likely", "possible"):
        cell = _POLICY["other"]["location_risk_minor"]
        severity = max(severity, Severity[cell["severity"]])
        reasons.append(
            {
                "code": cell["code"],
                "message": f"upload carried a location {_MINOR_TEXT[minor]}; location scrubbed from the "
                "published copy",
                "minor": minor,
            }
        )

    if scrub is not None and scrub.get("verified") is False:
        # Never publish a copy whose scrubbing was not verified, whatever the content says.
        cell = _POLICY["other"]["scrub_unverified"]
        verdicts.append(cell["verdict"])
        severity = max(severity, Severity[cell["severity"]])
        reasons.append({"code": cell["code"], "message": "scrubbed copy was not verified"})
    if (
        scrub is not None
        and scan.get("kind") == "image"
        and scrub.get("frames") is not None
        and scan.get("frames") != scrub.get("frames")
    ):
        # Published = scanned: the scrubbed copy must hold exactly the frames/pages the scan covered.
        cell = _POLICY["other"]["frames_mismatch"]
        verdicts.append(cell["verdict"])
        severity = max(severity, Severity[cell["severity"]])
        reasons.append({"code": cell["code"], "message": "scrubbed copy and scan cover different frames"})

    return _decision(worst(verdicts), severity, reasons, minor, escalate)


def media_decision(scan: dict[str, Any], scrub: dict[str, Any]) -> dict[str, Any]:
    """The media decision as recorded: the policy's verdict plus the provenance a regulator asks for
    (analyzers, signals, the staged copy Act may publish, timings). Labels and face ages only, no pixels."""
    decision = decide_media(scan, scrub)
    return {
        "kind": "media",
        **decision,
        "media_type": scan.get("media_type"),
        "frames": scan.get("frames"),
        "pdq": scan.get("pdq") or [],
        "analyzers": {
            "scan": scan.get("backend"),
            "scrub": {"name": "tutela.scrub", "removed": scrub.get("removed", [])},
        },
        "signals": {
            "labels": scan.get("ModerationLabels", [])[:25],
            "faces": [f.get("AgeRange") for f in scan.get("Faces", [])][:25],
            "location_found": bool(scrub.get("location_found")),
        },
        "staged": {**scrub.get("staging", {}), "content_type": scrub.get("content_type")},
        # Totals in whole ms (the item stays under 1 KB): ScanMedia's DEBUG line has the scan's stages.
        "timings_ms": {
            "scan": _total_ms(scan.get("timings_ms")),
            "scrub": _total_ms(scrub.get("timings_ms")),
        },
    }


def _total_ms(timings: Any) -> int | None:
    if not isinstance(timings, dict) or not timings:
        return None
    numbers = [v for v in timings.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    total = timings.get("total")
    return round(total if isinstance(total, int | float) else sum(numbers))
