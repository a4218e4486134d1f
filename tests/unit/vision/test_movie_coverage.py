"""A movie is held when a player could show frames the sampled scan cannot cover: a second video track, an
edit list that is more than a start offset. One with a frame that dwells far longer than the others is
sampled by time."""

from __future__ import annotations

from pathlib import Path

import movies
import pytest
from movies import GREY, RED, Seen

from tutela.errors import UnsupportedMediaError
from tutela.vision import scan_file


def _scan(tmp_path: Path, data: bytes) -> Seen:
    p = tmp_path / "m.mp4"
    p.write_bytes(data)
    seen = Seen()
    scan_file(p, backend=seen)
    return seen


def _frames_opencv_reads(tmp_path: Path, data: bytes) -> list[tuple[int, ...]]:
    import cv2

    p = tmp_path / "probe.mp4"
    p.write_bytes(data)
    cap, out = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG), []
    while True:
        ok, f = cap.read()
        if not ok:
            return out
        out.append(tuple(int(v) for v in f[32, 48]))


def test_a_plain_movie_is_scanned(tmp_path: Path) -> None:
    seen = _scan(tmp_path, movies.video([GREY] * 10 + [RED] * 10))
    assert seen.colours and seen.saw_red()


def test_a_second_video_track_is_held(tmp_path: Path) -> None:
    """Track 1 (grey) disabled, track 2 (red) enabled: a player shows track 2, the scan reads track 1."""
    data = movies.two_tracks(movies.video([GREY] * 10), movies.video([RED] * 10), first_enabled=False)
    assert all(c[2] < 200 for c in _frames_opencv_reads(tmp_path, data))  # FFmpeg's first stream: grey only
    with pytest.raises(UnsupportedMediaError, match="2 video tracks"):
        _scan(tmp_path, data)


def test_a_frame_that_dwells_is_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frame 21 of 40 lasts 30 s (stts): players show it for 30 s, index sampling steps over it; the movie
    is sampled by time instead, so the frame on screen at each tick (the red one) is scanned."""
    from tutela.scrub import isobmff

    data = movies.with_dwell(movies.video([GREY] * 21 + [RED] + [GREY] * 18), 21, 30.0)
    assert _scan(tmp_path, data).saw_red()
    monkeypatch.setattr(isobmff, "MAX_DWELL", 10_000)  # not seen as dwelling: index sampling
    assert not _scan(tmp_path, data).saw_red()  # what sampling by time prevents: 30 s of red, never scanned
    monkeypatch.undo()
    # variable frame rate within bounds (one frame three times as long) is scanned
    assert _scan(tmp_path, movies.with_dwell(movies.video([GREY] * 40), 21, 0.3)).colours


def test_an_edit_list_that_repeats_is_held_and_a_start_offset_is_not(tmp_path: Path) -> None:
    data = movies.video([GREY] * 10 + [RED] * 10)
    movie_ts, media_ts = movies.timescales(data)
    # one edit starting 10 frames in (what an encoder writes for its delay, longer): the scan decodes
    # every sample, the hidden ones too
    offset = movies.with_edits(data, [(movie_ts, media_ts, 1)])
    assert _scan(tmp_path, offset).colours
    # an empty edit (a start delay) then the media: still one contiguous run
    delayed = movies.with_edits(data, [(movie_ts // 2, -1, 1), (2 * movie_ts, 0, 1)])
    assert _scan(tmp_path, delayed).colours
    # the red second shown over and over: two edits of the same media
    looped = movies.with_edits(data, [(movie_ts, media_ts, 1), (30 * movie_ts, media_ts, 1)])
    with pytest.raises(UnsupportedMediaError, match="edit list"):
        _scan(tmp_path, looped)
    # one frame held for a minute: rate 0 (dwell)
    dwell = movies.with_edits(data, [(60 * movie_ts, media_ts, 0)])
    with pytest.raises(UnsupportedMediaError, match="edit list"):
        _scan(tmp_path, dwell)
