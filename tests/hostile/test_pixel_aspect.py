"""A movie whose pixels are not square: the picture a player shows is not the one the scan decoded.

A ``pasp`` box in the video sample entry (or the codec's own aspect ratio) tells players to stretch each
coded pixel: here the astronaut portrait is stored squeezed to 1/6 of its width with a pixel aspect of 6:1,
so every player (FFmpeg reports it as the stream's sample aspect ratio, exiftool as ``PixelAspectRatio``)
shows the undistorted face. The scan analysed the coded frame, a sliver no face detector recognises, and
the scrubber verified and would publish it. Published = scanned: frames are scanned at the shape a viewer
sees them (never larger than decoded: the long side stays as it was)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from tests.unit.vision import movies
from tutela.scrub import scrub_bytes
from tutela.sniff import MediaType
from tutela.vision import ScanLimits, scan_file
from tutela.vision.backend import ImageScan

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

SIDE, SQUEEZE = 384, 6


def with_pixel_aspect(data: bytes, h_spacing: int, v_spacing: int) -> bytes:
    """``data`` (OpenCV's one mp4v track) with a ``pasp`` box at the end of its sample entry."""
    path = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"]
    parents, start, end = [], 0, len(data)
    for kind in path:
        at, n = movies.find(data, [kind], start, end)
        parents.append(at)
        start, end = at + 8, at + n
    entry, entry_n = movies.find(data, [b"mp4v"], start + 8, end)  # stsd: version/flags, entry count
    pasp = movies.box(b"pasp", struct.pack(">II", h_spacing, v_spacing))
    return movies._grow(data, entry + entry_n, pasp, [*parents, entry])


def portrait() -> Any:
    data_mod = pytest.importorskip("skimage.data")
    return cv2.resize(cv2.cvtColor(data_mod.astronaut(), cv2.COLOR_RGB2BGR), (SIDE, SIDE))


def _movie(frame: Any, count: int = 10) -> bytes:
    import tempfile

    h, w = frame.shape[:2]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "v.mp4"
        wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
        for _ in range(count):
            wr.write(frame)
        wr.release()
        return p.read_bytes()


class Shapes:
    """Fake backend: the (height, width) of every frame it is shown."""

    name = "shapes"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []

    def version(self) -> str:
        return "shapes 1"

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        raise AssertionError("a movie is scanned frame by frame")

    def scan_frame(self, frame: Any) -> ImageScan:
        h, w = frame.shape[:2]
        self.shapes.append((h, w))
        return ImageScan(width=w, height=h)


def test_frames_are_scanned_at_the_shape_a_player_shows(tmp_path: Path) -> None:
    face = portrait()
    assert scan_file_faces(tmp_path, _movie(face))  # the portrait as a plain movie: a face is found
    coded = cv2.resize(face, (SIDE // SQUEEZE, SIDE), interpolation=cv2.INTER_AREA)
    movie = with_pixel_aspect(_movie(coded), SQUEEZE, 1)
    p = tmp_path / "squeezed.mp4"
    p.write_bytes(movie)
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    assert (cap.get(cv2.CAP_PROP_SAR_NUM), cap.get(cv2.CAP_PROP_SAR_DEN)) == (SQUEEZE, 1)  # what players read
    published, report = scrub_bytes(movie)
    assert report.verified and published == movie
    seen = Shapes()
    scan_file(p, backend=seen)
    assert seen.shapes and all(abs(w - h) <= 2 for h, w in seen.shapes), seen.shapes  # 384 x 384, as shown
    assert all(max(h, w) <= SIDE for h, w in seen.shapes)  # never larger than decoded
    assert scan_file_faces(tmp_path, movie), "the face a player shows was never seen by the scan"


def scan_file_faces(tmp_path: Path, movie: bytes) -> list[Any]:
    p = tmp_path / "probe.mp4"
    p.write_bytes(movie)
    return list(scan_file(p, backend="local").to_dict()["Faces"])


def test_the_pixel_aspect_follows_a_rotated_frame(tmp_path: Path) -> None:
    """Stored on its side and squeezed along the coded width, shown upright (a 90 degree matrix) and whole:
    OpenCV hands over the frame already rotated, so the coded width is its height."""
    from tests.hostile.test_track_matrix import ONE, with_matrix

    coded = cv2.rotate(portrait(), cv2.ROTATE_90_COUNTERCLOCKWISE)
    coded = cv2.resize(coded, (SIDE // SQUEEZE, SIDE), interpolation=cv2.INTER_AREA)
    movie = with_matrix(with_pixel_aspect(_movie(coded), SQUEEZE, 1), 0, ONE, -ONE, 0)
    p = tmp_path / "rotated.mp4"
    p.write_bytes(movie)
    seen = Shapes()
    scan_file(p, backend=seen)
    assert seen.shapes and all(abs(w - h) <= 2 for h, w in seen.shapes), seen.shapes
    assert scan_file_faces(tmp_path, movie), "the face a player shows was never seen by the scan"
