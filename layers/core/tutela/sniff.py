"""Sniff a media type from its first bytes. Never trust the extension.

``sniff(head)`` needs at most ``SNIFF_BYTES`` bytes from the start of the file.
"""

from __future__ import annotations

import struct

from tutela.record import FrozenRecord

SNIFF_BYTES = 64

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up, see tutela/record.py)
if TYPE_CHECKING:
    from typing import Literal

    Kind = Literal["image", "video"]


class MediaType(FrozenRecord):
    __slots__ = ("kind", "mime", "name")

    def __init__(self, name: str, kind: Kind, mime: str) -> None:
        self.name = name  # jpeg, png, webp, tiff, heif, avif, mp4, mov, m4v, 3gp
        self.kind = kind
        self.mime = mime


JPEG = MediaType("jpeg", "image", "image/jpeg")
PNG = MediaType("png", "image", "image/png")
WEBP = MediaType("webp", "image", "image/webp")
TIFF = MediaType("tiff", "image", "image/tiff")
HEIF = MediaType("heif", "image", "image/heif")
AVIF = MediaType("avif", "image", "image/avif")
MP4 = MediaType("mp4", "video", "video/mp4")
MOV = MediaType("mov", "video", "video/quicktime")
M4V = MediaType("m4v", "video", "video/x-m4v")
GP3 = MediaType("3gp", "video", "video/3gpp")

ALL = (JPEG, PNG, WEBP, TIFF, HEIF, AVIF, MP4, MOV, M4V, GP3)
BY_NAME = {m.name: m for m in ALL}

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_RAW_BRANDS = {b"crx "}
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _ftyp(head: bytes) -> MediaType | None:
    size = struct.unpack(">I", head[0:4])[0]
    major = head[8:12]
    end = min(len(head), size if size >= 16 else 16)
    brands = {major} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _RAW_BRANDS or brands & _RAW_BRANDS:
        return None  # camera raw (e.g. Canon CR3) is ISOBMFF too, but not a format we publish
    # Still images first: an HEIC also lists "mif1"; some carry "iso8" too.
    if major in _AVIF_BRANDS or (major in (b"mif1", b"msf1") and brands & _AVIF_BRANDS):
        return AVIF
    if major in _HEIF_BRANDS:
        return HEIF
    if major == b"qt  ":
        return MOV
    if major in (b"M4V ", b"M4VH", b"M4VP"):
        return M4V
    if major.startswith(b"3g"):
        return GP3
    if brands & _AVIF_BRANDS and not brands & {b"isom", b"mp41", b"mp42"}:
        return AVIF
    if brands & _HEIF_BRANDS and not brands & {b"isom", b"mp41", b"mp42", b"avc1"}:
        return HEIF
    if major in (b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"MSNV"):
        return MP4
    if brands & {b"isom", b"mp41", b"mp42"}:
        return MP4
    return None


def sniff(head: bytes) -> MediaType | None:
    """Return the media type of a file from its first bytes, or ``None`` if unsupported."""
    # Complete signatures win even in a tiny file: a truncated JPEG is corrupt, not "unsupported".
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if len(head) < 12:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[4:8] == b"ftyp":
        return _ftyp(head)
    if head[4:8] in _QT_ATOMS:
        return MOV  # classic QuickTime files may start without an ftyp atom
    return None
