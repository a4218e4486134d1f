"""A video whose scene changes use up the frame cap: its end was never scanned, and it was published.

The scan samples a frame every 2 s (spread over the declared length) plus the first frame of each scene
change, at most ``max_frames`` (48) in all. Scene samples came out of the same budget, so a video that
changes scene between every pair of samples (blue/green every 2 s here) spent it by 47 s; the last 13 s
(red) were never scanned, and the cap was only a note in the report: the media policy allowed it.
Published = scanned: scene samples get what the fixed-rate samples leave, so the fixed-rate samples reach
the end; a video with frames left when the cap is reached (a length the container under-declares) is
held (``limit_exceeded``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hostile.test_fragment_dwell import RED, Seen
from tests.unit.vision import movies
from tutela.errors import LimitExceededError
from tutela.vision import ScanLimits, scan_file

pytest.importorskip("cv2")
BLUE, GREEN = (255, 0, 0), (0, 255, 0)


def _scan(tmp_path: Path, data: bytes, limits: ScanLimits | None = None) -> tuple[Seen, dict[str, object]]:
    p = tmp_path / "m.mp4"
    p.write_bytes(data)
    seen = Seen()
    return seen, scan_file(p, backend=seen, limits=limits).to_dict()


def test_scene_changes_never_starve_the_end_of_a_video(tmp_path: Path) -> None:
    # 10 fps: blue/green scenes changing between every two 2 s samples for 50 s, then 10 s of red
    scenes = [BLUE if ((i + 10) // 20) % 2 else GREEN for i in range(500)]
    seen, report = _scan(tmp_path, movies.video(scenes + [RED] * 100))
    assert seen.saw_red(), f"the last 10 s were never scanned ({report['frames']} frames)"
    assert report["frames"] <= 48


def test_frames_past_the_cap_hold_the_video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container whose declared length FFmpeg reads as 1 frame (sampling then runs every 2 s past it):
    120 s of video, 60 samples needed, 48 allowed: what is left is never scanned, so it is held."""
    import cv2

    from tutela.vision import _cv

    class UnderDeclared:
        def __init__(self, *args: Any) -> None:
            self._cap = cv2.VideoCapture(*args)

        def get(self, prop: int) -> float:
            return 1.0 if prop == cv2.CAP_PROP_FRAME_COUNT else float(self._cap.get(prop))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cap, name)

    class Cv2:
        VideoCapture = UnderDeclared

        def __getattr__(self, name: str) -> Any:
            return getattr(cv2, name)

    monkeypatch.setattr(_cv, "cv2", lambda: Cv2())
    data = movies.video([GREEN] * 1200, size=(32, 32))
    with pytest.raises(LimitExceededError, match="more frames"):
        _scan(tmp_path, data)
