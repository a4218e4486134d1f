"""A video track whose ``tkhd`` matrix stretches the picture: what QuickTime shows is not what was scanned.

The track header's 3x3 matrix places the decoded frame on screen. Phones write a rotation (0/90/180/270
degrees, which FFmpeg applies and OpenCV follows); the format allows any affine or perspective transform,
and QuickTime/AVFoundation draw it. Here the astronaut portrait is stored squeezed to 1/6 of its width and
the matrix scales x by 6 (tkhd width 384): such a player shows the whole face, FFmpeg reads only the
rotation from the matrix, so the scan analysed the sliver and found nothing, and the scrubber verified and
would publish it. A matrix that is more than a rotation/flip at one scale is held; rotations stay scanned."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.hostile.test_pixel_aspect import SIDE, SQUEEZE, _movie, portrait
from tests.unit.vision import movies
from tutela.errors import UnsupportedMediaError
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

cv2 = pytest.importorskip("cv2")

ONE = 0x10000  # 16.16 fixed point


def with_matrix(data: bytes, a: int, b: int, c: int, d: int, width: int | None = None) -> bytes:
    """``data`` with its track's matrix [a b 0; c d 0; 0 0 1] (16.16) and, if given, tkhd width."""
    at, _ = movies.find(data, [b"moov", b"trak", b"tkhd"])
    assert data[at + 8] == 0  # version 0, as OpenCV writes it
    out = bytearray(data)
    m = at + 8 + 40
    out[m : m + 36] = struct.pack(">9i", a, b, 0, c, d, 0, 0, 0, 0x40000000)
    if width is not None:
        out[m + 36 : m + 40] = struct.pack(">I", width << 16)
    return bytes(out)


def _faces(tmp_path: Path, movie: bytes) -> list[object]:
    p = tmp_path / "m.mov"
    p.write_bytes(movie)
    return list(scan_file(p, backend="local").to_dict()["Faces"])


def test_a_matrix_that_stretches_the_picture_is_held(tmp_path: Path) -> None:
    coded = cv2.resize(portrait(), (SIDE // SQUEEZE, SIDE), interpolation=cv2.INTER_AREA)
    movie = with_matrix(_movie(coded), SQUEEZE * ONE, 0, 0, ONE, width=SIDE)
    published, report = scrub_bytes(movie)
    assert report.verified and published == movie  # the matrix is kept, as a rotation is
    with pytest.raises(UnsupportedMediaError, match="matrix"):
        _faces(tmp_path, movie)


def test_rotations_and_flips_are_still_scanned(tmp_path: Path) -> None:
    movie = _movie(portrait())
    for a, b, c, d in [(0, ONE, -ONE, 0), (-ONE, 0, 0, -ONE), (0, -ONE, ONE, 0), (-ONE, 0, 0, ONE)]:
        assert _faces(tmp_path, with_matrix(movie, a, b, c, d)) is not None  # scanned, not held
