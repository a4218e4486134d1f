"""A movie fragment random access box (``mfra``) carrying a QuickTime location box.

``mfra`` is a top-level container that players read only for its ``tfra``/``mfro`` children (where each
fragment's keyframes are). The scrubber kept every top-level box of ``TOP_KEEP`` whole, and the verifier
looked inside ``moov``/``moof``/``udta``/``meta``/``uuid`` only, so a ``udta`` with a ``©xyz`` (or any box)
inside ``mfra`` reached the published copy with its coordinates, reported clean. No common reader shows it
(exiftool and FFmpeg skip it), but the bytes are there for any carving tool: anything but ``tfra``/``mfro``
becomes ``free`` padding (zeroed), as unknown top-level boxes do."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.hostile.test_fragment_dwell import GREY, fragmented
from tests.unit.vision import movies
from tutela.scrub import find_location, scrub_bytes

COORDS = b"+51.5074-000.1278/"


def test_location_inside_the_fragment_index_is_not_published(tmp_path: Path) -> None:
    xyz = movies.box(b"\xa9xyz", struct.pack(">HH", len(COORDS), 0x15C7) + COORDS)
    tfra = movies.box(b"tfra", struct.pack(">IIII", 1 << 24, 1, 0, 0))  # v1, track 1, no entries
    body = movies.box(b"udta", xyz) + tfra
    mfra = movies.box(b"mfra", body + movies.box(b"mfro", struct.pack(">II", 0, 8 + len(body) + 16)))
    movie = fragmented(movies.video([GREY] * 10)) + mfra
    published, report = scrub_bytes(movie)
    assert report.verified and len(published) == len(movie)
    assert COORDS not in published, "coordinates inside mfra were published"
    assert published.endswith(tfra + mfra[-16:])  # what players read there is kept
    assert "box.other" in report.to_dict()["removed"]
    # the verifier finds such a box by itself (an independent check, not the scrubber's word)
    p = tmp_path / "m.mp4"
    p.write_bytes(movie)
    assert find_location(p)
