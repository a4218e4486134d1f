"""A minimal HEIF/AVIF writer for hostile item structures (derived images, properties, references).

Coded pictures come from pillow-heif (HEVC) or OpenCV (AV1): ``coded`` pulls the one image item's decoder
configuration, size and bitstream out of such a file; ``heif`` writes a new file around any number of
items, properties and references, with every item's data in one ``mdat``."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full(kind: bytes, version: int, flags: int, body: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + body)


@dataclass
class Coded:
    """One coded picture: item type, its configuration property (hvcC/av1C), size and bitstream."""

    itype: bytes
    config: bytes
    width: int
    height: int
    data: bytes


def _children(buf: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    out, pos = [], start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", buf[pos : pos + 8])
        out.append((kind, pos, pos + size))
        pos += size
    return out


def coded(file: bytes) -> Coded:
    """The primary (only) coded image of a single-image HEIC/AVIF as written by pillow-heif or OpenCV."""
    meta = next((o, e) for k, o, e in _children(file, 0, len(file)) if k == b"meta")
    kids = {k: (o, e) for k, o, e in _children(file, meta[0] + 12, meta[1])}
    o, e = kids[b"iprp"]
    ipco = next((o2, e2) for k, o2, e2 in _children(file, o + 8, e) if k == b"ipco")
    props = {k: file[o2:e2] for k, o2, e2 in _children(file, ipco[0] + 8, ipco[1])}
    config = props.get(b"hvcC") or props[b"av1C"]
    w, h = struct.unpack(">II", props[b"ispe"][12:20])
    o, e = kids[b"iloc"]
    body = file[o + 8 : e]
    ver = body[0]
    osz, lsz, bsz = body[4] >> 4, body[4] & 15, body[5] >> 4
    isz = body[5] & 15 if ver in (1, 2) else 0
    p = 6
    count = int.from_bytes(body[p : p + 2], "big")
    p += 2
    data = b""
    for _ in range(count):
        p += 2 + (2 if ver in (1, 2) else 0) + 2
        base = int.from_bytes(body[p : p + bsz], "big")
        p += bsz
        n = int.from_bytes(body[p : p + 2], "big")
        p += 2
        chunk = b""
        for _ in range(n):
            p += isz
            eo = int.from_bytes(body[p : p + osz], "big")
            p += osz
            el = int.from_bytes(body[p : p + lsz], "big")
            p += lsz
            chunk += file[base + eo : base + eo + el]
        if len(chunk) > len(data):
            data = chunk  # the image, not an Exif item
    itype = b"hvc1" if config[4:8] == b"hvcC" else b"av01"
    return Coded(itype, config, w, h, data)


def hevc(pixels: Any, quality: int = 90) -> Coded:
    """An RGB (h, w, 3) uint8 array as one HEVC-coded picture (pillow-heif)."""
    import pillow_heif
    from PIL import Image

    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(pixels)).save(buf, quality=quality)
    return coded(buf.getvalue())


def av1(pixels: Any) -> Coded:
    """An RGB array as one AV1-coded picture (OpenCV's AVIF writer)."""
    import cv2

    ok, enc = cv2.imencode(".avif", np.ascontiguousarray(pixels[..., ::-1]))
    assert ok
    return coded(enc.tobytes())


@dataclass
class Item:
    iid: int
    itype: bytes
    data: bytes = b""
    props: list[bytes] = field(default_factory=list)  # property boxes (ipco entries), essential or not
    hidden: bool = False
    name: bytes = b""
    content_type: bytes = b""


def ispe(w: int, h: int) -> bytes:
    return full(b"ispe", 0, 0, struct.pack(">II", w, h))


def image(iid: int, c: Coded, *extra: bytes, hidden: bool = False) -> Item:
    return Item(iid, c.itype, c.data, [c.config, ispe(c.width, c.height), *extra], hidden)


def grid_data(rows: int, cols: int, w: int, h: int) -> bytes:
    big = w > 0xFFFF or h > 0xFFFF
    return bytes([0, 1 if big else 0, rows - 1, cols - 1]) + struct.pack(">II" if big else ">HH", w, h)


def overlay_data(
    w: int, h: int, offsets: list[tuple[int, int]], fill: tuple[int, ...] = (0, 0, 0, 0xFFFF)
) -> bytes:
    body = bytes([0, 1]) + struct.pack(">4H", *fill) + struct.pack(">II", w, h)
    return body + b"".join(struct.pack(">ii", x, y) for x, y in offsets)


def clap(w: int, h: int, hoff: int = 0, voff: int = 0) -> bytes:
    """A clean aperture of w x h centred (hoff, voff) px from the image centre (fractions over 1)."""
    return box(b"clap", struct.pack(">8i", w, 1, h, 1, hoff, 1, voff, 1))


def irot(quarter_turns: int) -> bytes:
    return box(b"irot", bytes([quarter_turns & 3]))


def heif(
    items: list[Item],
    primary: int | None,
    refs: list[tuple[bytes, int, list[int]]] = (),  # type: ignore[assignment]
    brands: tuple[bytes, ...] = (b"heic", b"mif1"),
    extra_meta: bytes = b"",
    extra_top: bytes = b"",
) -> bytes:
    ftyp = box(b"ftyp", brands[0] + b"\0\0\0\0" + b"".join(brands))
    hdlr = full(b"hdlr", 0, 0, b"\0" * 4 + b"pict" + b"\0" * 12 + b"\0")
    pitm = full(b"pitm", 0, 0, struct.pack(">H", primary)) if primary is not None else b""
    infes = b"".join(
        full(b"infe", 2, 1 if it.hidden else 0, struct.pack(">HH", it.iid, 0) + it.itype + it.name + b"\0"
             + (it.content_type + b"\0" if it.itype == b"mime" else b""))
        for it in items
    )  # fmt: skip
    iinf = full(b"iinf", 0, 0, struct.pack(">H", len(items)) + infes)
    iref = b""
    if refs:
        iref = full(b"iref", 0, 0, b"".join(
            box(t, struct.pack(">HH", src, len(to)) + b"".join(struct.pack(">H", x) for x in to))
            for t, src, to in refs
        ))  # fmt: skip
    allprops: list[bytes] = []
    assoc = b""
    for it in items:
        idx = []
        for p in it.props:
            if p not in allprops:
                allprops.append(p)
            essential = 0x80 if p[4:8] in (b"hvcC", b"av1C", b"irot", b"imir", b"clap") else 0
            idx.append(essential | (allprops.index(p) + 1))
        assoc += struct.pack(">HB", it.iid, len(idx)) + bytes(idx)
    iprp = box(
        b"iprp", box(b"ipco", b"".join(allprops)) + full(b"ipma", 0, 0, struct.pack(">I", len(items)) + assoc)
    )

    def build(mdat_start: int) -> bytes:
        entries, pos = b"", mdat_start
        for it in items:
            entries += struct.pack(">HHHII", it.iid, 0, 1, pos, len(it.data))
            pos += len(it.data)
        iloc = full(b"iloc", 0, 0, bytes([0x44, 0x00]) + struct.pack(">H", len(items)) + entries)
        return box(b"meta", b"\0\0\0\0" + hdlr + pitm + iinf + iref + iprp + iloc + extra_meta)

    meta = build(0)
    head = ftyp + build(len(ftyp) + len(meta) + len(extra_top) + 8) + extra_top
    return head + box(b"mdat", b"".join(it.data for it in items))
