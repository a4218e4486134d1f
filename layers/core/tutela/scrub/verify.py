"""Independent re-parse of a (scrubbed) file: which location traces can still be found?

This walks the containers again with its own, simpler rules (it never calls a scrubber) and looks for
*presence*: a GPS IFD or GeoTIFF tag anywhere reachable, a location property or a picture anywhere in any
XMP text, IPTC location datasets, PNG text mentioning a location, QuickTime ``©xyz``/``loci``/location keys,
and GPS timed-metadata tracks. Anything it cannot parse counts as "not clean".
"""

from __future__ import annotations

import re
import struct
import zlib

from tutela.errors import TutelaError
from tutela.scrub import exif, iptc, xmp
from tutela.scrub.core import Budget, BytesReader, Ctx, Reader, ScrubLimits
from tutela.scrub.jpeg import EXIF_SIG, segments
from tutela.scrub.layout import Layout
from tutela.scrub.spliced import SplicedReader

_PNG_LOC = re.compile(rb"(?i)gps|latitude|longitude|location|city|country|province")
_KEY_LOC = re.compile(rb"(?i)location|iso6709|gps|latitude|longitude")
# Pictures stored as metadata, by the verifier's own rules: a key naming one, or any ilst value typed as an
# image (QuickTime well-known types 13 JPEG, 14 PNG, 27 BMP). Players and file browsers show it; the scan
# never decoded it (published = scanned).
_KEY_PICTURE = re.compile(rb"(?i)artwork|cover|thumbnail|preview|poster")
_PICTURE_TYPES = frozenset({13, 14, 27})
# A picture in XMP text, by the verifier's own rules on the raw packet (any prefix, element or attribute
# form): a property named ``Thumbnails`` or ``image`` (xmp:Thumbnails, xmpGImg:image: what exiftool extracts
# as ThumbnailImage and file browsers show), or any value that starts as base64 of a JPEG, PNG, GIF or RIFF
# file, whatever its property's name. Both are "a substring is present" tests (no anchor): a match in a part
# of a packet is one in the whole (the carve's ``clean_xmp`` shortcut relies on it, as for ``has_location``).
# Found with ``bytes.find`` first: the equivalent regex searches (``(?i)[:<\s](thumbnails|image)\s*[=>]``
# and the one below) took 10-20x ``has_location`` on the XMP golden packets.
_PICTURE_NAMES = (b"thumbnails", b"image")
_NAME_BEFORE = frozenset(b":< \t\n\r\f\v")
_NAME_AFTER = re.compile(rb"\s*[=>]")
_PICTURE_DATA = re.compile(rb"[>\"']\s*(?:&#[xX]?[0-9a-fA-F]+;\s*)*(?:/9j/|iVBORw0KGgo|R0lGOD|UklGR)")


def _xmp_picture(packet: bytes) -> bool:
    low = packet.lower()
    for name in _PICTURE_NAMES:
        i = low.find(name, 1)
        while i >= 0:
            if low[i - 1] in _NAME_BEFORE and _NAME_AFTER.match(low, i + len(name)):
                return True
            i = low.find(name, i + 1)
    return (
        b"/9j/" in packet or b"iVBORw0KGgo" in packet or b"R0lGOD" in packet or b"UklGR" in packet
    ) and _PICTURE_DATA.search(packet) is not None


def xmp_findings(packet: bytes) -> set[str]:
    """Every code the verifier finds in one XMP packet (``xmp.location``, ``xmp.thumbnail``); empty: clean.
    The one check of XMP text in the verifier, wherever the packet was found; never the scrubber's filter."""
    found: set[str] = set()
    if xmp.has_location(packet):
        found.add("xmp.location")
    if _xmp_picture(packet):
        found.add("xmp.thumbnail")
    return found


