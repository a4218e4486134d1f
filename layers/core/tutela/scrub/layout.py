"""Where an image ends and which frames it holds, from a structural walk (no decoder, no pixels).

Scanner and scrubber both call ``image_layout`` on the same original bytes, so they agree by construction
on *what the image is*: the scanner decodes exactly the frames listed here, the scrubber keeps exactly
the bytes up to ``end`` (anything after the primary image — an appended JPEG with GPS, a ZIP, a vendor
trailer — is cut), and both report ``frames``. The media policy (run by RecordDecision) holds a file when
the two counts disagree.

Every declared length is checked against the file before anything is read or allocated, so a decoder
handed bytes that passed this walk never sees a chunk/box/segment larger than the file.

- JPEG: SOI, header segments, every scan (entropy-coded data walked to the next marker) up to EOI.
  With a valid MPF index (MPO, Ultra HDR) each listed image is a frame and must itself be a complete
  JPEG; ``end`` is the end of the last one. Without MPF there is one frame and ``end`` is the EOI.
- PNG: chunks to IEND (lengths, order, count); APNG frames from ``acTL``/``fcTL``; ``iCCP`` inflated
  with a cap (a decompression bomb is refused).
- WebP: RIFF chunks within the RIFF size; animated files count ``ANMF`` frames.
- TIFF: pages are the main IFD chain (``end`` is computed by the scrubber from what the IFDs reference).
- HEIF/AVIF/video: the last top-level box (checked by the ISOBMFF walk); frames are counted by the scan.
"""

from __future__ import annotations

import struct
import zlib

from tutela.errors import CorruptMediaError, LimitExceededError, UnsupportedMediaError
from tutela.record import FrozenRecord, Record
from tutela.scrub.core import BytesReader, Ctx, FileReader, Reader, ScrubLimits
from tutela.scrub.ecs import find_marker
from tutela.scrub.spliced import SplicedReader

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up, see tutela/record.py)
if TYPE_CHECKING:
    import mmap

_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_SOF = frozenset({*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC})
_NO_LENGTH = _STANDALONE | {0xFF, 0xD9}  # fill byte, RSTn/TEM, EOI: no length field follows the marker
_SEGMENT_HEAD = struct.Struct(">BBH")  # 0xFF, marker, length
_TABLES_BETWEEN_SCANS = frozenset({0xC4, 0xCC, 0xDB, 0xDC, 0xDD})  # DHT, DAC, DQT, DNL, DRI
MAX_ICC_BYTES = 8 * 1024 * 1024  # largest ICC profile accepted once inflated (real ones are < 1 MB)
MAX_PNG_CHUNKS = 100_000


