"""The other side of trust: ordinary uploads, written the way phones, cameras and common tools write them,
must be published (scrubbed, verified, every frame scanned as a viewer shows it), not held by a rule made
for hostile files. Each test names the rule it keeps and the hostile test that motivated it."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.unit.vision import movies
from tests.unit.vision.movies import GREY, RED, Seen
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

cv2 = pytest.importorskip("cv2")
BLUE = (255, 0, 0)


def with_durations(data: bytes, seconds: list[float]) -> bytes:
    """``data`` (OpenCV: one track, one stts run) with each sample shown for its own time (stts)."""
    path = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"]
    at, _ = movies.find(data, path)
    assert struct.unpack(">I", data[at + 16 : at + 20])[0] == len(seconds)
    _, media_ts = movies.timescales(data)
    runs = b"".join(struct.pack(">II", 1, round(s * media_ts)) for s in seconds)
    data = movies._replace(data, path, movies.box(b"stts", struct.pack(">II", 0, len(seconds)) + runs))
    # OpenCV's edit list spans the movie as written: it would end the longer one there
    moov, _ = movies.find(data, [b"moov"])
    trak, _ = movies.find(data, [b"moov", b"trak"])
    edts, n = movies.find(data, [b"moov", b"trak", b"edts"])
    out = bytearray(data[:edts] + data[edts + n :])
    for at in (moov, trak):
        out[at : at + 4] = struct.pack(">I", struct.unpack(">I", out[at : at + 4])[0] - n)
    return bytes(out)


def test_a_screen_recording_with_still_stretches_is_published_and_scanned(tmp_path: Path) -> None:
    """Screen recorders (iOS, Android, OBS, browsers) write a frame only when the screen changes: a screen
    left still for seconds is one sample lasting seconds among 1/30 s ones. The dwell rule
    (test_fragment_dwell, test_movie_coverage) held every such recording; the movie is now sampled by
    time, and each still stretch (red for 3 s, blue for 2.5 s, between moving grey) is scanned."""
    colours = [GREY] * 12 + [RED] + [GREY] * 12 + [BLUE] + [GREY] * 12
    seconds = [1 / 30] * 12 + [3.0] + [1 / 30] * 12 + [2.5] + [1 / 30] * 12
    data = with_durations(movies.video(colours, fps=30), seconds)
    published, report = scrub_bytes(data)
    assert report.verified and published == data
    p = tmp_path / "screen.mp4"
    p.write_bytes(published)
    seen = Seen()
    scan_file(p, backend=seen)
    assert seen.saw_red()
    assert any(b > 200 and r < 40 for b, _g, r in seen.colours)  # the blue stretch
