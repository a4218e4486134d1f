"""TIFF: in-place IFD surgery (strip/tile offsets never move); the output is what the IFDs reference.

Bytes that no kept IFD, value or strip/tile references are zeroed (an unreferenced gap is where an
appended JPEG with GPS or an orphaned SubIFD image would hide), and the file is cut after the last
referenced byte (trailing data is dropped), so what is published is exactly the pages the scanner reads.
"""

from __future__ import annotations

from tutela.scrub import exif
from tutela.scrub.core import Ctx, Plan


def scrub(ctx: Ctx) -> Plan:
    r = ctx.reader
    res = exif.sanitize(r, 0, r.size, ctx.budget, whole_tiff=True)
    for c in res.removed:
        ctx.remove(c)
    for c in res.kept:
        ctx.keep(c)
    end = min(r.size, max(b for _, b in res.referenced))
    gaps = exif._subtract([(0, end)], res.referenced)
    if end < r.size:
        ctx.remove("tiff.trailer")
    if any(b - a > 1 for a, b in gaps):  # word-alignment padding is not worth a code
        ctx.remove("tiff.unreferenced")
    patches: list[tuple[int, bytes | int]] = [(a, b - a) for a, b in gaps]
    for off, p in res.patches:  # data of removed tags may lie after the cut
        n = p if isinstance(p, int) else len(p)
        if off + n <= end:
            patches.append((off, p))
        elif off < end:
            patches.append((off, end - off if isinstance(p, int) else p[: end - off]))
    return Plan.from_patches(end, patches)
