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


FRAME_KEEP = frozenset({b"ALPH", b"VP8 ", b"VP8L"})


def _frame(ctx: Ctx, body: Plan, off: int, length: int, total: int) -> None:
    """An animation frame: its 16-byte header and its image chunks. Any other chunk inside it (the format
    allows unknown ones there; libwebp skips them) is dropped like an unknown top-level chunk: an EXIF
    chunk's bare TIFF with GPS there was published, found by neither exiftool nor the verifier's carve
    (which looks for ``Exif\0\0``). A frame whose chunks do not tile it is copied as it is (no decoder
    reads it either: the scan holds the file)."""
    r = ctx.reader
    pos, end = off + 8 + 16, off + 8 + length
    subs: list[tuple[bytes, int, int]] = []
    while pos + 8 <= end:
        ctx.budget.tick()
        ctype, n = struct.unpack("<4sI", r.read_at(pos, 8, "WebP frame chunk"))
        size = 8 + n + (n & 1)
        if pos + 8 + n > end:
            body.copy(off, total)
            return
        subs.append((ctype, pos, min(size, end - pos)))
        pos += size
    if all(t in FRAME_KEEP for t, _, _ in subs):
        body.copy(off, total)
        return
    kept = [(p, n) for t, p, n in subs if t in FRAME_KEEP]
    for t, _, _ in subs:
        if t not in FRAME_KEEP:
            ctx.remove(f"webp.chunk.{t.decode('ascii', 'replace').strip()}")
    new_length = 16 + sum(n for _, n in kept)
    body.data(b"ANMF" + struct.pack("<I", new_length))
    body.copy(off + 8, 16)
    for p, n in kept:
        body.copy(p, n)


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
            elif ctype == b"ANMF":
                _frame(ctx, body, off, length, total)
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
