"""EXIF / TIFF IFD surgery, in place.

Every change is a same-size overwrite (IFD entry arrays compacted, dropped values zeroed), so the
same code serves an EXIF block inside JPEG/PNG/WebP/HEIC and a whole TIFF file whose strip offsets
must not move. Tags are kept by allowlist (fail closed): anything not known to be harmless goes.
"""

from __future__ import annotations

import operator
import struct

from tutela.errors import CorruptMediaError, LimitExceededError
from tutela.record import Record
from tutela.scrub import iptc, xmp
from tutela.scrub.core import Budget, BytesReader, Reader, ScrubLimits

TYPE_SIZE = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}

TAG_EXIF_IFD = 34665
TAG_GPS_IFD = 34853
TAG_INTEROP_IFD = 40965
TAG_ORIENTATION = 274
TAG_ICC = 34675
TAG_XMP = 700
TAG_IPTC = 33723
TAG_PHOTOSHOP = 34377
TAG_SUBIFDS = 330

# Structural / display tags of an image IFD (TIFF baseline + extensions) and harmless descriptors.
IMAGE_KEEP = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 271, 272, 273, 274, 277, 278, 279, 280, 281}
    | {282, 283, 284, 286, 287, 290, 291, 292, 293, 296, 297, 301, 305, 306, 317, 318, 319, 320, 321}
    | {322, 323, 324, 325, 332, 334, 336, 338, 339, 340, 341, 342, 347, 512, 513, 514, 515, 517, 518}
    | {519, 520, 521, 529, 530, 531, 532, 33432, 34675, 40961, 40962, 40963}
    | {TAG_EXIF_IFD, TAG_INTEROP_IFD, TAG_XMP}
)
# SubIFDs (previews, DNG raw data) are not kept: no viewer or scanner shows them, so they would be
# published unscanned. The pointer goes; in a TIFF file the orphaned images are zeroed with every other
# unreferenced byte.
EXIF_KEEP = frozenset(
    {33434, 33437, 34850, 34852, 34855, 34856, 34864, 34865, 34866, 34867, 34868, 34869, 36864}
    | {36867, 36868, 36880, 36881, 36882, 37121, 37122, 37377, 37378, 37379, 37380, 37381, 37382}
    | {37383, 37384, 37385, 37386, 37396, 37520, 37521, 37522, 40960, 40961, 40962, 40963}
    | {41483, 41484, 41486, 41487, 41488, 41492, 41493, 41495, 41728, 41729, 41730, 41985, 41986}
    | {41987, 41988, 41989, 41990, 41991, 41992, 41993, 41994, 41995, 41996, 42034, 42035, 42036}
    | {42240, 34867, TAG_INTEROP_IFD}
)
# The Interop IFD's own tags: InteropIndex, InteropVersion, RelatedImageFileFormat/Width/Height.
INTEROP_KEEP = frozenset({1, 2, 4096, 4097, 4098})
GEOTIFF = frozenset({33550, 33922, 34264, 34735, 34736, 34737})
NAMED = {
    TAG_GPS_IFD: "exif.gps",
    315: "exif.artist",
    316: "exif.host",
    42032: "exif.owner",
    42033: "exif.serial",
    42037: "exif.serial",
    50735: "exif.serial",
    42016: "exif.unique_id",
    37500: "exif.makernote",
    37510: "exif.user_comment",
    270: "exif.description",
    33723: "iptc",
    34377: "photoshop.irb",
    40091: "exif.xp",
    40092: "exif.xp",
    40093: "exif.xp",
    40094: "exif.xp",
    40095: "exif.xp",
}


# Tags ``sanitize`` does more with than keep or drop them (filter, follow, record, protect their strips).
_KEPT_WITH_MORE = frozenset(
    {TAG_XMP, TAG_IPTC, TAG_EXIF_IFD, TAG_INTEROP_IFD, TAG_SUBIFDS, TAG_ORIENTATION, TAG_ICC, 273, 324, 513}
)
_DEFAULT_LIMITS = ScrubLimits()
_ENTRY = {"<": struct.Struct("<HHII"), ">": struct.Struct(">HHII")}  # tag, type, count, value/offset
_U16 = {"<": struct.Struct("<H").unpack, ">": struct.Struct(">H").unpack}
_U32 = {"<": struct.Struct("<I").unpack_from, ">": struct.Struct(">I").unpack_from}
_FIRST = operator.itemgetter(0)
_POINTERS = frozenset({TAG_EXIF_IFD, TAG_INTEROP_IFD, TAG_SUBIFDS})
_POINTERS_GPS = _POINTERS | {TAG_GPS_IFD}
# Tags ``_Sanitize.process`` does more with than keep them or drop them with their name (NAMED or
# "<kind>.other"): every other tag takes its short path.
_SPECIAL = _KEPT_WITH_MORE | GEOTIFF | {TAG_GPS_IFD, TAG_IPTC, TAG_PHOTOSHOP, TAG_XMP}


