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
