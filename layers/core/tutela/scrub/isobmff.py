"""ISO base media / QuickTime (MP4, MOV, M4V, 3GP, HEIC/HEIF, AVIF): same-size box surgery.

Design: nothing ever moves. A removed box becomes a ``free`` box of exactly the same size (type rewritten,
body zeroed); a filtered ``meta`` (keys/ilst) is rebuilt compactly and padded with a trailing ``free``;
XMP is rewritten with XMP padding to its original length; HEIC Exif/XMP items are sanitised where
``iloc`` points. So every ``stco``/``co64`` chunk offset and every ``iloc`` extent stays valid, ``mdat``
is copied through untouched (range copy / server-side copy), and only ``moov``/``meta``/``uuid`` bytes
are rewritten. Timed-metadata tracks (``camm``, ``gpmd``, any non audio/video/timecode track such as
DJI GPS subtitles) are removed: the ``trak`` becomes ``free`` and its samples in ``mdat`` are zeroed.
"""

from __future__ import annotations

import bisect
import re
import struct
from collections.abc import Iterable, Iterator

from tutela.errors import CorruptMediaError, LimitExceededError, TutelaError, UnsupportedMediaError
from tutela.scrub import exif, xmp
from tutela.scrub.core import Ctx, Plan, Reader, ScrubLimits

KEEP_HANDLERS = frozenset({b"vide", b"soun", b"tmcd", b"pict", b"auxv"})
GPS_FORMATS = frozenset({b"camm", b"gpmd"})
UDTA_KEEP = frozenset(
    {b"\xa9nam", b"\xa9day", b"\xa9mak", b"\xa9mod", b"\xa9swr", b"\xa9too", b"\xa9fmt", b"\xa9inf"}
    | {b"hinf", b"hnti", b"ptv ", b"free", b"skip", b"name", b"tnam"}
)
LOCATION_KEY = re.compile(rb"(?i)location|iso6709|gps|latitude|longitude|\xa9xyz")
IDENTITY_KEY = re.compile(rb"(?i)author|artist|owner|serial|\xa9ART|aART|\xa9aut|ownr|camera\.identifier")
# Pictures stored as metadata (iTunes 'covr', Apple's artwork key): Finder, Music and galleries show them as
# the movie's picture, the scanner decodes only the video stream. Never scanned, so never published.
PICTURE_KEY = re.compile(rb"(?i)artwork|cover|thumbnail|preview|poster")
PICTURE_DATA_TYPES = frozenset({13, 14, 27})  # QuickTime well-known data types: JPEG, PNG, BMP
ILST_LOCATION = frozenset({b"\xa9xyz", b"loci"})
ILST_IDENTITY = frozenset({b"\xa9ART", b"aART", b"\xa9aut", b"ownr", b"\xa9wrt", b"\xa9con"})


def iter_boxes(
    buf: bytes | bytearray, start: int, end: int, ctx: Ctx
) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box offset, header length, box end) for each child in buf[start:end]."""
    pos = start
    while pos < end:
        if end - pos < 8:
            if buf[pos:end].strip(b"\x00") == b"":  # QuickTime udta terminator / padding
                return
            raise CorruptMediaError("truncated box header")
        ctx.budget.tick()
        size, btype = struct.unpack(">I4s", buf[pos : pos + 8])
        hdr = 8
        if size == 1:
            if end - pos < 16:
                raise CorruptMediaError("truncated box header")
            size = struct.unpack(">Q", buf[pos + 8 : pos + 16])[0]
            hdr = 16
        elif size == 0:
            if btype == b"\x00\x00\x00\x00" and buf[pos:end].strip(b"\x00") == b"":
                return
            size = end - pos
        if size < hdr or pos + size > end:
            raise CorruptMediaError("box size is inconsistent with its parent")
        yield btype, pos, hdr, pos + size
        pos += size


# Sample tables: (bytes per entry, bytes before the entries: version/flags, [sample size,] entry count).
_TABLES = {
    b"stco": (4, 8), b"co64": (8, 8), b"stsc": (12, 8), b"stts": (8, 8), b"stss": (4, 8), b"ctts": (8, 8),
    b"stsz": (4, 12),
}  # fmt: skip


def check_sample_tables(buf: bytes | bytearray, start: int, end: int, ctx: Ctx) -> None:
    """A kept track's tables must hold the entries they declare. Players differ on a table that claims more:
    one stops at the box, another reads the following bytes as chunk offsets and sizes - frames that were
    never scanned. Such a file is corrupt, not published."""
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        spec = _TABLES.get(btype)
        if spec is None:
            continue
        entry, head = spec
        body = off + hdr
        if bend - body < head:
            raise CorruptMediaError(f"truncated {btype.decode()}")
        count = struct.unpack(">I", buf[body + head - 4 : body + head])[0]
        if btype == b"stsz" and struct.unpack(">I", buf[body + 4 : body + 8])[0]:
            continue  # one size for every sample: no table follows
        if body + head + entry * count > bend:
            raise CorruptMediaError(f"{btype.decode()} declares more entries than its box holds")


# Boxes kept whole whose structure fixes their length (by version, flags and entry counts): bytes after it are
# read by nobody, a place to hide text (coordinates) that no carve signature finds. They are zeroed.
_FIXED = {
    b"mvhd": (100, 112), b"tkhd": (84, 96), b"mdhd": (24, 36), b"vmhd": (12, 12), b"smhd": (8, 8),
    b"mfro": (8, 8), b"mehd": (8, 12), b"trex": (24, 24), b"mfhd": (8, 8), b"tfdt": (8, 12),
}  # fmt: skip


def declared_end(btype: bytes, buf: bytes | bytearray, body: int, end: int) -> int | None:
    """Where the structure of a fixed-layout box (payload ``[body, end)``) ends, or None: not such a box, or
    one declaring more than it holds (left to the checks that read it)."""
    n = end - body
    if n < 8:
        return None
    ver, flags, count = buf[body], int.from_bytes(buf[body + 1 : body + 4], "big"), _u32(buf, body + 4)
    spec = _TABLES.get(btype)
    if spec is not None:
        entry, head = spec
        count = _u32(buf, body + head - 4) if n >= head else -1
        if btype == b"stsz" and n >= head and _u32(buf, body + 4):
            count = 0  # one size for every sample: no table
        need = head + entry * count
    elif btype in _FIXED and ver <= 1:
        need = _FIXED[btype][ver]
    elif btype == b"elst":
        need = 8 + count * (20 if ver == 1 else 12)
    elif btype == b"sidx":  # reference id, timescale, times (32/64-bit), reserved, count, 12-byte refs
        head = 24 if ver == 0 else 32
        need = head + 12 * int.from_bytes(buf[body + head - 2 : body + head], "big") if n >= head else -1
    elif btype == b"prft":
        need = 20 if ver == 0 else 24
    elif btype == b"tfra":  # track, field sizes, count; time and moof offset (32/64-bit), three sized numbers
        sizes = _u32(buf, body + 8) if n >= 16 else 0
        each = (16 if ver == 1 else 8) + (sizes >> 4 & 3) + (sizes >> 2 & 3) + (sizes & 3) + 3
        need = 16 + each * _u32(buf, body + 12) if n >= 16 else -1
    elif (
        btype == b"trun"
    ):  # count, optional data offset and first flags, 4 bytes per present per-sample field
        need = 8 + 4 * bin(flags & 0x05).count("1") + 4 * bin(flags & 0xF00).count("1") * count
    elif btype == b"tfhd":  # track, then each optional field the flags announce
        need = 8 + (8 if flags & 0x01 else 0) + 4 * bin(flags & 0x3A).count("1")
    else:
        return None
    return body + need if 0 <= need <= n else None


def _u32(buf: bytes | bytearray, at: int) -> int:
    return int.from_bytes(buf[at : at + 4], "big")


def zero_slack(buf: bytearray, start: int, end: int, ctx: Ctx) -> None:
    """Zero what follows the structure of every fixed-layout child of ``buf[start:end]``."""
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        at = declared_end(btype, buf, off + hdr, bend)
        if at is not None and at < bend and buf[at:bend].strip(b"\x00"):
            ctx.remove("box.slack")
            buf[at:bend] = bytes(bend - at)


def _free(buf: bytearray, off: int, hdr: int, end: int) -> None:
    buf[off + hdr - 4 : off + hdr] = b"free"
    buf[off + hdr : end] = bytes(end - off - hdr)


def _free_box(n: int) -> bytes:
    return struct.pack(">I4s", n, b"free") + bytes(n - 8)


def _child(
    buf: bytes | bytearray, start: int, end: int, want: bytes, ctx: Ctx
) -> tuple[int, int, int] | None:
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        if btype == want:
            return off, hdr, bend
    return None


def _holds_picture(buf: bytes | bytearray, start: int, end: int, ctx: Ctx) -> bool:
    """Whether an ilst item's value (its ``data`` atoms, children ``[start, end)``) is typed as an image."""
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        kind = int.from_bytes(buf[off + hdr + 1 : off + hdr + 4], "big") if bend - off - hdr >= 4 else -1
        if btype == b"data" and kind in PICTURE_DATA_TYPES:
            return True
    return False


