"""The packaged lexicon's matcher, built at build time and loaded at INIT.

Building the automaton imports pypinyin (its dictionaries alone are ~0.3 s) and expands every term; a
pickle of the finished :class:`Matcher` (its lexicon and learned model included) loads in a fraction of
that. The file records a digest (name, size and CRC-32; for a gzip file its trailer's) of every file in
``data/`` and is used only if the files still match it, so an edited lexicon is never judged by a stale
automaton: it is rebuilt from the files, as before.

The file (format 9, mapped rather than read)::

    u32 big-endian n | header: pickle (format, data digest, python, body length) of n bytes
    | body: zlib'd pickle of the matcher | blobs: raw bytes the body refers to

The header is checked before anything else is read. What zlib was slowest on goes to the blobs, each
rebuilt exactly (same type, dtype, shape and contents): the learned model's compact tables (the linear
weights, 6 outputs x ~300,000 listed buckets, and the wide & deep embeddings, ~240,000 x 16; int8, see
:class:`tutela.comments.hashed.BucketRows`) as 4-bit nibbles, two a byte, with the entries outside [-7, 7]
marked and listed in order (what zlib made of the embeddings took ~20 ms to inflate at every cold start;
both tables' nibbles decode with a few array operations in ~5 ms, and take about the same room); the
pinyin fold's integer arrays in the narrowest integer type that holds their values, and its code point ->
pinyin map as flat sequences (keys, each distinct value once, an index per key: ~27,000 keys, ~400
values); the model's rule-feature vectors (~1,000 small float arrays) as their keys and one table whose rows
they become. The tables' bucket lists travel as gaps in the body; their ``2**bits`` maps are rebuilt on load.
Compiled regular expressions are made again from the build's recorded programs
(:mod:`tutela.comments.regexes`). The layer is shared by ScanMedia near Lambda's 262 MB: the blobs must
stay small.

``python -m tutela.comments.prebuilt`` writes it (the CoreLayer build does, with the runtime's Python);
a source checkout without it builds the matcher on first use. The file is a build artifact of this
package, as trusted as its code.
"""

from __future__ import annotations

import contextlib
import io
import math
import mmap
import pickle
import re
import sys
import zlib
from array import array
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutela.comments import regexes
from tutela.comments.lexicon import DATA_DIR

if TYPE_CHECKING:
    from tutela.comments.match import Matcher

PICKLE = DATA_DIR / "matcher.pickle"
_FORMAT = 9
_NIBBLES = "int8-nibbles"
_NARROW = "narrow-ints"
_CHAR_MAP = "char-map"
_REGEX = "regex"
_VECTORS = "vectors"
_MIN_TABLE_BYTES = 1 << 20
_MIN_NARROW_BYTES = 1 << 16  # smaller arrays and maps stay in the compressed body
_MIN_MAP_ITEMS = 4096
_MIN_VECTORS = 64


def data_digest(root: Path) -> str:
    """The name, size and CRC-32 of every file in ``root`` (but the pickle): what tells a stale file.

    A staleness check against edits, not against an adversary (the file is as trusted as the code): a CRC
    changes with any edit but by chance (2**-32). SHA-256 of the 4.5 MB weights file cost ~130M
    instructions at every cold start (software SHA-256; the CRC ~10x less); ``LEXICON_VERSION`` is still
    SHA-256 of the files, computed when the lexicon is loaded from them (at build time).

    A gzip file (the learned model, 4.2 MB) is not read: its last 8 bytes are the CRC-32 and length of its
    content, which gzip writes and checks on every decompression, so its size and those 8 bytes change
    with any edit of what it holds (reading and CRC'ing the whole file was ~4 ms of every cold start)."""
    parts = []
    for f in sorted(root.iterdir()):
        if f.is_file() and f.name != PICKLE.name:
            parts.append(f"{f.name}\0{_file_digest(f)}")
    return "\n".join(parts)


def _file_digest(f: Path) -> str:
    with f.open("rb") as fh:
        if f.name.endswith(".gz") and fh.read(2) == b"\x1f\x8b":
            size = fh.seek(0, 2)
            if size >= 18:  # a gzip header (10 bytes) and trailer (8)
                fh.seek(-8, 2)
                return f"{size}\0gzip:{fh.read(8).hex()}"
            fh.seek(0)
        raw = fh.read()
    return f"{len(raw)}\0{zlib.crc32(raw):08x}"


@cache
def prebuilt() -> Matcher | None:
    """The packaged lexicon's pickled matcher when it was built from exactly the current data files."""
    return load(DATA_DIR)


