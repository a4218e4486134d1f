"""The emulated stack's shortcuts around moto keep moto's semantics: a JSON copy is a deep copy, the log
sink counts exactly the bytes written, the parsed-path cache returns what a fresh parse finds."""

from __future__ import annotations

import copy
import io
from datetime import UTC, datetime

from tutela_dev.emulator.meter import CountingSink
from tutela_dev.emulator.stack import json_copy


def test_a_json_copy_is_an_equal_independent_deep_copy() -> None:
    state = {"detail": {"object": {"key": "k", "size": 3}}, "results": [{"line": 1, "e": [0, 1.5, None]}]}
    out = json_copy(state)
    assert out == state == copy.deepcopy(state)
    out["detail"]["object"]["key"] = "changed"
    out["results"][0]["e"].append(True)
    assert state == {
        "detail": {"object": {"key": "k", "size": 3}},
        "results": [{"line": 1, "e": [0, 1.5, None]}],
    }
    # anything that is not JSON is deep-copied as before
    moment = {"when": [datetime(2026, 12, 1, tzinfo=UTC)], "t": (1, [2])}
    other = json_copy(moment)
    assert other == moment and other["t"][1] is not moment["t"][1]


def test_the_counting_sink_counts_utf8_bytes_and_passes_everything_through() -> None:
    out = io.StringIO()
    sink = CountingSink(out)
    sink.write("abc\n")
    sink.write("好\n")
    sink.flush()
    assert sink.tell() == 4 + 4 and out.getvalue() == "abc\n好\n"


def test_a_cached_json_path_finds_what_a_fresh_parse_finds() -> None:
    from functools import lru_cache

    from moto.stepfunctions.parser.asl.utils import json_path

    cached = lru_cache(maxsize=8)(json_path.parse)
    data = {"record": {"decision": {"sk": "v#1"}, "fresh": True}, "items": [1, 2, 3]}
    for path in ("$.record.decision", "$.record.fresh", "$.items[1]", "$.items[*]"):
        assert [m.value for m in cached(path).find(data)] == [
            m.value for m in json_path.parse(path).find(data)
        ]
        assert cached(path) is cached(path)