def _meta_children_start(buf: bytes | bytearray, off: int, hdr: int, end: int) -> int:
    """ISO 'meta' is a FullBox; QuickTime's is a plain container. Tell them apart by where hdlr sits."""
    if end - off >= hdr + 8 and buf[off + hdr + 4 : off + hdr + 8] in (b"hdlr", b"keys", b"ilst"):
        return off + hdr
    return off + hdr + 4


# XML in a meta box: readers make tags of any element there (Sony's NRT XML names the camera's serial number).
META_XML = frozenset({b"xml ", b"bxml"})

# Data handlers (a QuickTime minf's hdlr) say where samples are stored, not what they are; exiftool skips them
_DATA_HANDLERS = frozenset({b"alis", b"url ", b"\x00\x00\x00\x00"})


def track_parts(
    ctx: Ctx, buf: bytes | bytearray, start: int, end: int
) -> tuple[set[bytes], set[bytes], list[tuple[int, int]]]:
    """A trak's media handler types, sample entry formats and sample tables (children ``[start, end)``),
    every one of them: readers take the last ``hdlr`` they meet in mdia/minf (exiftool, ffmpeg) and every
    sample entry, so a track is what all of them say, not the first."""
    handlers: set[bytes] = set()
    formats: set[bytes] = set()
    stbls: list[tuple[int, int]] = []
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        if btype == b"mdia":
            for ctype, coff, chdr, cend in iter_boxes(buf, off + hdr, bend, ctx):
                if ctype == b"hdlr":
                    handlers.add(_handler(buf, coff, chdr, cend))
                elif ctype == b"minf":
                    for gtype, goff, ghdr, gend in iter_boxes(buf, coff + chdr, cend, ctx):
                        if gtype == b"hdlr":
                            handlers.add(_handler(buf, goff, ghdr, gend))
                        elif gtype == b"stbl":
                            stbls.append((goff + ghdr, gend))
    for sstart, send in stbls:
        for btype, off, hdr, bend in iter_boxes(buf, sstart, send, ctx):
            if btype == b"stsd" and bend - off - hdr >= 8:
                for ftype, *_ in iter_boxes(buf, off + hdr + 8, bend, ctx):
                    formats.add(bytes(ftype))
    handlers -= _DATA_HANDLERS
    return handlers, formats, stbls


def _handler(buf: bytes | bytearray, off: int, hdr: int, end: int) -> bytes:
    return bytes(buf[off + hdr + 8 : off + hdr + 12]) if end - off - hdr >= 12 else b""


FREEGPS = b"freeGPS "
# exiftool -ee scans the first 20 MB of mdat for Novatek dashcam "freeGPS " blocks, and all of it once it
# has found one (QuickTimeStream.pl, ScanMediaData); a moov 'gps ' box lists where they are, anywhere.
FREEGPS_SCAN = 24 * 1024 * 1024
_FREEGPS_WINDOW = 4 * 1024 * 1024


def freegps_blocks(ctx: Ctx, start: int, end: int, whole: bool) -> list[tuple[int, int]]:
    """(offset, length) of every "freeGPS " block in mdat payload ``[start, end)``: GPS that no track or
    box points to, so neither the track filter nor the carve (which skips mdat) sees it."""
    r = ctx.reader
    out: list[tuple[int, int]] = []
    pos, stop = start, end if whole else min(end, start + FREEGPS_SCAN)
    while pos < stop:
        ctx.budget.tick()  # one tick per window: a long scan still meets the time limit
        window = min(stop, pos + _FREEGPS_WINDOW)
        i = r.find(FREEGPS, pos, min(end, window + len(FREEGPS) - 1))
        if i < 0:
            pos = window
            continue
        head = max(start, i - 4)  # the block's size field precedes the signature
        n = struct.unpack(">I", r.read_at(head, 4))[0] if i - 4 >= start else 0
        n = min(max(n, i + len(FREEGPS) - head), end - head)
        out.append((head, n))
        pos, stop = i + len(FREEGPS), end
    return out


# Top-level boxes a movie or HEIF is made of (ISO 14496-12, QuickTime). Any other (a dashcam's 'udat' NMEA log
# or 'gps0' track, a 'thum'/'PICT' preview nobody scanned, a vendor box) is nothing a player needs and
# something exiftool reads (QuickTime.pm, QuickTime::Main): it becomes free padding of the same size.
TOP_KEEP = frozenset(
    {b"ftyp", b"mdat", b"moov", b"moof", b"mfra", b"meta", b"uuid", b"udta", b"free", b"skip", b"wide"}
    | {b"styp", b"sidx", b"ssix", b"prft", b"pdin"}
)
MFRA_KEEP = frozenset({b"tfra", b"mfro"})  # what a fragment index is made of
# Top-level boxes that dashcams fill with their GPS track (exiftool QuickTime::Main: udat NMEA, gps0).
GPS_LOG_BOXES = frozenset({b"udat", b"gps0"})

# exiftool reads an Insta360 trailer (GPS records among others) from the last bytes of any movie that ends
# with this, whatever box holds them (QuickTimeStream.pl, ProcessInsta360).
INSTA360_MAGIC = b"8db42d694ccc418790edff439fe026bf"


def insta360_trailer(reader: Reader) -> bool:
    return reader.size >= 78 and reader.read_at(reader.size - 32, 32) == INSTA360_MAGIC


