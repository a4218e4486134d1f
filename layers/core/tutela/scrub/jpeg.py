"""JPEG: rewrite the header segments up to the first SOS; the entropy-coded data is copied verbatim.

APP1 EXIF is sanitised in place (same size, thumbnail IFD1 dropped), APP1 XMP is filtered, extended XMP
and unknown APPn/COM segments are dropped, APP13 IPTC loses its location/creator datasets. APP0 JFIF (without
its thumbnail), APP14 Adobe (its 12 bytes), APP2 ICC_PROFILE/MPF and all frame/table segments are kept.

The output ends at the image's end as ``layout`` walks it (every scan to EOI): anything appended after it
— a second JPEG with GPS, a ZIP, a vendor trailer, a motion-photo video — is cut. APPn/COM segments hidden
between scans are dropped. With an MPF index (MPO, Ultra HDR) every listed image is kept and its header
scrubbed like the primary's, with every edit keeping segment sizes (MPF offsets stay valid); bytes between
the listed images are zeroed.
"""

from __future__ import annotations

import struct

from tutela.errors import CorruptMediaError
from tutela.scrub import exif, iptc, xmp
from tutela.scrub.core import Ctx, Plan
from tutela.scrub.layout import image_layout, jpeg_header

EXIF_SIG = b"Exif\x00\x00"
ICC_SIG = b"ICC_PROFILE\x00"
MPF_SIG = b"MPF\x00"
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def segments(ctx: Ctx) -> tuple[list[tuple[int, int, int]], int]:
    """(marker, segment offset, total length incl. marker) up to SOS; returns (segments, sos offset)."""
    segs, sos, _ = jpeg_header(ctx, 0)
    return segs, sos


def _seg(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise CorruptMediaError("JPEG segment would overflow")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _com_filler(total: int) -> bytes:
    return _seg(0xFE, b"\x00" * (total - 4))


def _edit(ctx: Ctx, marker: int, off: int, total: int, same_size: bool) -> bytes | None:
    """None: keep the segment; b"": drop it; else the replacement segment (same size if ``same_size``)."""
    r = ctx.reader
    ctx.budget.check_meta(total, "JPEG segment")
    payload = r.read_at(off + 4, total - 4) if 0xE0 <= marker <= 0xEF else b""
    new: bytes | None = None
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
    elif (
        marker in (0xE0, 0xEE)
        and payload[:5] in (b"JFIF\x00", b"Adobe")
        and len(payload) >= 14 - 2 * (marker == 0xEE)
    ):
        # JFIF: version, density (what display needs); its optional thumbnail is an image nobody scanned (as
        # EXIF's IFD1, which goes too). Adobe: the 12 bytes that name the colour transform. Anything after
        # them is no part of either, kept nowhere.
        keep = payload[:12] + b"\x00\x00" if marker == 0xE0 else payload[:12]
        if keep != payload:
            ctx.remove("jpeg.jfif_thumbnail" if marker == 0xE0 else "jpeg.app14")
            new = _seg(marker, keep)
            if same_size:
                new = new[:2] + struct.pack(">H", total - 2) + new[4:] + b"\x00" * (total - len(new))
    elif 0xE0 <= marker <= 0xEF or marker == 0xFE:  # JFXX (thumbnails), unknown APPn, comments
        ctx.remove("jpeg.comment" if marker == 0xFE else f"jpeg.app{marker - 0xE0}")
        new = b""
    if new is not None and same_size:
        if new == b"":
            return _com_filler(total)
        if len(new) != total:
            raise CorruptMediaError("cannot keep JPEG segment size")
    return new


def scrub(ctx: Ctx) -> Plan:
    r = ctx.reader
    lay = ctx.layout = image_layout(r, "jpeg", ctx=ctx)
    segs, sos = lay.jpeg_segments, lay.jpeg_sos
    # With an MPF index every segment keeps its size: MPF offsets are relative to the index and the
    # primary image's MPImageLength covers the whole first JPEG.
    same_size = lay.jpeg_mpf
    plan = Plan()
    meta_limit = ctx.limits.max_metadata_bytes
    start, stop = 0, 2  # the run of kept bytes not yet in the plan (SOI first): one Copy per run
    for marker, off, total in segs:
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            new = _edit(ctx, marker, off, total, same_size)
        else:  # frame/table segments: kept as they are
            if total > meta_limit:
                ctx.budget.check_meta(total, "JPEG segment")
            new = None
        if new is None:
            if off != stop:
                plan.copy(start, stop - start)
                start = off
            stop = off + total
        else:
            plan.copy(start, stop - start)
            start = stop = off + total
            if new:
                plan.data(new)
    plan.copy(start, stop - start)
    # After the first SOS: scan data copied, APPn/COM between scans dropped (same size: COM filler),
    # secondary MPF images' headers scrubbed in place, gaps between images zeroed, nothing after the end.
    patches: list[tuple[int, bytes | int]] = []
    for marker, off, total in lay.jpeg_inner_segments:
        ctx.remove("jpeg.comment" if marker == 0xFE else f"jpeg.app{marker - 0xE0}")
        patches.append((off, _com_filler(total) if same_size else -total))
    prev = lay.jpeg_images[0][1]
    for start, length in lay.jpeg_images[1:]:
        if start > prev:
            patches.append((prev, start - prev))
        sub_segs, _, _ = jpeg_header(ctx, start)
        for marker, off, total in sub_segs:
            if marker in _STANDALONE:
                continue
            new = _edit(ctx, marker, off, total, True)
            if new is not None:
                patches.append((off, new))
        prev = start + length
    patches.extend(lay.jpeg_padding)
    if lay.end < r.size:
        ctx.remove("jpeg.trailer")
    _apply(plan, sos, lay.end, patches)
    return plan


def _apply(plan: Plan, start: int, end: int, patches: list[tuple[int, bytes | int]]) -> None:
    """Copy [start, end) with patches: bytes overwrite, a positive int zeroes, a negative int drops."""
    pos = start
    for off, p in sorted(patches, key=lambda x: x[0]):
        if off < pos:
            raise CorruptMediaError("overlapping JPEG segments")
        plan.copy(pos, off - pos)
        if isinstance(p, bytes):
            plan.data(p)
            pos = off + len(p)
        elif p >= 0:
            plan.zero(p)
            pos = off + p
        else:
            pos = off - p
    plan.copy(pos, end - pos)