def _jpeg(
    ctx: Ctx,
    found: set[str],
    lay: Layout | None,
    clean_exif: dict[int, int] | None,
    clean_xmp: list[tuple[int, int]] | None = None,
    clean_iptc: set[tuple[int, int]] | None = None,
) -> None:
    r = ctx.reader
    segs, sos = (lay.jpeg_segments, lay.jpeg_sos) if lay is not None else segments(ctx)
    for marker, off, total in segs:
        if marker not in (0xE1, 0xED) or total < 4:
            continue
        head = r.read_at(off + 4, min(64, total - 4))  # the whole payload only where it is parsed
        if head.startswith(EXIF_SIG):
            if exif.has_gps(r, off + 10, off + total):  # the TIFF block, bounded by its segment
                found.add("exif.gps")
            elif clean_exif is not None:
                clean_exif[off + 10] = off + total
        elif b"ns.adobe.com/xap/1.0/" in head or b"ns.adobe.com/xmp/extension" in head:
            codes = xmp_findings(r.read_at(off + 4, total - 4))
            found |= codes
            if not codes and clean_xmp is not None:
                clean_xmp.append((off + 4, off + total))
        elif marker == 0xED and head.startswith(iptc.PS_SIG):
            if iptc.irb_has_location(r.read_at(off + 4 + len(iptc.PS_SIG), total - 4 - len(iptc.PS_SIG))):
                found.add("iptc.location")
            elif clean_iptc is not None:
                clean_iptc.add((off + 4 + len(iptc.PS_SIG), off + total))
    # Secondary images (MPF) or a trailer after the primary scan data. Entropy-coded data cannot contain
    # FF E1, so without MPF and with the file ending at EOI there is nothing more to look at.
    has_mpf = (
        lay.jpeg_mpf
        if lay is not None  # the output's own layout walk looked for it
        else any(marker == 0xE2 and r.read_upto(off + 4, 4) == b"MPF\x00" for marker, off, _total in segs)
    )
    if not has_mpf and r.read_upto(max(sos, r.size - 4096), 4096).rstrip(b"\x00").endswith(b"\xff\xd9"):
        return
    pos = sos
    while True:
        i = r.find(b"\xff\xe1", pos)
        if i < 0:
            break
        pos = i + 2
        ctx.budget.tick()
        head = r.read_upto(i + 4, 32)
        if head.startswith(EXIF_SIG) or head.startswith(b"http://ns.adobe.com/x"):
            total = 2 + struct.unpack(">H", r.read_at(i + 2, 2))[0]
            payload = r.read_upto(i + 4, total - 4)
            if head.startswith(EXIF_SIG):
                if exif.has_gps(BytesReader(payload[6:])):
                    found.add("exif.gps")
            else:
                found |= xmp_findings(payload)


def _png(ctx: Ctx, found: set[str]) -> None:
    from tutela.scrub.png import (
        TEXT_INFLATE_LIMIT,
        chunks,
        exif_head,
        raw_profile,
        raw_profile_location,
        text_payload,
    )

    r = ctx.reader
    for ctype, off, length in chunks(ctx):
        if ctype in (b"eXIf", b"tEXt", b"zTXt", b"iTXt"):
            data = r.read_at(off + 8, length)
            if ctype == b"eXIf":
                if exif.has_gps(BytesReader(data[exif_head(data) :])):
                    found.add("exif.gps")
                continue
            key, text = text_payload(ctype, data, TEXT_INFLATE_LIMIT)
            if key == b"XML:com.adobe.xmp":
                found |= xmp_findings(text)
            elif key.lower() == b"raw profile type xmp":  # hex-encoded XMP (ImageMagick)
                packet = raw_profile(text)
                found |= {"png.text.location"} if packet is None else xmp_findings(packet)
            elif key.lower().startswith(b"raw profile type "):
                code = raw_profile_location(key[17:].lower(), text, ctx.budget)
                if code:
                    found.add(code)
            elif _PNG_LOC.search(key + b" " + text):
                found.add("png.text.location")
        elif ctype == b"zxIf":
            found.add("exif.unknown")


def _webp(ctx: Ctx, found: set[str]) -> None:
    from tutela.scrub.webp import chunks

    r = ctx.reader
    for ctype, off, length in chunks(ctx):
        if ctype == b"EXIF":
            data = r.read_at(off + 8, length)
            if data.startswith(b"Exif\x00\x00"):
                data = data[6:]
            if exif.has_gps(BytesReader(data)):
                found.add("exif.gps")
        elif ctype == b"XMP ":
            found |= xmp_findings(r.read_at(off + 8, length))


