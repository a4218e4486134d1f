"""The one comment-line parser: only judged fields are published, and the uploader can only make the
context stricter (issue 8, items 3 and 8). Each test names the promise it guards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tutela.comments import classify_lines
from tutela.comments.lines import MAX_ID_CHARS, parse_batch, parse_line, split_batch

GROOMING = "how old r u? add me on snap, dont tell ur parents"


def one(line: str | bytes, ctx: bool | None = None) -> dict:
    (r,) = list(classify_lines([line], minor_context=ctx))
    return r


def test_published_line_is_reserialised_from_judged_fields_only() -> None:
    """Promise: an unjudged field (title) never goes out (item 3a)."""
    c = parse_line(1, json.dumps({"id": "f1", "text": "nice", "title": GROOMING, "author": "x"}), None)
    assert c is not None and c.error is None
    assert json.loads(c.published()) == {"id": "f1", "text": "nice"}


def test_duplicate_keys_hold_the_line() -> None:
    """Promise: with two "text" keys neither value is published unjudged (item 3b)."""
    line = '{"id": "d", "text": "' + GROOMING + '", "text": "nice"}'
    r = one(line)
    assert r["verdict"] == "review" and r["code"] == "duplicate_key"
    nested = one('{"id": "n", "text": "nice", "meta": {"a": 1, "a": 2}}')
    assert nested["code"] == "duplicate_key"
    with pytest.raises(ValueError):
        parse_line(1, line, None).published()  # type: ignore[union-attr]


@pytest.mark.parametrize("control", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u202b"])
def test_bidi_controls_hold_the_line(control: str) -> None:
    """Promise: text whose displayed order differs from its stored order is not auto-allowed (item 3c)."""
    hidden = GROOMING[::-1]  # stored reversed, displayed forwards by the override
    r = one(json.dumps({"id": "b", "text": f"{control}{hidden}\u202c"}))
    assert r["verdict"] == "review" and r["code"] == "bidi_control"


def test_invisible_characters_are_removed_before_judging_and_publishing() -> None:
    text = "a\u200bd\u200bd m\u2060e o\u00adn sn\ufeffap, how o\U000e0041ld r u"
    c = parse_line(1, json.dumps({"id": "z", "text": text}), None)
    assert c is not None and c.text == "add me on snap, how old r u"
    assert json.loads(c.published())["text"] == c.text
    assert one(json.dumps({"id": "z", "text": text}), True)["verdict"] != "allow"
    emoji = "👨\u200d👩\u200d👧"  # ZWJ sequences stay intact
    assert parse_line(1, json.dumps({"id": "e", "text": emoji}), None).text == emoji  # type: ignore[union-attr]


@pytest.mark.parametrize("own", [False, None, "false", 0])
def test_a_line_cannot_lower_the_posts_context(own: object) -> None:
    """Promise: the uploader can make the context stricter, never looser (item 3d)."""
    line = json.dumps({"id": "m", "text": "you look so sexy", "minor_context": own})
    assert one(line, True)["minor_context"] is True and one(line, True)["verdict"] != "allow"
    assert one(line, None)["minor_context"] is None


def test_a_line_can_make_the_context_stricter() -> None:
    line = json.dumps({"id": "m", "text": "you look so sexy", "minor_context": True})
    r = one(line, False)
    assert r["minor_context"] is True and r["verdict"] != "allow"


def test_ids_a_record_cannot_hold_are_held_not_fatal() -> None:
    """Promise: one bad id never sinks the batch (item 8)."""
    lines = [
        json.dumps({"id": "x" * (MAX_ID_CHARS + 1), "text": "nice"}),
        json.dumps({"id": "bad\nid", "text": "nice"}),
        json.dumps({"id": "ok", "text": "nice"}),
    ]
    out = list(classify_lines(lines, minor_context=False))
    assert [r.get("code") for r in out] == ["unsafe_id", "unsafe_id", None]
    assert out[2]["verdict"] == "allow"


def test_an_id_with_a_lone_surrogate_is_held_under_its_hash_and_the_batch_stays_storable() -> None:
    """Promise: bad input gets a clear reason, never a traceback. A JSON-escaped lone surrogate in an id
    ("\\udfff") is no character: the batch's results could not be encoded (UnicodeEncodeError in
    ClassifyComments) and the whole batch was held as an analyzer error."""
    lines = [b'{"id": "\\udfff", "text": "nice"}', b'{"id": "ok", "text": "hi \\ud800 there"}']
    out = list(classify_lines(lines, minor_context=False))
    assert out[0]["code"] == "unsafe_id" and out[0]["verdict"] == "review"
    assert out[0]["id"].startswith("sha256:") and out[1]["verdict"] == "allow"
    json.dumps(out, ensure_ascii=False).encode("utf-8")  # what is staged and stored: no surrogate left out
    [held, ok] = parse_batch(lines, None)
    assert held.record_id == held.id and ok.published() == b'{"id": "ok", "text": "hi \\ud800 there"}'


def test_split_is_bytes_lines_and_blank_lines_keep_their_number() -> None:
    batch = b'{"id": "a", "text": "x\xe2\x80\xa8y"}\r\n\n{"id": "b", "text": "z"}\n\xff\n'
    raw = split_batch(batch)
    parsed = list(parse_batch(raw, None))
    assert [c.line for c in parsed] == [1, 3, 4]
    assert parsed[0].text == "x\u2028y" and parsed[2].code == "invalid_comment"


def test_a_leading_utf8_bom_is_not_part_of_the_first_comment() -> None:
    """A "UTF-8 with BOM" batch: its first comment is judged, not held as invalid JSON; a BOM elsewhere is
    content (an invisible character inside line 2 is the line's, and the line parser judges it)."""
    import io

    from tutela.comments.lines import iter_batch

    batch = b'\xef\xbb\xbf{"id": "a", "text": "hello there"}\n\xef\xbb\xbf{"id": "b", "text": "z"}\n'
    raw = split_batch(batch)
    assert raw[0] == b'{"id": "a", "text": "hello there"}' and raw[1].startswith(b"\xef\xbb\xbf")
    assert list(iter_batch(io.BytesIO(batch))) == raw
    first = next(iter(classify_lines(raw)))
    assert first["id"] == "a" and first["verdict"] == "allow" and "error" not in first


def test_the_cli_and_the_lambda_split_and_judge_a_batch_the_same_way(tmp_path: Any) -> None:
    """Issue 9: the CLI and the Lambda recorded different errors for the same invalid UTF-8 line."""
    import io

    from tutela.comments.lines import iter_batch
    from tutela_dev.cli import main

    batch = b'{"id": "a", "text": "hi"}\r\n\xff\xfe\n\r{"id": "b", "text": "x\xe2\x80\xa8y"}\r{"id": "c"}\n'
    assert list(iter_batch(io.BytesIO(batch))) == split_batch(batch)
    src, out = tmp_path / "b.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(batch)
    assert main(["comments", str(src), "-o", str(out)]) == 1  # invalid lines present
    cli = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    lam = json.loads(json.dumps(list(classify_lines(split_batch(batch)))))
    assert cli == lam
    assert [r.get("error") for r in cli] == [None, "line is not valid UTF-8", None, "missing text"]
