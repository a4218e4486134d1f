"""A video track with a second sample description: frames of another codec that FFmpeg never decodes.

QuickTime/ISO BMFF let one track carry several sample descriptions (``stsd`` entries); ``stsc`` says which
chunk uses which. Here the track is OpenCV's own mp4v video (20 grey frames) plus a chunk of 20 Photo-JPEG
frames of a face described by a second ``jpeg`` entry. FFmpeg (inside OpenCV) keeps only the first codec
("multiple fourcc not supported") and drops the other samples, so the scan decodes the 20 grey frames and
never sees the face; the scrubber verifies the file and would publish every sample. A player that follows
the sample descriptions (QuickTime's format allows a format change inside a track; not checked against a
particular player here) shows the face. Published = scanned asks for those frames to be scanned or the
movie held (as a second video track is: ``isobmff.movie_coverage_problem``)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from tests.unit.vision.movies import video
from tutela.errors import UnsupportedMediaError
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
Tree = list[list[Any]]


def _parse(d: bytes) -> Tree:
    out, i = [], 0
    while i + 8 <= len(d):
        n, t = struct.unpack(">I4s", d[i : i + 8])
        body = d[i + 8 : i + n]
        out.append([t, _parse(body) if t in _CONTAINERS else body])
        i += n
    return out


def _ser(tree: Tree) -> bytes:
    parts = []
    for t, c in tree:
        body = _ser(c) if isinstance(c, list) else c
        parts.append(struct.pack(">I4s", 8 + len(body), t) + body)
    return b"".join(parts)


def _get(tree: Tree, t: bytes) -> list[Any]:
    return next(x for x in tree if x[0] == t)


def _u32(b: bytes, at: int) -> int:
    return int(struct.unpack(">I", b[at : at + 4])[0])


def with_jpeg_description(base: bytes, jpegs: list[bytes], w: int, h: int) -> bytes:
    """``base`` (one mp4v track, moov last) with ``jpegs`` appended as one chunk using stsd entry 2."""
    top = _parse(base)
    at = next(i for i, (t, _) in enumerate(top) if t == b"moov")
    chunk_offset = len(_ser(top[:at])) + 8
    top.insert(at, [b"mdat", b"".join(jpegs)])
    trak = _get(_get(top, b"moov")[1], b"trak")
    stbl = _get(_get(_get(trak[1], b"mdia")[1], b"minf")[1], b"stbl")[1]
    entry = (
        b"\0" * 6 + struct.pack(">H", 1) + b"\0" * 16 + struct.pack(">HHII", w, h, 0x480000, 0x480000)
        + b"\0" * 4 + struct.pack(">H", 1) + b"\x0bPhoto - JPEG".ljust(32, b"\0") + struct.pack(">Hh", 24, -1)
    )  # fmt: skip
    stsd = _get(stbl, b"stsd")
    stsd[1] = stsd[1][:4] + struct.pack(">I", _u32(stsd[1], 4) + 1) + stsd[1][8:]
    stsd[1] += struct.pack(">I4s", 8 + len(entry), b"jpeg") + entry
    stsz = _get(stbl, b"stsz")
    count = _u32(stsz[1], 8)
    sizes = b"".join(struct.pack(">I", len(j)) for j in jpegs)
    stsz[1] = stsz[1][:8] + struct.pack(">I", count + len(jpegs)) + stsz[1][12:] + sizes
    stco = _get(stbl, b"stco")
    chunks = _u32(stco[1], 4)
    stco[1] = stco[1][:4] + struct.pack(">I", chunks + 1) + stco[1][8:] + struct.pack(">I", chunk_offset)
    stsc = _get(stbl, b"stsc")
    stsc[1] = stsc[1][:4] + struct.pack(">I", _u32(stsc[1], 4) + 1) + stsc[1][8:]
    stsc[1] += struct.pack(">III", chunks + 1, len(jpegs), 2)
    stts = _get(stbl, b"stts")
    run, delta = struct.unpack(">II", stts[1][-8:])
    stts[1] = stts[1][:-8] + struct.pack(">II", run + len(jpegs), delta)
    stss = next((x for x in stbl if x[0] == b"stss"), None)
    if stss is not None:
        sync = b"".join(struct.pack(">I", count + 1 + i) for i in range(len(jpegs)))
        stss[1] = stss[1][:4] + struct.pack(">I", _u32(stss[1], 4) + len(jpegs)) + stss[1][8:] + sync
    return _ser(top)


def test_frames_of_a_second_sample_description_are_scanned_or_held(tmp_path: Path) -> None:
    data_mod = pytest.importorskip("skimage.data")
    face = cv2.resize(cv2.cvtColor(data_mod.astronaut(), cv2.COLOR_RGB2BGR), (256, 256))
    jpegs = [cv2.imencode(".jpg", face)[1].tobytes()] * 20
    movie = with_jpeg_description(video([(90, 90, 90)] * 20, size=(256, 256), fps=10), jpegs, 256, 256)
    published, report = scrub_bytes(movie)
    assert report.verified and published.count(jpegs[0]) == 20  # every face frame would be published
    p = tmp_path / "two_descriptions.mov"
    p.write_bytes(movie)
    try:
        scan = scan_file(p, backend="local").to_dict()
    except UnsupportedMediaError:
        return  # held: fine
    assert scan["Faces"], "the frames of the second sample description were never scanned"
