"""The EXIF/TIFF surgery's results, pinned: every block below (and deterministic edits of each) gives the
output bytes, codes, patches and referenced ranges, and ``has_gps``'s answer, that the version before the
speed work on ``exif.py`` gave (``exif_golden.json``: a hash per block, recorded from main at e844f24). The
corpus golden test holds few EXIF layouts beyond what Pillow and exiftool write; these reach every branch
of ``sanitize`` (thumbnails, SubIFDs, Interop, strips, IPTC/XMP/Photoshop tags, loops, bad pointers).

    .venv/bin/python tests/unit/scrub/test_exif_golden.py --record   # rewrite exif_golden.json
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

from tutela.scrub import exif
from tutela.scrub.core import Budget, BytesReader, ScrubLimits

GOLDEN = Path(__file__).resolve().parent / "exif_golden.json"
_TYPES = {1: "B", 2: "B", 3: "H", 4: "I", 7: "B", 13: "I"}


class _Tiff:
    """A TIFF structure built front to back: values and IFDs placed where they are added."""

    def __init__(self, e: str) -> None:
        self.e = e
        self.buf = bytearray((b"II*\x00" if e == "<" else b"MM\x00*") + bytes(4))

    def put(self, data: bytes) -> int:
        off = len(self.buf)
        self.buf += data + b"\x00" * (len(data) & 1)
        return off

    def ifd(self, entries: list[tuple[int, int, object]], nxt: int = 0) -> int:
        """entries: (tag, type, value): an int list (packed as the type) or raw bytes (type 1/2/7)."""
        raw = []
        for tag, typ, val in sorted(entries, key=lambda x: x[0]):
            if isinstance(val, bytes):
                data, count = val, len(val)
            else:
                vals = list(val) if isinstance(val, list | tuple) else [val]
                data, count = struct.pack(f"{self.e}{len(vals)}{_TYPES[typ]}", *vals), len(vals)
            if isinstance(val, bytes) and typ in exif.TYPE_SIZE:
                count = len(data) // exif.TYPE_SIZE[typ]
            field = data.ljust(4, b"\x00") if len(data) <= 4 else struct.pack(self.e + "I", self.put(data))
            raw.append(struct.pack(self.e + "HHI", tag, typ, count) + field)
        return self.put(struct.pack(self.e + "H", len(raw)) + b"".join(raw) + struct.pack(self.e + "I", nxt))

    def done(self, ifd0: int) -> bytes:
        self.buf[4:8] = struct.pack(self.e + "I", ifd0)
        return bytes(self.buf)


_IIM = b"\x1c\x02\x5a\x00\x05Paris\x1c\x02\x19\x00\x04kept\x1c\x02\x50\x00\x03Bob"
_IRB = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(_IIM)) + _IIM
_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Oslo"/>'
    b"</rdf:RDF></x:xmpmeta>" + b" " * 40
)
_RAT = struct.pack(">6I", 51, 1, 30, 1, 4, 100)


def _blocks() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for e in ("<", ">"):
        rat = struct.pack(e + "6I", *struct.unpack(">6I", _RAT))
        # Pillow-like: orientation, artist, GPS IFD.
        t = _Tiff(e)
        gps = t.ifd([(0, 1, b"\x02\x02\x00\x00"), (1, 2, b"N\x00"), (2, 5, rat), (3, 2, b"E\x00")])
        out[f"pillow{e}"] = t.done(t.ifd([(274, 3, 1), (315, 2, b"Alice Example\x00"), (34853, 4, gps)]))
        # Camera-like: EXIF IFD with Interop (holding a GPS pointer), makernote, serial; a thumbnail IFD1
        # with its JPEG, an IFD2 after it; XMP, IPTC and Photoshop tags; an ICC tag.
        t = _Tiff(e)
        gps = t.ifd([(0, 1, b"\x02\x02\x00\x00"), (2, 5, rat)])
        gps2 = t.ifd([(2, 5, rat)])
        interop = t.ifd([(1, 2, b"R98\x00"), (2, 7, b"0100"), (34853, 4, gps2), (3000, 3, 1)])
        exif_ifd = t.ifd(
            [(33434, 5, rat[:8]), (36867, 2, b"2024:01:01 10:00:00\x00"), (37500, 7, b"MAKERNOTE" * 5),
             (42033, 2, b"SN123456\x00"), (40965, 4, interop), (37510, 7, b"ASCII\x00\x00\x00hi there")]
        )  # fmt: skip
        thumb = t.put(b"\xff\xd8" + b"T" * 60 + b"\xff\xd9")
        ifd2 = t.ifd([(256, 4, 8), (257, 4, 8)])
        ifd1 = t.ifd([(259, 3, 6), (513, 4, thumb), (514, 4, 64), (34853, 4, gps)], ifd2)
        ifd0 = t.ifd(
            [(271, 2, b"Canon\x00"), (272, 2, b"EOS R5 camera\x00"), (274, 3, 6), (282, 5, rat[:8]),
             (306, 2, b"2024:01:01 10:00:00\x00"), (700, 1, _XMP), (33723, 7, _IIM), (34377, 7, _IRB),
             (34675, 7, b"ICC-PROFILE"), (34665, 4, exif_ifd), (34853, 4, gps), (40091, 1, b"x\x00y\x00")],
            ifd1,
        )  # fmt: skip
        out[f"camera{e}"] = t.done(ifd0)
        # A TIFF page: strips with byte counts, SubIFDs (a preview), GeoTIFF tags, a second page.
        t = _Tiff(e)
        s1, s2 = t.put(b"\x11" * 32), t.put(b"\x22" * 32)
        sub = t.ifd([(256, 4, 4), (257, 4, 4), (273, 4, t.put(b"\x33" * 16)), (279, 4, 16)])
        page2 = t.ifd([(256, 4, 4), (257, 4, 4), (273, 4, s2), (279, 4, 32), (33550, 12, b"\x00" * 24)])
        page1 = t.ifd(
            [(256, 4, 8), (257, 4, 4), (258, 3, 8), (273, 4, [s1, s1 + 16]), (279, 3, [16, 16]),
             (330, 4, sub), (33922, 12, b"\x00" * 48), (34735, 3, [1, 1, 0, 0]), (305, 2, b"GIMP\x00")],
            page2,
        )  # fmt: skip
        out[f"tiff{e}"] = t.done(page1)
        # Odd cases: an IFD loop, a pointer out of the block, unknown types, a strip tag without counts.
        t = _Tiff(e)
        loop = t.ifd([(2, 5, rat)], 8)
        out[f"loop{e}"] = t.done(t.ifd([(274, 3, 1), (34853, 4, loop)], 8))
        t = _Tiff(e)
        out[f"outside{e}"] = t.done(
            t.ifd([(274, 3, 1), (34665, 4, 0x7FFF0), (315, 2, b"x" * 9), (50000, 99, b"\x01\x02\x03\x04")])
        )
        t = _Tiff(e)
        bad_interop = t.ifd([(34665, 4, t.ifd([(40965, 4, 0x7FFF0), (36867, 2, b"x" * 20)]))])
        out[f"badinterop{e}"] = t.done(bad_interop)
        t = _Tiff(e)
        out[f"nocounts{e}"] = t.done(t.ifd([(256, 4, 4), (273, 4, t.put(b"\x44" * 16)), (324, 4, 8)]))
        t = _Tiff(e)
        out[f"subifds{e}"] = t.done(
            t.ifd([(330, 4, [t.ifd([(256, 4, 1), (34853, 4, t.ifd([(2, 5, rat)]))]), t.ifd([(257, 4, 2)])])])
        )
    return out


def cases() -> dict[str, bytes]:
    """The blocks above and deterministic edits of each (an LCG, not ``random``: stable across Python
    versions): 1-3 bytes replaced anywhere, or the block cut short."""
    base = _blocks()
    out = dict(base)
    x = 2463534242
    for name, data in base.items():
        for k in range(40):
            b = bytearray(data)
            for _ in range(1 + k % 3):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                b[x % len(b)] = (0, 0xFF, 1, 0x88, x >> 8 & 0xFF)[x % 5]
            if k % 10 == 9:
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                del b[8 + x % (len(b) - 8) :]
            out[f"{name}~{k}"] = bytes(b)
    return out


def outcome(block: bytes) -> str:
    """sanitize_block's output, codes; sanitize(whole_tiff=True)'s patches and references; has_gps."""
    parts = []
    try:
        new, removed, kept = exif.sanitize_block(block, Budget(ScrubLimits()))
        parts.append(hashlib.sha256(new).hexdigest()[:16] + " " + ",".join(sorted(removed)))
        parts.append(",".join(sorted(kept)))
    except Exception as exc:  # the exception's type is the outcome
        parts.append(type(exc).__name__)
    try:
        res = exif.sanitize(BytesReader(block), 0, len(block), Budget(ScrubLimits()), whole_tiff=True)
        pinned = [sorted(res.patches, key=lambda p: (p[0], repr(p[1]))), res.referenced]
        parts.append(hashlib.sha256(repr(pinned).encode()).hexdigest()[:16])
        parts.append(",".join(sorted(res.removed)) + "/" + ",".join(sorted(res.kept)))
    except Exception as exc:
        parts.append(type(exc).__name__)
    parts.append(str(exif.has_gps(BytesReader(block))))
    return " ".join(parts)


def test_exif_results_are_unchanged() -> None:
    table = json.loads(GOLDEN.read_text())
    got = {hashlib.sha256(d).hexdigest()[:20]: outcome(d) for d in cases().values()}
    assert set(got) == set(table)
    assert [k for k in table if got[k] != table[k]] == []


def test_the_cases_reach_every_branch_that_matters() -> None:
    """The golden table would pin little if the blocks did not exercise the surgery."""
    results = [outcome(d) for d in _blocks().values()]
    joined = " ".join(results)
    for code in ("exif.gps", "exif.thumbnail", "exif.makernote", "iptc.location", "xmp.location",
                 "tiff.geotiff", "exif.serial", "interop.other", "photoshop.irb", "exif.xp"):  # fmt: skip
        assert code in joined, code
    assert "CorruptMediaError" in joined


if __name__ == "__main__" and "--record" in sys.argv:
    table = {hashlib.sha256(d).hexdigest()[:20]: outcome(d) for d in cases().values()}
    GOLDEN.write_text(json.dumps(table, indent=0, sort_keys=True) + "\n")
    print(f"{len(table)} blocks recorded")