def _tiff(ctx: Ctx, found: set[str]) -> None:
    r = ctx.reader
    if exif.has_gps(r):
        found.add("exif.gps")
    # Embedded XMP / IPTC / Photoshop blocks in any IFD of the main chain and the EXIF IFD.
    e = "<" if r.read_at(0, 2) == b"II" else ">"
    stack = [struct.unpack(e + "I", r.read_at(4, 4))[0]]
    seen: set[int] = set()
    while stack:
        rel = stack.pop()
        if rel == 0 or rel in seen or len(seen) > ctx.limits.max_ifds:
            continue
        seen.add(rel)
        n = struct.unpack(e + "H", r.read_at(rel, 2))[0]
        ents = r.read_at(rel + 2, 12 * n + 4)
        for i in range(n):
            tag, typ, count, val = struct.unpack(e + "HHII", ents[12 * i : 12 * i + 12])
            size = exif.TYPE_SIZE.get(typ, 0) * count
            if tag == exif.TAG_EXIF_IFD:
                stack.append(val)
            if tag in (exif.TAG_XMP, exif.TAG_IPTC, exif.TAG_PHOTOSHOP) and size > 4:
                ctx.budget.check_meta(size, "TIFF metadata tag")
                blob = r.read_at(val, size)
                if tag == exif.TAG_XMP:
                    found |= xmp_findings(blob)
                elif (tag == exif.TAG_IPTC and iptc.iim_has_location(blob)) or (
                    tag == exif.TAG_PHOTOSHOP and iptc.irb_has_location(blob)
                ):
                    found.add("iptc.location")
        stack.append(struct.unpack(e + "I", ents[12 * n : 12 * n + 4])[0])


_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"udta", b"edts", b"moof", b"traf", b"mvex"})


def _boxes(ctx: Ctx, buf: bytes, start: int, end: int, found: set[str], depth: int) -> None:
    from tutela.scrub.isobmff import (
        GPS_FORMATS,
        KEEP_HANDLERS,
        META_XML,
        _meta_children_start,
        iter_boxes,
        movie_meta_items,
        track_parts,
    )

    if depth > ctx.limits.max_depth:
        found.add("too_deep")
        return
    for btype, off, hdr, bend in iter_boxes(buf, start, end, ctx):
        _slack(btype, buf, off + hdr, bend, found)
        if btype in (b"\xa9xyz",):
            found.add("qt.location")
        elif btype == b"loci":
            found.add("udta.loci")
        elif btype == b"XMP_":
            found |= xmp_findings(buf[off + hdr : bend])
        elif btype == b"uuid" and buf[off + hdr : off + hdr + 16] == xmp.XMP_UUID:
            found |= xmp_findings(buf[off + hdr + 16 : bend])
        elif btype == b"stsd":
            if bend - off - hdr >= 16 and buf[off + hdr + 12 : off + hdr + 16] in (b"camm", b"gpmd"):
                found.add("track.gps")
        elif btype in (b"camm", b"gpmd"):
            found.add("track.gps")
        elif btype == b"meta":
            cstart = _meta_children_start(buf, off, hdr, bend)
            if movie_meta_items(ctx, buf, off, cstart, bend):
                found.add("meta.items")
            names: list[bytes] = []
            for ctype, coff, chdr, cend in iter_boxes(buf, cstart, bend, ctx):
                if ctype == b"keys":
                    p = coff + chdr + 8
                    while p + 8 <= cend:
                        ks = struct.unpack(">I", buf[p : p + 4])[0]
                        if ks < 8:
                            found.add("keys.unparseable")
                            break
                        names.append(buf[p + 8 : p + ks])
                        p += ks
                elif ctype == b"ilst":
                    for itype, ioff, ihdr, iend in iter_boxes(buf, coff + chdr, cend, ctx):
                        if itype in (b"\xa9xyz", b"loci"):
                            found.add("qt.location")
                        idx = struct.unpack(">I", itype)[0]
                        name = names[idx - 1] if names and 1 <= idx <= len(names) else b""
                        if _KEY_LOC.search(name):
                            found.add("keys.location")
                        if (
                            itype == b"covr"
                            or _KEY_PICTURE.search(name)
                            or _typed_picture(ctx, buf, ioff + ihdr, iend)
                        ):
                            found.add("qt.cover_art")
                elif ctype in (b"udta", b"uuid", b"\xa9xyz", b"loci"):
                    _boxes(ctx, buf, coff, cend, found, depth + 1)
                elif ctype in META_XML:
                    found.add("meta.xml")  # any XML: readers make tags of its elements
        elif btype in _CONTAINERS or btype == b"stbl":
            if btype == b"trak":
                # a track whose samples a reader may take for timed metadata (any hdlr it meets, any entry)
                handlers, formats, _ = track_parts(ctx, buf, off + hdr, bend)
                if not handlers or handlers - KEEP_HANDLERS or formats & GPS_FORMATS:
                    found.add("track.metadata")
            _boxes(ctx, buf, off + hdr, bend, found, depth + 1)


