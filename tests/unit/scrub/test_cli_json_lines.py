"""The scrub CLI's JSON lines are exactly what json.dumps writes, for any value a report line can hold."""

from __future__ import annotations

import enum
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile.media_corpus import jpeg
from tutela.scrub import scrub_file
from tutela_dev.cli.scrub import dumps

_SCALARS = (
    st.text() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.none()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_dumps_is_json_dumps(value: object) -> None:
    assert dumps(value) == json.dumps(value)


class _Code(enum.IntEnum):
    A = 3


def test_dumps_hands_other_types_to_json() -> None:
    for value in ((1, "a"), {1: "x", "b": 2.5}, _Code.A, [float("nan"), -float("inf")], {"k": (True, None)}):
        assert dumps(value) == json.dumps(value)


def test_a_real_report_line(tmp_path: Path) -> None:
    src = tmp_path / 'in "quoted" é.jpg'
    src.write_bytes(jpeg())
    report = scrub_file(src, tmp_path / "out.jpg")
    line = {"input": str(src), "output": str(tmp_path / "out.jpg"), **report.to_dict()}
    assert dumps(line) == json.dumps(line)
