"""JPEG: rewrite the header segments up to the first SOS; the entropy-coded data is copied verbatim.

APP1 EXIF is sanitised in place (same size, thumbnail IFD1 dropped), APP1 XMP is filtered, extended XMP
and unknown APPn/COM segments are dropped, APP13 IPTC loses its location/creator datasets. APP0 (JFIF),
APP2 ICC_PROFILE/MPF, APP14 Adobe and all frame/table segments are kept byte for byte. When an MPF
index is present, every edit keeps segment sizes (MPF offsets and the primary image length stay valid).
Secondary images after EOI (MPF/Ultra HDR) get their EXIF/XMP sanitised in place; an appended video in
an MPF file is refused, fail closed. Without MPF, any trailer after the primary EOI is dropped.
"""

from __future__ import annotations

import struct

from tutela.errors import CorruptMediaError, UnsupportedMediaError
from tutela.scrub import exif, iptc, xmp
from tutela.scrub.core import Ctx, Plan

EXIF_SIG = b"Exif\x00\x00"
ICC_SIG = b"ICC_PROFILE\x00"
MPF_SIG = b"MPF\x00"
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def segments(ctx: Ctx) -> tuple[list[tuple[int, int, int]], int]:
    """(marker, segment offset, total length incl. marker) up to SOS; returns (segments, sos offset)."""
    r = ctx.reader
    if r.read_at(0, 2, "JPEG header") != b"\xff\xd8":
        raise CorruptMediaError("not a JPEG (missing SOI)")
    pos = 2
    out = []
    while True:
        ctx.budget.tick()
        b = r.read_at(pos, 2, "JPEG segment")
        if b[0] != 0xFF:
            raise CorruptMediaError("JPEG segment marker expected")
        marker = b[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            out.append((marker, pos, 2))
            pos += 2
            continue
        if marker == 0xD9:
            raise CorruptMediaError("JPEG ends before any image data")
        length = struct.unpack(">H", r.read_at(pos + 2, 2, "JPEG segment length"))[0]
        if length < 2:
            raise CorruptMediaError("JPEG segment with impossible length")
        if pos + 2 + length > r.size:
            raise CorruptMediaError("truncated JPEG segment")
        if marker == 0xDA:
            return out, pos
        out.append((marker, pos, 2 + length))
        pos += 2 + length


def _seg(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise CorruptMediaError("JPEG segment would overflow")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _com_filler(total: int) -> bytes:
    return _seg(0xFE, b"\x00" * (total - 4))


def scrub(ctx: Ctx) -> Plan:
    r = ctx.reader
    segs, sos = segments(ctx)
    plan = Plan()
    plan.copy(0, 2)
    # With an MPF index every segment keeps its size: MPF offsets are relative to the index and the
    # primary image's MPImageLength covers the whole first JPEG.
    same_size = any(m == 0xE2 and r.read_upto(o + 4, 4) == MPF_SIG for m, o, _ in segs)
    for marker, off, total in segs:
        if marker in _STANDALONE:
            plan.copy(off, total)
            continue
        ctx.budget.check_meta(total, "JPEG segment")
        payload = r.read_at(off + 4, total - 4) if marker in (0xE1, 0xED) or 0xE0 <= marker <= 0xEF else b""
        new: bytes | None = None  # None: keep; b"": drop; else replacement segment
        if marker == 0xE1 and payload.startswith(EXIF_SIG):
            block, removed, kept = exif.sanitize_block(payload[6:], ctx.budget)
            for c in removed:
                ctx.remove(c)
            for c in kept:
                ctx.keep(c)
            new = _seg(0xE1, EXIF_SIG + block) if removed else None
        elif marker == 0xE1 and payload.startswith(xmp.JPEG_XMP_SIG):
            body = payload[len(xmp.JPEG_XMP_SIG) :]
            if same_size:
                nb, removed = xmp.sanitize_same_size(body)
            else:
                nb, removed = xmp.sanitize(body)
                if nb is not None and len(nb) + len(xmp.JPEG_XMP_SIG) + 2 > 0xFFFF:
                    nb, removed = xmp.sanitize_same_size(body)
            for c in removed:
                ctx.remove(c)
            if nb is not None:
                new = _seg(0xE1, xmp.JPEG_XMP_SIG + nb)
        elif marker == 0xE1 and payload.startswith(xmp.JPEG_XMP_EXT_SIG):
            if xmp.has_location(payload):
                ctx.remove("xmp.location")
            ctx.remove("xmp.extended")
            new = b""
        elif marker == 0xED and payload.startswith(iptc.PS_SIG):
            body, removed = iptc.sanitize_irb(payload[len(iptc.PS_SIG) :])
            for c in removed:
                ctx.remove(c)
            if removed:
                new = _seg(0xED, iptc.PS_SIG + body) if body else b""
                if same_size and new:
                    new = new[:2] + struct.pack(">H", total - 2) + new[4:] + b"\x00" * (total - len(new))
        elif marker == 0xE2 and payload.startswith(ICC_SIG):
            ctx.keep("icc_profile")
        elif marker == 0xE2 and payload.startswith(MPF_SIG):
            ctx.keep("jpeg.mpf")
        elif marker == 0xE0 or marker == 0xEE:  # JFIF/JFXX, Adobe
            pass
        elif 0xE0 <= marker <= 0xEF or marker == 0xFE:
            ctx.remove("jpeg.comment" if marker == 0xFE else f"jpeg.app{marker - 0xE0}")
            new = b""
        if new is None:
            plan.copy(off, total)
        elif new == b"":
            if same_size:
                plan.data(_com_filler(total))
        else:
            if same_size and len(new) != total:
                raise CorruptMediaError("cannot keep JPEG segment size")
            plan.data(new)
    if "jpeg.mpf" in ctx.kept:
        _scrub_tail(ctx, sos, plan)
    else:
        # No MPF index: anything after the primary image's EOI is a vendor trailer (Samsung SEFT, appended
        # motion-photo video, depth maps...) that no decoder needs and that may carry location. Dropped.
        # Fast path: the file ends with EOI (optionally zero padded), so there is no trailer to find.
        tail = r.read_upto(max(sos, r.size - 4096), 4096).rstrip(b"\x00")
        end = r.size
        if not tail.endswith(b"\xff\xd9"):
            eoi = r.find(b"\xff\xd9", sos)
            if eoi >= 0:
                end = eoi + 2
                ctx.remove("jpeg.trailer")
        plan.copy(sos, end - sos)
    return plan


def _scrub_tail(ctx: Ctx, sos: int, plan: Plan) -> None:
    """MPF: image data is copied; EXIF/XMP of the secondary images is sanitised in place."""
    r = ctx.reader
    patches: list[tuple[int, bytes | int]] = []
    for sig in (b"Exif\x00\x00", xmp.JPEG_XMP_SIG):
        pos = sos
        while True:
            i = r.find(sig, pos)
            if i < 0:
                break
            pos = i + 1
            ctx.budget.tick()
            if i < sos + 4 or r.read_at(i - 4, 2) != b"\xff\xe1":
                continue
            total = 2 + struct.unpack(">H", r.read_at(i - 2, 2))[0]
            if i - 4 + total > r.size:
                continue
            payload = r.read_at(i, total - 4)
            if sig == EXIF_SIG:
                try:
                    block, removed, _ = exif.sanitize_block(payload[6:], ctx.budget)
                except CorruptMediaError:
                    block, removed = b"\x00" * (len(payload) - 6), {"exif.embedded_image"}
                if removed:
                    patches.append((i + 6, block))
            else:
                nb, removed = xmp.sanitize_same_size(payload[len(sig) :])
                if nb is not None:
                    patches.append((i + len(sig), nb))
            for c in removed:
                ctx.remove(c)
    if r.find(b"ftyp", sos) >= 0:
        i = r.find(b"ftyp", sos)
        if r.read_at(i - 4, 4) and struct.unpack(">I", r.read_at(i - 4, 4))[0] in range(8, 4096):
            raise UnsupportedMediaError("JPEG with an appended video (motion photo) is not supported")
    sub = Plan.from_patches(r.size - sos, [(o - sos, p) for o, p in patches])
    for piece in sub.pieces:
        if hasattr(piece, "offset"):
            plan.copy(sos + piece.offset, piece.length)  # type: ignore[union-attr]
        else:
            plan.pieces.append(piece)