# An IFD entry, as ``read_ifd`` gives it: a plain tuple (an object per tag cost more than the rest of the
# entry's handling): (absolute offset of the 12-byte entry, tag, type, count, its 12 raw bytes, absolute
# offset of the value (inline or out of line), the value's length (-1: unknown type), inline).
Entry = tuple[int, int, int, int, bytes, int, int, bool]


class ExifResult(Record):
    __slots__ = ("kept", "patches", "referenced", "removed")

    def __init__(self) -> None:
        self.patches: list[tuple[int, bytes | int]] = []
        self.removed: set[str] = set()
        self.kept: set[str] = set()
        self.referenced: list[tuple[int, int]] = []  # absolute ranges still referenced


class _Tiff:
    def __init__(self, reader: Reader, base: int, end: int, budget: Budget) -> None:
        self.r = reader
        self.base = base
        self.end = end
        self.budget = budget
        # In memory (the EXIF block of a photo): IFDs sliced from the bytes themselves. Every slice is of
        # [base, end) and ``end`` is within them, so it is the bytes ``read_at`` would return, unchecked.
        data = reader._data if type(reader) is BytesReader else None
        self.d = data if data is not None and end <= len(data) else None
        head = reader.read_at(base, 8, "TIFF header")
        if head[:4] == b"II*\x00":
            self.e = "<"
        elif head[:4] == b"MM\x00*":
            self.e = ">"
        else:
            raise CorruptMediaError("bad TIFF/EXIF header")
        self.ifd0 = _U32[self.e](head, 4)[0]
        self.visited: set[int] = set()

    def u16(self, b: bytes) -> int:
        return int(struct.unpack(self.e + "H", b)[0])

    def u32(self, b: bytes) -> int:
        return int(struct.unpack(self.e + "I", b)[0])

    def abs(self, rel: int, n: int, what: str) -> int:
        if rel < 0 or self.base + rel + n > self.end:
            raise CorruptMediaError(f"{what} points outside the EXIF/TIFF data")
        return self.base + rel

    def _ifd(self, rel: int) -> tuple[int, int, bytes]:
        """(absolute IFD offset, entry count, the IFD's bytes with its next pointer), the IFD counted as
        visited: the checks every IFD read takes."""
        visited = self.visited
        if rel in visited:
            raise CorruptMediaError("IFD loop")
        visited.add(rel)
        if len(visited) > self.budget.limits.max_ifds:
            raise LimitExceededError("too many IFDs")
        base, end = self.base, self.end
        pos = base + rel
        if rel < 0 or pos + 2 > end:  # as self.abs(rel, 2, "IFD")
            raise CorruptMediaError("IFD points outside the EXIF/TIFF data")
        d = self.d
        n: int = _U16[self.e](d[pos : pos + 2] if d is not None else self.r.read_at(pos, 2, "IFD"))[0]
        self.budget.tick(n + 1)
        stop = pos + 2 + 12 * n + 4
        if stop > end:
            raise CorruptMediaError("IFD points outside the EXIF/TIFF data")
        return pos, n, d[pos:stop] if d is not None else self.r.read_at(pos, stop - pos, "IFD")

    def read_ifd(self, rel: int) -> tuple[int, list[Entry], int]:
        """Return (absolute ifd offset, entries, next ifd rel offset)."""
        pos, n, body = self._ifd(rel)
        base, end = self.base, self.end
        entries: list[Entry] = []
        append = entries.append
        i = 2  # the entry's offset in ``body``
        for tag, typ, count, val in _ENTRY[self.e].iter_unpack(body[2 : 2 + 12 * n]):
            size = TYPE_SIZE.get(typ)
            epos = pos + i
            if size is None:
                append((epos, tag, typ, count, body[i : i + 12], epos + 8, -1, True))
            elif size * count <= 4:
                append((epos, tag, typ, count, body[i : i + 12], epos + 8, size * count, True))
            else:
                if base + val + size * count > end:  # val is unsigned: never before base
                    raise CorruptMediaError("IFD value points outside the EXIF/TIFF data")
                append((epos, tag, typ, count, body[i : i + 12], base + val, size * count, False))
            i += 12
        nxt: int = _U32[self.e](body, 2 + 12 * n)[0]
        return pos, entries, nxt

    def values(self, e: Entry) -> list[int]:
        _, _, typ, count, raw, data_off, data_len, inline = e
        if typ not in (3, 4, 13) or data_len < 0:
            raise CorruptMediaError("unexpected offset-tag type")
        if count > 1_000_000:
            raise LimitExceededError("too many strips/tiles")
        self.budget.check_meta(data_len, "offset table")
        data = raw[8 : 8 + data_len] if inline else self.r.read_at(data_off, data_len)
        fmt = "H" if typ == 3 else "I"
        return list(struct.unpack(f"{self.e}{count}{fmt}", data))


