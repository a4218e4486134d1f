"""Free text in the tracks a movie keeps: is a timecode (``tmcd``) track a location channel?

A ``tmcd`` sample description may carry a ``name`` (the reel name; exiftool's ``OtherName``) and its
``tcmi`` header a font name: free text, like the title (``©nam``) and comment (``©inf``) that are kept. No
reader takes either for a location: exiftool -ee does not read timecode samples (its embedded-data
handlers are vide/text/meta/sbtl/data/camm/ctbx) and shows the name as ``OtherName``; FFmpeg makes it a
``reel_name``. Decision: kept, not checked by the verifier (text a user typed as a title is no more a
geotag there). The test holds the reason: if a reader starts reading a location from a timecode track,
it fails.

Text tracks are the other kind: their samples are free text players show (DJI and other drones write GPS
as subtitles; exiftool -ee reads 'text' samples). They are not kept: any track whose handler is not
vide/soun/tmcd is removed with its samples (``track.text``)."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest

from tests.unit.vision import movies
from tutela.scrub import scrub_bytes

pytest.importorskip("cv2")

COORDS = b"+51.5074-000.1278/ 51.5074N 0.1278W"
LOCATION_WORDS = ("gps", "location", "latitude", "longitude", "coordinates", "position")


def _hdlr(kind: bytes) -> bytes:
    return movies.box(b"hdlr", bytes(8) + kind + bytes(12) + b"\x00")


def _stsd(entry: bytes) -> bytes:
    return movies.box(b"stsd", struct.pack(">II", 0, 1) + entry)


def _second_track(base: bytes, kind: bytes, entry: bytes, sample: bytes | None = None) -> bytes:
    """``base`` with a copy of its video track made a ``kind`` track (track 2) described by ``entry``;
    ``sample``: its one sample, in an mdat appended after moov (no sample of the video moves)."""
    at, n = movies.find(base, [b"moov", b"trak"])
    trak = base[at : at + n]
    trak = movies._replace(trak, [b"trak", b"mdia", b"hdlr"], _hdlr(kind))
    trak = movies._replace(trak, [b"trak", b"mdia", b"minf", b"stbl", b"stsd"], _stsd(entry))
    stbl = [b"trak", b"mdia", b"minf", b"stbl"]
    one = sample is not None
    tables = {
        b"stts": struct.pack(">II", 0, 1) + struct.pack(">II", 1, 1000) if one else bytes(8),
        b"stsc": struct.pack(">II", 0, 1) + struct.pack(">III", 1, 1, 1) if one else bytes(8),
        b"stsz": struct.pack(">III", 0, 0, 1) + struct.pack(">I", len(sample or b"")) if one else bytes(12),
        b"stco": struct.pack(">III", 0, 1, 0) if one else bytes(8),  # the offset is set below
    }
    for t, body in tables.items():
        trak = movies._replace(trak, [*stbl, t], movies.box(t, body))
    out = bytearray(trak)
    tkhd, _ = movies.find(trak, [b"trak", b"tkhd"])
    out[tkhd + 20 : tkhd + 24] = struct.pack(">I", 2)  # track_ID
    stco, _ = movies.find(trak, [*stbl, b"stco"])
    if one:  # after moov (the last box) grown by this trak, then the mdat's header
        out[stco + 16 : stco + 20] = struct.pack(">I", len(base) + len(trak) + 8)
    moov, _ = movies.find(base, [b"moov"])
    movie = movies._grow(base, len(base), bytes(out), [moov])
    return movie + (movies.box(b"mdat", sample) if one else b"")


def _tmcd_entry(name: bytes) -> bytes:
    """QuickTime timecode description: reserved, data reference, reserved, flags, timescale, frame duration,
    frames per second, reserved; then a 'name' atom (string length, language, text)."""
    body = bytes(6) + struct.pack(">HIIIIBB", 1, 0, 0, 10, 1, 10, 0)
    return movies.box(b"tmcd", body + movies.box(b"name", struct.pack(">HH", len(name), 0) + name))


def _exiftool(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["exiftool", "-j", "-a", "-G1", "-ee", "-m", str(path)], capture_output=True, text=True
    )
    return dict(json.loads(out.stdout)[0])


def _location_tags(tags: dict[str, object]) -> list[str]:
    return [k for k in tags if any(w in k.lower() for w in LOCATION_WORDS)]


def test_a_timecode_name_is_free_text_no_reader_takes_for_a_location(tmp_path: Path) -> None:
    base = movies.video([(90, 90, 90)] * 10)
    movie = _second_track(base, b"tmcd", _tmcd_entry(COORDS), struct.pack(">I", 0))
    src = tmp_path / "in.mov"
    src.write_bytes(movie)
    tags = _exiftool(src)
    assert any(v == COORDS.decode() for k, v in tags.items() if k.endswith(":OtherName")), tags  # read...
    assert _location_tags(tags) == [], tags  # ...as a label, never as a location
    published, report = scrub_bytes(movie)
    assert report.verified and report.to_dict()["removed"] == []  # the timecode track is kept as it is
    assert published == movie


def test_text_tracks_are_not_kept(tmp_path: Path) -> None:
    base = movies.video([(90, 90, 90)] * 10)
    text = movies.box(b"text", bytes(6) + struct.pack(">H", 1) + bytes(43))  # QuickTime text description
    movie = _second_track(base, b"text", text, struct.pack(">H", len(COORDS)) + COORDS)
    src = tmp_path / "in.mov"
    src.write_bytes(movie)
    assert COORDS.decode() in json.dumps(_exiftool(src))  # exiftool -ee reads the subtitle
    published, report = scrub_bytes(movie)
    assert report.verified and "track.text" in report.to_dict()["removed"]
    assert COORDS not in published
    out = tmp_path / "out.mov"
    out.write_bytes(published)
    assert COORDS.decode() not in json.dumps(_exiftool(out))