def _slack(btype: bytes, buf: bytes, body: int, end: int, found: set[str]) -> None:
    """Bytes after a fixed-layout box's structure (read by nobody: hidden text no carve signature finds)
    must be zeros."""
    from tutela.scrub.isobmff import declared_end

    at = declared_end(btype, buf, body, end)
    if at is not None and buf[at:end].strip(b"\x00"):
        found.add("box.slack")


def _typed_picture(ctx: Ctx, buf: bytes, start: int, end: int) -> bool:
    """Whether an ilst item (children ``[start, end)``) has a ``data`` value typed as an image."""
    from tutela.scrub.isobmff import iter_boxes

    for dtype, doff, dhdr, dend in iter_boxes(buf, start, end, ctx):
        kind = (
            int.from_bytes(buf[doff + dhdr + 1 : doff + dhdr + 4], "big") if dend - doff - dhdr >= 4 else -1
        )
        if dtype == b"data" and kind in _PICTURE_TYPES:
            return True
    return False


def _isobmff(ctx: Ctx, found: set[str]) -> None:
    from tutela.scrub.isobmff import (
        META_XML,
        MFRA_KEEP,
        TOP_KEEP,
        _child,
        freegps_blocks,
        heif_items,
        insta360_trailer,
        item_kind,
        iter_boxes,
        preview_items,
        top_level,
    )

    r = ctx.reader
    boxes = list(top_level(ctx))
    if insta360_trailer(r):
        found.add("trailer.insta360")
    gps_list = False  # a moov 'gps ' box: a reader finds freeGPS blocks anywhere in mdat through it
    for btype, off, hdr, end in boxes:
        if btype not in TOP_KEEP:
            found.add("box.other")  # unparsed: what a reader finds there is unknown
        if btype == b"mfra":
            ctx.budget.check_meta(end - off, "mfra box")
            buf = r.read_at(off, end - off)
            for t, coff, chdr, cend in iter_boxes(buf, hdr, len(buf), ctx):
                if t not in MFRA_KEEP and (t != b"free" or buf[coff + chdr : cend].strip(b"\x00")):
                    found.add("box.other")  # only the index and zeroed padding
                _slack(t, buf, coff + chdr, cend, found)
        if btype in (b"sidx", b"prft"):
            ctx.budget.check_meta(end - off, "segment index box")
            _slack(btype, r.read_at(off, end - off), hdr, end - off, found)
        if btype in (b"moov", b"udta", b"uuid", b"meta", b"moof"):
            ctx.budget.check_meta(end - off, "metadata box")
            buf = r.read_at(off, end - off)
            if btype == b"moov" and _child(buf, hdr, len(buf), b"gps ", ctx) is not None:
                gps_list = True
            if btype == b"moov" and _child(buf, hdr, len(buf), b"cmov", ctx) is not None:
                found.add("moov.compressed")  # what it holds is compressed: unread counts as not clean
            if btype == b"meta" and ctx.media_type in ("heif", "avif"):
                children = [t for t, *_ in iter_boxes(buf, hdr + 4, len(buf), ctx)]
                if any(t in META_XML for t in children):
                    found.add("meta.xml")
                if children.count(b"pitm") > 1:
                    found.add("heif.pitm")  # readers disagree on the primary image (the first or the last)
                types, locs = heif_items(ctx, buf, off, hdr)
                for iid in preview_items(ctx, buf, hdr, types):
                    if any(a >= 0 and r.read_at(a, n).strip(b"\x00") for a, n in locs.get(iid, [])):
                        found.add("heif.preview")
                for iid, (itype, ctype) in types.items():
                    kind = item_kind(itype, ctype)
                    if kind is None:
                        continue
                    exts = locs.get(iid, [])
                    if any(a < 0 for a, _ in exts):
                        found.add("heif.item_unreadable")
                        continue
                    data = b"".join(r.read_at(a, n) for a, n in exts)
                    if kind == "exif":
                        skip = 4 + struct.unpack(">I", data[:4])[0] if len(data) >= 4 else 0
                        if exif.has_gps(BytesReader(data[skip:])):
                            found.add("exif.gps")
                    else:
                        found |= xmp_findings(data)
            else:
                _boxes(ctx, buf, 0, len(buf), found, 0)
    for btype, off, hdr, end in boxes:
        if btype == b"mdat" and freegps_blocks(ctx, off + hdr, end, gps_list):
            found.add("mdat.freegps")