def _subtract(ranges: list[tuple[int, int]], protect: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    prot = sorted(protect)
    for a, b in sorted(ranges):
        cur = a
        for pa, pb in prot:
            if pa >= b:  # sorted by start: no later range starts before b either
                break
            if pb <= cur:
                continue
            if pa > cur:
                out.append((cur, pa))
            cur = max(cur, pb)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    return out


_LENS_TAG = {273: 279, 324: 325, 513: 514}  # strip/tile/thumbnail offsets -> their byte counts


class _Sanitize:
    """One ``sanitize`` call's state; ``process`` and ``drop_subifd`` walk the IFD tree."""

    __slots__ = ("budget", "dropped", "protect", "reader", "res", "t", "whole_tiff", "zero")

    def __init__(self, reader: Reader, base: int, end: int, budget: Budget, whole_tiff: bool) -> None:
        self.t = _Tiff(reader, base, end, budget)
        self.reader = reader
        self.budget = budget
        self.whole_tiff = whole_tiff
        self.res = ExifResult()
        self.zero: list[tuple[int, int]] = []
        self.protect: list[tuple[int, int]] = [(base, base + 8)]
        self.dropped: set[int] = set()

    def drop_subifd(self, rel: int, depth: int = 0) -> None:
        """Zero a whole IFD tree (GPS, thumbnail) and all it points to, nested and chained IFDs included: a
        GPS IFD hung off IFD1 or IFD2 stayed in the bytes (unreferenced, the coordinates still there)."""
        if depth > 4 or rel in self.dropped:
            return
        self.dropped.add(rel)
        t, zero = self.t, self.zero
        try:
            pos, entries, nxt = t.read_ifd(rel)
        except CorruptMediaError:
            return  # the pointer is removed anyway; nothing reachable remains
        zero.append((pos, pos + 2 + 12 * len(entries) + 4))
        if nxt:  # IFD2... after the thumbnail's IFD1 go with it
            self.drop_subifd(nxt, depth + 1)
        for e in entries:
            _, tag, typ, _, _, data_off, data_len, inline = e
            if not inline and data_len > 0:
                zero.append((data_off, data_off + data_len))
            if tag in _POINTERS_GPS and typ in (4, 13):
                if tag == TAG_GPS_IFD:
                    self.res.removed.add("exif.gps")  # a location was there: the decision must know
                for sub in t.values(e)[:64]:
                    self.drop_subifd(sub, depth + 1)
            if tag in (513, 273) and typ in (3, 4):
                offs = t.values(e)
                lens_tag = 514 if tag == 513 else 279
                le = next((x for x in entries if x[1] == lens_tag), None)
                if le is not None and le[2] in (3, 4):
                    lens = t.values(le)
                    for o, n in zip(offs, lens, strict=False):
                        if o + n <= t.end - t.base:
                            zero.append((t.base + o, t.base + o + n))

    def process(self, rel: int, keep_set: frozenset[int], kind: str) -> int:
        t, res, reader, budget = self.t, self.res, self.reader, self.budget
        protect, zero = self.protect, self.zero
        pos, entries, nxt = t.read_ifd(rel)
        kept: list[Entry] = []
        removed = res.removed
        other = f"{kind}.other"
        for e in entries:
            tag = e[1]
            if tag not in _SPECIAL:  # kept as it is, or dropped with its name: none of the cases below
                data_len = e[6]
                if tag in keep_set and data_len >= 0:
                    kept.append(e)
                    if data_len > 0 and not e[7]:
                        protect.append((e[5], e[5] + data_len))
                else:
                    removed.add(NAMED.get(tag) or other)
                    if data_len > 0 and not e[7]:
                        zero.append((e[5], e[5] + data_len))
                continue
            _, tag, typ, count, _, data_off, data_len, inline = e
            keep = tag in keep_set and data_len >= 0
            if keep and tag == TAG_XMP and not inline:
                blob = reader.read_at(data_off, data_len)
                budget.check_meta(len(blob), "XMP")
                new, r = xmp.sanitize_same_size(blob)
                res.removed |= r
                if new is not None:
                    res.patches.append((data_off, new))
            if tag == TAG_IPTC and data_len > 0 and not inline and typ in (1, 4, 7):
                # IPTC-IIM in TIFF: filtered in place, zero padded (IIM readers skip trailing padding).
                blob = reader.read_at(data_off, data_len)
                budget.check_meta(len(blob), "IPTC")
                try:
                    new_iim, r = iptc.sanitize_iim(blob)
                except CorruptMediaError:
                    new_iim, r = b"", {"iptc.unparseable"}
                if r:
                    res.removed.update(r | {"iptc"})
                    if new_iim:
                        res.patches.append((data_off, new_iim + bytes(len(blob) - len(new_iim))))
                        keep = True
                else:
                    keep = True
            if keep and tag in _POINTERS:
                if typ not in (4, 13):
                    keep = False
                elif tag == TAG_EXIF_IFD:
                    self.process(t.values(e)[0], EXIF_KEEP, "exif")
                elif tag == TAG_SUBIFDS:
                    for sub in t.values(e)[:64]:
                        self.process(sub, IMAGE_KEEP, "image")
                else:  # Interop IFD: only its own tags. Anything else goes as in every IFD - a GPS pointer
                    # here is followed by exiftool and was published untouched.
                    try:
                        self.process(t.values(e)[0], INTEROP_KEEP, "interop")
                    except CorruptMediaError:
                        keep = False
            if keep:
                kept.append(e)
                if not inline and data_len > 0:
                    protect.append((data_off, data_off + data_len))
                if tag == TAG_ORIENTATION:
                    res.kept.add("exif.orientation")
                elif tag == TAG_ICC:
                    res.kept.add("icc_profile")
                if tag in (273, 324, 513) and typ in (3, 4):
                    lens_tag = _LENS_TAG[tag]
                    le = next((x for x in entries if x[1] == lens_tag), None)
                    if le is not None and le[2] in (3, 4):
                        for o, n in zip(t.values(e), t.values(le), strict=False):
                            protect.append((t.base + o, t.base + o + n))
                    elif self.whole_tiff and tag != 513:
                        # Without byte counts the image data's extent is unknown: it could be neither
                        # kept exactly nor told apart from an unreferenced gap. Held.
                        raise CorruptMediaError("TIFF image data without byte counts")
                continue
            code = NAMED.get(tag)
            if tag in GEOTIFF:
                code = "tiff.geotiff"
            if code is None:
                code = other
            if tag == TAG_GPS_IFD:
                if typ in (4, 13) and count >= 1 and data_len >= 0:
                    self.drop_subifd(t.values(e)[0])
            elif tag == TAG_IPTC and data_len > 0:
                blob = reader.read_at(data_off, data_len) if not inline else b""
                if blob and iptc.iim_has_location(blob):
                    res.removed.add("iptc.location")
            elif tag == TAG_PHOTOSHOP and data_len > 0 and not inline:
                if iptc.irb_has_location(reader.read_at(data_off, data_len)):
                    res.removed.add("iptc.location")
            elif tag == TAG_XMP and data_len > 0 and not inline:  # noqa: SIM102
                if xmp.has_location(reader.read_at(data_off, data_len)):
                    res.removed.add("xmp.location")
            res.removed.add(code)
            if not inline and data_len > 0:
                zero.append((data_off, data_off + data_len))
        if len(kept) != len(entries):
            n_old = len(entries)
            new = struct.pack(t.e + "H", len(kept)) + b"".join(e[4] for e in kept)
            # next-IFD pointer moves up with the shorter array; zero the tail of the old array.
            new += reader.read_at(pos + 2 + 12 * n_old, 4)
            new += b"\x00" * (12 * (n_old - len(kept)))
            res.patches.append((pos, new))
        protect.append((pos, pos + 2 + 12 * len(kept) + 4))
        return nxt


def sanitize(reader: Reader, base: int, end: int, budget: Budget, *, whole_tiff: bool) -> ExifResult:
    """Sanitise the TIFF structure at [base, end). ``whole_tiff``: IFD1.. are pages (kept) instead of a
    thumbnail (dropped)."""
    s = _Sanitize(reader, base, end, budget, whole_tiff)
    t, res = s.t, s.res
    nxt = s.process(t.ifd0, IMAGE_KEEP, "exif")
    if whole_tiff:
        while nxt:
            nxt = s.process(nxt, IMAGE_KEEP, "image")
    elif nxt:
        res.removed.add("exif.thumbnail")
        s.drop_subifd(nxt)
        # Clear IFD0's next pointer (it sits right after the possibly compacted entry array).
        ifd0_abs = t.base + t.ifd0
        count_patch = next((p for p in res.patches if p[0] == ifd0_abs), None)
        if count_patch is not None and isinstance(count_patch[1], bytes):
            blob = bytearray(count_patch[1])
            n_kept = t.u16(bytes(blob[:2]))
            blob[2 + 12 * n_kept : 6 + 12 * n_kept] = b"\x00\x00\x00\x00"
            res.patches[res.patches.index(count_patch)] = (ifd0_abs, bytes(blob))
        else:
            n0 = t.u16(reader.read_at(ifd0_abs, 2))
            res.patches.append((ifd0_abs + 2 + 12 * n0, b"\x00\x00\x00\x00"))
    for a, b in _subtract(s.zero, s.protect):
        res.patches.append((a, b - a))
    res.referenced = s.protect
    return res


def apply(buf: bytearray, patches: list[tuple[int, bytes | int]], base: int = 0) -> None:
    """Apply patches (absolute offsets relative to ``base``) to an in-memory block."""
    for off, p in patches:
        o = off - base
        if isinstance(p, int):
            buf[o : o + p] = bytes(p)
        else:
            buf[o : o + len(p)] = p


def sanitize_block(block: bytes, budget: Budget) -> tuple[bytes, set[str], set[str]]:
    """Sanitise an in-memory EXIF TIFF block (starting at the byte-order mark); same size out."""
    res = sanitize(BytesReader(block), 0, len(block), budget, whole_tiff=False)
    buf = bytearray(block)
    apply(buf, sorted(res.patches, key=_FIRST))
    return bytes(buf), res.removed, res.kept


def has_gps(reader: Reader, base: int = 0, end: int | None = None) -> bool:
    """Verifier: is there a GPS IFD pointer (or GeoTIFF tag) in any IFD reachable from the header?

    The IFDs are read with ``read_ifd``'s checks (an entry whose value points outside the block fails the
    whole IFD) and the pointers' values as ``_Tiff.values`` reads them, without an ``Entry`` per tag: a
    pointer of type LONG/IFD (4 bytes each) holds one value inline (``val`` itself) or ``count`` values at
    ``val``. Any failure means "not proven clean"."""
    budget = Budget(_DEFAULT_LIMITS)
    try:
        t = _Tiff(reader, base, reader.size if end is None else end, budget)
        e = t.e
        tiff_base, tiff_end = t.base, t.end
        entry = _ENTRY[e]
        stack = [t.ifd0]
        while stack:
            rel = stack.pop()
            if rel == 0 or rel in t.visited:
                continue
            _, n, body = t._ifd(rel)
            entries = list(entry.iter_unpack(body[2 : 2 + 12 * n]))
            for _tag, typ, count, val in entries:  # read_ifd's bounds check, over every entry first
                size = TYPE_SIZE.get(typ)
                if size is not None and size * count > 4 and tiff_base + val + size * count > tiff_end:
                    raise CorruptMediaError("IFD value points outside the EXIF/TIFF data")
            for tag, typ, count, val in entries:
                if tag == TAG_GPS_IFD or tag in GEOTIFF:
                    return True
                if tag in _POINTERS and typ in (4, 13):
                    if count > 1_000_000:
                        raise LimitExceededError("too many strips/tiles")
                    if count == 1:
                        stack.append(val)
                    elif count:
                        data = reader.read_at(tiff_base + val, 4 * count)
                        stack.extend(struct.unpack(f"{e}{count}I", data)[:64])
            nxt: int = _U32[e](body, 2 + 12 * n)[0]
            if nxt:
                stack.append(nxt)
    except (CorruptMediaError, LimitExceededError, struct.error):
        return True  # unparseable EXIF cannot be proven clean
    return False
