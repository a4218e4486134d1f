"""The next real marker in JPEG entropy-coded data: the one pass over every photo's pixel bytes.

A real marker is 0xFF followed by anything but 00 (stuffing), D0-D7 (restart) or FF (fill); byte stuffing
guarantees nothing else in a scan looks like one. ``ECS_MARKER`` says so and is the reference: every other
path here returns exactly what ``ECS_MARKER.search(buf, pos)`` would (tests/unit/scrub/test_marker_scan.py).

Four ways to find it, chosen by cost alone (the answer is the same):

- a native memchr loop (``marker_scan.c``, built as ``_marker_scan.so`` beside this file by ``make setup``
  and by the layer build, loaded with ctypes on first use): ~0.06 ms for a 1.5 MB photo's scan against
  ~0.6 ms for the regex and ~0.35 ms for the numpy pass (docs/scrub.md). It takes ``bytes`` only; a mapped
  file (inputs over ``api.IN_MEMORY_MAX``) and a build without it take the paths below;
- sparse 0xFF (smooth images): jump between them with ``bytes.find`` (memchr);
- dense 0xFF (camera photos: one every ~300 bytes, stuffed as FF 00), short scans: the regex, whose engine
  steps through the bytes in C (~5 instructions, ~0.5-0.8 ns per byte here);
- dense and long, numpy loaded: a vectorised pass (``vector_find``) in bounded chunks, 0.45-0.95x the
  regex's CPU time on a 1.6 MB or 12 MP photo (by machine and load; docs/scrub.md). numpy is
  not imported for it while that would cost more than it saves: the import takes ~0.2 s of CPU here, what
  the vectorised pass saves over ~500 MB of dense data (0.2-0.45 ns a byte), so a process imports it only
  once the regex has scanned ``IMPORT_AFTER`` bytes of long scans. A batch of small photos, one big photo
  and a Lambda cold start never pay for it; a process that has paid for it (or loaded numpy for something
  else) keeps the faster pass.
"""

from __future__ import annotations

import os
import re
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up, see tutela/record.py)
if TYPE_CHECKING:
    from typing import Any

ECS_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
SPARSE = 1024  # mean bytes between 0xFF above which memchr jumps beat the regex (~0.45 ns/byte; measured)
VECTOR_MIN = 256 * 1024  # bytes left below which numpy's per-call overhead may eat its gain (docs/scrub.md)
IMPORT_AFTER = 512 * 1024 * 1024  # regex-scanned bytes (long scans) after which importing numpy has paid
CHUNK = 1 << 20  # bytes per vectorised step: bounds its memory (~1.2 MB of masks) for any file size

NATIVE_LIB = os.path.join(os.path.dirname(__file__), "_marker_scan.so")

_scanned = 0  # bytes the regex has scanned in long scans in this process (see IMPORT_AFTER)
_real: Any = None  # numpy bool[256]: which bytes after 0xFF make a real marker (built on first use)
_native: Any = None  # tutela_find_marker from NATIVE_LIB; False once loading it failed (see native())


def native() -> Any:
    """The native scan (a ctypes function ``(bytes, n, pos) -> int``), or None where it was not built
    for this machine. Loaded once; ctypes (~2.5 ms to import) only on the first scan, never at INIT."""
    global _native
    if _native is None:
        _native = False
        if os.path.exists(NATIVE_LIB):
            try:
                import ctypes

                fn = ctypes.CDLL(NATIVE_LIB).tutela_find_marker
            except (OSError, AttributeError, ImportError):  # another architecture's build, a broken file
                return None
            fn.restype = ctypes.c_ssize_t
            fn.argtypes = (ctypes.c_char_p, ctypes.c_ssize_t, ctypes.c_ssize_t)
            _native = fn
    return _native or None


def find_marker(buf: Any, pos: int) -> int:
    """``ECS_MARKER.search(buf, pos).start()`` (or -1), as fast as the data allows. ``buf``: bytes or a
    read-only mapping; ``len(buf)`` is the end of the search. Where 0xFF is sparse, jump between them with
    memchr; once they are on average closer than ``SPARSE`` bytes (judged every 4 jumps), hand the rest
    to the regex or, for a long rest with numpy loaded, to ``vector_find``; ``bytes`` go to the native scan
    when it is built."""
    if type(buf) is bytes and (fn := _native if _native is not None else native()):
        return int(fn(buf, len(buf), pos))
    find, n = buf.find, len(buf)
    start = pos
    jumps = 0
    while True:
        i = find(b"\xff", pos)
        if i < 0 or i + 1 >= n:
            return -1
        nxt = buf[i + 1]
        if nxt != 0x00 and nxt != 0xFF and not 0xD0 <= nxt <= 0xD7:
            return i
        pos = i + 1
        jumps += 1
        if jumps & 3 == 0 and pos - start < SPARSE * jumps:
            return _dense(buf, pos, n)


def _dense(buf: Any, pos: int, n: int) -> int:
    global _scanned
    if n - pos >= VECTOR_MIN:
        np = sys.modules.get("numpy")
        if np is None and _scanned >= IMPORT_AFTER:
            _scanned = -1 << 62  # one attempt per process: without numpy the regex stays the whole scan
            np = _import_numpy()
        if np is not None:
            return vector_find(np, buf, pos)
    m = ECS_MARKER.search(buf, pos)
    found = m.start() if m else -1
    if n - pos >= VECTOR_MIN:
        _scanned += (found if found >= 0 else n) - pos
    return found


def _import_numpy() -> Any:
    try:
        import numpy
    except ImportError:  # the core layer pins it; the library also runs without it
        return None
    return numpy


def vector_find(np: Any, buf: Any, pos: int, chunk: int = CHUNK) -> int:
    """``find_marker`` with numpy, ``chunk`` bytes (a multiple of 8) at a time. Per chunk: a byte mask of
    the 0xFF bytes, viewed as 64-bit words; the words holding one; their bytes' offsets; the byte after
    each (``_real`` lookup); the first real one wins. Offsets with no byte after them, and the last few
    that do not fill a word, are left to the regex (at most 8 bytes)."""
    global _real
    if _real is None:
        real = np.ones(256, dtype=bool)
        real[[0x00, 0xFF, *range(0xD0, 0xD8)]] = False
        _real = real
    a = np.frombuffer(buf, dtype=np.uint8)
    try:
        stop = pos + (len(buf) - 1 - pos) // 8 * 8  # offsets in [pos, stop) have a byte after them
        words = max(0, min(chunk, stop - pos) // 8)
        ff, hit = np.empty(8 * words, dtype=bool), np.empty(words, dtype=bool)
        ffw = ff.view(np.uint64)
        while pos < stop:
            w = min(words, (stop - pos) // 8)
            if w < words:  # the last chunk
                ff, ffw, hit = ff[: 8 * w], ffw[:w], hit[:w]
            np.equal(a[pos : pos + 8 * w], 0xFF, out=ff)
            np.not_equal(ffw, 0, out=hit)
            wi = hit.nonzero()[0]
            if len(wi):
                k = ffw.take(wi).view(bool).nonzero()[0]  # the 0xFF bytes, in order, within those words
                at = wi.take(k >> 3)
                at <<= 3
                at += k & 7
                at += pos
                real = _real.take(a.take(at + 1))
                j = int(real.argmax())
                if real[j]:
                    return int(at[j])
            pos += 8 * w
    finally:
        del a  # a mapped file cannot be closed while an array exports its buffer (a traceback keeps frames)
    m = ECS_MARKER.search(buf, pos)
    return m.start() if m else -1