def find_location_reader(
    reader: Reader,
    media_type: str,
    limits: ScrubLimits | None = None,
    lay: Layout | None = None,
    clean_exif: dict[int, int] | None = None,
    clean_xmp: list[tuple[int, int]] | None = None,
    clean_iptc: set[tuple[int, int]] | None = None,
) -> list[str]:
    """``lay``: this reader's own ``image_layout`` when the caller already walked it (its JPEG header
    segments are then not walked again). ``clean_exif``: filled with {TIFF header offset: end} of every
    EXIF block found clean here, ``clean_xmp`` with the [start, end) of every JPEG XMP payload found clean
    here, ``clean_iptc`` with the [start, end) of every APP13 resource block found clean here, for
    ``carve_location`` (see there)."""
    ctx = Ctx(reader, limits or ScrubLimits(), media_type)
    found: set[str] = set()
    try:
        if media_type == "jpeg":
            _jpeg(
                ctx,
                found,
                lay if lay is not None and lay.media_type == "jpeg" else None,
                clean_exif,
                clean_xmp,
                clean_iptc,
            )
        elif media_type == "png":
            _png(ctx, found)
        elif media_type == "webp":
            _webp(ctx, found)
        elif media_type == "tiff":
            _tiff(ctx, found)
        else:
            _isobmff(ctx, found)
    except TutelaError:
        found.add("unparseable")
    except (struct.error, ValueError, IndexError, zlib.error):
        found.add("unparseable")
    return sorted(found)


_RDF_NS = b"22-rdf-syntax-ns#"  # every XMP packet declares the RDF namespace, whatever its prefixes
_RDF_CLOSE = re.compile(rb"</[\w.-]*:?RDF\s*>")
_CARVE_WINDOW = 4 * 1024 * 1024
_SHORTEST_SIGNATURE = min(len(EXIF_SIG), len(_RDF_NS), len(iptc.PS_SIG))


