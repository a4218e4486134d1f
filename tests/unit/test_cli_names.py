"""The developer command the product documents is `tutela local run`; `tutela emulator run` is its alias."""

from __future__ import annotations

import pytest

from tutela_dev.cli import build_parser
from tutela_dev.cli.emulator import run_emulated


@pytest.mark.parametrize("verb", ["local", "emulator"])
def test_local_run_and_its_alias_parse_to_the_emulated_run(verb: str) -> None:
    argv = [verb, "run", "photo.jpg", "--out", "out"]
    args = build_parser(argv).parse_args(argv)
    assert args.run is run_emulated
    assert [str(f) for f in args.files] == ["photo.jpg"]


def test_local_is_listed_in_the_help() -> None:
    assert "local" in build_parser([]).format_help()


def test_a_command_named_first_parses_with_only_its_own_parser() -> None:
    argv = ["scrub", "a.jpg", "b.jpg", "--out-dir", "out", "--jobs", "1"]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    assert args.command == "scrub" and args.inputs == ["a.jpg", "b.jpg"] and args.jobs == 1
    assert "local" not in parser.format_help()  # the other commands were not built


def test_an_unknown_command_is_refused_with_every_command_listed(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["bogus"], ["-h"]):
        with pytest.raises(SystemExit):
            build_parser(argv).parse_args(argv)
    err = capsys.readouterr()
    assert "invalid choice: 'bogus'" in err.err
    for name in ("local", "scrub", "scan", "comments", "bank", "review"):
        assert name in err.err and name in err.out  # the error's choices and the help's list
