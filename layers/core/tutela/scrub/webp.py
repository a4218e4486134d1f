"""WebP (RIFF): EXIF chunk sanitised in place, XMP chunk filtered, unknown chunks dropped; VP8/VP8L/
ALPH/ANIM/ANMF/ICCP copied by range. RIFF size and VP8X flags are rewritten to match."""

from __future__ import annotations

import struct

from tutela.errors import CorruptMediaError
from tutela.scrub import exif, xmp
from tutela.scrub.core import Ctx, Data, Plan

SAFE = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
F_ICC, F_EXIF, F_XMP = 0x20, 0x08, 0x04


def chunks(ctx: Ctx) -> list[tuple[bytes, int, int]]:
    r = ctx.reader
    head = r.read_at(0, 12, "RIFF header")
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise CorruptMediaError("bad WebP header")
    riff_end = 8 + struct.unpack("<I", head[4:8])[0]
    if riff_end > r.size or riff_end < 12:
        raise CorruptMediaError("RIFF size does not match the file")
    pos = 12
    out = []
    while pos + 8 <= riff_end:
        ctx.budget.tick()
        ctype, length = struct.unpack("<4sI", r.read_at(pos, 8, "WebP chunk"))
        if pos + 8 + length > riff_end:
            raise CorruptMediaError("truncated WebP chunk")
        out.append((ctype, pos, length))
        pos += 8 + length + (length & 1)
    if pos < riff_end and pos != riff_end:
        raise CorruptMediaError("trailing bytes inside RIFF")
    if not out:
        raise CorruptMediaError("WebP without chunks")
    return out


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return ctype + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


def scrub(ctx: Ctx) -> Plan:
    r = ctx.reader
    body = Plan()
    flags_clear = 0
    vp8x_index = -1
    for ctype, off, length in chunks(ctx):
        total = 8 + length + (length & 1)
        if off + total > r.size:
            total = 8 + length
        if ctype in SAFE:
            if ctype == b"ICCP":
                ctx.keep("icc_profile")
            if ctype == b"VP8X":
                vp8x_index = len(body.pieces)
                body.data(r.read_at(off, total))
            else:
                body.copy(off, total)
            continue
        ctx.budget.check_meta(length, "WebP metadata chunk")
        data = r.read_at(off + 8, length)
        if ctype == b"EXIF":
            blk = data[6:] if data.startswith(b"Exif\x00\x00") else data
            try:
                block, removed, kept = exif.sanitize_block(blk, ctx.budget)
            except CorruptMediaError:
                ctx.remove("exif.unparseable")
                flags_clear |= F_EXIF
                continue
            for c in removed:
                ctx.remove(c)
            for c in kept:
                ctx.keep(c)
            body.data(_chunk(ctype, data[: len(data) - len(blk)] + block))
        elif ctype == b"XMP ":
            nb, removed = xmp.sanitize(data)
            for c in removed:
                ctx.remove(c)
            if nb is None:
                body.copy(off, total)
            else:
                body.data(_chunk(ctype, nb))
        else:
            ctx.remove(f"webp.chunk.{ctype.decode('ascii', 'replace').strip()}")
    if flags_clear and vp8x_index >= 0:
        piece = body.pieces[vp8x_index]
        assert isinstance(piece, Data)
        b = bytearray(piece.data)
        b[8] &= ~flags_clear & 0xFF
        body.pieces[vp8x_index] = Data(bytes(b))
    if 8 + struct.unpack("<I", r.read_at(4, 4))[0] < r.size:
        ctx.remove("webp.trailer")  # bytes after the RIFF chunk are not copied
    plan = Plan()
    plan.data(b"RIFF" + struct.pack("<I", 4 + body.size) + b"WEBP")
    plan.pieces.extend(body.pieces)
    return plan