class _Mp4:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.patches: list[tuple[int, bytes | int]] = []
        self.removed_tracks = 0
        self.gps_list = False  # moov has a 'gps ' box (offsets of freeGPS blocks)

    # -- containers ----------------------------------------------------------------------------------
    def container(
        self, buf: bytearray, start: int, end: int, depth: int, base: int, *, fragment: bool = False
    ) -> None:
        """``fragment``: inside moof, where uuid boxes are PIFF sample encryption/timing, not metadata."""
        if depth > self.ctx.limits.max_depth:
            raise LimitExceededError("boxes nested too deeply")
        zero_slack(buf, start, end, self.ctx)
        for btype, off, hdr, bend in list(iter_boxes(buf, start, end, self.ctx)):
            if btype == b"gps " and depth == 1:
                self.gps_list = True
            if btype == b"trak":
                self.trak(buf, off, hdr, bend, depth, base)
            elif btype in (b"udta",):
                self.udta(buf, off, hdr, bend, depth)
            elif btype == b"meta":
                self.meta(buf, off, hdr, bend, depth)
            elif btype == b"uuid":
                self.uuid(buf, off, hdr, bend, keep_unknown=fragment)
            elif btype in (b"mdia", b"minf", b"edts", b"moof", b"traf", b"mvex"):
                self.container(buf, off + hdr, bend, depth + 1, base, fragment=fragment)

    def uuid(self, buf: bytearray, off: int, hdr: int, end: int, *, keep_unknown: bool = False) -> None:
        if end - off - hdr < 16:
            raise CorruptMediaError("truncated uuid box")
        if bytes(buf[off + hdr : off + hdr + 16]) == xmp.XMP_UUID:
            body = bytes(buf[off + hdr + 16 : end])
            nb, removed = xmp.sanitize_same_size(body)
            for c in removed:
                self.ctx.remove(c)
            if nb is not None:
                buf[off + hdr + 16 : end] = nb
        elif not keep_unknown:
            self.ctx.remove("uuid.other")
            _free(buf, off, hdr, end)

    def udta(self, buf: bytearray, off: int, hdr: int, end: int, depth: int) -> None:
        for btype, coff, chdr, cend in list(iter_boxes(buf, off + hdr, end, self.ctx)):
            if btype in UDTA_KEEP:
                continue
            if btype == b"meta":
                self.meta(buf, coff, chdr, cend, depth + 1)
                continue
            if btype == b"uuid":
                self.uuid(buf, coff, chdr, cend)
                continue
            if btype == b"\xa9xyz":
                self.ctx.remove("qt.location")
            elif btype == b"loci":
                self.ctx.remove("udta.loci")
            elif btype == b"XMP_":
                blob = bytes(buf[coff + chdr : cend])
                self.ctx.remove("xmp.location" if xmp.has_location(blob) else "xmp")
            elif btype in ILST_IDENTITY:
                self.ctx.remove("qt.artist")
            elif btype == b"GPMF":
                self.ctx.remove("gopro.gpmf")
            else:
                self.ctx.remove("udta.other")
            _free(buf, coff, chdr, cend)

    def meta(self, buf: bytearray, off: int, hdr: int, end: int, depth: int) -> None:
        if depth > self.ctx.limits.max_depth:
            raise LimitExceededError("boxes nested too deeply")
        cstart = _meta_children_start(buf, off, hdr, end)
        if movie_meta_items(self.ctx, buf, off, cstart, end):
            raise UnsupportedMediaError("Exif/XMP items in a movie's meta box are not supported")
        children = list(iter_boxes(buf, cstart, end, self.ctx))
        keys_names: list[bytes] = []
        keys_box = next((c for c in children if c[0] == b"keys"), None)
        if keys_box is not None:
            _, koff, khdr, kend = keys_box
            p = koff + khdr + 8  # version/flags + entry_count
            while p + 8 <= kend:
                self.ctx.budget.tick()
                ksize = struct.unpack(">I", buf[p : p + 4])[0]
                if ksize < 8 or p + ksize > kend:
                    raise CorruptMediaError("malformed keys box")
                keys_names.append(bytes(buf[p + 8 : p + ksize]))
                p += ksize
        drop_keys: set[int] = set()
        for i, name in enumerate(keys_names, 1):
            if LOCATION_KEY.search(name):
                drop_keys.add(i)
                self.ctx.remove("keys.location")
            elif IDENTITY_KEY.search(name):
                drop_keys.add(i)
                self.ctx.remove("keys.identity")
            elif PICTURE_KEY.search(name):
                drop_keys.add(i)
                self.ctx.remove("qt.cover_art")
        renumber = {}
        n = 0
        for i in range(1, len(keys_names) + 1):
            if i not in drop_keys:
                n += 1
                renumber[i] = n
        changed = bool(drop_keys)
        out: list[bytes] = []
        for btype, coff, chdr, cend in children:
            if btype == b"keys" and drop_keys:
                entries = b""
                p = coff + chdr + 8
                for i in range(1, len(keys_names) + 1):
                    ksize = struct.unpack(">I", buf[p : p + 4])[0]
                    if i not in drop_keys:
                        entries += bytes(buf[p : p + ksize])
                    p += ksize
                head = bytes(buf[coff + 8 : coff + 12]) + struct.pack(">I", len(renumber))
                out.append(struct.pack(">I", 8 + len(head) + len(entries)) + b"keys" + head + entries)
            elif btype == b"ilst":
                items = []
                for itype, ioff, ihdr, iend in iter_boxes(buf, coff + chdr, cend, self.ctx):
                    item = bytes(buf[ioff:iend])
                    if itype == b"covr" or _holds_picture(buf, ioff + ihdr, iend, self.ctx):
                        self.ctx.remove("qt.cover_art")
                        changed = True
                        continue
                    if keys_names:
                        idx = struct.unpack(">I", itype)[0]
                        if idx in drop_keys:
                            continue
                        if idx in renumber and renumber[idx] != idx:
                            item = item[:4] + struct.pack(">I", renumber[idx]) + item[8:]
                    elif itype in ILST_LOCATION:
                        self.ctx.remove("qt.location")
                        changed = True
                        continue
                    elif itype in ILST_IDENTITY:
                        self.ctx.remove("qt.artist")
                        changed = True
                        continue
                    items.append(item)
                body = b"".join(items)
                out.append(struct.pack(">I", 8 + len(body)) + b"ilst" + body)
            elif btype == b"uuid":
                sub = bytearray(buf[coff:cend])
                self.uuid(sub, 0, chdr, len(sub))
                changed = changed or sub != buf[coff:cend]
                out.append(bytes(sub))
            elif btype in (
                b"hdlr",
                b"keys",
                b"free",
                b"skip",
                b"pitm",
                b"iinf",
                b"iloc",
                b"iref",
                b"iprp",
                b"idat",
            ) or btype in (b"dinf", b"grpl", b"ipro", b"fiin", b"ipmc"):  # not META_XML
                out.append(bytes(buf[coff:cend]))
            else:
                self.ctx.remove("meta.other")
                changed = True
        if not changed:
            return
        body = b"".join(out)
        gap = end - cstart - len(body)
        if gap < 0 or 0 < gap < 8:
            raise CorruptMediaError("cannot rewrite meta box in place")
        buf[cstart:end] = body + (_free_box(gap) if gap else b"")

    # -- tracks --------------------------------------------------------------------------------------
    def trak(self, buf: bytearray, off: int, hdr: int, end: int, depth: int, base: int) -> None:
        handlers, formats, stbls = track_parts(self.ctx, buf, off + hdr, end)
        if handlers and handlers <= KEEP_HANDLERS and not formats & GPS_FORMATS:
            if b"vide" in handlers:
                self.ctx.keep("video.rotation_matrix")  # tkhd matrix: never touched
            for start, stop in stbls:
                check_sample_tables(buf, start, stop, self.ctx)
                zero_slack(buf, start, stop, self.ctx)
            self.container(buf, off + hdr, end, depth + 1, base)
            return
        if formats & GPS_FORMATS or b"camm" in handlers:
            self.ctx.remove("track.gps")
        else:
            other = min(handlers - KEEP_HANDLERS, default=b"unknown")
            self.ctx.remove(f"track.{other.decode('latin-1').strip() or 'unknown'}")
        for start, stop in stbls:
            self.zero_samples(buf, start, stop)
        self.removed_tracks += 1
        _free(buf, off, hdr, end)

    def zero_samples(self, buf: bytearray, start: int, end: int) -> None:
        boxes = {t: (o + h, e) for t, o, h, e in iter_boxes(buf, start, end, self.ctx)}
        lim = self.ctx.limits.max_samples
        if b"stsz" not in boxes or b"stsc" not in boxes or not (b"stco" in boxes or b"co64" in boxes):
            if b"stz2" in boxes:
                raise UnsupportedMediaError("timed-metadata track with compact sample sizes is not supported")
            return  # no samples referenced
        s, e = boxes[b"stsz"]
        fixed, count = struct.unpack(">II", buf[s + 4 : s + 12])
        if count > lim:
            raise LimitExceededError("too many samples in a metadata track")
        if fixed:
            sizes = [fixed] * count
        else:
            if s + 12 + 4 * count > e:
                raise CorruptMediaError("truncated stsz")
            sizes = list(struct.unpack(f">{count}I", buf[s + 12 : s + 12 + 4 * count]))
        s, e = boxes[b"stsc"]
        (nent,) = struct.unpack(">I", buf[s + 4 : s + 8])
        if s + 8 + 12 * nent > e or nent > lim:
            raise CorruptMediaError("truncated stsc")
        runs = [struct.unpack(">III", buf[s + 8 + 12 * i : s + 20 + 12 * i]) for i in range(nent)]
        if b"co64" in boxes:
            s, e = boxes[b"co64"]
            (nch,) = struct.unpack(">I", buf[s + 4 : s + 8])
            if s + 8 + 8 * nch > e or nch > lim:
                raise CorruptMediaError("truncated co64")
            offs = list(struct.unpack(f">{nch}Q", buf[s + 8 : s + 8 + 8 * nch]))
        else:
            s, e = boxes[b"stco"]
            (nch,) = struct.unpack(">I", buf[s + 4 : s + 8])
            if s + 8 + 4 * nch > e or nch > lim:
                raise CorruptMediaError("truncated stco")
            offs = list(struct.unpack(f">{nch}I", buf[s + 8 : s + 8 + 4 * nch]))
        si = 0
        fsize = self.ctx.reader.size
        for ci, coff in enumerate(offs, 1):
            per = 0
            for first, spc, _ in runs:
                if first <= ci:
                    per = spc
                else:
                    break
            if per > lim:
                raise LimitExceededError("too many samples per chunk")
            n = sum(sizes[si : si + per])
            si += per
            self.ctx.budget.tick()
            if n and coff + n <= fsize:
                self.patches.append((coff, n))
            elif n:
                raise CorruptMediaError("metadata sample points past the end of the file")


# -- HEIF items ------------------------------------------------------------------------------------------
def _uint(b: bytes, n: int) -> int:
    return int.from_bytes(b[:n], "big") if n else 0


def heif_items(
    ctx: Ctx, meta: bytes, meta_off: int, hdr: int, hidden: set[int] | None = None
) -> tuple[dict[int, tuple[bytes, bytes]], dict[int, list[tuple[int, int]]]]:
    """item_id -> (item_type, content_type); item_id -> [(absolute offset, length)] for file/idat items.
    ``hidden``: filled with the ids of items whose ``infe`` has the hidden flag (flags bit 0)."""
    types: dict[int, tuple[bytes, bytes]] = {}
    locs: dict[int, list[tuple[int, int]]] = {}
    start = hdr + 4
    idat = _child(meta, start, len(meta), b"idat", ctx)
    for btype, off, bhdr, end in iter_boxes(meta, start, len(meta), ctx):
        body = meta[off + bhdr : end]
        if btype == b"iinf":
            ver = body[0] if body else 0
            first = off + bhdr + (6 if ver == 0 else 8)
            for itype, ioff, ihdr, iend in iter_boxes(meta, first, end, ctx):
                if itype != b"infe":
                    continue
                ib = meta[ioff + ihdr : iend]
                if len(ib) < 8:
                    continue
                p = 4
                iid_len = 4 if ib[0] == 3 else 2
                iid = _uint(ib[p:], iid_len)
                if hidden is not None and ib[3] & 1:
                    hidden.add(iid)
                p += iid_len + 2
                it = b""  # versions 0 and 1 have no item type: name, content type, encoding
                if ib[0] >= 2:
                    it = ib[p : p + 4]
                    p += 4
                _, _, rest = ib[p:].partition(b"\x00")
                ctype = rest.partition(b"\x00")[0] if it in (b"mime", b"") else b""
                prev = types.get(iid)
                # a second entry for an item never hides the first's metadata kind (exiftool only ever
                # overwrites the fields an entry has: a type-less v0 entry leaves an "Exif" type standing)
                if prev is None or item_kind(*prev) is None or item_kind(it, ctype) is not None:
                    types[iid] = (it, ctype)
        elif btype == b"iloc":
            if len(body) < 8:
                raise CorruptMediaError("truncated iloc")
            ver = body[0]
            osz, lsz = body[4] >> 4, body[4] & 15
            bsz, isz = body[5] >> 4, (body[5] & 15 if ver in (1, 2) else 0)
            p = 6
            if ver < 2:
                count = _uint(body[p:], 2)
                p += 2
            else:
                count = _uint(body[p:], 4)
                p += 4
            for _ in range(count):
                ctx.budget.tick()
                if ver < 2:
                    iid = _uint(body[p:], 2)
                    p += 2
                else:
                    iid = _uint(body[p:], 4)
                    p += 4
                method = 0
                if ver in (1, 2):
                    method = _uint(body[p:], 2) & 15
                    p += 2
                p += 2  # data_reference_index
                base = _uint(body[p:], bsz)
                p += bsz
                ext_n = _uint(body[p:], 2)
                p += 2
                exts = []
                for _ in range(ext_n):
                    ctx.budget.tick()
                    p += isz
                    eo = _uint(body[p:], osz)
                    p += osz
                    el = _uint(body[p:], lsz)
                    p += lsz
                    if p > len(body):
                        raise CorruptMediaError("truncated iloc")
                    if method == 0:
                        a = base + eo
                        if el == 0:
                            el = ctx.reader.size - a
                        exts.append((a, el))
                    elif method == 1 and idat is not None:
                        exts.append((meta_off + idat[0] + idat[1] + base + eo, el))
                    else:
                        exts.append((-1, el))
                locs[iid] = exts
    return types, locs


