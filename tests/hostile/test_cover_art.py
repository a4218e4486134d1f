"""Cover art in a movie's metadata: a picture players and file browsers show that the scan never saw.

An iTunes-style ``covr`` item (``udta/meta/ilst``) or an Apple ``com.apple.quicktime.artwork`` key holds a
whole JPEG/PNG. Finder, iTunes/Music, many galleries and exiftool (``CoverArt``/``Artwork``) show or extract
it as the movie's picture; the scanner decodes the video stream only. The scrubber kept both (neither is
location nor identity), so a face or anything else could ride in unscanned. Published = scanned: the
picture is removed from the published copy (``qt.cover_art``), like a HEIF thumbnail."""

from __future__ import annotations

import json
import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.vision import movies
from tutela.errors import VerificationError
from tutela.scrub import find_location, isobmff, scrub_bytes
from tutela.scrub.core import BytesReader
from tutela.scrub.verify import find_location_reader

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")


def exiftool_tags(path: Path) -> set[str]:
    out = subprocess.run(["exiftool", "-j", "-a", "-ee", "-m", str(path)], capture_output=True, text=True)
    return set(json.loads(out.stdout or "[{}]")[0])


def _picture() -> bytes:
    img = np.zeros((48, 64, 3), np.uint8)
    img[:, :32] = (0, 0, 255)
    return bytes(cv2.imencode(".jpg", img)[1].tobytes())


def _data(payload: bytes, kind: int = 13) -> bytes:  # well-known type 13: JPEG
    return movies.box(b"data", struct.pack(">II", kind, 0) + payload)


def _with_moov_child(base: bytes, child: bytes) -> bytes:
    at, n = movies.find(base, [b"moov"])
    return movies._grow(base, at + n, child, [at])


def itunes_cover(base: bytes, picture: bytes) -> bytes:
    hdlr = movies.box(b"hdlr", bytes(8) + b"mdirappl" + bytes(9))
    ilst = movies.box(b"ilst", movies.box(b"covr", _data(picture)))
    return _with_moov_child(base, movies.box(b"udta", movies.box(b"meta", bytes(4) + hdlr + ilst)))


def apple_artwork(base: bytes, picture: bytes) -> bytes:
    name = b"com.apple.quicktime.artwork"
    keys = movies.box(b"keys", struct.pack(">II", 0, 1) + struct.pack(">I4s", 8 + len(name), b"mdta") + name)
    hdlr = movies.box(b"hdlr", bytes(8) + b"mdta" + bytes(13))
    ilst = movies.box(b"ilst", movies.box(struct.pack(">I", 1), _data(picture)))
    return _with_moov_child(base, movies.box(b"meta", hdlr + keys + ilst))


@pytest.mark.parametrize("build", [itunes_cover, apple_artwork])
def test_cover_art_never_scanned_is_not_published(
    build: Callable[[bytes, bytes], bytes], tmp_path: Path
) -> None:
    picture = _picture()
    movie = build(movies.video([(90, 90, 90)] * 10), picture)
    src = tmp_path / "in.mp4"
    src.write_bytes(movie)
    assert any(k in exiftool_tags(src) for k in ("CoverArt", "Artwork"))  # the picture readers show
    published, report = scrub_bytes(movie)
    assert report.verified and len(published) == len(movie)
    assert picture not in published, "cover art the scan never saw would be published"
    assert "qt.cover_art" in report.to_dict()["removed"]
    out = tmp_path / "out.mp4"
    out.write_bytes(published)
    tags = exiftool_tags(out)
    assert not any(k in tags for k in ("CoverArt", "Artwork")), tags
    assert cv2.VideoCapture(str(out), cv2.CAP_FFMPEG).read()[0]  # the movie still plays


@pytest.mark.parametrize("build", [itunes_cover, apple_artwork])
def test_verifier_finds_cover_art_by_itself(
    build: Callable[[bytes, bytes], bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verifier's own rules find a picture item: a scrubber that let one through is refused."""
    movie = build(movies.video([(90, 90, 90)] * 10), _picture())
    src = tmp_path / "in.mp4"
    src.write_bytes(movie)
    assert "qt.cover_art" in find_location(src)
    # a scrubber that no longer recognises pictures (by item name, key name or data type)
    monkeypatch.setattr(isobmff, "PICTURE_KEY", re.compile(rb"(?!)"))
    monkeypatch.setattr(isobmff, "_holds_picture", lambda *a: False)
    monkeypatch.setattr(isobmff, "PICTURE_DATA_TYPES", frozenset())
    if build is itunes_cover:
        movie = movie.replace(b"covr", b"\xa9cmt")  # a picture under a kept-looking item name, typed JPEG
        assert "qt.cover_art" in find_location_reader(BytesReader(movie), "mp4")
    with pytest.raises(VerificationError, match=r"qt\.cover_art"):
        scrub_bytes(movie)
