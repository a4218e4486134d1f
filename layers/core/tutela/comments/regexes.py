"""Regular expressions whose compiled programs were recorded at build time.

CPython's ``re`` compiles a character class one code point at a time, in Python: every class over the
Chinese ranges (``[\\u3400-\\u9fff...]``, ~28,000 code points) costs ~30M instructions (~7 ms), and the
normaliser, the matcher and the lexicon's regexes compile several of them at INIT (the comment line
parser's smaller classes, ~13M together, at every cold start that reads a batch). The CoreLayer build
records the program of every pattern that went through :func:`compile` (``python -m
tutela.comments.regexes``, after the matchers are prebuilt); at INIT a recorded pattern is made from its
program with ``_sre.compile``, the call :func:`re.compile` itself ends with. The result is the same
pattern: equal to ``re.compile``'s (``==`` compares the pattern, its flags and its whole program), which the
build checks for every program before writing it.

Only a file recorded by the same interpreter (Python minor version, ``_sre.MAGIC``, ``_sre.CODESIZE``) is
used; a missing, stale or unreadable file, or a pattern without a program, is compiled as usual. The file is
a build artifact of this package, as trusted as its code.
"""

from __future__ import annotations

import _sre
import marshal
import re
import sys
from pathlib import Path
from typing import Any

PROGRAMS = Path(__file__).parent / "regexes.marshal"
_KEY = (tuple(sys.version_info[:2]), _sre.MAGIC, _sre.CODESIZE)

# (pattern, flags) of every call, in order: what the build records (the process that writes the file has
# imported the modules and loaded the matchers that compile through here)
SEEN: dict[tuple[str, int], None] = {}


def _load() -> dict[tuple[str, int], tuple[Any, ...]]:
    try:
        key, programs = marshal.loads(PROGRAMS.read_bytes())
    except Exception:  # missing (a source checkout), truncated or from another version: compile as usual
        return {}
    return programs if key == _KEY and isinstance(programs, dict) else {}


_PROGRAMS = _load()


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """:func:`re.compile`, from the recorded program when there is one."""
    SEEN[pattern, flags] = None
    program = _PROGRAMS.get((pattern, flags))
    if program is not None:
        try:
            compiled: re.Pattern[str] = _sre.compile(pattern, *program)
            return compiled
        except Exception:  # _sre validates the program: an invalid one is compiled as usual
            pass
    return re.compile(pattern, flags)


def program(pattern: str, flags: int = 0) -> tuple[Any, ...]:
    """The arguments after ``pattern`` that :func:`re.compile` passes to ``_sre.compile`` (its
    ``re._compiler.compile``, step by step)."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(pattern, flags)
    code = [int(c) for c in _compiler._code(parsed, flags)]  # opcodes are an int subclass: plain ints
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, i in groupindex.items():
        indexgroup[i] = name
    return (int(flags | parsed.state.flags), code, parsed.state.groups - 1, groupindex, tuple(indexgroup))


def dumps(patterns: list[tuple[str, int]]) -> bytes:
    """The file's bytes: the program of each pattern, kept only if it makes a pattern equal to
    ``re.compile``'s."""
    programs: dict[tuple[str, int], tuple[Any, ...]] = {}
    for pattern, flags in patterns:
        args = program(pattern, flags)
        if _sre.compile(pattern, *args) == re.compile(pattern, flags):
            programs[pattern, flags] = args
    return marshal.dumps((_KEY, programs))


def write() -> Path:
    """Record every pattern the classifiers compile at INIT (their modules imported, the prebuilt matchers
    loaded) next to this module."""
    import importlib

    for module in ("tutela.comments.classify", "tutela.posts.signals"):
        importlib.import_module(module)
    from tutela.comments.classify import default_matcher
    from tutela.posts.signals import warm

    default_matcher()
    warm()
    PROGRAMS.write_bytes(dumps(list(SEEN)))
    return PROGRAMS


if __name__ == "__main__":
    # run as a script this file is a second module: the one the classifiers import holds what they compiled
    from tutela.comments import regexes

    print(regexes.write())
