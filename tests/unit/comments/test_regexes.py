"""Promise: a regular expression made from the build's recorded program (tutela.comments.regexes) is the very
pattern ``re.compile`` gives (``==`` compares the pattern, its flags and its whole program), and anything the
file cannot vouch for is compiled as usual."""

from __future__ import annotations

import marshal
import re
from pathlib import Path

import pytest

from tutela.comments import regexes
from tutela.comments.normalize import STAGES


def _patterns() -> list[tuple[str, int]]:
    """What the classifiers compile at INIT: every stage of the normaliser, the lexicon's regexes..."""
    from tutela.comments.classify import default_matcher

    default_matcher()
    return list(regexes.SEEN)


def test_recorded_programs_make_the_patterns_re_compile_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patterns = _patterns()
    assert {(rx.pattern, 0) for rx, _, _ in STAGES} <= set(patterns)
    assert any("\\u3400" in p or "\u3400" in p for p, _ in patterns)  # the costly Chinese classes
    path = tmp_path / "regexes.marshal"
    path.write_bytes(regexes.dumps(patterns))
    monkeypatch.setattr(regexes, "PROGRAMS", path)
    programs = regexes._load()
    assert set(programs) == set(patterns)
    monkeypatch.setattr(regexes, "_PROGRAMS", programs)
    for pattern, flags in patterns:
        made = regexes.compile(pattern, flags)
        assert made == re.compile(pattern, flags)
        assert made is not re.compile(pattern, flags)  # from the program, not from re's own cache


def test_a_program_for_another_interpreter_or_a_broken_file_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "regexes.marshal"
    monkeypatch.setattr(regexes, "PROGRAMS", path)
    assert regexes._load() == {}  # missing
    path.write_bytes(b"\x00garbage")
    assert regexes._load() == {}
    key, programs = marshal.loads(regexes.dumps([("[a-z]+", 0)]))
    path.write_bytes(marshal.dumps((((2, 7), key[1], key[2]), programs)))
    assert regexes._load() == {}  # another Python


def test_an_invalid_program_is_compiled_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    flags, code, *rest = regexes.program("[a-z]+x", 0)
    monkeypatch.setattr(regexes, "_PROGRAMS", {("[a-z]+x", 0): (flags, [999, *code], *rest)})
    assert regexes.compile("[a-z]+x") == re.compile("[a-z]+x")
    # and a wrong but valid program is never recorded: the build keeps only programs equal to re.compile's
    other = regexes.program("[a-y]+x", 0)
    monkeypatch.setattr(regexes, "program", lambda pattern, flags=0: other)
    assert marshal.loads(regexes.dumps([("[a-z]+x", 0)]))[1] == {}