def carve_location(
    reader: Reader,
    limits: ScrubLimits | None = None,
    ranges: list[tuple[int, int]] | None = None,
    clean_exif: dict[int, int] | None = None,
    clean_xmp: list[tuple[int, int]] | None = None,
    clean_iptc: set[tuple[int, int]] | None = None,
) -> list[str]:
    """Forensic carve, blind to the format: every EXIF block (``Exif\\0\\0`` + TIFF header), every XMP
    packet and every Photoshop/IPTC APP13 segment found — an appended or embedded JPEG, a polyglot, a gap no
    structure references — is checked for location. The format walkers above only see what the container
    points to; this sees what a carving tool would extract. ``ranges``: where to look (default: the whole
    file; the JPEG verifier passes everything but the entropy-coded scan data, which is pixels).

    ``clean_exif`` ({TIFF header offset: end}, from ``find_location_reader`` on these same bytes): an EXIF
    block at one of those offsets is not walked again where the carve's bound is the same or further.
    ``has_gps`` only ever reads more with a further bound where a nearer one made it fail (an offset past
    the bound counts as GPS), so a walk that ended clean at ``end`` ends clean at any bound >= ``end``.

    ``clean_xmp`` ([start, end) ranges of these same bytes that ``xmp_findings`` found clean): a carved
    packet lying wholly inside one is not checked again. ``xmp_findings`` is monotone in its input: its
    keyword test is "a substring is present" and its patterns have no anchor nor lookaround, so whatever it
    finds in a part of a range it finds in the whole range; clean over the range is clean over any part.

    ``clean_iptc`` ([start, end) of resource blocks ``iptc.irb_has_location`` found clean in these same
    bytes): a carved block with exactly those bounds is not checked again (the same bytes give the same
    answer; a block cut shorter is checked, as a truncated block is not clean)."""
    found: set[str] = set()
    for a, b in ranges if ranges is not None else [(0, reader.size)]:
        if b - a >= _SHORTEST_SIGNATURE:  # a shorter range holds none of the three signatures
            _carve(reader, a, b, limits, found, clean_exif or {}, clean_xmp or [], clean_iptc or set())
    return sorted(found)


def _find(reader: Reader, pattern: bytes, pos: int, end: int) -> int:
    if type(reader) is BytesReader:
        return reader._data.find(pattern, pos, end)
    if type(reader) is SplicedReader and end <= reader.prefix_size:
        return reader.prefix().find(pattern, pos, end)
    window = 4 * 1024 * 1024  # bounded by ``end``: never reads past the range (an S3 object's mdat)
    while pos < end:
        buf = reader.read_upto(pos, min(window, end - pos))
        i = buf.find(pattern)
        if i >= 0:
            return pos + i
        if pos + len(buf) >= end or not buf:
            return -1
        pos += len(buf) - len(pattern) + 1
    return -1


def _carve(
    reader: Reader,
    a: int,
    b: int,
    limits: ScrubLimits | None,
    found: set[str],
    clean_exif: dict[int, int],
    clean_xmp: list[tuple[int, int]],
    clean_iptc: set[tuple[int, int]],
) -> None:
    budget = Budget(limits or ScrubLimits())
    pos = a
    while (i := _find(reader, b"Exif\x00\x00", pos, b)) >= 0:
        budget.tick()
        pos = i + 6
        if clean_exif.get(i + 6, b + 1) <= b:  # walked clean to a nearer bound: clean to this one
            continue
        if reader.read_upto(i + 6, 4) in (b"II*\x00", b"MM\x00*") and exif.has_gps(reader, i + 6, b):
            found.add("carved.exif.gps")
    pos = a
    while (i := _find(reader, _RDF_NS, pos, b)) >= 0:
        budget.tick()
        pos = i + len(_RDF_NS)
        window = reader.read_upto(i, min(_CARVE_WINDOW, b - i))
        m = _RDF_CLOSE.search(window)
        packet = window[: m.end()] if m else window
        if any(s <= i and i + len(packet) <= e for s, e in clean_xmp):  # part of a range found clean
            continue
        found.update("carved." + code for code in xmp_findings(packet))
    pos = a
    while (i := _find(reader, iptc.PS_SIG, pos, b)) >= 0:
        budget.tick()
        pos = i + len(iptc.PS_SIG)
        if i >= a + 4 and reader.read_upto(i - 4, 2) == b"\xff\xed":
            length = struct.unpack(">H", reader.read_upto(i - 2, 2))[0]
            n = min(b - pos, max(0, length - 2 - len(iptc.PS_SIG)))
            if (pos, pos + n) in clean_iptc:  # the very block found clean
                continue
            if iptc.irb_has_location(reader.read_upto(pos, n)):
                found.add("carved.iptc.location")
