"""Sampling by time (a movie whose frames last very different times: screen recordings) decodes only what it
samples, and every caller samples a movie the same way.

The movies are OpenCV's MPEG-4 (a keyframe every 12 frames) with each sample's duration rewritten in
``stts`` (``benign_corpus.with_durations``): bursts of short frames, as a recorder writes while the screen
moves, between frames that dwell. Each frame's colour encodes its position, so a test knows which frame
it was shown without trusting the sampler's own bookkeeping."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.hostile.benign_corpus import with_durations
from tests.unit.vision import movies
from tests.unit.vision.movies import GREY, RED, Seen
from tutela.bank.known import scan_and_match
from tutela.bank.media import hash_file
from tutela.bank.model import Bank, VideoEntry
from tutela.bank.store import BankRepository, DirBlobs
from tutela.vision import ScanLimits, scan_file
from tutela.vision.limits import Deadline
from tutela.vision.video import dwells, sample_frames

cv2 = pytest.importorskip("cv2")
BLUE = (255, 0, 0)
SIZE = (96, 64)


def _colour(i: int) -> tuple[int, int, int]:
    """Frame ``i`` (< 1000) as three decimal digits, one per channel, 24 levels apart."""
    return (30 + (i % 10) * 24, 30 + (i // 10 % 10) * 24, 30 + (i // 100 % 10) * 24)


def _which(pixel: Any) -> int:
    b, g, r = (round((int(v) - 30) / 24) for v in pixel)
    return b + 10 * g + 100 * r


def _recording(tmp_path: Path, seconds: list[float], colours: list[Any] | None = None) -> Path:
    colours = colours or [_colour(i) for i in range(len(seconds))]
    path = tmp_path / "screen.mp4"
    path.write_bytes(with_durations(movies.video(colours, size=SIZE, fps=30), seconds))
    return path


def _bursts(cycles: int, burst: int, frame_s: float, dwell_s: float) -> list[float]:
    """``cycles`` times: ``burst`` frames of ``frame_s`` (the screen moving), then one of ``dwell_s``."""
    return ([frame_s] * burst + [dwell_s]) * cycles


def test_the_frame_on_screen_at_every_tick_is_sampled_and_only_those_are_decoded(tmp_path: Path) -> None:
    """Every 2 s tick's frame (the one whose time on screen covers the tick) is sampled, with that frame's
    own pixels and time; and getting there decodes fewer frames than the movie has (seeks over keyframes,
    ``grab()`` without colour conversion): a decode limit of half the frames is met."""
    seconds = _bursts(5, 199, 1 / 120, 1.7)  # 1000 frames over 17 s: 1.66 s of motion, then 1.7 s still
    path = _recording(tmp_path, seconds)
    assert dwells(path)
    starts = [0.0, *itertools.accumulate(seconds)][:-1]
    limits = ScanLimits(max_decoded_frames=len(seconds) // 2)
    samples = list(sample_frames(path, limits, Deadline(60)))
    shown = [_which(s.image[SIZE[1] // 2, SIZE[0] // 2]) for s in samples]
    for s, i in zip(samples, shown, strict=True):
        assert s.t == pytest.approx(starts[i], abs=0.002)  # the frame's own time, not a neighbour's
    ticks = [2.0 * k for k in range(int(starts[-1] // 2) + 1)]
    on_screen = [max(i for i, t in enumerate(starts) if t <= tick + 1e-9) for tick in ticks]
    assert set(on_screen) <= set(shown)
    assert shown[-1] == len(seconds) - 1  # and the last frame


def test_a_frame_dwelling_between_bursts_is_scanned(tmp_path: Path) -> None:
    """One red frame shown for 2.5 s among hundreds of short ones (index sampling steps over it)."""
    seconds = [1 / 60] * 300 + [2.5] + [1 / 60] * 300
    colours = [GREY] * 300 + [RED] + [GREY] * 300
    seen = Seen()
    scan_file(_recording(tmp_path, seconds, colours), backend=seen)
    assert seen.saw_red()


def test_a_brief_picture_between_two_differing_samples_is_located(tmp_path: Path) -> None:
    """As docs/vision.md promises: when two consecutive samples differ, the first frame on screen at a
    0.25 s tick between them that no longer looks like the earlier one is scanned too: red shown for 0.5 s
    from 3.1 s (between the 2 s and 4 s samples, grey then blue) is found at the 3.25 s tick."""
    seconds = [1 / 30] * 93 + [0.5] + [1 / 30] * 102
    colours = [GREY] * 93 + [RED] + [BLUE] * 102
    path = _recording(tmp_path, seconds, colours)
    samples = list(sample_frames(path, ScanLimits(), Deadline(60), timed=True))
    scene = [s for s in samples if s.why == "scene"]
    assert [s.t for s in scene] == [3.1]
    px = scene[0].image[32, 48]
    assert px[2] > 200 and px[0] < 40  # red


def test_a_bank_entry_of_a_screen_recording_matches_its_upload(tmp_path: Path) -> None:
    """The hash-bank import (``hash_file``) and the upload's scan sample a variable-frame-rate recording
    with the same sampler: the banked frames are the upload's frames, and the upload matches the entry.
    (The import sampled by frame index: it hashed other frames than the scan of the same file.)"""
    rng = np.random.default_rng(7)
    pictures = [cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (256, 192)) for _ in range(5)]
    frames, seconds = [], []
    for picture in pictures:  # a picture held 3 s, then 0.5 s of it scrolling away
        frames.append(picture)
        seconds.append(3.0)
        for k in range(15):
            frames.append(np.roll(picture, 8 * (k + 1), axis=1))
            seconds.append(1 / 30)
    path = tmp_path / "screen.mp4"
    path.write_bytes(with_durations(_frames_video(frames), seconds))
    banked = hash_file(path)
    assert banked.video and len(banked.hashes) >= 5
    repo = BankRepository(DirBlobs(tmp_path / "banks"))
    entry = VideoEntry("removed", tuple((h.hex, h.quality) for h in banked.hashes))
    repo.add("removed", [], videos=[entry], defaults=Bank("removed", action="review"))
    _, index = repo.load_index()
    report = scan_and_match(path, backend=Seen(), index=index)
    assert [h["pdq"] for h in report["pdq"]] == [h.hex for h in banked.hashes]
    [match] = report["known_content"]
    assert (match["bank"], match.get("signal_type")) == ("removed", "vpdq")


def _frames_video(frames: list[Any]) -> bytes:
    import tempfile

    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "v.mp4"
        wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 30, (w, h))
        for f in frames:
            wr.write(f)
        wr.release()
        return p.read_bytes()
