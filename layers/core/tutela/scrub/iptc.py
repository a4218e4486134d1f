"""IPTC-IIM datasets and Photoshop image resource blocks (JPEG APP13, TIFF tags 33723/34377)."""

from __future__ import annotations

import struct

from tutela.errors import CorruptMediaError

# Record 2 datasets. Location: content location code/name, city, sub-location, province/state,
# country code, country name. Identity: by-line (creator), by-line title, contact, writer/editor.
IPTC_LOCATION = frozenset({26, 27, 90, 92, 95, 100, 101})
IPTC_IDENTITY = frozenset({80, 85, 118, 122})

PS_SIG = b"Photoshop 3.0\x00"
RES_IPTC = 0x0404
# Resources dropped outright: thumbnails, EXIF/XMP copies, IPTC digest (stale after edit), URL lists,
# GPS-bearing or unknown blobs are not kept either (see _IRB_KEEP).
_IRB_KEEP = frozenset(
    {
        0x03ED,  # ResolutionInfo
        0x03F3,  # PrintFlags
        0x0406,  # JPEG quality
        0x040F,  # ICC profile (Photoshop copy)
        0x0411,  # ICC untagged
        0x0414,  # Document-specific IDs seed (harmless counter)
        0x0419,  # global altitude (lighting angle, not a location)
        0x041A,  # slices
        0x0421,  # version info
        0x0426,  # print info
        0x040D,  # global angle
        0x03F5,  # color halftoning
        0x03F8,  # color transfer
    }
)


def iter_iim(data: bytes) -> list[tuple[int, int, int, int]]:
    """(record, dataset, value_offset, value_len) for every dataset; raises on broken structure."""
    out = []
    i, n = 0, len(data)
    while i < n:
        if data[i] == 0:  # trailing padding  # noqa: SIM102
            if data[i:].strip(b"\x00") == b"":
                break
        if data[i] != 0x1C or i + 5 > n:
            raise CorruptMediaError("malformed IPTC-IIM block")
        rec, ds = data[i + 1], data[i + 2]
        size = (data[i + 3] << 8) | data[i + 4]  # big-endian u16 (i + 5 <= n checked above)
        j = i + 5
        if size & 0x8000:
            k = size & 0x7FFF
            if k > 4 or j + k > n:
                raise CorruptMediaError("malformed IPTC-IIM extended length")
            size = int.from_bytes(data[j : j + k], "big")
            j += k
        if j + size > n:
            raise CorruptMediaError("IPTC-IIM dataset runs past its block")
        out.append((rec, ds, i, j + size - i))
        i = j + size
    return out


def sanitize_iim(data: bytes) -> tuple[bytes, set[str]]:
    removed: set[str] = set()
    keep = []
    for rec, ds, off, length in iter_iim(data):
        if rec == 2 and ds in IPTC_LOCATION:
            removed.add("iptc.location")
        elif rec == 2 and ds in IPTC_IDENTITY:
            removed.add("iptc.identity")
        else:
            keep.append(data[off : off + length])
    return b"".join(keep), removed


def iim_has_location(data: bytes) -> bool:
    try:
        return any(rec == 2 and ds in IPTC_LOCATION for rec, ds, _, _ in iter_iim(data))
    except CorruptMediaError:
        return True  # cannot prove it clean


def iter_irb(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(resource id, raw name field, payload) for each 8BIM resource."""
    out = []
    i, n = 0, len(data)
    while i + 4 <= n:
        if data[i : i + 4] not in (b"8BIM", b"PHUT", b"AgHg", b"DCSR", b"MeSa"):
            if data[i:].strip(b"\x00") == b"":
                break
            raise CorruptMediaError("malformed Photoshop resource block")
        if i + 7 > n:
            raise CorruptMediaError("truncated Photoshop resource block")
        rid = struct.unpack(">H", data[i + 4 : i + 6])[0]
        nlen = data[i + 6]
        name_total = nlen + 1
        if name_total % 2:
            name_total += 1
        j = i + 6 + name_total
        if j + 4 > n:
            raise CorruptMediaError("truncated Photoshop resource block")
        size = struct.unpack(">I", data[j : j + 4])[0]
        j += 4
        if j + size > n:
            raise CorruptMediaError("Photoshop resource runs past its block")
        out.append((rid, data[i + 6 : i + 6 + name_total], data[j : j + size]))
        i = j + size + (size & 1)
    return out


def sanitize_irb(data: bytes) -> tuple[bytes, set[str]]:
    removed: set[str] = set()
    parts = []
    for rid, name, payload in iter_irb(data):
        if rid == RES_IPTC:
            new, r = sanitize_iim(payload)
            removed |= r
            if r:
                removed.add("iptc")
            payload = new
            if not payload:
                continue
        elif rid not in _IRB_KEEP:
            removed.add("photoshop.irb")
            continue
        parts.append(b"8BIM" + struct.pack(">H", rid) + name + struct.pack(">I", len(payload)) + payload)
        if len(payload) & 1:
            parts.append(b"\x00")
    return b"".join(parts), removed


def irb_has_location(data: bytes) -> bool:
    try:
        res = iter_irb(data)
    except CorruptMediaError:
        return True
    for rid, _, payload in res:
        if rid == RES_IPTC and iim_has_location(payload):
            return True
        if rid == 0x0424 and b"GPS" in payload.upper():
            return True
    return False
