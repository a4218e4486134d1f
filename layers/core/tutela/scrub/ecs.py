"""The next real marker in JPEG entropy-coded data: the one pass over every photo's pixel bytes.

A real marker is 0xFF followed by anything but 00 (stuffing), D0-D7 (restart) or FF (fill); byte stuffing
guarantees nothing else in a scan looks like one. ``ECS_MARKER`` says so and is the reference: every path
here returns exactly what ``ECS_MARKER.search(buf, pos)`` would (tests/unit/scrub/test_marker_scan.py).

Two ways to find it (the answer is the same):

- ``bytes``: a native memchr loop (``marker_scan.c``, built as ``_marker_scan.so`` beside this file by
  ``make setup`` and by the layer build for its architecture, loaded with ctypes on the first scan, never at
  INIT): 0.14 ms for a 1.6 MB photo's scan, the regex 0.64 ms (docs/scrub.md);
- anything else (a mapped file over ``api.IN_MEMORY_MAX``, which ctypes cannot point into read-only) and a
  build without the native scan: memchr jumps between sparse 0xFF bytes (smooth images), handing over to the
  regex once they come densely (camera photos: one every ~300 bytes, stuffed as FF 00), whose engine steps
  through the bytes in C (~5 instructions, ~0.5-0.8 ns a byte here).
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up, see tutela/record.py)
if TYPE_CHECKING:
    from typing import Any

ECS_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
SPARSE = 1024  # mean bytes between 0xFF above which memchr jumps beat the regex (~0.45 ns/byte; measured)
NATIVE_LIB = os.path.join(os.path.dirname(__file__), "_marker_scan.so")

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
    read-only mapping; ``len(buf)`` is the end of the search. ``bytes`` go to the native scan when it is
    built; otherwise, where 0xFF is sparse, jump between them with memchr, and once they are on average
    closer than ``SPARSE`` bytes (judged every 4 jumps) hand the rest to the regex."""
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
            m = ECS_MARKER.search(buf, pos)
            return m.start() if m else -1