def item_kind(itype: bytes, ctype: bytes) -> str | None:
    """A HEIF item's kind, "exif", "xmp" or None. Readers name an item by its content type first, then its
    type (exiftool: a ``mime`` item of content type ``Exif``, or a version 0 ``infe`` with one, is EXIF)."""
    name = (ctype or itype).strip().lower()
    if name == b"exif" or itype == b"Exif":
        return "exif"
    if b"xml" in name:
        return "xmp"
    return None


def movie_meta_items(ctx: Ctx, buf: bytes | bytearray, off: int, cstart: int, end: int) -> bool:
    """Whether a movie's ``meta`` (children from ``cstart``) declares an Exif or XMP item: readers extract
    them as they do a HEIF's, from wherever ``iloc`` points (often mdat, which is neither scrubbed nor
    carved). Rare enough in movies to be held rather than rewritten."""
    if _child(buf, cstart, end, b"iinf", ctx) is None:
        return False
    types, _ = heif_items(ctx, bytes(buf[off:end]), 0, cstart - off - 4)
    return any(item_kind(it, ct) for it, ct in types.values())


def preview_items(ctx: Ctx, meta: bytes, hdr: int, types: dict[int, tuple[bytes, bytes]]) -> list[int]:
    """'jpeg' items other than the primary image (a camera's preview): an image nobody scanned, with EXIF of
    its own in mdat, where no carve looks. Zeroed like a thumbnail (EXIF IFD1 and JFIF thumbnails go too)."""
    pitm = _child(meta, hdr + 4, len(meta), b"pitm", ctx)
    primary = None
    if pitm is not None and pitm[2] - pitm[0] - pitm[1] >= 6:
        body = meta[pitm[0] + pitm[1] : pitm[2]]
        primary = _uint(body[4:], 2 if body[0] == 0 else 4)
    return [iid for iid, (itype, _) in types.items() if itype == b"jpeg" and iid != primary]


# Item types libheif decodes as images (HeifContext, item_type_is_image), plus a 'mime' item of type
# image/jpeg. Its top-level images are the ones pillow-heif/pi-heif list, decode and the scanner scans.
IMAGE_ITEM_TYPES = frozenset(
    {b"hvc1", b"av01", b"grid", b"tmap", b"tili", b"iden", b"iovl", b"avc1", b"unci", b"vvc1", b"jpeg"}
    | {b"j2k1", b"mski", b"evc1", b"hvt1"}
)


def _is_image(itype: bytes, ctype: bytes) -> bool:
    return itype in IMAGE_ITEM_TYPES or (itype == b"mime" and ctype.strip().lower() == b"image/jpeg")


def heif_refs(ctx: Ctx, meta: bytes, hdr: int) -> list[tuple[bytes, int, list[int]]]:
    """The ``iref`` references: (type, from item, [to items])."""
    iref = _child(meta, hdr + 4, len(meta), b"iref", ctx)
    if iref is None:
        return []
    off, bhdr, end = iref
    if end - off - bhdr < 4:
        raise CorruptMediaError("truncated iref")
    n = 4 if meta[off + bhdr] == 1 else 2
    out: list[tuple[bytes, int, list[int]]] = []
    for rtype, roff, rhdr, rend in iter_boxes(meta, off + bhdr + 4, end, ctx):
        body = meta[roff + rhdr : rend]
        if len(body) < n + 2:
            raise CorruptMediaError("truncated iref entry")
        count = _uint(body[n:], 2)
        ctx.budget.tick(count)
        if n + 2 + n * count > len(body):
            raise CorruptMediaError("iref entry lists more items than it holds")
        to = [_uint(body[n + 2 + n * i :], n) for i in range(count)]
        out.append((bytes(rtype), _uint(body, n), to))
    return out


def primary_boxes(ctx: Ctx, meta: bytes, hdr: int) -> int:
    """How many ``pitm`` boxes a HEIF meta (FullBox header ``hdr``) has: the format allows one."""
    return sum(1 for t, *_ in iter_boxes(meta, hdr + 4, len(meta), ctx) if t == b"pitm")


def heif_primary(ctx: Ctx, meta: bytes, hdr: int) -> int | None:
    pitm = _child(meta, hdr + 4, len(meta), b"pitm", ctx)
    if pitm is None or pitm[2] - pitm[0] - pitm[1] < 6:
        return None
    body = meta[pitm[0] + pitm[1] : pitm[2]]
    return _uint(body[4:], 2 if body[0] == 0 else 4)


class HeifImages:
    """Which image items of a HEIF/AVIF a viewer can display, from the item structure alone.

    ``top``: the top-level images, as libheif (pillow-heif, pi-heif) lists them: every image item that is not
    hidden, not a thumbnail (``thmb``) and not an auxiliary image (``auxl``: alpha, depth, gain map). The
    scanner decodes and scans each one (``frames``). ``drop``: image items that no top-level image is made of
    (through ``dimg``: grid tiles, overlay/identity inputs) nor attached to (``auxl``): thumbnails - which
    Pillow's ``Image.thumbnail`` and file browsers show instead of the image - and orphan hidden images. They
    were never scanned, so their data is zeroed in the published copy (and the verifier checks it is)."""

    __slots__ = ("drop", "locs", "thumbs", "tone", "top")

    def __init__(
        self,
        top: list[int],
        drop: list[int],
        thumbs: set[int],
        locs: dict[int, list[tuple[int, int]]],
        tone: dict[int, list[int]] | None = None,
    ) -> None:
        self.top = top
        self.drop = drop
        self.thumbs = thumbs
        self.locs = locs
        self.tone = tone or {}  # 'tmap' items rendering a top-level image -> their inputs (base, gain map)


def heif_images(ctx: Ctx, meta: bytes, meta_off: int, hdr: int) -> HeifImages:
    hidden: set[int] = set()
    types, locs = heif_items(ctx, meta, meta_off, hdr, hidden)
    images = {iid for iid, (it, ct) in types.items() if _is_image(it, ct)}
    refs = heif_refs(ctx, meta, hdr)
    thumbs = {src for rtype, src, _ in refs if rtype == b"thmb"}
    aux = {src: to for rtype, src, to in refs if rtype == b"auxl"}
    derived: dict[int, list[int]] = {}
    for rtype, src, to in refs:
        if rtype == b"dimg":
            derived.setdefault(src, []).extend(to)
    top = sorted(i for i in images if i not in hidden and i not in thumbs and i not in aux)
    # A tone-mapped image (ISO 21496-1 'tmap': iPhones since iOS 18, Samsung) is its base input brightened by
    # a hidden gain map: the HDR rendering of a picture already listed. libheif lists the base alone, so it
    # is not a picture of its own here either when its base is a top-level image (scanned); a 'tmap' over
    # anything else stays listed (frames then differ from the scan's: held).
    listed = set(top)
    tone = {
        i
        for i in top
        if types[i][0] == b"tmap"
        and derived.get(i)
        and derived[i][0] in listed
        and types[derived[i][0]][0] != b"tmap"
    }
    top = [i for i in top if i not in tone]
    keep: set[int] = set()
    todo = [*top, *tone]
    while todo:  # what the top-level images are made of
        ctx.budget.tick()
        iid = todo.pop()
        if iid in keep:
            continue
        keep.add(iid)
        todo.extend(derived.get(iid, []))
        todo.extend(a for a, masters in aux.items() if iid in masters and a not in thumbs)
    return HeifImages(top, sorted(images - keep), thumbs, locs, {i: derived[i] for i in tone})


