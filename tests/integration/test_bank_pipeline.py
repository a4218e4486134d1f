"""Known content through the real ASL: a banked photo's re-upload (resized, re-encoded) is blocked before
any classifier, quarantined and escalated; an unrelated photo is judged as usual; every decision stores
the upload's PDQ hash."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from skimage import data as samples

from tutela.bank.media import hash_file
from tutela_dev.cli import main

pytestmark = pytest.mark.integration


def test_reupload_of_banked_content_is_blocked_and_quarantined(tmp_path: Path) -> None:
    banked = cv2.cvtColor(samples.astronaut(), cv2.COLOR_RGB2BGR)
    original = tmp_path / "removed.jpg"
    cv2.imwrite(str(original), banked)
    h, w = banked.shape[:2]
    reupload = tmp_path / "reupload.jpg"
    cv2.imwrite(str(reupload), cv2.resize(banked, (w // 2, h // 2)), [cv2.IMWRITE_JPEG_QUALITY, 70])
    other = tmp_path / "cat.jpg"
    cv2.imwrite(str(other), cv2.cvtColor(samples.chelsea(), cv2.COLOR_RGB2BGR))
    bank_csv = tmp_path / "removals.csv"
    bank_csv.write_text(f"signal_type,signal\npdq,{hash_file(original).hashes[0].hex}\n")

    out = tmp_path / "out"
    argv = [
        "local",
        "run",
        str(reupload),
        str(other),
        "--out",
        str(out),
        "--bank",
        f"{bank_csv}:platform_removed",
    ]
    assert main(argv) == 0
    lines = {x["key"]: x for x in map(json.loads, (out / "decisions.jsonl").read_text().splitlines())}

    hit = lines["media/local/reupload.jpg"]
    assert hit["verdict"] == "block" and "known_content" in hit["reasons"]
    assert hit["known_content"] == ["platform_removed"]
    assert "quarantined" in hit["action"]
    assert (
        len(hit["pdq"]) == 1 and len(hit["pdq"][0]) == 64
    )  # stored with the decision, for retroactive matching
    assert not (out / "published" / "media/local/reupload.jpg").exists()
    escalations = [
        e for e in map(json.loads, (out / "events.jsonl").read_text().splitlines())
        if e.get("detail-type") == "Moderation Escalation"
    ]  # fmt: skip
    assert [e["detail"]["key"] for e in escalations] == ["media/local/reupload.jpg"]

    miss = lines["media/local/cat.jpg"]
    assert "known_content" not in miss["reasons"] and miss["known_content"] == []
    assert miss["verdict"] == "allow" and (out / "published" / "media/local/cat.jpg").exists()
    assert miss["pdq"] == [hash_file(other).hashes[0].hex]
