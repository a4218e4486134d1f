"""Shared plumbing: bounded random-access readers, output plans, limits and the report.

A *plan* is the output file described as a list of pieces: copy a byte range of the source,
write new bytes, or write zeros. Every format module produces a plan; ``api`` streams it to a
file (copying unchanged ranges with ``copy_file_range``), to bytes, or hands it to the S3 splicer.
"""

from __future__ import annotations

import mmap
import os
import time

from tutela.errors import CorruptMediaError, LimitExceededError
from tutela.record import FrozenRecord, Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up, see tutela/record.py)
if TYPE_CHECKING:
    from tutela.scrub.layout import Layout


class ScrubLimits(FrozenRecord):
    """Safety limits; hitting one raises ``LimitExceededError`` (the file is held, not published)."""

    __slots__ = (
        "max_boxes",
        "max_depth",
        "max_file_bytes",
        "max_ifds",
        "max_metadata_bytes",
        "max_samples",
        "max_seconds",
    )

    def __init__(
        self,
        max_file_bytes: int = 8 * 1024**3,
        max_metadata_bytes: int = 64 * 1024**2,  # one metadata structure read into memory (moov, APPn...)
        max_boxes: int = 200_000,  # boxes / segments / chunks / IFD entries visited in total
        max_depth: int = 24,  # box nesting
        max_ifds: int = 256,
        max_samples: int = 20_000_000,  # sample-table entries of a removed timed-metadata track
        max_seconds: float = 120.0,
    ) -> None:
        self.max_file_bytes = max_file_bytes
        self.max_metadata_bytes = max_metadata_bytes
        self.max_boxes = max_boxes
        self.max_depth = max_depth
        self.max_ifds = max_ifds
        self.max_samples = max_samples
        self.max_seconds = max_seconds


class ScrubReport(Record):
    __slots__ = (
        "bytes_in",
        "bytes_out",
        "frames",
        "kept",
        "location_found",
        "media_type",
        "removed",
        "timings_ms",
        "verified",
    )

    def __init__(
        self,
        media_type: str,
        removed: list[str] | None = None,
        kept: list[str] | None = None,
        location_found: bool = False,
        verified: bool = False,
        bytes_in: int = 0,
        bytes_out: int = 0,
        frames: int | None = None,  # frames/pages kept (still images); None for video
        timings_ms: dict[str, float] | None = None,
    ) -> None:
        self.media_type = media_type
        self.removed: list[str] = [] if removed is None else removed
        self.kept: list[str] = [] if kept is None else kept
        self.location_found = location_found
        self.verified = verified
        self.bytes_in = bytes_in
        self.bytes_out = bytes_out
        self.frames = frames
        self.timings_ms: dict[str, float] = {} if timings_ms is None else timings_ms

    def to_dict(self) -> dict[str, object]:
        return {
            "media_type": self.media_type,
            "removed": sorted(set(self.removed)),
            "kept": sorted(set(self.kept)),
            "location_found": self.location_found,
            "verified": self.verified,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            **({"frames": self.frames} if self.frames is not None else {}),
            "timings_ms": dict(self.timings_ms),
        }


# Codes that mean "the input carried a location trace".
LOCATION_CODES = frozenset(
    {
        "exif.gps",
        "xmp.location",
        "iptc.location",
        "tiff.geotiff",
        "png.text.location",
        "qt.location",
        "udta.loci",
        "keys.location",
        "track.gps",
        "mdat.freegps",
        "box.gps",
    }
)


class Budget:
    """Counts work and wall time so hostile structure fails in bounded time."""

    __slots__ = ("_deadline", "count", "limits")

    def __init__(self, limits: ScrubLimits) -> None:
        self.limits = limits
        self.count = 0
        self._deadline = time.monotonic() + limits.max_seconds

    def tick(self, n: int = 1) -> None:
        self.count += n
        if self.count > self.limits.max_boxes:
            raise LimitExceededError("too many metadata structures (box/segment/entry limit)")
        if self.count & 0x3F == 0 and time.monotonic() > self._deadline:
            raise LimitExceededError("time limit exceeded while parsing metadata")

    def check_meta(self, n: int, what: str) -> None:
        if n > self.limits.max_metadata_bytes:
            raise LimitExceededError(f"{what} is larger than the metadata limit")


class Reader:
    """Bounded random access to the source. ``read_at`` never returns short: truncation is corruption."""

    def __init__(self, size: int) -> None:
        self.size = size

    def _read(self, offset: int, n: int) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def read_at(self, offset: int, n: int, what: str = "structure") -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise CorruptMediaError(f"truncated or out-of-bounds {what}")
        if n == 0:
            return b""
        data = self._read(offset, n)
        if len(data) != n:
            raise CorruptMediaError(f"truncated {what}")
        return data

    def find(self, pattern: bytes, start: int, end: int | None = None) -> int:
        """Forward search of ``[start, end)`` in 4 MiB windows (bounded memory for any reader)."""
        chunk = 4 * 1024 * 1024
        keep = len(pattern) - 1
        pos = max(0, start)
        stop = self.size if end is None else min(end, self.size)
        while pos < stop:
            n = min(chunk, stop - pos)
            buf = self._read(pos, n)
            i = buf.find(pattern)
            if i >= 0:
                return pos + i
            if pos + n >= stop:
                break
            pos += n - keep
        return -1

    def read_upto(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self.size - offset))
        return self._read(offset, n) if n else b""