def heif_properties(ctx: Ctx, meta: bytes, hdr: int) -> dict[int, list[bytes]]:
    """item id -> its property boxes (whole ``ipco`` children) in ``ipma`` order, the order transformative
    properties (clap, irot, imir) apply in. Associations to missing properties, and a truncated table's
    tail, are skipped: libheif refuses those files, the scan fails, the upload is held."""
    iprp = _child(meta, hdr + 4, len(meta), b"iprp", ctx)
    if iprp is None:
        return {}
    ipco = _child(meta, iprp[0] + iprp[1], iprp[2], b"ipco", ctx)
    props = (
        []
        if ipco is None
        else [meta[o:e] for _, o, _, e in iter_boxes(meta, ipco[0] + ipco[1], ipco[2], ctx)]
    )
    out: dict[int, list[bytes]] = {}
    for btype, off, bhdr, end in iter_boxes(meta, iprp[0] + iprp[1], iprp[2], ctx):
        if btype != b"ipma":
            continue
        body = meta[off + bhdr : end]
        if len(body) < 8:
            continue
        idn, wide = (4 if body[0] >= 1 else 2), body[3] & 1
        p = 8
        for _ in range(_uint(body[4:], 4)):
            ctx.budget.tick()
            if p + idn + 1 > len(body):
                break
            iid, n = _uint(body[p:], idn), body[p + idn]
            p += idn + 1
            if p + n * (2 if wide else 1) > len(body):
                break
            for _ in range(n):
                idx = (_uint(body[p:], 2) & 0x7FFF) if wide else body[p] & 0x7F
                p += 2 if wide else 1
                if 0 < idx <= len(props):
                    out.setdefault(iid, []).append(props[idx - 1])
    return out


def _prop(props: list[bytes], kind: bytes) -> bytes | None:
    return next((b[8:] for b in props if b[4:8] == kind), None)


def _ispe(props: list[bytes]) -> tuple[int, int] | None:
    body = _prop(props, b"ispe")
    return struct.unpack(">II", body[4:12]) if body is not None and len(body) >= 12 else None


def _derived_size(data: bytes, itype: bytes) -> tuple[int, int] | None:
    """The output size a grid or overlay item's own data declares (16- or 32-bit fields, flags bit 0)."""
    at = {b"grid": 4, b"iovl": 10}.get(itype)  # after rows/columns; after the fill colour (4 x 16 bits)
    if at is None or len(data) < 2:
        return None
    n = 4 if data[1] & 1 else 2
    if len(data) < at + 2 * n:
        return None  # libheif refuses it
    return _uint(data[at:], n), _uint(data[at + n :], n)


# A clean aperture ('clap') crops what an encoder padded: libheif (x265) codes a picture padded on the right
# and bottom up to a 64-px block (a 72 x 48 picture coded 72 x 64, a 32 x 20 thumbnail 64 x 64) and crops it
# back. More, or a crop not anchored at the top-left corner, is a part of the picture that viewers ignoring
# 'clap' show and the scan (libheif applies it) never decodes.
CLAP_PAD = 64


def _clap_hides(props: list[bytes], size: tuple[int, int] | None) -> bool:
    """Whether a clean aperture on an image of ``size`` (its input's, for an 'iden' item: what libheif
    crops) hides more than padding, or reaches outside the picture."""
    body = _prop(props, b"clap")
    if body is None or size is None:
        return False
    v = struct.unpack(">IIIIiIiI", body[:32]) if len(body) >= 32 else (0,) * 8
    if 0 in (v[1], v[3], v[5], v[7]):
        return False  # libheif refuses it
    (w, h), (cw, ch) = size, (v[0] / v[1], v[2] / v[3])
    left = v[4] / v[5] + (w - 1) / 2 - (cw - 1) / 2
    top = v[6] / v[7] + (h - 1) / 2 - (ch - 1) / 2
    right, bottom = w - left - cw, h - top - ch
    return not (abs(left) < 1 and abs(top) < 1 and -1 < right < CLAP_PAD and -1 < bottom < CLAP_PAD)


def heif_display_problem(ctx: Ctx, meta: bytes, meta_off: int, hdr: int) -> str | None:
    """Why a HEIF/AVIF's images hold pixels that what the scan decodes (libheif's rendering of each top-level
    image) never shows, or None. The inputs of a derived image are hidden items the file keeps, shown by any
    reader that ignores the hidden flag or extracts items: a grid tile lying wholly outside the grid's
    output, an overlay's inputs (placed off its canvas or under one another: which pixels survive depends
    on their alpha), and a clean aperture that crops more than coding padding (viewers that ignore 'clap'
    show the rest)."""
    imgs = heif_images(ctx, meta, meta_off, hdr)
    types, _ = heif_items(ctx, meta, meta_off, hdr)
    props = heif_properties(ctx, meta, hdr)
    dimg: dict[int, list[int]] = {}
    for rtype, src, to in heif_refs(ctx, meta, hdr):
        if rtype == b"dimg":
            dimg.setdefault(src, []).extend(to)
    drop = set(imgs.drop)
    primary = heif_primary(ctx, meta, hdr)
    if primary is not None and primary in types and _is_image(*types[primary]) and primary not in imgs.top:
        # libavif (Chrome, OpenCV: the AVIF scan) and Apple show the pitm item; libheif (the HEIF scan, GIMP,
        # pillow-heif) lists the top-level images instead: each scanner saw one of two pictures
        return "a primary item (pitm) that is not a top-level image (an auxiliary image or a thumbnail)"
    for iid in sorted(i for i, (it, ct) in types.items() if _is_image(it, ct) and i not in drop):
        itype = types[iid][0]
        if itype == b"iovl":
            return "an overlay image (iovl), whose inputs can lie off its canvas or under one another"
        size = _ispe(props.get(dimg[iid][0], [])) if itype == b"iden" and dimg.get(iid) else None
        if _clap_hides(props.get(iid, []), size or _ispe(props.get(iid, []))):
            return "an image whose clean aperture (clap) crops away part of the picture"
        if itype == b"grid":
            data = _item_bytes(ctx, imgs.locs.get(iid, []), 64)
            out = _derived_size(data, itype)
            tiles = dimg.get(iid, [])
            tile = _ispe(props.get(tiles[0], [])) if tiles else None
            if out is None or tile is None:
                continue  # libheif refuses such a grid: the scan fails, the upload is held
            rows, cols = data[2] + 1, data[3] + 1
            if (cols - 1) * tile[0] >= out[0] or (rows - 1) * tile[1] >= out[1]:
                return "a grid image with a tile outside its output size"
    return None


def heif_declared_sizes(ctx: Ctx, meta: bytes, meta_off: int, hdr: int) -> list[tuple[int, int]]:
    """Every image item's declared size, and for a grid or overlay also the size its data declares (what
    libheif allocates before it compares the result with 'ispe'). CorruptMediaError when the two differ."""
    types, locs = heif_items(ctx, meta, meta_off, hdr)
    props = heif_properties(ctx, meta, hdr)
    _derivation_depth(ctx, meta, hdr)
    out: list[tuple[int, int]] = []
    for iid, (itype, ctype) in types.items():
        if not _is_image(itype, ctype):
            continue
        size = _ispe(props.get(iid, []))
        if size is not None:
            out.append(size)
        if itype in (b"grid", b"iovl"):
            declared = _derived_size(_item_bytes(ctx, locs.get(iid, []), 64), itype)
            if declared is not None and declared != size:
                raise CorruptMediaError(f"a {itype.decode()} image declares another size than its ispe")
    return out


# HDR gain maps. An HDR display (Photos, Safari, Chrome) multiplies the base picture by its gain map, so the
# gain map is a second picture of the frame: Apple's is an auxiliary image ('auxl') with this auxC type (every
# iPhone photo since 2020), the ISO 21496-1 one the second input of a 'tmap' item (iOS 18, Samsung). The scan
# decodes and judges each one (vision/gainmap.py); the scrubber keeps them: both sides name the same items.
APPLE_GAIN_MAP = b"urn:com:apple:photo:2020:aux:hdrgainmap"


class GainMap:
    """A gain map item, the top-level image it brightens, how it is attached ("apple" auxl, "iso" tmap; then
    ``tmap`` is the tone-map item) and its declared size ('ispe', None when missing)."""

    __slots__ = ("base", "item", "kind", "size", "tmap")

    def __init__(self, item: int, base: int, kind: str, size: tuple[int, int] | None, tmap: int = 0) -> None:
        self.item, self.base, self.kind, self.size, self.tmap = item, base, kind, size, tmap


def _aux_type(props: list[bytes]) -> bytes:
    body = _prop(props, b"auxC")
    return b"" if body is None or len(body) < 4 else body[4:].partition(b"\x00")[0]


