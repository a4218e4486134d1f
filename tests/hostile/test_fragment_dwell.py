"""A fragmented movie whose frame durations live in its fragments: a frame shown for 30 s that index
sampling steps over.

In a fragmented MP4 the moov's sample table is empty and every sample is listed by a ``trun`` in a ``moof``,
each with its own duration. The dwell check (``isobmff.movie_coverage``) read only ``stts``, which
here holds nothing, so a red frame lasting 30 s of a 34 s movie (FFmpeg then reports ~1.2 fps and the
scan samples every other frame) was never scanned, while the scrubber verified and would publish it. The
durations in ``trun`` (or the ``tfhd``/``trex`` defaults) count like ``stts``'s. Such a movie was held; it is
now sampled by time (screen recordings dwell too: ``test_benign_uploads.py``), which scans the red frame."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.unit.vision import movies
from tutela.scrub import scrub_bytes
from tutela.vision import scan_file

pytest.importorskip("cv2")
from tests.unit.vision.movies import GREY, RED, Seen


def _full(kind: bytes, version: int, flags: int, body: bytes) -> bytes:
    return movies.box(kind, struct.pack(">I", (version << 24) | flags) + body)


def _samples(data: bytes) -> list[bytes]:
    """The samples of OpenCV's one-chunk track, in order."""
    stbl = [b"moov", b"trak", b"mdia", b"minf", b"stbl"]
    at, _ = movies.find(data, [*stbl, b"stsz"])
    fixed, count = struct.unpack(">II", data[at + 12 : at + 20])
    table = data[at + 20 : at + 20 + 4 * count]
    sizes = [fixed] * count if fixed else list(struct.unpack(f">{count}I", table))
    at, _ = movies.find(data, [*stbl, b"stco"])
    assert struct.unpack(">I", data[at + 12 : at + 16])[0] == 1  # one chunk, as OpenCV writes it
    pos, out = struct.unpack(">I", data[at + 16 : at + 20])[0], []
    for n in sizes:
        out.append(data[pos : pos + n])
        pos += n
    return out


def fragmented(data: bytes, durations: list[int] | None = None, *, per_sample: bool = True) -> bytes:
    """``data`` (OpenCV: one track, one chunk) as a fragmented movie: an empty sample table in moov, every
    sample in one moof/mdat. ``per_sample``: durations in the trun; else one default in the tfhd."""
    samples = _samples(data)
    stbl = [b"moov", b"trak", b"mdia", b"minf", b"stbl"]
    at, _ = movies.find(data, [*stbl, b"stts"])
    delta = struct.unpack(">I", data[at + 20 : at + 24])[0]
    durations = durations or [delta] * len(samples)
    for kind in (b"stts", b"stsc", b"stco", b"stss"):
        if kind == b"stss" and b"stss" not in data:  # every sample a keyframe: no table
            continue
        data = movies._replace(data, [*stbl, kind], _full(kind, 0, 0, struct.pack(">I", 0)))
    data = movies._replace(data, [*stbl, b"stsz"], _full(b"stsz", 0, 0, struct.pack(">II", 0, 0)))
    moov_at, moov_n = movies.find(data, [b"moov"])
    moov = data[moov_at : moov_at + moov_n]
    edts, edts_n = movies.find(moov, [b"trak", b"edts"], 8)  # its duration would cut the fragments short
    trak, _ = movies.find(moov, [b"trak"], 8)
    cut = bytearray(moov[:edts] + moov[edts + edts_n :])
    for p in (0, trak):
        cut[p : p + 4] = struct.pack(">I", struct.unpack(">I", cut[p : p + 4])[0] - edts_n)
    trex = _full(b"trex", 0, 0, struct.pack(">IIIII", 1, 1, delta, 0, 0x00010000))
    moov = bytes(cut) + movies.box(b"mvex", trex)
    moov = struct.pack(">I", len(moov)) + moov[4:]
    ftyp_at, ftyp_n = movies.find(data, [b"ftyp"])
    head = data[ftyp_at : ftyp_at + ftyp_n] + moov

    def moof(data_offset: int) -> bytes:
        flags = 0x001 | 0x200 | 0x400 | (0x100 if per_sample else 0)  # data offset, size, flags[, duration]
        entries = b"".join(
            (struct.pack(">I", d) if per_sample else b"")
            + struct.pack(">II", len(s), 0x02000000 if i == 0 else 0x01010000)  # keyframe, then not
            for i, (d, s) in enumerate(zip(durations, samples, strict=True))
        )
        trun = _full(b"trun", 0, flags, struct.pack(">Ii", len(samples), data_offset) + entries)
        tfhd_flags, tfhd = 0x020000, struct.pack(">I", 1)  # default-base-is-moof, track 1
        if not per_sample:
            tfhd_flags, tfhd = tfhd_flags | 0x08, tfhd + struct.pack(">I", durations[0])
        traf = _full(b"tfhd", 0, tfhd_flags, tfhd) + _full(b"tfdt", 1, 0, struct.pack(">Q", 0)) + trun
        return movies.box(b"moof", _full(b"mfhd", 0, 0, struct.pack(">I", 1)) + movies.box(b"traf", traf))

    first = moof(0)
    return head + moof(len(first) + 8) + movies.box(b"mdat", b"".join(samples))


def _scan(tmp_path: Path, data: bytes) -> Seen:
    p = tmp_path / "fragmented.mp4"
    p.write_bytes(data)
    seen = Seen()
    scan_file(p, backend=seen)
    return seen


def test_a_fragmented_movie_is_scanned_frame_by_frame(tmp_path: Path) -> None:
    """Every sample in fragments, steady rate: scanned like the same movie unfragmented (red included)."""
    seen = _scan(tmp_path, fragmented(movies.video([GREY] * 10 + [RED] * 10)))
    assert seen.colours and seen.saw_red()
    # a tfhd default duration for every sample: the same
    assert _scan(tmp_path, fragmented(movies.video([GREY] * 20), per_sample=False)).colours


def test_a_frame_dwelling_in_a_fragment_is_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frame 21 of 40 lasts 30 s (its trun duration): players show it for 30 s, index sampling skips it;
    sampled by time (the frame on screen at each tick), it is scanned."""
    from tutela.scrub import isobmff

    base = movies.video([GREY] * 21 + [RED] + [GREY] * 18)
    _, media_ts = movies.timescales(base)
    durations = [media_ts // 10] * 40
    durations[21] = 30 * media_ts
    data = fragmented(base, durations)
    published, report = scrub_bytes(data)
    assert report.verified and published == data  # nothing to scrub: published as it is
    assert _scan(tmp_path, data).saw_red()
    monkeypatch.setattr(isobmff, "MAX_DWELL", 10_000)  # not seen as dwelling: index sampling
    assert not _scan(tmp_path, data).saw_red()  # what sampling by time prevents: 30 s of red, never scanned
