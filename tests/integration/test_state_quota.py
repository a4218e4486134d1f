"""Every upload ends in exactly one decision, however much an analyzer finds: Step Functions carries at most
256 KiB of state, and a state over it fails the execution with ``States.DataLimitExceeded``, which no
``States.ALL`` catcher matches (nothing recorded, nothing dead-lettered; moto fails the execution too).
The scan report is bounded (``youngest_faces``) and, past its share of the state, refused: a held decision
(``SCAN_REPORT_MAX_BYTES``).

A crowd on every page: a 36-page TIFF of faces on the default (local) backend - every page scanned, each
with a transparent pixel so twice (over black and over white). The video case (Rekognition) is in
test_state_quota_video.py (another stack)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator.runner import Runner

pytestmark = pytest.mark.integration


def crowd_pages(path: Path, pages: int = 36) -> Path:
    """A multi-page TIFF: on each page a 6x6 grid of drawn faces (the local backend's cascade finds ~29)."""
    from PIL import Image, ImageDraw

    grey = Image.new("L", (318, 318), 90)
    d = ImageDraw.Draw(grey)
    for i in range(6):
        for j in range(6):
            x, y, c = i * 53, j * 53, 53
            d.ellipse([x + c * 0.15, y + c * 0.1, x + c * 0.85, y + c * 0.95], fill=200)
            for left in (0.3, 0.58):  # eyes and brows
                d.ellipse([x + c * left, y + c * 0.35, x + c * (left + 0.12), y + c * 0.45], fill=20)
                d.rectangle(
                    [x + c * (left - 0.05), y + c * 0.28, x + c * (left + 0.17), y + c * 0.31], fill=40
                )
            d.rectangle([x + c * 0.47, y + c * 0.45, x + c * 0.53, y + c * 0.65], fill=150)
            d.ellipse([x + c * 0.38, y + c * 0.72, x + c * 0.62, y + c * 0.8], fill=40)
    grey = grey.resize((320, 320))
    page = Image.merge("RGBA", (grey, grey, grey, Image.new("L", grey.size, 255)))
    page.putpixel((0, 0), (0, 0, 0, 0))
    page.save(path, save_all=True, append_images=[page] * (pages - 1), compression="tiff_deflate")
    return path


def decision_of(runner: Runner, execution: dict[str, Any], up: Any) -> dict[str, Any]:
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), str(execution.get("cause"))[:600])
    keys = object_keys(ObjectRef(runner.bucket, up.key, up.version_id))
    [decision] = runner.table.query(
        KeyConditionExpression=Key("pk").eq(keys["pk"]) & Key("sk").eq(keys["sk"]), ConsistentRead=True
    )["Items"]
    return dict(decision)


def test_a_crowd_on_every_page_ends_in_one_decision(runner: Runner, tmp_path: Path) -> None:
    up = runner.upload(crowd_pages(tmp_path / "class.tiff"), "media/post-q/class.tiff")
    [execution] = runner.deliver(up)
    decision = decision_of(runner, execution, up)
    assert decision["kind"] == "media" and decision["frames"] == 36
    assert decision["verdict"] in ("allow", "review") and decision["signals"]["faces"]
