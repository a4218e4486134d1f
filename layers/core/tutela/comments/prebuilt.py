"""The packaged lexicon's matcher, built at build time and loaded at INIT.

Building the automaton imports pypinyin (its dictionaries alone are ~0.3 s) and expands every term; a
pickle of the finished :class:`Matcher` (its lexicon included) loads in a fraction of that. The pickle
records a digest of every file in ``data/`` and is used only if the files still match it, so an edited
lexicon is never judged by a stale automaton: it is rebuilt from the files, as before.

``python -m tutela.comments.prebuilt`` writes it (the CoreLayer build does, with the runtime's Python);
a source checkout without it builds the matcher on first use. The file is a build artifact of this
package, as trusted as its code.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import zlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tutela.comments.lexicon import DATA_DIR

if TYPE_CHECKING:
    from tutela.comments.match import Matcher

PICKLE = DATA_DIR / "matcher.pickle"
_FORMAT = 1


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


def load(root: Path) -> Matcher | None:
    try:
        raw = (root / PICKLE.name).read_bytes()
    except OSError:
        return None
    try:
        fmt, digest, python, matcher = pickle.loads(zlib.decompress(raw))  # our own build artifact
    except Exception:  # e.g. a pickle from another library version: build from the files instead
        return None
    if fmt != _FORMAT or python != sys.version_info[:2] or digest != data_digest(root):
        return None
    return matcher


def write(root: Path = DATA_DIR) -> Path:
    """Build the matcher of the lexicon in ``root`` and pickle it next to its files."""
    from tutela.comments.lexicon import load_lexicon
    from tutela.comments.match import Matcher

    matcher = Matcher(load_lexicon(root))
    payload = (_FORMAT, data_digest(root), tuple(sys.version_info[:2]), matcher)
    path = root / PICKLE.name
    # Compressed: the layer counts against Lambda's 250 MB (ScanMedia's function + layers are near it).
    path.write_bytes(zlib.compress(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL), 6))
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR))
