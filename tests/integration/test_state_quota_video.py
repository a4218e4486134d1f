"""A crowd video scanned by Rekognition ends in exactly one decision: DetectFaces returns up to 100 faces per
sampled frame and a 72-second video is sampled 36 times; the state machine carries at most 256 KiB
(test_state_quota.py says why that is terminal on AWS)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.stacks import ROOT
from tests.integration.test_state_quota import decision_of
from tutela_dev.emulator.runner import Runner
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration


class Crowd:
    """A Rekognition client for a crowd: no moderation labels, ``faces`` adult faces in every image."""

    def __init__(self, faces: int = 100) -> None:
        self.faces = faces

    def detect_moderation_labels(self, **_: Any) -> dict[str, Any]:
        return {"ModerationLabels": [], "ModerationModelVersion": "7.0"}

    def detect_faces(self, **_: Any) -> dict[str, Any]:
        return {
            "FaceDetails": [
                {
                    "BoundingBox": {
                        "Width": 0.0312,
                        "Height": 0.0417,
                        "Left": i % 10 / 10,
                        "Top": i // 10 / 10,
                    },
                    "AgeRange": {"Low": 26, "High": 38},
                    "Confidence": 99.87,
                }
                for i in range(self.faces)
            ]
        }


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    with (
        (tmp_path_factory.mktemp("logs") / "lambda.log").open("w") as log,
        EmulatedStack(
            ROOT, log=log, parameters={"VisionBackend": "rekognition"}, stubs={"rekognition": Crowd()}
        ) as s,
    ):
        yield Runner(s)


def crowd_video(path: Path, seconds: int = 72, fps: int = 2) -> Path:
    import cv2

    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d) / "v.mp4"
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (128, 96))
        base = rng.integers(60, 200, (96, 128, 3), dtype=np.uint8)
        for i in range(seconds * fps):
            writer.write(np.roll(base, i, axis=1))
        writer.release()
        path.write_bytes(tmp.read_bytes())
    return path


def test_a_crowd_video_ends_in_one_decision(runner: Runner, tmp_path: Path) -> None:
    up = runner.upload(crowd_video(tmp_path / "assembly.mp4"), "media/post-q/assembly.mp4")
    [execution] = runner.deliver(up)
    decision = decision_of(runner, execution, up)
    # Judged, not held for an error: the faces were seen (the record keeps at most 25 of them).
    assert decision["kind"] == "media" and decision["verdict"] in ("allow", "review")
    assert decision["frames"] >= 30 and len(decision["signals"]["faces"]) == 25