class Layout(Record):
    __slots__ = (
        "animated",
        "end",
        "frame_sizes",
        "frames",
        "height",
        "jpeg_ecs",
        "jpeg_images",
        "jpeg_inner_segments",
        "jpeg_mpf",
        "jpeg_padding",
        "jpeg_segments",
        "jpeg_sos",
        "media_type",
        "png_default_hidden",
        "width",
    )

    def __init__(
        self,
        media_type: str,
        end: int,  # bytes at or after ``end`` are not part of the image
        frames: int = 1,  # frames/pages a viewer can show (what the scanner must scan)
        width: int = 0,  # primary image / canvas
        height: int = 0,
        frame_sizes: list[tuple[int, int]] | None = None,  # (w, h) per frame when known
        # JPEG only: byte ranges of each independent image (MPF), and APPn/COM segments found between scans.
        jpeg_images: list[tuple[int, int]] | None = None,
        jpeg_inner_segments: list[tuple[int, int, int]] | None = None,
        jpeg_segments: list[tuple[int, int, int]] | None = None,  # primary header, to SOS
        jpeg_sos: int = 0,
        jpeg_padding: list[tuple[int, int]] | None = None,  # after an MPF image's EOI
        jpeg_ecs: list[tuple[int, int]] | None = None,  # entropy-coded (pixel) data ranges
        animated: bool = False,
        png_default_hidden: bool = False,  # APNG whose IDAT image is not the first frame
        jpeg_mpf: bool = False,  # the header holds an MPF index (APP2 "MPF\0"), even an empty one
    ) -> None:
        self.media_type = media_type
        self.end = end
        self.frames = frames
        self.width = width
        self.height = height
        self.frame_sizes: list[tuple[int, int]] = [] if frame_sizes is None else frame_sizes
        self.jpeg_images: list[tuple[int, int]] = [] if jpeg_images is None else jpeg_images
        self.jpeg_inner_segments: list[tuple[int, int, int]] = (
            [] if jpeg_inner_segments is None else jpeg_inner_segments
        )
        self.jpeg_segments: list[tuple[int, int, int]] = [] if jpeg_segments is None else jpeg_segments
        self.jpeg_sos = jpeg_sos
        self.jpeg_padding: list[tuple[int, int]] = [] if jpeg_padding is None else jpeg_padding
        self.jpeg_ecs: list[tuple[int, int]] = [] if jpeg_ecs is None else jpeg_ecs
        self.animated = animated
        self.png_default_hidden = png_default_hidden
        self.jpeg_mpf = jpeg_mpf

    def metadata_ranges(self) -> list[tuple[int, int]]:
        """[0, end) minus pixel payload (JPEG scan data): where metadata can be, for the carve."""
        out, pos = [], 0
        for a, b in sorted(self.jpeg_ecs):
            if a > pos:
                out.append((pos, a))
            pos = max(pos, b)
        if pos < self.end:
            out.append((pos, self.end))
        return out

    @property
    def total_pixels(self) -> int:
        sizes = self.frame_sizes or [(self.width, self.height)] * max(1, self.frames)
        return sum(w * h for w, h in sizes)


class WalkedScans(FrozenRecord):
    """The walk of a JPEG's primary scans over ``data[sos:end]`` (every scan to EOI). The walk reads only
    those bytes and its result is a function of them alone, so an output holding the identical bytes at
    another offset has the same scans, shifted: the verifier proves that with one ``memcmp`` instead of
    walking the entropy-coded data a second time."""

    __slots__ = ("data", "ecs", "end", "inner", "sos")

    def __init__(
        self,
        data: bytes,
        sos: int,
        end: int,
        inner: tuple[tuple[int, int, int], ...],
        ecs: tuple[tuple[int, int], ...],
    ) -> None:
        self.data = data
        self.sos = sos
        self.end = end
        self.inner = inner
        self.ecs = ecs

    @classmethod
    def of(cls, data: bytes, lay: Layout) -> WalkedScans:
        end = lay.jpeg_images[0][1]
        inner = tuple(s for s in lay.jpeg_inner_segments if s[1] < end)
        return cls(data, lay.jpeg_sos, end, inner, tuple(e for e in lay.jpeg_ecs if e[1] <= end))


def _ctx(reader: Reader, media_type: str, limits: ScrubLimits | None) -> Ctx:
    return Ctx(reader, limits or ScrubLimits(), media_type)


def image_layout(
    reader: Reader | bytes,
    media_type: str,
    limits: ScrubLimits | None = None,
    *,
    ctx: Ctx | None = None,
    walked: WalkedScans | None = None,
) -> Layout:
    """The structural layout of an image. Raises ``CorruptMediaError``/``LimitExceededError``.
    ``walked``: scans already walked in other bytes, reused where this file holds the same bytes."""
    r = BytesReader(reader) if isinstance(reader, bytes | bytearray) else reader
    c = ctx or _ctx(r, media_type, limits)
    try:
        if media_type == "jpeg":
            return _jpeg(c, walked)
        if media_type == "png":
            return _png(c)
        if media_type == "webp":
            return _webp(c)
        if media_type == "tiff":
            return _tiff(c)
    except (struct.error, IndexError, ValueError) as exc:
        raise CorruptMediaError(f"malformed {media_type} structure") from exc
    return Layout(media_type, r.size)


# -- JPEG ---------------------------------------------------------------------------------------------


