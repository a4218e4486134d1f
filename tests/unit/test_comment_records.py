"""Plain allows are accounted for by their batch; flagged comments keep their own records and evidence."""

from __future__ import annotations

import json

from tutela.comment_records import (
    allowed_lines,
    evidence_text,
    expand,
    fits_inline,
    informative,
    kept_in_record,
    line_ranges,
    parse_ranges,
    with_text,
    with_uploaded,
    without_text,
)

BATCH = b"".join(
    json.dumps({"id": f"c{i}", "text": t}).encode() + b"\n"
    for i, t in enumerate(["hi", "add me on snap", "nice", "", "ok"], 1)
)
RESULTS = [
    {"id": "c1", "line": 1, "verdict": "allow", "categories": [], "evidence": []},
    {
        "id": "c2",
        "line": 2,
        "verdict": "review",
        "categories": ["grooming"],
        "evidence": [{"start": 0, "end": 14, "text": "add me on snap", "category": "grooming"}],
    },
    {"id": "c3", "line": 3, "verdict": "allow", "categories": [], "evidence": []},
    {"id": "c5", "line": 5, "verdict": "allow", "categories": ["innuendo"], "evidence": []},
]


def test_ranges_round_trip() -> None:
    assert line_ranges([5, 1, 2, 3, 9, 10]) == "1-3,5,9-10"
    assert parse_ranges("1-3,5,9-10") == [1, 2, 3, 5, 9, 10]
    assert line_ranges([]) == "" and parse_ranges("") == []


def test_only_a_plain_allow_is_left_to_the_batch() -> None:
    assert [informative(r) for r in RESULTS] == [False, True, False, True]
    assert informative({"line": 4, "verdict": "allow", "error": "not JSON"})
    assert allowed_lines(RESULTS) == "1,3"


def test_every_line_has_exactly_one_answer() -> None:
    batch = {"sk": "v#1", "allowed_lines": "1,3", "minor_context": True}
    stored = [{**RESULTS[1], "sk": "v#1#c#000002"}, {**RESULTS[3], "sk": "v#1#c#000005"}]
    lines = expand(batch, stored)
    assert [(r["line"], r["verdict"]) for r in lines] == [
        (1, "allow"),
        (2, "review"),
        (3, "allow"),
        (5, "allow"),
    ]
    assert lines[0]["minor_context"] is True and lines[0]["recorded_in"] == "v#1"


def test_text_leaves_the_state_and_comes_back_from_the_batch() -> None:
    light = without_text(RESULTS)
    assert "add me on snap" not in json.dumps(light)
    assert light[1]["evidence"] == [{"start": 0, "end": 14, "category": "grooming"}]
    assert with_text(light, BATCH) == RESULTS
    assert fits_inline(light) and not fits_inline([{"x": "y" * 70_000}])


def test_only_blocked_lines_carry_their_uploaded_bytes_and_only_when_they_fit() -> None:
    results = [
        {"line": 1, "verdict": "allow"},
        {"line": 2, "verdict": "block"},
        {"line": 3, "verdict": "review"},
        {"line": 9, "verdict": "block"},  # no such line: nothing to keep
    ]
    out = with_uploaded(results, BATCH)
    assert [r.get("uploaded") for r in out] == [None, BATCH.splitlines()[1].decode(), None, None]
    assert kept_in_record(b"x" * 1000) and not kept_in_record(b"x" * 200_000)
    assert not kept_in_record(b"\xff\xfe not utf-8")


def test_a_record_keeping_its_line_stores_spans_only_and_their_text_comes_back_from_it() -> None:
    """Promise: a blocked comment's record holds its uploaded line and its evidence spans without their
    text (one DynamoDB write unit instead of two for a typical line); the text is the line's at the spans."""
    from tutela.decision import comment_items
    from tutela.objects import ObjectRef

    line = json.dumps({"id": "c9", "text": "hey cutie 加我薇信, don't tell"}, ensure_ascii=False)
    spans = [{"start": 0, "end": 9, "category": "grooming", "rule": "r1"}, {"start": 10, "end": 14}]
    batch = (line + "\n").encode()
    judged = with_uploaded(with_text([{"line": 1, "verdict": "block", "evidence": spans}], batch), batch)
    assert [e["text"] for e in judged[0]["evidence"]] == ["hey cutie", "加我薇信"]
    (record,) = comment_items(ObjectRef("b", "comments/p/x.jsonl", "v1"), judged, decided="t", expires=1)
    assert record["uploaded"] == line and record["evidence"] == spans  # no text stored
    assert evidence_text(record) == judged[0]["evidence"]
    from decimal import Decimal  # as read back through the DynamoDB resource API

    read = {
        **record,
        "evidence": [{**e, "start": Decimal(e["start"]), "end": Decimal(e["end"])} for e in spans],
    }
    assert [e["text"] for e in evidence_text(read)] == ["hey cutie", "加我薇信"]
    # a record without its line (a review verdict) keeps the text it was given
    (held,) = comment_items(
        ObjectRef("b", "comments/p/x.jsonl", "v1"),
        [{**judged[0], "verdict": "review", "uploaded": None}],
        decided="t",
        expires=1,
    )
    assert held["evidence"] == judged[0]["evidence"] and evidence_text(held) == judged[0]["evidence"]