def heif_gain_maps(ctx: Ctx, meta: bytes, meta_off: int, hdr: int) -> list[GainMap]:
    """Every gain map a viewer applies to a top-level image. UnsupportedMediaError for one the scan cannot
    pair with the one picture it brightens (an Apple gain map of several images, of a hidden item or a tile;
    a 'tmap' without exactly a base and a gain map): kept in the published copy, it would go unjudged."""
    types, _ = heif_items(ctx, meta, meta_off, hdr)
    props = heif_properties(ctx, meta, hdr)
    imgs = heif_images(ctx, meta, meta_off, hdr)
    top, drop = set(imgs.top), set(imgs.drop)
    out: list[GainMap] = []
    for rtype, src, to in heif_refs(ctx, meta, hdr):
        if rtype != b"auxl" or _aux_type(props.get(src, [])) != APPLE_GAIN_MAP or src in drop:
            continue  # (a dropped one - a thumbnail's, an orphan's - is zeroed in the published copy)
        if src not in types or not _is_image(*types[src]):
            continue  # not an image: nothing a viewer decodes
        if len(to) != 1 or to[0] not in top or any(g.item == src for g in out):
            raise UnsupportedMediaError("an HDR gain map (auxl) that is not attached to one top-level image")
        out.append(GainMap(src, to[0], "apple", _ispe(props.get(src, []))))
    for tmap, inputs in sorted(imgs.tone.items()):
        if len(inputs) != 2:
            raise UnsupportedMediaError("a tone-mapped image (tmap) without exactly a base and a gain map")
        out.append(GainMap(inputs[1], inputs[0], "iso", _ispe(props.get(inputs[1], [])), tmap))
    return out


def heif_with_primary(data: bytes, meta: bytes, meta_off: int, hdr: int, ctx: Ctx, iid: int) -> bytes:
    """A copy of ``data`` whose primary item is ``iid``, its hidden flag cleared: how a reader that extracts
    items shows a hidden one, and how libheif (which opens only top-level images) is made to decode it. Two
    same-size edits; UnsupportedMediaError when 'pitm' cannot name it."""
    out = bytearray(data)
    pitm = _child(meta, hdr + 4, len(meta), b"pitm", ctx)
    if pitm is None or pitm[2] - pitm[0] - pitm[1] < 6:
        raise UnsupportedMediaError("HEIF without a primary item box (pitm)")
    at = meta_off + pitm[0] + pitm[1]
    n = 2 if meta[pitm[0] + pitm[1]] == 0 else 4
    if iid >= 1 << (8 * n) or pitm[2] - pitm[0] - pitm[1] < 4 + n:
        raise UnsupportedMediaError("HEIF item id too wide for its primary item box")
    out[at + 4 : at + 4 + n] = iid.to_bytes(n, "big")
    iinf = _child(meta, hdr + 4, len(meta), b"iinf", ctx)
    if iinf is not None:
        first = iinf[0] + iinf[1] + (6 if meta[iinf[0] + iinf[1]] == 0 else 8)
        for itype, ioff, ihdr, iend in iter_boxes(meta, first, iinf[2], ctx):
            ib = meta[ioff + ihdr : iend]
            if itype == b"infe" and len(ib) >= 8 and _uint(ib[4:], 4 if ib[0] == 3 else 2) == iid:
                out[meta_off + ioff + ihdr + 3] &= 0xFE
    return bytes(out)


# Derived images built of derived images: a tone-mapped grid (tmap -> grid -> tiles) is two deep. libheif
# follows up to its 1000 references, and opening a 900-deep 'iden' chain took it 2 s, per open (the scan
# opens a file three times).
MAX_DERIVATION_DEPTH = 8


def _derivation_depth(ctx: Ctx, meta: bytes, hdr: int) -> None:
    """LimitExceededError when a 'dimg' chain is deeper than MAX_DERIVATION_DEPTH (cycles count as deep)."""
    dimg: dict[int, list[int]] = {}
    for rtype, src, to in heif_refs(ctx, meta, hdr):
        if rtype == b"dimg":
            dimg.setdefault(src, []).extend(to)
    depth: dict[int, int] = {}
    for root in dimg:
        stack = [(root, 0)]
        while stack:
            ctx.budget.tick()
            iid, d = stack.pop()
            if d > MAX_DERIVATION_DEPTH:
                raise LimitExceededError(f"HEIF derived images nested more than {MAX_DERIVATION_DEPTH} deep")
            if depth.get(iid, -1) >= d:
                continue
            depth[iid] = d
            stack.extend((x, d + 1) for x in dimg.get(iid, []))


def heif_transforms(ctx: Ctx, meta: bytes, hdr: int, iid: int) -> list[tuple[bytes, int]]:
    """An item's rotation and mirror properties in the order they apply: ('irot', quarter turns
    anticlockwise) and ('imir', axis: 0 exchanges top and bottom, 1 left and right)."""
    out = []
    for b in heif_properties(ctx, meta, hdr).get(iid, []):
        if b[4:8] in (b"irot", b"imir") and len(b) > 8:
            out.append((bytes(b[4:8]), b[8] & (3 if b[4:8] == b"irot" else 1)))
    return out


def _item_bytes(ctx: Ctx, exts: list[tuple[int, int]], cap: int) -> bytes:
    """The first ``cap`` bytes of an item stored in the file or in idat."""
    out = b""
    for a, n in exts:
        if a < 0:
            raise UnsupportedMediaError("HEIF image stored by reference is not supported")
        take = min(n, cap - len(out), max(0, ctx.reader.size - a))
        out += ctx.reader.read_at(a, take, "HEIF item") if take > 0 else b""
        if len(out) >= cap:
            break
    return out


class _Union:
    """Disjoint sorted byte ranges covering (offset, length) extents: an overlap test in log time."""

    def __init__(self, exts: Iterable[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for a, n in sorted((a, n) for a, n in exts if a >= 0 and n > 0):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], a + n)
            else:
                merged.append([a, a + n])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]

    def overlaps(self, a: int, n: int) -> bool:
        i = bisect.bisect_right(self.starts, a + n - 1) - 1  # the last range starting inside or before
        return n > 0 and i >= 0 and self.ends[i] > a


def _heif_meta(
    ctx: Ctx, meta: bytes, meta_off: int, hdr: int, patches: list[tuple[int, bytes | int]]
) -> None:
    if primary_boxes(ctx, meta, hdr) > 1:
        # exiftool takes the last pitm, a child lookup (ours) the first: which image is primary (and which
        # 'jpeg' item is a preview nobody scanned) depends on the reader
        raise UnsupportedMediaError("HEIF/AVIF with more than one primary item box (pitm) is not supported")
    problem = heif_display_problem(ctx, meta, meta_off, hdr)
    if problem:
        raise UnsupportedMediaError(f"HEIF/AVIF with {problem} is not supported")
    heif_gain_maps(ctx, meta, meta_off, hdr)  # kept: each must be one the scan judged (raises otherwise)
    types, locs = heif_items(ctx, meta, meta_off, hdr)
    for iid in preview_items(ctx, meta, hdr, types):
        ctx.remove("heif.preview")
        patches.extend((a, n) for a, n in locs.get(iid, []) if a >= 0 and n > 0)
    imgs = heif_images(ctx, meta, meta_off, hdr)
    ctx.frames = len(imgs.top)
    shared = _Union(ext for iid, exts in imgs.locs.items() if iid not in imgs.drop for ext in exts)
    for iid in imgs.drop:
        exts = imgs.locs.get(iid, [])
        if any(a < 0 for a, _ in exts):
            raise UnsupportedMediaError("HEIF image stored by reference is not supported")
        if any(shared.overlaps(a, n) for a, n in exts):
            # zeroing it would zero part of a kept item: an image that was never what the scan saw
            raise UnsupportedMediaError("HEIF thumbnail or hidden image sharing data with another item")
        ctx.remove("heif.thumbnail" if iid in imgs.thumbs else "heif.hidden_image")
        patches.extend((a, n) for a, n in exts if n > 0)
    for iid, (itype, ctype) in types.items():
        kind = item_kind(itype, ctype)
        if kind is None:
            continue
        is_exif = kind == "exif"
        exts = locs.get(iid, [])
        if any(a < 0 for a, _ in exts):
            raise UnsupportedMediaError("HEIF metadata item stored by reference is not supported")
        total = sum(n for _, n in exts)
        ctx.budget.check_meta(total, "HEIF metadata item")
        data = b"".join(ctx.reader.read_at(a, n, "HEIF item") for a, n in exts)
        if is_exif:
            if len(data) < 4:
                raise CorruptMediaError("truncated Exif item")
            skip = 4 + struct.unpack(">I", data[:4])[0]
            if skip > len(data):
                raise CorruptMediaError("bad Exif item header offset")
            block, removed, kept = exif.sanitize_block(data[skip:], ctx.budget)
            new: bytes | None = data[:skip] + block if removed else None
            for c in kept:
                ctx.keep(c)
        else:
            new, removed = xmp.sanitize_same_size(data)
        for c in removed:
            ctx.remove(c)
        if new is not None:
            p = 0
            for a, n in exts:
                patches.append((a, new[p : p + n]))
                p += n
    for btype, off, bhdr, end in iter_boxes(meta, hdr + 4, len(meta), ctx):
        if btype in META_XML:
            ctx.remove("meta.other")
            patches.append((meta_off + off + 4, b"free"))
            patches.append((meta_off + off + bhdr, end - off - bhdr))
    if _find_colr_prof(ctx, meta, hdr):
        ctx.keep("icc_profile")


