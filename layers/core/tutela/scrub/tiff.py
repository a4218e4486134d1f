"""TIFF: in-place IFD surgery over the whole file (strip/tile offsets never move)."""

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
    return Plan.from_patches(r.size, res.patches)
