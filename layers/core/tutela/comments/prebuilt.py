"""The packaged lexicon's matcher, built at build time and loaded at INIT.

Building the automaton imports pypinyin (its dictionaries alone are ~0.3 s) and expands every term; a
pickle of the finished :class:`Matcher` (its lexicon and learned model included) loads in a fraction of
that. The file records a digest of every file in ``data/`` and is used only if the files still match it,
so an edited lexicon is never judged by a stale automaton: it is rebuilt from the files, as before.

The file (format 2)::

    u32 big-endian n | header: pickle (format, data digest, python, body length) of n bytes
    | body: zlib'd pickle of the matcher | blobs: raw bytes the body refers to

The header is checked before anything else is read. The learned model's weight table (6 x 2**20 int8,
~40% non-zero columns) is the one big blob: stored outside the compressed body as a bitmap of its
non-zero columns plus those columns, and rebuilt with numpy in ~5 ms, where decompressing the dense table
took ~30 ms of every cold start (measured in ``bench/bench_cold.py``'s process). Stored this way it is
~1 MB larger than compressed, in a layer that ScanMedia shares near Lambda's 262 MB.

``python -m tutela.comments.prebuilt`` writes it (the CoreLayer build does, with the runtime's Python);
a source checkout without it builds the matcher on first use. The file is a build artifact of this
package, as trusted as its code.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
import zlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutela.comments.lexicon import DATA_DIR

if TYPE_CHECKING:
    from tutela.comments.match import Matcher

PICKLE = DATA_DIR / "matcher.pickle"
_FORMAT = 2
_SPARSE_COLUMNS = "int8-sparse-columns"
_MIN_BLOB_BYTES = 1 << 20  # smaller arrays stay in the compressed body


def data_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(root.iterdir()):
        if f.is_file() and f.name != PICKLE.name:
            digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


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
        np = self._np
        if (
            np is None
            or type(obj) is not np.ndarray
            or obj.dtype != np.int8
            or obj.ndim != 2
            or obj.nbytes < _MIN_BLOB_BYTES
        ):
            return None
        used = obj.any(axis=0)
        bitmap = self._blob(np.packbits(used).tobytes())
        columns = self._blob(np.ascontiguousarray(obj[:, used]).tobytes())
        return (_SPARSE_COLUMNS, obj.shape, bitmap, columns)


class _Reader(pickle.Unpickler):
    def __init__(self, body: bytes, blobs: memoryview) -> None:
        super().__init__(io.BytesIO(body))
        self._blobs = blobs

    def persistent_load(self, pid: Any) -> Any:
        kind, shape, (b_at, b_len), (c_at, c_len) = pid
        if kind != _SPARSE_COLUMNS:
            raise pickle.UnpicklingError(f"unknown blob {kind!r}")
        import numpy as np

        rows, width = shape
        bitmap = np.frombuffer(self._blobs[b_at : b_at + b_len], dtype=np.uint8)
        used = np.flatnonzero(np.unpackbits(bitmap, count=width))
        columns = np.frombuffer(self._blobs[c_at : c_at + c_len], dtype=np.int8).reshape(rows, len(used))
        table = np.zeros(shape, dtype=np.int8)  # writable and owning its memory, as the dense original
        for j in range(rows):  # one row at a time: measured ~3x faster than a 2-D fancy assignment
            table[j][used] = columns[j]
        return table


def load(root: Path) -> Matcher | None:
    try:
        raw = (root / PICKLE.name).read_bytes()
    except OSError:
        return None
    try:
        n = int.from_bytes(raw[:4], "big")
        fmt, digest, python, body_len = pickle.loads(raw[4 : 4 + n])  # our own build artifact
    except Exception:  # e.g. an older format or a truncated file: build from the files instead
        return None
    if fmt != _FORMAT or python != sys.version_info[:2] or digest != data_digest(root):
        return None
    start = 4 + n
    try:
        body = zlib.decompress(memoryview(raw)[start : start + body_len])
        matcher: Matcher = _Reader(body, memoryview(raw)[start + body_len :]).load()
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
