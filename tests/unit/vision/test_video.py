"""Video sampling (fixed rate + scene changes, capped) and worst-case aggregation with timestamps."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tutela.errors import CorruptMediaError, LimitExceededError
from tutela.policy.media import decide_media
from tutela.sniff import MediaType
from tutela.vision import ImageScan, ScanLimits, scan_file
from tutela.vision.backend import label_chain
from tutela.vision.limits import Deadline
from tutela.vision.video import sample_frames

FPS = 10


def _video(path: Path, seconds: float, scene_at: float | None = None, face: Any = None) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (320, 240))
    assert writer.isOpened()
    for i in range(int(seconds * FPS)):
        t = i / FPS
        frame = np.full(
            (240, 320, 3), (40, 90, 40) if scene_at is None or t < scene_at else (30, 40, 200), np.uint8
        )
        cv2.circle(frame, (20 + (i * 5) % 280, 120), 10, (255, 255, 255), -1)  # motion, same scene
        if face is not None:
            frame[10:230, 50:270] = cv2.resize(face[40:260, 120:340], (220, 220))
        writer.write(frame)
    writer.release()
    return path


class RedIsSwimwear:
    """Fake backend: frames of the red scene 'contain' swimwear and a likely minor's face."""

    name = "fake"

    def version(self) -> str:
        return "fake 1"

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        raise AssertionError("video frames only")

    def scan_frame(self, frame: Any) -> ImageScan:
        red = frame[5, 5, 2] > 150
        if not red:
            return ImageScan(width=frame.shape[1], height=frame.shape[0])
        face = {
            "BoundingBox": {"Width": 0.2, "Height": 0.2, "Left": 0.1, "Top": 0.1},
            "AgeRange": {"Low": 8, "High": 14},
            "Confidence": 90.0,
        }
        return ImageScan(
            labels=label_chain("Female Swimwear or Underwear", 80.0),
            faces=[face],  # type: ignore[list-item]
            width=frame.shape[1],
            height=frame.shape[0],
        )


def test_fixed_rate_plus_scene_change(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 7.0, scene_at=3.1)
    frames = list(sample_frames(path, ScanLimits(), Deadline(30)))
    rate = [f.t for f in frames if f.why == "rate"]
    scene = [f.t for f in frames if f.why == "scene"]
    assert rate == [0.0, 2.0, 4.0, 6.0]
    assert len(scene) == 1 and 3.1 <= scene[0] <= 3.4
    assert [f.t for f in frames if f.why == "end"] == [6.9]  # the last frame is always sampled


def test_worst_case_aggregation_with_timestamps(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 7.0, scene_at=3.1)
    report = scan_file(path, backend=RedIsSwimwear()).to_dict()
    assert report["kind"] == "video" and report["media_type"] == "mp4"
    assert {lb["Name"] for lb in report["ModerationLabels"]} == {
        "Female Swimwear or Underwear",
        "Swimwear or Underwear",
    }
    assert report["Faces"][0]["AgeRange"] == {"Low": 8, "High": 14}
    assert next(f["t"] for f in report["samples"]) == 0.0
    decision = decide_media(report, None)
    assert decision["verdict"] == "review" and decision["minor"] == "likely"
    (reason,) = decision["reasons"]
    assert reason["code"] == "minor_with_swimwear"
    assert reason["t"][0] >= 3.1 and 4.0 in reason["t"] and "s" in reason["message"]


def test_frame_cap_spreads_samples_over_the_whole_video(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 6.0, scene_at=5.1)
    report = scan_file(path, backend=RedIsSwimwear(), limits=ScanLimits(sample_every_s=0.2, max_frames=5))
    ts = [s["t"] for s in report.samples or []]
    assert report.frames == len(ts) <= 5
    assert ts[-1] >= 4.5  # the end of the video is covered, not just its first second
    assert any(lb["Name"] == "Swimwear or Underwear" for lb in report.labels)  # the late red scene


def test_frame_cap_note(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 6.0, scene_at=3.1)
    report = scan_file(path, backend=RedIsSwimwear(), limits=ScanLimits(sample_every_s=0.2, max_frames=3))
    assert report.frames == 3 and any("frame cap" in n for n in report.notes)


def test_duration_limit(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 3.0)
    with pytest.raises(LimitExceededError):
        scan_file(path, backend=RedIsSwimwear(), limits=ScanLimits(max_video_seconds=1.0))


def test_frame_pixel_limit(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 1.0)
    with pytest.raises(LimitExceededError):
        scan_file(path, backend=RedIsSwimwear(), limits=ScanLimits(max_video_pixels=100 * 100))


def test_time_limit(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 3.0)
    with pytest.raises(LimitExceededError, match="time limit"):
        scan_file(path, backend=RedIsSwimwear(), limits=ScanLimits(max_seconds=0.0))


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 200,
        b"\x00\x00\x00\x18ftypqt  \x00\x00\x02\x00qt  " + bytes(range(256)) * 8,
    ],
)
def test_corrupt_video(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(data)
    with pytest.raises(CorruptMediaError):
        scan_file(path, backend=RedIsSwimwear())


def test_truncated_video_is_scanned_or_corrupt(tmp_path: Path) -> None:
    path = _video(tmp_path / "v.mp4", 3.0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with contextlib.suppress(CorruptMediaError):
        scan_file(cut, backend=RedIsSwimwear())


def test_local_backend_on_video_finds_the_face(tmp_path: Path, astronaut: Any) -> None:
    path = _video(tmp_path / "face.mp4", 2.0, face=astronaut)
    report = scan_file(path).to_dict()
    assert report["backend"]["name"] == "local"
    assert report["Faces"] and "AgeRange" in report["Faces"][0]
    assert decide_media(report, None)["verdict"] != "block"