class _Writer(pickle.Pickler):
    """Pickles the matcher; big int8 tables go to ``blobs`` as (column bitmap, non-zero columns)."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.blobs = bytearray()
        # numpy only if the matcher holds arrays (a learned model): the post signals' matcher has none
        self._np: Any = sys.modules.get("numpy")

    def _blob(self, data: bytes) -> tuple[int, int]:
        at = len(self.blobs)
        self.blobs += data
        return at, len(data)

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is re.Pattern:  # made again from the build's recorded program (tutela.comments.regexes)
            return (_REGEX, obj.pattern, obj.flags)
        np = self._np
        if np is not None and type(obj) is np.ndarray:
            if obj.dtype == np.int8 and obj.nbytes >= _MIN_TABLE_BYTES:
                # the learned model's compact weight and embedding tables (tutela.comments.hashed.BucketRows):
                # each entry a 4-bit nibble, two a byte, those outside [-7, 7] marked -8 and listed in order
                # (~13% of the embeddings, ~1% of the weights): 2.4 + 0.9 MB, about what zlib made of them,
                # decoded by array arithmetic (_nibbles), where inflating the embeddings alone took ~20 ms
                flat = np.ascontiguousarray(obj).reshape(-1)
                wide = (flat < -7) | (flat > 7)
                nib = np.where(wide, np.int8(-8), flat).astype(np.int8).view(np.uint8) & 15
                if len(nib) % 2:
                    nib = np.append(nib, np.uint8(0))
                packed = nib[0::2] | (nib[1::2] << 4)
                return (_NIBBLES, obj.shape, self._blob(packed.tobytes()), self._blob(flat[wide].tobytes()))
            if obj.dtype.kind in "iu" and obj.ndim == 1 and obj.nbytes >= _MIN_NARROW_BYTES:
                # e.g. the pinyin fold's int64 tables of small numbers: 1 MB that zlib spent ~4 ms on
                narrow = np.min_scalar_type(int(obj.min())) if len(obj) else np.dtype(np.uint8)
                narrow = np.promote_types(narrow, np.min_scalar_type(int(obj.max()))) if len(obj) else narrow
                return (_NARROW, obj.dtype.str, narrow.str, self._blob(obj.astype(narrow).tobytes()))
        if np is not None and type(obj) is dict and len(obj) >= _MIN_VECTORS and _vectors(np, obj):
            # the learned model's rule-feature weights and embeddings (~1,000 float vectors): one array each
            # cost a reconstruction call of numpy's (~3 ms in all); here the keys and the rows of one table
            rows = np.stack(list(obj.values()))  # the keys stay in the compressed body (~4x smaller)
            return (_VECTORS, "\0".join(obj), rows.dtype.str, rows.shape, self._blob(rows.tobytes()))
        if type(obj) is dict and len(obj) >= _MIN_MAP_ITEMS and _char_map(obj):
            # int -> str (a str.translate table, the pinyin fold): ~27,000 keys but ~400 distinct values, so
            # the keys, each distinct value once and an index per key (one string object per distinct value)
            distinct = list(dict.fromkeys(obj.values()))
            position = {v: i for i, v in enumerate(distinct)}
            keys = self._blob(array("I", obj).tobytes())
            values = self._blob("\0".join(distinct).encode("utf-8"))
            code = "H" if len(distinct) <= 1 << 16 else "I"
            index = self._blob(array(code, map(position.__getitem__, obj.values())).tobytes())
            return (_CHAR_MAP, keys, values, code, index)
        return None


def _vectors(np: Any, d: dict[Any, Any]) -> bool:
    """str -> 1-D numeric arrays of one dtype and length (keys without NUL)."""
    first = next(iter(d.values()))
    return type(first) is np.ndarray and all(
        type(k) is str
        and "\0" not in k
        and type(v) is np.ndarray
        and v.ndim == 1
        and v.dtype == first.dtype
        and v.dtype.kind in "iuf"
        and v.shape == first.shape
        for k, v in d.items()
    )


def _char_map(d: dict[Any, Any]) -> bool:
    return all(type(k) is int and 0 <= k < 1 << 32 for k in d) and all(
        type(v) is str and "\0" not in v for v in d.values()
    )


class _Reader(pickle.Unpickler):
    def __init__(self, body: bytes, blobs: memoryview) -> None:
        super().__init__(io.BytesIO(body))
        self._blobs = blobs

    def _bytes(self, where: tuple[int, int]) -> memoryview:
        at, length = where
        if at + length > len(self._blobs):
            raise pickle.UnpicklingError("the file ends inside a blob")
        return self._blobs[at : at + length]

    def persistent_load(self, pid: Any) -> Any:
        kind = pid[0]
        if kind == _REGEX:
            return regexes.compile(pid[1], pid[2])
        if kind == _CHAR_MAP:
            _, keys_at, values_at, code, index_at = pid
            keys, index = array("I"), array(code)
            keys.frombytes(self._bytes(keys_at))
            index.frombytes(self._bytes(index_at))
            distinct = str(self._bytes(values_at), "utf-8").split("\0")
            return dict(zip(keys, map(distinct.__getitem__, index), strict=True))
        import numpy as np

        if kind == _VECTORS:
            _, keys, dtype, shape, rows_at = pid
            names = keys.split("\0")
            rows = np.frombuffer(self._bytes(rows_at), dtype=dtype).reshape(shape).copy()  # writable rows
            if len(names) != len(rows):
                raise pickle.UnpicklingError("a vector table of another length")
            return dict(zip(names, rows, strict=True))  # each value a row of ``rows`` (a view)
        if kind == _NARROW:
            _, dtype, narrow, where = pid
            return np.frombuffer(self._bytes(where), dtype=narrow).astype(dtype)  # a writable copy
        if kind == _NIBBLES:
            _, shape, packed_at, wide_at = pid
            size = math.prod(shape)
            flat = _nibbles(np, np.frombuffer(self._bytes(packed_at), dtype=np.uint8))
            at = np.flatnonzero(flat[:size] == -8)
            wide = np.frombuffer(self._bytes(wide_at), dtype=np.int8)
            if len(flat) - size not in (0, 1) or len(at) != len(wide):
                raise pickle.UnpicklingError("a nibble table of another shape")
            flat[at] = wide
            return flat[:size].reshape(shape)  # writable, C-contiguous
        raise pickle.UnpicklingError(f"unknown blob {kind!r}")


def _nibbles(np: Any, packed: Any) -> Any:
    """The int8 nibbles of ``packed`` bytes, low nibble first (array arithmetic: ~4x a table lookup)."""
    pairs = packed.astype("<u2")  # byte b -> 0x00b, then 0x0HL | 0xHL0 = 0xHxL: high nibble in the high byte
    pairs |= np.left_shift(pairs, 4)
    pairs &= 0x0F0F
    pairs ^= 0x0808  # sign-extended: 0..7 -> 8..15 -> 0..7 after -8, and 8..15 -> 0..7 -> -8..-1
    out = pairs.view(np.int8)  # little-endian: the low nibble's byte first
    out -= 8
    return out


def load(root: Path) -> Matcher | None:
    # Mapped, not read: a read copies the 4 MB file into fresh memory (~3 ms); the mapping's pages come from
    # the page cache as the header, body and blobs are read once each. Closed before returning: every object
    # made from it is a copy, and a file rewritten in place (``write``) must not be read while mapped.
    try:
        with (root / PICKLE.name).open("rb") as f:
            raw = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None
    try:
        return _load(root, raw)
    finally:
        with contextlib.suppress(BufferError):  # something still refers to it: unmapped when that goes
            raw.close()


def _load(root: Path, raw: mmap.mmap) -> Matcher | None:
    try:
        n = int.from_bytes(raw[:4], "big")
        fmt, digest, python, body_len = pickle.loads(raw[4 : 4 + n])  # our own build artifact
    except Exception:  # e.g. an older format or a truncated file: build from the files instead
        return None
    if fmt != _FORMAT or python != sys.version_info[:2] or digest != data_digest(root):
        return None
    start = 4 + n
    whole = memoryview(raw)
    try:
        body = zlib.decompress(whole[start : start + body_len])
        matcher: Matcher = _Reader(body, whole[start + body_len :]).load()
    except Exception:  # e.g. a pickle from another library version
        return None
    return matcher


def dumps(matcher: Matcher, digest: str) -> bytes:
    """The file's bytes for ``matcher`` built from data files with ``digest``."""
    out = io.BytesIO()
    writer = _Writer(out)
    writer.dump(matcher)
    # Compressed: the layer counts against Lambda's 250 MB (ScanMedia's function + layers are near it).
    body = zlib.compress(out.getvalue(), 6)
    header = pickle.dumps((_FORMAT, digest, tuple(sys.version_info[:2]), len(body)), protocol=4)
    return len(header).to_bytes(4, "big") + header + body + bytes(writer.blobs)


def write(root: Path = DATA_DIR) -> Path:
    """Build the matcher of the lexicon in ``root`` and write it next to its files."""
    from tutela.comments.lexicon import load_lexicon
    from tutela.comments.match import Matcher

    matcher = Matcher(load_lexicon(root))
    path = root / PICKLE.name
    path.write_bytes(dumps(matcher, data_digest(root)))
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR))
