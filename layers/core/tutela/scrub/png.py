"""PNG: chunk filter. Image chunks are copied by range; eXIf is sanitised in place; the XMP iTXt
chunk is filtered; every other text chunk (tEXt/zTXt/iTXt, including ImageMagick's hex "Raw profile"
EXIF/IPTC copies) and unknown ancillary chunks are dropped (fail closed)."""

from __future__ import annotations

import re
import struct
import zlib

from tutela.errors import CorruptMediaError
from tutela.scrub import exif, iptc, xmp
from tutela.scrub.core import Budget, BytesReader, Ctx, Plan

SIG = b"\x89PNG\r\n\x1a\n"
XMP_KEY = b"XML:com.adobe.xmp"
SAFE = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP"}
    | {b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT", b"CgBI"}
)
TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# Text chunks are dropped anyway; they are inflated only to report/verify location, so a small cap keeps a
# file full of zTXt bombs cheap (each chunk also ticks the time budget).
TEXT_INFLATE_LIMIT = 4 * 1024 * 1024
_LOC_HINT = re.compile(rb"(?i)gps|latitude|longitude|location|city|country|province")


EXIF_HEADER = b"Exif\x00\x00"


def exif_head(data: bytes) -> int:
    """Where the TIFF header of an eXIf chunk starts: writers often keep JPEG's "Exif\\0\\0" before it, and
    readers (Pillow, exiftool) skip it and read the GPS behind it, so it is scrubbed behind it too."""
    return len(EXIF_HEADER) if data.startswith(EXIF_HEADER) else 0


def chunks(ctx: Ctx) -> list[tuple[bytes, int, int]]:
    """(type, chunk offset, data length) for every chunk up to IEND."""
    r = ctx.reader
    if r.read_at(0, 8, "PNG signature") != SIG:
        raise CorruptMediaError("bad PNG signature")
    pos = 8
    out = []
    while True:
        ctx.budget.tick()
        head = r.read_at(pos, 8, "PNG chunk header")
        length, ctype = struct.unpack(">I4s", head)
        if length > 0x7FFFFFFF or pos + 12 + length > r.size:
            raise CorruptMediaError("truncated PNG chunk")
        if not ctype.isalpha():
            raise CorruptMediaError("invalid PNG chunk type")
        out.append((ctype, pos, length))
        pos += 12 + length
        if ctype == b"IEND":
            return out


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def text_payload(ctype: bytes, data: bytes, limit: int) -> tuple[bytes, bytes]:
    """(keyword, decoded text) of a text chunk; undecodable text is returned raw."""
    key, _, rest = data.partition(b"\x00")
    try:
        if ctype == b"zTXt":
            d = zlib.decompressobj()
            return key, d.decompress(rest[1:], limit)
        if ctype == b"iTXt":
            flag, _method = rest[0], rest[1]
            rest = rest[2:]
            _lang, _, rest = rest.partition(b"\x00")
            _tkey, _, text = rest.partition(b"\x00")
            if flag:
                d = zlib.decompressobj()
                return key, d.decompress(text, limit)
            return key, text
    except (zlib.error, IndexError):
        return key, rest
    return key, rest


def raw_profile(text: bytes) -> bytes | None:
    """Decode ImageMagick's "Raw profile type X" text: "\\nname\\n   length\\nhex..."."""
    parts = text.split(b"\n", 3)
    if len(parts) < 4:
        return None
    try:
        n = int(parts[2].strip())
        data = bytes.fromhex(parts[3].replace(b"\n", b"").strip().decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    return data[:n]


def raw_profile_location(kind: bytes, text: bytes, budget: Budget) -> str | None:
    """Location code for a raw EXIF/IPTC/XMP profile, if it carries one (undecodable counts as location)."""
    data = raw_profile(text)
    if data is None:
        return "png.text.location"
    if kind in (b"exif", b"app1"):
        if data.startswith(b"Exif\x00\x00"):
            data = data[6:]
        return "exif.gps" if exif.has_gps(BytesReader(data)) else None
    if kind in (b"iptc", b"8bim"):
        if iptc.irb_has_location(data) if data.startswith(b"8BIM") else iptc.iim_has_location(data):
            return "iptc.location"
        return None
    if kind == b"xmp":
        return "xmp.location" if xmp.has_location(data) else None
    return "png.text.location" if _LOC_HINT.search(data[:65536]) else None


def scrub(ctx: Ctx) -> Plan:
    r = ctx.reader
    plan = Plan()
    plan.copy(0, 8)
    for ctype, off, length in chunks(ctx):
        total = 12 + length
        if ctype in SAFE:
            if ctype == b"iCCP":
                ctx.keep("icc_profile")
            plan.copy(off, total)
            continue
        ctx.budget.check_meta(length, "PNG metadata chunk")
        data = r.read_at(off + 8, length)
        if ctype == b"eXIf":
            at = exif_head(data)
            block, removed, kept = exif.sanitize_block(data[at:], ctx.budget)
            for c in removed:
                ctx.remove(c)
            for c in kept:
                ctx.keep(c)
            if removed:
                plan.data(_chunk(ctype, data[:at] + block))
            else:
                plan.copy(off, total)
            continue
        if ctype in TEXT:
            key, text = text_payload(ctype, data, TEXT_INFLATE_LIMIT)
            if ctype == b"iTXt" and key == XMP_KEY and data[len(key) + 1] == 0:
                # Uncompressed XMP iTXt: filter it.
                nb, removed = xmp.sanitize(text)
                for c in removed:
                    ctx.remove(c)
                if nb is None:
                    plan.copy(off, total)
                else:
                    head = data[: len(data) - len(text)]
                    plan.data(_chunk(ctype, head + nb))
                continue
            if key == XMP_KEY:
                ctx.remove("xmp.location" if xmp.has_location(text) else "xmp.compressed")
            elif key.lower().startswith(b"raw profile type "):
                code = raw_profile_location(key[17:].lower(), text, ctx.budget)
                if code:
                    ctx.remove(code)
            elif _LOC_HINT.search(key + b" " + text[:65536]):
                ctx.remove("png.text.location")
            ctx.remove("png.text")
            continue
        ctx.remove(f"png.chunk.{ctype.decode('ascii', 'replace')}")
    if plan.size and off + total < r.size:
        ctx.remove("png.trailer")  # bytes after IEND are not copied
    return plan