def _find_colr_prof(ctx: Ctx, meta: bytes, hdr: int) -> bool:
    iprp = _child(meta, hdr + 4, len(meta), b"iprp", ctx)
    if not iprp:
        return False
    ipco = _child(meta, iprp[0] + iprp[1], iprp[2], b"ipco", ctx)
    if not ipco:
        return False
    for btype, off, bhdr, _ in iter_boxes(meta, ipco[0] + ipco[1], ipco[2], ctx):
        if btype == b"colr" and meta[off + bhdr : off + bhdr + 4] in (b"prof", b"rICC"):
            return True
    return False


def top_level(ctx: Ctx) -> Iterator[tuple[bytes, int, int, int]]:
    r = ctx.reader
    pos = 0
    if r.size < 8:
        raise CorruptMediaError("file too small")
    while pos < r.size:
        ctx.budget.tick()
        if r.size - pos < 8:
            if r.read_at(pos, r.size - pos).strip(b"\x00") == b"":
                return
            raise CorruptMediaError("truncated box header")
        size, btype = struct.unpack(">I4s", r.read_at(pos, 8))
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", r.read_at(pos + 8, 8, "box header"))[0]
            hdr = 16
        elif size == 0:
            size = r.size - pos
        if size < hdr or pos + size > r.size:
            raise CorruptMediaError("box runs past the end of the file (truncated or lying size)")
        yield btype, pos, hdr, pos + size
        pos += size


def scrub(ctx: Ctx) -> Plan:
    r = ctx.reader
    m = _Mp4(ctx)
    saw_moov = saw_meta = saw_moof = False
    boxes = list(top_level(ctx))
    if insta360_trailer(r):
        # Inside the last box (after it, the walk already refuses it): held rather than cut out of a box.
        raise UnsupportedMediaError("a 360-camera (Insta360) trailer is not supported")
    for btype, off, hdr, end in boxes:
        if btype == b"moov":
            saw_moov = True
            ctx.budget.check_meta(end - off, "moov box")
            buf = bytearray(r.read_at(off, end - off, "moov"))
            if _child(buf, hdr, len(buf), b"cmov", ctx) is not None:
                # The real moov, zlib-compressed: FFmpeg plays and reads it, no walk or carve sees inside.
                raise UnsupportedMediaError("compressed movie header (cmov) is not supported")
            orig = bytes(buf)
            m.container(buf, hdr, len(buf), 1, off)
            if buf != orig:
                m.patches.append((off, bytes(buf)))
        elif btype == b"meta":
            if saw_meta and ctx.media_type in ("heif", "avif"):
                # readers take the first; which images the second declares nobody agrees on
                raise UnsupportedMediaError("HEIF/AVIF with more than one meta box is not supported")
            saw_meta = True
            ctx.budget.check_meta(end - off, "meta box")
            meta = r.read_at(off, end - off, "meta")
            if ctx.media_type in ("heif", "avif"):
                _heif_meta(ctx, meta, off, hdr, m.patches)
            else:
                buf = bytearray(meta)
                m.meta(buf, 0, hdr, len(buf), 1)
                if buf != meta:
                    m.patches.append((off, bytes(buf)))
        elif btype == b"uuid":
            if end - off - hdr < 16:
                raise CorruptMediaError("truncated uuid box")
            if r.read_at(off + hdr, 16) == xmp.XMP_UUID:
                ctx.budget.check_meta(end - off, "XMP uuid box")
                body = r.read_at(off + hdr + 16, end - off - hdr - 16)
                nb, removed = xmp.sanitize_same_size(body)
                for c in removed:
                    ctx.remove(c)
                if nb is not None:
                    m.patches.append((off + hdr + 16, nb))
            else:
                ctx.remove("uuid.other")
                m.patches.append((off + hdr - 4, b"free"))
                m.patches.append((off + hdr, end - off - hdr))
        elif btype == b"udta":
            ctx.budget.check_meta(end - off, "udta box")
            buf = bytearray(r.read_at(off, end - off))
            m.udta(buf, 0, hdr, len(buf), 1)
            m.patches.append((off, bytes(buf)))
        elif btype not in TOP_KEEP:
            # Dashcams' GPS logs (exiftool QuickTime::Main) are a location trace; any other box is unknown.
            ctx.remove("box.gps" if btype in GPS_LOG_BOXES else "box.other")
            m.patches.append((off + 4, b"free"))
            m.patches.append((off + hdr, end - off - hdr))
        elif btype == b"mfra":
            # Players read only its tfra/mfro (keyframe index); anything else in it is unknown bytes.
            ctx.budget.check_meta(end - off, "mfra box")
            buf = bytearray(r.read_at(off, end - off, "mfra"))
            for ctype, coff, chdr, cend in iter_boxes(buf, hdr, len(buf), ctx):
                if ctype not in MFRA_KEEP:
                    ctx.remove("box.other")
                    m.patches.append((off + coff + chdr - 4, b"free"))
                    m.patches.append((off + coff + chdr, cend - coff - chdr))
                else:
                    _slack_patch(ctx, ctype, buf, off, coff + chdr, cend, m.patches)
        elif btype in (b"sidx", b"prft"):
            ctx.budget.check_meta(end - off, f"{btype.decode()} box")
            _slack_patch(ctx, btype, r.read_at(off, end - off), off, hdr, end - off, m.patches)
        elif btype in (b"free", b"skip", b"wide") and end - off > hdr:
            # Padding by definition: zeroed, so nothing (an embedded JPEG with GPS) hides in it.
            m.patches.append((off + hdr, end - off - hdr))
        elif btype == b"moof":
            saw_moof = True
            ctx.budget.check_meta(end - off, "moof box")
            buf = bytearray(r.read_at(off, end - off, "moof"))
            orig = bytes(buf)
            m.container(buf, hdr, len(buf), 1, off, fragment=True)
            if buf != orig:
                m.patches.append((off, bytes(buf)))
    for btype, off, hdr, end in boxes:
        if btype == b"mdat":
            for at, n in freegps_blocks(ctx, off + hdr, end, m.gps_list):
                ctx.remove("mdat.freegps")
                m.patches.append((at, n))
    if saw_moof and m.removed_tracks:
        # Fragment samples (trun) of a removed track would stay in mdat: fail closed.
        raise UnsupportedMediaError("fragmented movie with a timed-metadata track is not supported")
    if ctx.media_type in ("heif", "avif"):
        if not saw_meta:
            raise CorruptMediaError("HEIF/AVIF without a meta box")
    elif not saw_moov:
        raise CorruptMediaError("movie without a moov box")
    return Plan.from_patches(r.size, m.patches)


def _slack_patch(
    ctx: Ctx,
    btype: bytes,
    buf: bytes | bytearray,
    base: int,
    body: int,
    end: int,
    patches: list[tuple[int, bytes | int]],
) -> None:
    """Zero (a patch at ``base`` + offset) what follows a kept top-level box's structure."""
    at = declared_end(btype, buf, body, end)
    if at is not None and at < end and buf[at:end].strip(b"\x00"):
        ctx.remove("box.slack")
        patches.append((base + at, end - at))


VISUAL_HANDLERS = frozenset({b"vide", b"pict", b"auxv"})


MAX_DWELL = 4  # the longest sample may last this many times the typical one (variable frame rate)


def movie_coverage_problem(ctx: Ctx) -> str | None:
    """Why sampling the movie's frames, as the scanner does, could miss what a player shows, or None
    (``movie_coverage``)."""
    problem, _ = movie_coverage(ctx)
    return problem


def movie_coverage(ctx: Ctx) -> tuple[str | None, bool]:
    """Why sampling the movie's frames could miss what a player shows (or None), and whether a frame
    dwells. The scan decodes one video stream: a second video track (which a player may pick, or show when
    the first is disabled), or an edit list that repeats, skips around or dwells (several edits, a rate
    other than 1) would each let a player show pixels the scan never saw. One sample lasting far longer
    than the others (a screen recording writes a frame only when the screen changes; a hostile movie
    shows one frame for 30 s among short ones) is shown for seconds and stepped over by index sampling
    (every n-th frame): the second value says so, and the scanner then samples by time instead."""
    tracks = 0
    # (count, duration) runs per visual track id: stts in moov, then every fragment's trun (FFmpeg plays
    # fragments after the moov's samples: a fragmented movie's moov often lists none at all)
    durations: dict[int, list[tuple[int, int]]] = {}
    trex: dict[int, int] = {}  # default sample duration per track (mvex/trex)
    boxes = list(top_level(ctx))
    for btype, off, hdr, end in boxes:
        if btype != b"moov":
            continue
        ctx.budget.check_meta(end - off, "moov box")
        buf = ctx.reader.read_at(off, end - off, "moov")
        for ttype, toff, thdr, tend in iter_boxes(buf, hdr, len(buf), ctx):
            if ttype == b"mvex":
                for xtype, xoff, xhdr, xend in iter_boxes(buf, toff + thdr, tend, ctx):
                    if xtype == b"trex" and xend - xoff - xhdr >= 16:
                        tid, _, duration = struct.unpack(">III", buf[xoff + xhdr + 4 : xoff + xhdr + 16])
                        trex[tid] = duration
            if ttype != b"trak":
                continue
            handlers, _, stbls = track_parts(ctx, buf, toff + thdr, tend)
            if not handlers & VISUAL_HANDLERS:
                continue
            tracks += 1
            if not _plain_matrix(ctx, buf, toff + thdr, tend):
                return "a video track whose matrix stretches, shears or skews the picture", False
            edts = _child(buf, toff + thdr, tend, b"edts", ctx)
            if edts is not None and not _plain_edits(ctx, buf, edts[0] + edts[1], edts[2]):
                return "a video track whose edit list repeats, reorders or holds frames", False
            runs = durations.setdefault(_track_id(ctx, buf, toff + thdr, tend), [])
            for start, stop in stbls:
                if _sample_entries(ctx, buf, start, stop) > 1:
                    return "a video track with more than one sample description (one codec is decoded)", False
                runs.extend(_stts_runs(ctx, buf, start, stop))
    if tracks > 1:
        return f"a movie with {tracks} video tracks (one is scanned)", False
    for btype, off, hdr, end in boxes:  # after every moov: a moof placed first still counts
        if btype == b"moof":
            ctx.budget.check_meta(end - off, "moof box")
            buf = ctx.reader.read_at(off, end - off, "moof")
            for ttype, toff, thdr, tend in iter_boxes(buf, hdr, len(buf), ctx):
                if ttype == b"traf":
                    _fragment_durations(ctx, buf, toff + thdr, tend, trex, durations)
    return None, any(_dwells(runs) for runs in durations.values())


