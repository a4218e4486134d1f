"""A JPEG output verified and written as two parts: its rendered header and the input's scan data, uncopied.

``scrub_file`` (in-memory path, files from ``api.SPLICE_MIN`` on) used to render the whole output (one copy
of every pixel byte), verify it (a ``memcmp`` of the scans against the input's to reuse their walk) and write
it. When the plan ends with one ``Copy`` holding every scan to the image's end, the output is exactly
``head + data[start:end]``: ``SplicedReader`` serves those bytes to the verifier, and ``write`` hands the same
two buffers to ``os.writev``. The verifier reads the output through this reader as through any other (header
walk, EXIF and XMP re-parse, carve); only the scans' identity with the walked input is known from the pieces,
not from a ``memcmp`` (``covers``). What is written is what was verified: the same objects, the byte count
checked.
"""

from __future__ import annotations

import os

from tutela.scrub.core import Copy, Data, Piece, Plan, Reader


class SplicedReader(Reader):
    """``head`` followed by ``data[start:start + length]``, read without joining them."""

    def __init__(self, head: bytes, data: bytes, start: int, length: int, prefix_end: int) -> None:
        super().__init__(len(head) + length)
        self.head = head
        self.data = data
        self.start = start
        self.length = length
        # The output up to the input's ``data[prefix_end]`` (the end of the first SOS segment) as one buffer,
        # built on first use: the header walk and the carve read it as bytes, the way they read any output.
        self.prefix_size = len(head) + max(0, min(prefix_end, start + length) - start)
        self._prefix: bytes | None = None

    def prefix(self) -> bytes:
        if self._prefix is None:
            self._prefix = self._read(0, self.prefix_size) if self.prefix_size else b""
        return self._prefix

    def read_at(self, offset: int, n: int, what: str = "structure") -> bytes:
        # Hot path of the verifier's header, EXIF and XMP reads: served from the prefix in one call.
        if offset >= 0 and n >= 0 and offset + n <= self.prefix_size:
            return self.prefix()[offset : offset + n]
        return super().read_at(offset, n, what)

    def _read(self, offset: int, n: int) -> bytes:
        h = len(self.head)
        if offset + n <= h:
            return self.head[offset : offset + n]
        src = self.start - h  # output offset o >= h is data[o + src]
        if offset >= h:
            return self.data[offset + src : offset + src + n]
        return self.head[offset:] + self.data[self.start : offset + n + src]

    def covers(self, offset: int, data: bytes, start: int, end: int) -> bool:
        """Are output bytes [offset, offset + end - start) the very bytes ``data[start:end]`` (same object,
        same offsets, inside the spliced part)?"""
        src = self.start - len(self.head)
        return (
            data is self.data
            and offset >= len(self.head)
            and offset + src == start
            and end <= self.start + self.length
        )

    def write(self, fd: int) -> None:
        """Write the output to ``fd``: the head and the spliced range, partial writes resumed."""
        parts = [memoryview(self.head), memoryview(self.data)[self.start : self.start + self.length]]
        left = self.size
        while left:
            n = os.writev(fd, parts)
            if n <= 0:
                raise OSError("writev wrote nothing")
            left -= n
            while parts and n >= len(parts[0]):
                n -= len(parts[0])
                parts.pop(0)
            if n:
                parts[0] = parts[0][n:]


def splice(plan: Plan, data: bytes, scans_start: int, end: int, prefix_end: int) -> SplicedReader | None:
    """The plan's output as a ``SplicedReader`` when its last piece copies ``data`` from at most
    ``scans_start`` to exactly ``end`` (every scan to the image's end); None otherwise. ``prefix_end``: where
    the input's first entropy-coded segment starts (``SplicedReader.prefix``)."""
    pieces = plan.pieces
    if not pieces:
        return None
    last = pieces[-1]
    if not isinstance(last, Copy) or last.offset > scans_start or last.offset + last.length != end:
        return None
    return SplicedReader(render_pieces(pieces[:-1], data), data, last.offset, last.length, prefix_end)


def render_pieces(pieces: list[Piece], data: bytes) -> bytes:
    """The output of ``pieces`` over ``data`` as one buffer."""
    mv = memoryview(data)
    return b"".join(
        mv[p.offset : p.offset + p.length] if isinstance(p, Copy) else p.data if isinstance(p, Data)
        else bytes(p.length)
        for p in pieces
    )  # fmt: skip
