"""ICC profiles built byte by byte (v2 display class, matrix/TRC): what a colour-managed viewer applies."""

from __future__ import annotations

import struct
from collections.abc import Sequence

# sRGB's primaries adapted to D50, as the sRGB IEC61966-2.1 profile carries them.
SRGB_PRIMARIES = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
D50 = (0.9642, 1.0, 0.8249)


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in (x, y, z))


def srgb_to_linear(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def rgb_profile(
    curve: Sequence[float], primaries: Sequence[tuple[float, float, float]] = SRGB_PRIMARIES, pad: int = 0
) -> bytes:
    """A display profile whose three channels share ``curve`` (256 linear values in 0..1); ``pad`` bytes of
    a private tag make it bigger without changing what it does."""
    table = b"".join(struct.pack(">H", round(v * 65535)) for v in curve)
    trc = b"curv\0\0\0\0" + struct.pack(">I", len(curve)) + table
    desc = b"desc\0\0\0\0" + struct.pack(">I", 5) + b"test\0" + b"\0" * 78
    tags = [
        (b"desc", desc), (b"wtpt", _xyz(*D50)),
        (b"rXYZ", _xyz(*primaries[0])), (b"gXYZ", _xyz(*primaries[1])), (b"bXYZ", _xyz(*primaries[2])),
        (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc), (b"cprt", b"text\0\0\0\0none\0"),
    ]  # fmt: skip
    if pad:
        tags.append((b"zpad", b"zpad\0\0\0\0" + b"\0" * pad))
    return _assemble(tags, b"mntrRGB XYZ ")


def _assemble(tags: list[tuple[bytes, bytes]], classes: bytes) -> bytes:
    """An ICC v2.1 profile of ``tags`` (4-byte aligned); ``classes``: device class, colour space, PCS."""
    off = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        data += b"\0" * (-(off + len(data)) % 4)
        table += sig + struct.pack(">II", off + len(data), len(body))
        data += body
    header = (
        struct.pack(">I", off + len(data)) + b"lcms" + struct.pack(">I", 0x02100000) + classes + b"\0" * 12
        + b"acspAPPL" + b"\0" * 24 + _xyz(*D50)[8:] + b"\0" * 48
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def negative_profile(pad: int = 0) -> bytes:
    """Device value v is shown as the sRGB value 255 - v: the raw pixels are a negative of what is seen."""
    return rgb_profile([srgb_to_linear(1 - i / 255) for i in range(256)], pad=pad)


def srgb_like_profile() -> bytes:
    return rgb_profile([srgb_to_linear(i / 255) for i in range(256)])


def swapped_profile() -> bytes:
    """Red and blue primaries exchanged: the raw pixels carry the picture with R and B swapped."""
    p = SRGB_PRIMARIES
    return rgb_profile([srgb_to_linear(i / 255) for i in range(256)], (p[2], p[1], p[0]))


def _lab16(rgb: Sequence[float]) -> bytes:
    """An sRGB colour (0..1) as ICC v2 16-bit Lab (D50): L 0..0xFF00, a/b with 0x8000 at 0."""
    lin = [srgb_to_linear(v) for v in rgb]
    xyz = [sum(SRGB_PRIMARIES[c][i] * lin[c] for c in range(3)) / D50[i] for i in range(3)]
    f = [v ** (1 / 3) if v > 216 / 24389 else (24389 / 27 * v + 16) / 116 for v in xyz]
    lab = (116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2]))
    enc = (lab[0] / 100 * 0xFF00, (lab[1] + 128) * 256, (lab[2] + 128) * 256)
    return struct.pack(">3H", *(min(0xFFFF, max(0, round(v))) for v in enc))


def cmyk_profile(negative: bool = False, grid: int = 5) -> bytes:
    """A CMYK output-class profile (lut16 A2B0 to Lab), as print exports embed (a stand-in for SWOP/Fogra):
    ink (0 = none) shown as the naive (1 - c)(1 - k) sRGB colours; ``negative`` shows their negative (the
    raw planes then decode as another picture)."""
    nodes = [i / (grid - 1) for i in range(grid)]
    clut = b""
    for c in nodes:
        for m in nodes:
            for y in nodes:
                for k in nodes:
                    rgb = [(1 - v) * (1 - k) for v in (c, m, y)]
                    clut += _lab16([1 - v for v in rgb] if negative else rgb)
    ident = struct.pack(">2H", 0, 0xFFFF)
    matrix = b"".join(struct.pack(">i", 65536 if i % 4 == 0 else 0) for i in range(9))
    a2b0 = b"mft2\0\0\0\0" + struct.pack(">BBBB", 4, 3, grid, 0) + matrix + struct.pack(">HH", 2, 2)
    a2b0 += ident * 4 + clut + ident * 3
    desc = b"desc\0\0\0\0" + struct.pack(">I", 5) + b"cmyk\0" + b"\0" * 78
    tags = [(b"desc", desc), (b"wtpt", _xyz(*D50)), (b"A2B0", a2b0), (b"cprt", b"text\0\0\0\0none\0")]
    return _assemble(tags, b"prtrCMYKLab ")
