"""Hand-edited MP4s for the "published = scanned" tests: an edit list that hides frames, a second video track.

Written by OpenCV (one mp4v track, moov after mdat), then edited at box level; moov being last, growing it
moves no sample.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tutela.sniff import MediaType
from tutela.vision import ScanLimits
from tutela.vision.backend import ImageScan

CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"})


def video(colors: list[tuple[int, int, int]], size: tuple[int, int] = (96, 64), fps: int = 10) -> bytes:
    """One flat BGR frame per colour."""
    import cv2

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "v.mp4"
        wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        for c in colors:
            wr.write(np.full((size[1], size[0], 3), c, np.uint8))
        wr.release()
        return p.read_bytes()


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    i = start
    while i + 8 <= end:
        n, t = struct.unpack(">I4s", data[i : i + 8])
        yield t, i, n
        i += n


def find(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> tuple[int, int]:
    """(offset, size) of the first box along ``path`` (e.g. [moov, trak, tkhd])."""
    for t, i, n in boxes(data, start, end):
        if t == path[0]:
            return (i, n) if len(path) == 1 else find(data, path[1:], i + 8, i + n)
    raise KeyError(path[0])


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _grow(data: bytes, at: int, insert: bytes, parents: list[int]) -> bytes:
    """Insert bytes at ``at`` and add their length to the size of every box at ``parents``."""
    out = bytearray(data[:at] + insert + data[at:])
    for p in parents:
        out[p : p + 4] = struct.pack(">I", struct.unpack(">I", out[p : p + 4])[0] + len(insert))
    return bytes(out)


def timescales(data: bytes) -> tuple[int, int]:
    mvhd, _ = find(data, [b"moov", b"mvhd"])
    mdhd, _ = find(data, [b"moov", b"trak", b"mdia", b"mdhd"])
    assert data[mvhd + 8] == 0 and data[mdhd + 8] == 0  # version 0
    movie_ts = struct.unpack(">I", data[mvhd + 20 : mvhd + 24])[0]
    return movie_ts, struct.unpack(">I", data[mdhd + 20 : mdhd + 24])[0]


def two_tracks(first: bytes, second: bytes, *, first_enabled: bool = True) -> bytes:
    """``first`` with ``second``'s video track added as track 2 (its samples in an mdat of their own).
    ``first_enabled=False`` clears track 1's tkhd enabled flag: a player then shows track 2."""
    mdat2, mdat2_n = find(second, [b"mdat"])
    moov1, moov1_n = find(first, [b"moov"])
    trak2, trak2_n = find(second, [b"moov", b"trak"])
    head = first[:moov1]  # ftyp, free, mdat of the first
    new_mdat_at = len(head)
    shift = new_mdat_at - mdat2
    trak = bytearray(second[trak2 : trak2 + trak2_n])
    stco, _ = find(bytes(trak), [b"mdia", b"minf", b"stbl", b"stco"], 8)
    (count,) = struct.unpack(">I", trak[stco + 12 : stco + 16])
    for k in range(count):
        at = stco + 16 + 4 * k
        trak[at : at + 4] = struct.pack(">I", struct.unpack(">I", trak[at : at + 4])[0] + shift)
    tkhd, _ = find(bytes(trak), [b"tkhd"], 8)
    assert trak[tkhd + 8] == 0
    trak[tkhd + 20 : tkhd + 24] = struct.pack(">I", 2)  # track_ID
    moov = bytearray(first[moov1 : moov1 + moov1_n])
    mvhd, _ = find(bytes(moov), [b"mvhd"], 8)
    moov[mvhd + 104 : mvhd + 108] = struct.pack(">I", 3)  # next_track_ID
    if not first_enabled:
        tkhd1, _ = find(bytes(moov), [b"trak", b"tkhd"], 8)
        moov[tkhd1 + 11] &= 0xFE
    moov += trak
    moov[0:4] = struct.pack(">I", len(moov))
    return head + second[mdat2 : mdat2 + mdat2_n] + bytes(moov)


def _replace(data: bytes, path: list[bytes], new: bytes) -> bytes:
    """``data`` with the box at ``path`` replaced by ``new``, every enclosing box resized."""
    parents, start, end = [], 0, len(data)
    for kind in path[:-1]:
        at, n = find(data, [kind], start, end)
        parents.append(at)
        start, end = at + 8, at + n
    at, n = find(data, [path[-1]], start, end)
    out = bytearray(data[:at] + new + data[at + n :])
    for p in parents:
        out[p : p + 4] = struct.pack(">I", struct.unpack(">I", out[p : p + 4])[0] + len(new) - n)
    return bytes(out)


def with_dwell(data: bytes, index: int, seconds: float) -> bytes:
    """Sample ``index`` shown for ``seconds`` (stts), the others as written."""
    path = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"]
    at, _ = find(data, path)
    count, delta = struct.unpack(">II", data[at + 16 : at + 24])
    assert struct.unpack(">I", data[at + 12 : at + 16])[0] == 1  # one run, as OpenCV writes it
    _, media_ts = timescales(data)
    runs = [(index, delta), (1, int(seconds * media_ts)), (count - index - 1, delta)]
    runs = [r for r in runs if r[0]]
    body = struct.pack(">II", 0, len(runs)) + b"".join(struct.pack(">II", *r) for r in runs)
    return _replace(data, path, box(b"stts", body))


def with_edits(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """An edit list of (segment duration in movie units, media time in media units, rate) entries."""
    entries = b"".join(struct.pack(">IiHH", d, t, r, 0) for d, t, r in edits)
    elst = box(b"elst", struct.pack(">II", 0, len(edits)) + entries)
    moov, _ = find(data, [b"moov"])
    trak, _ = find(data, [b"moov", b"trak"])
    tkhd, tkhd_n = find(data, [b"moov", b"trak", b"tkhd"])
    return _grow(data, tkhd + tkhd_n, box(b"edts", elst), [moov, trak])


RED, GREY = (0, 0, 255), (128, 128, 128)


class Seen:
    """Fake backend: the colour of the centre pixel of every frame it is shown."""

    name = "seen"

    def __init__(self) -> None:
        self.colours: list[tuple[int, ...]] = []

    def version(self) -> str:
        return "seen 1"

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        raise AssertionError("a movie is scanned frame by frame")

    def scan_frame(self, frame: Any) -> ImageScan:
        h, w = frame.shape[:2]
        self.colours.append(tuple(int(v) for v in frame[h // 2, w // 2]))
        return ImageScan(width=w, height=h)

    def saw_red(self) -> bool:
        return any(b < 40 and r > 200 for b, _g, r in self.colours)
