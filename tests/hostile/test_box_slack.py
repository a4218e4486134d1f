"""Bytes after the structure of a box the scrubber keeps whole (a ``sidx`` after its references, a ``stco``
after its chunk offsets, a ``tkhd`` after its matrix and size).

Readers read what the box's version, flags and counts declare and stop; whatever follows inside the box is
read by nobody and was copied to the published file as it was. Text there (coordinates) matches no carve
signature, so it was published and reported clean; an XMP packet or EXIF block there was found by the carve
and held the whole upload. Those bytes are now zeroed (``box.slack``), and the verifier refuses a published
copy where they are not."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from tests.unit.vision import movies
from tutela.errors import VerificationError
from tutela.scrub import isobmff, scrub_bytes

pytest.importorskip("cv2")

COORDS = b"+51.5074-000.1278/"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.44N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
STBL = [b"moov", b"trak", b"mdia", b"minf", b"stbl"]


def _sidx(base: bytes, tail: bytes) -> bytes:  # a segment index (v0, one reference) appended at top level
    refs = struct.pack(">IIIIIHH", 0, 1, 1000, 0, 0, 0, 1) + struct.pack(">III", 100, 1000, 0x90000000)
    return base + movies.box(b"sidx", refs + tail)


def _inside(path: list[bytes]) -> Callable[[bytes, bytes], bytes]:
    """Append ``tail`` inside the box at ``path`` (moov is the movie's last box: no sample moves)."""

    def build(base: bytes, tail: bytes) -> bytes:
        at, n = movies.find(base, path)
        parents = [movies.find(base, path[: i + 1])[0] for i in range(len(path))]
        return movies._grow(base, at + n, tail, parents)

    return build


BUILDS = {"sidx": _sidx, "stco": _inside([*STBL, b"stco"]), "tkhd": _inside([b"moov", b"trak", b"tkhd"])}


@pytest.mark.parametrize("tail", [COORDS, XMP], ids=["text", "xmp"])
@pytest.mark.parametrize("where", list(BUILDS))
def test_bytes_after_a_kept_box_structure_are_not_published(where: str, tail: bytes) -> None:
    base = movies.video([(90, 90, 90)] * 10)
    movie = BUILDS[where](base, tail)
    published, report = scrub_bytes(movie)  # was: text published, an XMP packet held by the carve
    assert report.verified and len(published) == len(movie)
    assert tail not in published
    assert published.replace(b"\x00", b"") == movie.replace(tail, b"").replace(b"\x00", b"")  # nothing else
    assert report.to_dict()["removed"] == ["box.slack"]
    assert scrub_bytes(base)[1].to_dict()["removed"] == []  # a plain movie has none


@pytest.mark.parametrize("where", list(BUILDS))
def test_verifier_refuses_bytes_after_a_box_structure(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    movie = BUILDS[where](movies.video([(90, 90, 90)] * 10), COORDS)
    monkeypatch.setattr(isobmff, "zero_slack", lambda *a: None)  # a scrubber that copies them
    monkeypatch.setattr(isobmff, "_slack_patch", lambda *a: None)
    with pytest.raises(VerificationError, match=r"box\.slack"):
        scrub_bytes(movie)