class BytesReader(Reader):
    def __init__(self, data: bytes | bytearray) -> None:
        super().__init__(len(data))
        self._data: bytes = data if isinstance(data, bytes) else bytes(data)

    def find(self, pattern: bytes, start: int, end: int | None = None) -> int:
        return self._data.find(pattern, start, end)

    def read_at(self, offset: int, n: int, what: str = "structure") -> bytes:
        # Hot path of every walk over an in-memory file: one bounds check, one slice.
        if offset < 0 or n < 0 or offset + n > self.size:
            raise CorruptMediaError(f"truncated or out-of-bounds {what}")
        return self._data[offset : offset + n]

    def _read(self, offset: int, n: int) -> bytes:
        return self._data[offset : offset + n]


class FileReader(Reader):
    def __init__(self, fd: int, size: int) -> None:
        super().__init__(size)
        self._fd = fd
        self._head: bytes | None = None

    _map: mmap.mmap | None = None

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

    def buffer(self) -> bytes | mmap.mmap:
        """The whole file as a buffer a regex can search without copying it (page cache, read-only)."""
        if self._head is not None and len(self._head) == self.size:
            return self._head
        if self._map is None:
            self._map = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
        return self._map

    HEAD = 256 * 1024  # metadata of images sits at the start: serve it from one read

    def _read(self, offset: int, n: int) -> bytes:
        if offset + n <= self.HEAD:
            if self._head is None:
                self._head = self._pread(0, min(self.HEAD, self.size))
            return self._head[offset : offset + n]
        return self._pread(offset, n)

    def _pread(self, offset: int, n: int) -> bytes:
        chunks = []
        got = 0
        while got < n:
            b = os.pread(self._fd, n - got, offset + got)
            if not b:
                break
            chunks.append(b)
            got += len(b)
        return b"".join(chunks)


class Copy(FrozenRecord):
    __slots__ = ("length", "offset")

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length


class Data(FrozenRecord):
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Zero(FrozenRecord):
    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length


Piece = Copy | Data | Zero


class Plan:
    """An output described as pieces. Adjacent copies are merged."""

    def __init__(self) -> None:
        self.pieces: list[Piece] = []

    def copy(self, offset: int, length: int) -> None:
        if length <= 0:
            return
        if self.pieces:
            last = self.pieces[-1]
            if isinstance(last, Copy) and last.offset + last.length == offset:
                self.pieces[-1] = Copy(last.offset, last.length + length)
                return
        self.pieces.append(Copy(offset, length))

    def data(self, data: bytes) -> None:
        if data:
            self.pieces.append(Data(bytes(data)))

    def zero(self, length: int) -> None:
        if length > 0:
            self.pieces.append(Zero(length))

    @property
    def size(self) -> int:
        total = 0
        for p in self.pieces:
            total += len(p.data) if isinstance(p, Data) else p.length
        return total

    @classmethod
    def from_patches(cls, size: int, patches: list[tuple[int, bytes | int]]) -> Plan:
        """Whole source with same-size overwrites. A patch is (offset, bytes) or (offset, n_zero_bytes)."""
        plan = cls()
        pos = 0
        for off, p in sorted(patches, key=lambda x: x[0]):
            n = p if isinstance(p, int) else len(p)
            if n <= 0:
                continue
            if off < pos:  # overlapping patches: apply only the non-overlapping tail
                skip = pos - off
                if skip >= n:
                    continue
                off, n = pos, n - skip
                p = n if isinstance(p, int) else p[skip:]
            if off + n > size:
                raise CorruptMediaError("metadata points past the end of the file")
            plan.copy(pos, off - pos)
            if isinstance(p, int):
                plan.zero(n)
            else:
                plan.data(p)
            pos = off + n
        plan.copy(pos, size - pos)
        return plan


class Ctx:
    """Per-scrub state handed to the format modules."""

    __slots__ = ("budget", "frames", "kept", "layout", "limits", "media_type", "reader", "removed")

    def __init__(self, reader: Reader, limits: ScrubLimits, media_type: str) -> None:
        self.reader = reader
        self.limits = limits
        self.budget = Budget(limits)
        self.media_type = media_type
        self.removed: list[str] = []
        self.kept: list[str] = []
        self.layout: Layout | None = None  # the image's structural layout, once a format module computed it
        self.frames: int | None = None  # HEIF/AVIF: top-level images (isobmff.heif_images), all scanned

    def remove(self, code: str) -> None:
        if code not in self.removed:
            self.removed.append(code)

    def keep(self, code: str) -> None:
        if code not in self.kept:
            self.kept.append(code)