def _plain_matrix(ctx: Ctx, buf: bytes, start: int, end: int) -> bool:
    """Whether a track's ``tkhd`` matrix only rotates by a multiple of 90 degrees, flips and scales both
    axes alike: what phones write and FFmpeg (so the scan) applies. QuickTime/AVFoundation draw any matrix;
    one that scales one axis (a face stored squeezed to a sliver, shown whole), shears or adds perspective
    shows a picture the scan never analysed."""
    tkhd = _child(buf, start, end, b"tkhd", ctx)
    if tkhd is None:
        return True
    at = tkhd[0] + tkhd[1] + (40 if buf[tkhd[0] + tkhd[1]] != 1 else 52)  # after the v0/v1 header fields
    if at + 36 > tkhd[2]:
        raise CorruptMediaError("truncated tkhd")
    a, b, u, c, d, v, _, _, _ = struct.unpack(">9i", buf[at : at + 36])
    if u or v:
        return False
    if b == 0 and c == 0:
        return a != 0 and abs(a) == abs(d)
    return a == 0 and d == 0 and b != 0 and abs(b) == abs(c)


def _track_id(ctx: Ctx, buf: bytes, start: int, end: int) -> int:
    tkhd = _child(buf, start, end, b"tkhd", ctx)
    if tkhd is None or tkhd[2] - tkhd[0] - tkhd[1] < 24:
        return 0
    at = tkhd[0] + tkhd[1] + (20 if buf[tkhd[0] + tkhd[1]] == 1 else 12)  # after version/flags and times
    return int(struct.unpack(">I", buf[at : at + 4])[0])


def _fragment_durations(
    ctx: Ctx, buf: bytes, start: int, end: int, trex: dict[int, int], out: dict[int, list[tuple[int, int]]]
) -> None:
    """Add a track fragment's sample durations (``trun``, else the ``tfhd`` or ``trex`` default) to its
    track's runs in ``out``; fragments of a track that is not a video track in moov are skipped."""
    tfhd = _child(buf, start, end, b"tfhd", ctx)
    if tfhd is None or tfhd[2] - tfhd[0] - tfhd[1] < 8:
        raise CorruptMediaError("track fragment without a valid tfhd")
    body = buf[tfhd[0] + tfhd[1] : tfhd[2]]
    flags, tid = struct.unpack(">II", body[:8])
    flags &= 0xFFFFFF
    if tid not in out:
        return
    default = trex.get(tid, 0)
    if flags & 0x08:  # default-sample-duration-present, after base data offset and description index
        at = 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
        if at + 4 > len(body):
            raise CorruptMediaError("truncated tfhd")
        default = struct.unpack(">I", body[at : at + 4])[0]
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        if btype != b"trun":
            continue
        run = buf[off + hdr : bend]
        if len(run) < 8:
            raise CorruptMediaError("truncated trun")
        tflags, count = struct.unpack(">II", run[:8])
        tflags &= 0xFFFFFF
        head = 8 + (4 if tflags & 0x01 else 0) + (4 if tflags & 0x04 else 0)
        size = 4 * bin(tflags & 0xF00).count("1")  # duration, size, flags, composition offset
        if head + size * count > len(run):
            raise CorruptMediaError("trun declares more samples than its box holds")
        ctx.budget.tick(count)
        if not tflags & 0x100:
            out[tid].append((count, default))
            continue
        each = range(head, head + size * count, size)
        out[tid].extend((1, struct.unpack(">I", run[p : p + 4])[0]) for p in each)


def _sample_entries(ctx: Ctx, buf: bytes, start: int, end: int) -> int:
    """How many sample descriptions (stsd entries) a sample table has. Several let one track switch codec
    from chunk to chunk (stsc); FFmpeg keeps the first codec and drops the other samples, so frames a
    player that follows the descriptions shows would never be scanned."""
    stsd = _child(buf, start, end, b"stsd", ctx)
    if stsd is None:
        return 0
    off, hdr, bend = stsd
    if bend - off - hdr < 8:
        raise CorruptMediaError("truncated stsd")
    declared = struct.unpack(">I", buf[off + hdr + 4 : off + hdr + 8])[0]
    return max(declared, sum(1 for _ in iter_boxes(buf, off + hdr + 8, bend, ctx)))


def _plain_edits(ctx: Ctx, buf: bytes, start: int, end: int) -> bool:
    """At most one empty edit (a start delay) then at most one edit of the media at rate 1: a contiguous run
    of samples, all of which the scan decodes (it does not apply edit lists)."""
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        if btype != b"elst":
            continue
        body = buf[off + hdr : bend]
        if len(body) < 8:
            raise CorruptMediaError("truncated elst")
        ver, count = body[0], struct.unpack(">I", body[4:8])[0]
        size = 20 if ver == 1 else 12
        if count > 2 or 8 + size * count > len(body):
            return False
        media = 0
        for i in range(count):
            e = body[8 + size * i : 8 + size * (i + 1)]
            media_time = struct.unpack(">q" if ver == 1 else ">i", e[8:16] if ver == 1 else e[4:8])[0]
            rate = e[-4:]
            if media_time == -1:
                if i != 0:
                    return False
                continue
            media += 1
            if rate != b"\x00\x01\x00\x00":
                return False
        if media > 1:
            return False
    return True


def _stts_runs(ctx: Ctx, buf: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """A sample table's (sample count, duration) runs (stts)."""
    stts = _child(buf, start, end, b"stts", ctx)
    if stts is None:
        return []
    off, hdr, bend = stts
    body = buf[off + hdr : bend]
    if len(body) < 8:
        raise CorruptMediaError("truncated stts")
    count = struct.unpack(">I", body[4:8])[0]
    if 8 + 8 * count > len(body):
        raise CorruptMediaError("stts declares more entries than its box holds")
    ctx.budget.tick(count)
    return [struct.unpack(">II", body[8 + 8 * i : 16 + 8 * i]) for i in range(count)]


def _dwells(runs: list[tuple[int, int]]) -> bool:
    """Whether one sample lasts more than MAX_DWELL times the typical (median) sample duration."""
    runs = [(n, d) for n, d in runs if n]
    total = sum(n for n, _ in runs)
    if total < 2:
        return False
    seen, median = 0, 0
    for n, d in sorted(runs, key=lambda r: r[1]):
        seen += n
        if 2 * seen >= total:
            median = d
            break
    return max(d for _, d in runs) > MAX_DWELL * max(median, 1)


def metadata_ranges(reader: Reader, media_type: str = "mp4") -> list[tuple[int, int]]:
    """Every top-level box but ``mdat`` (sample data: pixels and sound), for the verifier's carve, and in a
    HEIF/AVIF every JPEG-coded image item wherever it is: a JPEG's header holds its own EXIF/XMP/IPTC, which
    a carving tool (or anyone extracting the item) reads. An unparseable file returns the whole file (the
    carve then looks everywhere)."""
    ctx = Ctx(reader, ScrubLimits(), media_type)
    out: list[tuple[int, int]] = []
    try:
        for btype, off, hdr, end in top_level(ctx):
            if btype == b"mdat":
                out.append((off, off + hdr))
            else:
                out.append((off, end))
            if btype == b"meta" and media_type in ("heif", "avif"):
                ctx.budget.check_meta(end - off, "meta box")
                types, locs = heif_items(ctx, reader.read_at(off, end - off), off, hdr)
                for iid, (itype, ctype) in types.items():
                    if itype == b"jpeg" or (itype == b"mime" and ctype.strip().lower() == b"image/jpeg"):
                        out.extend((a, min(a + n, reader.size)) for a, n in locs.get(iid, []) if a >= 0)
    except TutelaError:
        return [(0, reader.size)]
    return out