def jpeg_header(c: Ctx, start: int) -> tuple[list[tuple[int, int, int]], int, tuple[int, int]]:
    """Segments from SOI to the first SOS: ([(marker, offset, total)], sos offset, (width, height))."""
    r = c.reader
    if type(r) is BytesReader:
        return _jpeg_header_walk(c, r._data, start)
    if type(r) is SplicedReader and start == 0:
        # The same walk over the output's first bytes. Where it succeeds a walk of the whole output gives
        # the same result (the same bytes; the bounds checks pass against a larger size). Where it does not,
        # the whole output is walked below and gives its own answer, with the budget it had.
        count = c.budget.count
        try:
            return _jpeg_header_walk(c, r.prefix(), 0)
        except CorruptMediaError:
            c.budget.count = count
    if type(r) is FileReader:
        return _jpeg_header_walk(c, r.buffer() if r.size else b"", start)  # mapped, as the scan walk reads it
    return _jpeg_header_walk(c, _Paged(r), start)  # an S3 object (ranged reads), a spliced output


class _Paged:
    """A reader indexed like bytes (``d[i]`` is the byte at ``i``, ``len(d)`` its size), read a page at a
    time through ``read_at``: the header walk reads a few bytes per segment, mostly in the same page. Pages
    are aligned, so one never straddles a larger block of the reader (S3Reader's, FileReader's head)."""

    __slots__ = ("_base", "_page", "_r")
    PAGE = 4096

    def __init__(self, r: Reader) -> None:
        self._r = r
        self._base = 0
        self._page = b""

    def __len__(self) -> int:
        return self._r.size

    def __getitem__(self, i: int) -> int:
        j = i - self._base
        if 0 <= j < len(self._page):
            return self._page[j]
        end = min((i // self.PAGE + 1) * self.PAGE, self._r.size)  # to the end of i's page
        self._base = i
        self._page = self._r.read_at(i, end - i, "JPEG segment")
        return self._page[0]


def _jpeg_header_walk(
    c: Ctx, d: bytes | mmap.mmap | _Paged, start: int
) -> tuple[list[tuple[int, int, int]], int, tuple[int, int]]:
    """``jpeg_header`` over ``d``, the file's bytes: in memory or mapped, indexed directly (no bounds-checked
    read per segment: it runs twice per photo, on the input and on the output), or read through a reader a
    page at a time.

    In memory or mapped, a segment with a length (every one but fill bytes, RSTn/TEM and EOI) has its marker
    and length read with one ``unpack_from`` of its four first bytes; anything else (and the last three bytes
    of the buffer) is read byte by byte. Both then take the same checks. ~10k fewer instructions per walk of
    a 9-segment header, ~20k per photo (callgrind; two walks: input and output)."""
    n = len(d)
    if start < 0 or start + 2 > n:
        raise CorruptMediaError("truncated or out-of-bounds JPEG header")
    if d[start] != 0xFF or d[start + 1] != 0xD8:
        raise CorruptMediaError("not a JPEG (missing SOI)")
    pos = start + 2
    out: list[tuple[int, int, int]] = []
    size = (0, 0)
    buf = None if isinstance(d, _Paged) else d  # in memory or mapped: segment heads read with unpack_from
    unpack = _SEGMENT_HEAD.unpack_from
    # ``budget.tick()`` once per segment, inlined: the count kept here and written back on every exit; at
    # the counts where ``tick`` could raise (over the limit) or looks at the clock (every 64th) it is
    # called itself, so the same limit and deadline fail at the same segment.
    budget = c.budget
    count, max_boxes = budget.count, budget.limits.max_boxes
    check = min(max_boxes + 1, (count | 0x3F) + 1)  # the next count ``tick`` must see
    try:
        while True:
            count += 1
            if count >= check:
                budget.count = count - 1
                budget.tick()
                check = min(max_boxes + 1, (count | 0x3F) + 1)
            # in memory or mapped, a segment with a length is read with one unpack_from of its 4 first bytes
            if buf is not None and pos + 4 <= n:
                ff, marker, length = unpack(buf, pos)
                if ff != 0xFF or marker in _NO_LENGTH:
                    marker, length = _odd_segment(d, pos, n)
            else:
                marker, length = _odd_segment(d, pos, n)
            if length < 2:
                if length == _FILL:
                    pos += 1
                    continue
                if length == _NO_LENGTH_FIELD:
                    out.append((marker, pos, 2))
                    pos += 2
                    continue
                raise CorruptMediaError("JPEG segment with impossible length")
            total = length + 2
            end = pos + total
            if end > n:
                raise CorruptMediaError("truncated JPEG segment")
            if marker == 0xDA:
                return out, pos, size  # no frame header: (0, 0), which the scanner refuses
            if marker in _SOF and length >= 7:
                size = ((d[pos + 7] << 8) | d[pos + 8], (d[pos + 5] << 8) | d[pos + 6])
            out.append((marker, pos, total))
            pos = end
    finally:
        budget.count = count


_FILL = -1  # _odd_segment: a fill byte (0xFF before a marker)
_NO_LENGTH_FIELD = -2  # _odd_segment: RSTn/TEM, a marker alone


def _odd_segment(d: bytes | mmap.mmap | _Paged, pos: int, n: int) -> tuple[int, int]:
    """(marker, length) of the segment at ``pos`` read byte by byte (near the end of the buffer, through a
    reader, or not a plain segment with a length); a fill byte or a marker without a length gives the
    length ``_FILL`` or ``_NO_LENGTH_FIELD``."""
    if pos + 2 > n:
        raise CorruptMediaError("truncated or out-of-bounds JPEG segment")
    if d[pos] != 0xFF:
        raise CorruptMediaError("JPEG segment marker expected")
    marker = d[pos + 1]
    if marker == 0xFF:
        return marker, _FILL
    if marker in _STANDALONE:
        return marker, _NO_LENGTH_FIELD
    if marker == 0xD9:
        raise CorruptMediaError("JPEG ends before any image data")
    if pos + 4 > n:
        raise CorruptMediaError("truncated or out-of-bounds JPEG segment length")
    return marker, (d[pos + 2] << 8) | d[pos + 3]


def _next_marker(r: Reader, pos: int) -> int:
    """Offset of the next real marker in entropy-coded data starting at ``pos`` (-1: none)."""
    if isinstance(r, BytesReader | FileReader) and r.size:
        return find_marker(r._data if isinstance(r, BytesReader) else r.buffer(), pos)
    window = 4 * 1024 * 1024
    while pos < r.size:
        buf = r.read_upto(pos, window)
        i = find_marker(buf, 0)
        if i >= 0:
            return pos + i
        if pos + len(buf) >= r.size:
            return -1
        pos += len(buf) - 1
    return -1


def jpeg_scans_end(
    c: Ctx, sos: int, inner: list[tuple[int, int, int]], ecs: list[tuple[int, int]] | None = None
) -> int:
    """Walk every scan from the first SOS to EOI; returns the offset just after EOI. APPn/COM segments
    found between scans are appended to ``inner`` (they are metadata a scrubber must handle), and the
    entropy-coded (pixel) ranges to ``ecs``."""
    r = c.reader
    tick = c.budget.tick
    # In memory, a marker and its length field are read with one unpack_from where the four bytes are there
    # (as the two reads below would return them); the checks are the same, in the same order.
    d = r._data if type(r) is BytesReader else None
    last = r.size - 4 if d is not None else -1
    pos = sos
    while True:
        tick()
        if pos <= last:
            ff, marker, length = _SEGMENT_HEAD.unpack_from(d, pos)  # type: ignore[arg-type]
        else:
            b = r.read_at(pos, 2, "JPEG marker")
            ff, marker, length = b[0], b[1], -1
        if ff != 0xFF:
            raise CorruptMediaError("JPEG marker expected after the scan data")
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2
        if marker in _STANDALONE:
            raise CorruptMediaError("unexpected JPEG marker between scans")
        if length < 0:
            length = struct.unpack(">H", r.read_at(pos + 2, 2, "JPEG segment length"))[0]
        if length < 2 or pos + 2 + length > r.size:
            raise CorruptMediaError("truncated JPEG segment after the first scan")
        seg_end = pos + 2 + length
        if marker == 0xDA:
            nxt = _next_marker(r, seg_end)
            if nxt < 0:
                raise CorruptMediaError("JPEG has no end-of-image marker (truncated)")
            if ecs is not None:
                ecs.append((seg_end, nxt))
            pos = nxt
        elif marker in _TABLES_BETWEEN_SCANS:
            pos = seg_end
        elif 0xE0 <= marker <= 0xEF or marker == 0xFE:
            inner.append((marker, pos, 2 + length))
            pos = seg_end
        else:
            raise CorruptMediaError(f"unexpected JPEG marker 0x{marker:02X} after the first scan")


def _mpf_images(c: Ctx, segs: list[tuple[int, int, int]]) -> list[tuple[int, int]] | None:
    """(offset, length) of the images listed by an MPF index after the primary; None without MPF."""
    r = c.reader
    for marker, off, total in segs:
        if marker != 0xE2 or r.read_upto(off + 4, 4) != b"MPF\x00":
            continue
        base = off + 8
        head = r.read_at(base, 8, "MPF header")
        e = {b"II*\x00": "<", b"MM\x00*": ">"}.get(head[:4])
        if e is None:
            raise CorruptMediaError("bad MPF header")
        ifd = base + struct.unpack(e + "I", head[4:8])[0]
        if ifd + 2 > off + total:
            raise CorruptMediaError("MPF index outside its segment")
        n = struct.unpack(e + "H", r.read_at(ifd, 2))[0]
        c.budget.tick(n)
        entries = r.read_at(ifd + 2, 12 * n, "MPF index")
        for i in range(n):
            tag, _typ, count, val = struct.unpack(e + "HHII", entries[12 * i : 12 * i + 12])
            if tag != 0xB002:
                continue
            if count % 16 or count // 16 > 64:
                raise LimitExceededError("MPF lists too many images")
            table = r.read_at(base + val, count, "MPF entries")
            out = []
            for k in range(1, count // 16):
                _attr, size, offset = struct.unpack(e + "III", table[16 * k : 16 * k + 12])
                if size == 0:
                    continue
                out.append((base + offset, size))
            return out
        return []
    return None


def _jpeg(c: Ctx, walked: WalkedScans | None = None) -> Layout:
    r = c.reader
    segs, sos, (w, h) = jpeg_header(c, 0)
    inner: list[tuple[int, int, int]] = []
    ecs: list[tuple[int, int]] = []
    if (
        walked is not None
        and (
            r.covers(sos, walked.data, walked.sos, walked.end)  # the same bytes, by construction (spliced.py)
            if isinstance(r, SplicedReader)
            else isinstance(r, BytesReader)
            and r._data.startswith(memoryview(walked.data)[walked.sos : walked.end], sos)
        )
    ):
        d = sos - walked.sos  # same bytes from our SOS on: same scans, same EOI, shifted by d
        inner = [(m, o + d, n) for m, o, n in walked.inner]
        ecs = [(a + d, b + d) for a, b in walked.ecs]
        primary_end = walked.end + d
    else:
        primary_end = jpeg_scans_end(c, sos, inner, ecs)
    lay = Layout(
        "jpeg", primary_end, 1, w, h, [(w, h)], [(0, primary_end)],
        jpeg_inner_segments=inner, jpeg_segments=segs, jpeg_sos=sos, jpeg_ecs=ecs,
    )  # fmt: skip
    images = _mpf_images(c, segs)
    lay.jpeg_mpf = images is not None
    if not images:
        return lay
    prev = primary_end
    for start, size in sorted(images):
        if start < prev or start + size > r.size:
            raise CorruptMediaError("MPF index lists an image outside the file or overlapping another")
        _, sub_sos, sub_size = jpeg_header(c, start)
        end = jpeg_scans_end(c, sub_sos, lay.jpeg_inner_segments, lay.jpeg_ecs)
        if end > start + size:
            raise CorruptMediaError("MPF image is longer than its index entry")
        lay.jpeg_images.append((start, size))  # as indexed; bytes after its EOI are padding (zeroed)
        if end < start + size:
            lay.jpeg_padding.append((end, start + size - end))
        lay.frame_sizes.append(sub_size)
        prev = start + size
        lay.end = start + size
    lay.frames = len(lay.jpeg_images)
    return lay


# -- PNG ----------------------------------------------------------------------------------------------


def inflate_capped(data: bytes, cap: int, what: str) -> bytes:
    """zlib-inflate at most ``cap`` bytes; a stream that would produce more is refused (bomb)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, cap)
    except zlib.error as exc:
        raise CorruptMediaError(f"{what} is not valid zlib data") from exc
    if d.unconsumed_tail or (not d.eof and d.decompress(b"", 1)):
        raise LimitExceededError(f"{what} inflates to more than {cap} bytes (decompression bomb)")
    return out


def _png(c: Ctx) -> Layout:
    r = c.reader
    if r.read_at(0, 8, "PNG signature") != b"\x89PNG\r\n\x1a\n":
        raise CorruptMediaError("bad PNG signature")
    pos = 8
    n = 0
    w = h = 0
    actl_frames = -1
    fctl = 0
    fctl_before_idat = False
    fdat = False
    seen_idat = False
    sizes: list[tuple[int, int]] = []
    while True:
        c.budget.tick()
        n += 1
        if n > MAX_PNG_CHUNKS:
            raise LimitExceededError("PNG has too many chunks")
        length, ctype = struct.unpack(">I4s", r.read_at(pos, 8, "PNG chunk header"))
        if length > 0x7FFFFFFF or pos + 12 + length > r.size:
            raise CorruptMediaError("PNG chunk length runs past the end of the file (truncated or lying)")
        if not ctype.isalpha():
            raise CorruptMediaError("invalid PNG chunk type")
        if n == 1:
            if ctype != b"IHDR" or length != 13:
                raise CorruptMediaError("PNG does not start with IHDR")
            w, h = struct.unpack(">II", r.read_at(pos + 8, 8))
        elif ctype == b"IHDR":
            raise CorruptMediaError("PNG has a second IHDR")
        if ctype == b"IDAT":
            seen_idat = True
        elif ctype == b"acTL" and length >= 8:
            if actl_frames >= 0 or seen_idat:
                raise CorruptMediaError("misplaced or repeated APNG acTL chunk")
            actl_frames = struct.unpack(">I", r.read_at(pos + 8, 4))[0]
        elif ctype == b"fdAT":
            fdat = True
        elif ctype == b"fcTL" and length >= 26:
            fctl += 1
            fw, fh = struct.unpack(">II", r.read_at(pos + 12, 8))
            sizes.append((fw, fh))
            if not seen_idat:
                fctl_before_idat = True
        elif ctype == b"iCCP":
            c.budget.check_meta(length, "PNG iCCP chunk")
            data = r.read_at(pos + 8, length)
            _name, sep, rest = data.partition(b"\x00")
            if not sep or len(rest) < 1:
                raise CorruptMediaError("malformed PNG iCCP chunk")
            inflate_capped(rest[1:], MAX_ICC_BYTES, "PNG iCCP profile")
        pos += 12 + length
        if ctype == b"IEND":
            break
    if not seen_idat:
        raise CorruptMediaError("PNG has no image data")
    if actl_frames < 0 and (fctl or fdat):
        # Every decoder shows such a PNG as its IDAT still, which is what is scanned; the frames in fdAT are
        # a picture nobody decoded, and a 20-byte acTL put back would animate them. Held, not published.
        raise CorruptMediaError("APNG frame chunks in a PNG without acTL")
    lay = Layout("png", pos, 1, w, h, [(w, h)])
    if actl_frames >= 0:
        if actl_frames == 0 or actl_frames != fctl:
            raise CorruptMediaError("APNG frame count does not match its frame controls")
        lay.animated = True
        lay.frames = fctl
        lay.frame_sizes = [(w, h)] * fctl  # frames are composed on the canvas
        lay.png_default_hidden = not fctl_before_idat
        if any(fw > w or fh > h for fw, fh in sizes):
            raise CorruptMediaError("APNG frame larger than its canvas")
    return lay


# -- WebP ---------------------------------------------------------------------------------------------


def _webp(c: Ctx) -> Layout:
    r = c.reader
    head = r.read_at(0, 12, "RIFF header")
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise CorruptMediaError("bad WebP header")
    end = 8 + struct.unpack("<I", head[4:8])[0]
    if end > r.size or end < 20:
        raise CorruptMediaError("RIFF size does not match the file")
    pos = 12
    w = h = 0
    frames = 0
    animated = False
    first = True
    bitstreams = 0  # top-level VP8/VP8L chunks
    while pos + 8 <= end:
        c.budget.tick()
        ctype, length = struct.unpack("<4sI", r.read_at(pos, 8, "WebP chunk"))
        if pos + 8 + length > end:
            raise CorruptMediaError("WebP chunk runs past the RIFF size")
        body = r.read_upto(pos + 8, min(length, 30))
        if first and ctype == b"VP8X":
            if length < 10:
                raise CorruptMediaError("short VP8X chunk")
            animated = bool(body[0] & 0x02)
            w = int.from_bytes(body[4:7], "little") + 1
            h = int.from_bytes(body[7:10], "little") + 1
        elif first and ctype == b"VP8 " and length >= 10:
            w, h = (v & 0x3FFF for v in struct.unpack("<HH", body[6:10]))
        elif first and ctype == b"VP8L" and length >= 5:
            bits = int.from_bytes(body[1:5], "little")
            w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if ctype in (b"VP8 ", b"VP8L"):
            bitstreams += 1
        if ctype == b"ANMF":
            frames += 1
            if length < 16:
                raise CorruptMediaError("short ANMF chunk")
            fw = int.from_bytes(body[6:9], "little") + 1
            fh = int.from_bytes(body[9:12], "little") + 1
            fx = 2 * int.from_bytes(body[0:3], "little")
            fy = 2 * int.from_bytes(body[3:6], "little")
            if fx + fw > w or fy + fh > h:
                raise CorruptMediaError("WebP animation frame outside its canvas")
        first = False
        pos += 8 + length + (length & 1)
    if pos < end - 1:
        raise CorruptMediaError("trailing bytes inside RIFF")
    if bitstreams > (0 if animated or frames else 1):
        # libwebp decodes the first bitstream of a still (and none beside an animation's frames): another
        # is a picture in the published bytes that nobody scanned. Held, not published.
        raise CorruptMediaError("WebP with an image bitstream besides the one decoded")
    lay = Layout("webp", end, 1, w, h, [(w, h)])
    if animated or frames:
        if frames == 0:
            raise CorruptMediaError("animated WebP without frames")
        lay.animated = True
        lay.frames = frames
        lay.frame_sizes = [(w, h)] * frames
    return lay


# -- TIFF ---------------------------------------------------------------------------------------------


def _tiff(c: Ctx) -> Layout:
    r = c.reader
    head = r.read_at(0, 8, "TIFF header")
    e = {b"II*\x00": "<", b"MM\x00*": ">"}.get(head[:4])
    if e is None:
        raise CorruptMediaError("bad TIFF header")
    rel = struct.unpack(e + "I", head[4:8])[0]
    seen: set[int] = set()
    sizes: list[tuple[int, int]] = []
    while rel:
        if rel in seen:
            raise CorruptMediaError("TIFF IFD loop")
        seen.add(rel)
        if len(seen) > c.limits.max_ifds:
            raise LimitExceededError("TIFF has too many pages")
        n = struct.unpack(e + "H", r.read_at(rel, 2, "TIFF IFD"))[0]
        c.budget.tick(n + 1)
        ents = r.read_at(rel + 2, 12 * n + 4, "TIFF IFD")
        w = h = 0
        for i in range(n):
            tag, typ = struct.unpack(e + "HH", ents[12 * i : 12 * i + 4])
            if tag in (256, 257):
                v = (
                    struct.unpack(e + "H", ents[12 * i + 8 : 12 * i + 10])[0]
                    if typ == 3
                    else struct.unpack(e + "I", ents[12 * i + 8 : 12 * i + 12])[0]
                )
                w, h = (v, h) if tag == 256 else (w, v)
        if not (w and h):
            raise CorruptMediaError("TIFF page without dimensions")
        sizes.append((w, h))
        rel = struct.unpack(e + "I", ents[12 * n : 12 * n + 4])[0]
    if not sizes:
        raise CorruptMediaError("TIFF without pages")
    return Layout("tiff", r.size, len(sizes), sizes[0][0], sizes[0][1], sizes)


def unsupported_animation(lay: Layout) -> None:
    """APNG whose IDAT image is not a frame: older viewers would show an image no frame list covers."""
    if lay.png_default_hidden:
        raise UnsupportedMediaError("APNG whose default image is not part of the animation is not supported")
