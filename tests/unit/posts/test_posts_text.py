"""Post text: parsing, post-only signals, the post policy, and the published form (pure, no AWS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tutela.errors import InvalidInputError, LimitExceededError
from tutela.posts.classify import classify_post
from tutela.posts.model import Post, coarsen, parse_post
from tutela.posts.signals import find_signals

LIMITS: dict[str, Any] = {"max_bytes": 65536, "max_chars": 5000, "max_hashtags": 60}
ADULT_POST = frozenset({"media_seen"})  # a media decision found no minor
UNKNOWN = frozenset()  # no media decision yet


def parse(obj: Any, key_post: str | None = "p1", **limits: Any) -> Post:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj, ensure_ascii=False).encode()
    return parse_post(raw, key_post=key_post, **{**LIMITS, **limits})


def signals(text: str) -> set[tuple[str, str]]:
    return {(s.signal, s.text) for s in find_signals(text)}


# ---------------------------------------------------------------- the file
def test_a_full_post_parses_and_publishes_only_judged_fields_coarsened() -> None:
    post = parse(
        {
            "post_id": "p1",
            "caption": "Sunset",
            "title": "Paris",
            "hashtags": ["#travel", "sun"],
            "location": {"name": "Eiffel Tower", "lat": 48.858370, "lon": -2.294481, "accuracy": 3},
            "uploader": "u-1",
            "exif": {"serial": "SN"},
        }
    )
    assert post.published(1) == {
        "post_id": "p1",
        "caption": "Sunset",
        "title": "Paris",
        "hashtags": ["travel", "sun"],
        "location": {"name": "Eiffel Tower", "lat": 48.9, "lon": -2.3},
    }
    assert post.published(0)["location"] == {"name": "Eiffel Tower", "lat": 49.0, "lon": -2.0}
    assert post.precise_location(1) and not parse(
        {"caption": "x", "location": {"lat": 48.9, "lon": 2.3}}
    ).precise_location(1)
    assert coarsen(-0.04, 1) == 0.0 and str(coarsen(-0.04, 1)) == "0.0"


def test_post_id_comes_from_the_key_and_must_match_it() -> None:
    assert parse({"caption": ""}).post_id == "p1"
    with pytest.raises(InvalidInputError, match="does not match"):
        parse({"post_id": "other", "caption": "x"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xff\xfe", InvalidInputError),
        (b"[1, 2]", InvalidInputError),
        (b'{"caption": "a", "caption": "b"}', InvalidInputError),  # which one would a reader show?
        ({"title": "no caption"}, InvalidInputError),
        ({"caption": 42}, InvalidInputError),
        ({"caption": "x", "hashtags": "tag"}, InvalidInputError),
        ({"caption": "x", "hashtags": ["a"] * 61}, LimitExceededError),
        ({"caption": "x" * 5001}, LimitExceededError),
        ({"caption": "x", "location": {"lat": 91, "lon": 0}}, InvalidInputError),
        ({"caption": "x", "location": {"lat": 10}}, InvalidInputError),
        ({"caption": "x", "location": {"lat": True, "lon": 0}}, InvalidInputError),
        (b'{"caption": "x", "location": {"lat": NaN, "lon": 0}}', InvalidInputError),
        ({"caption": "x", "location": "Paris"}, InvalidInputError),
        ({"caption": "look \u202eevil\u202c"}, InvalidInputError),  # the reader sees another order
        (b'{"caption": "' + b"a" * 70000 + b'"}', LimitExceededError),
        # Lone surrogates (JSON escapes of no character) in any judged text: UTF-8 cannot publish them, and
        # ClassifyPost crashed with a UnicodeEncodeError (a traceback, an analyzer_error) instead of a reason.
        (b'{"caption": "hi \\ud800"}', InvalidInputError),
        (b'{"caption": "hi", "title": "\\udfff"}', InvalidInputError),
        (b'{"caption": "hi", "hashtags": ["ok", "\\udc00"]}', InvalidInputError),
        (b'{"caption": "hi", "location": {"name": "\\ud83d"}}', InvalidInputError),
        (b'{"post_id": "\\ud800", "caption": "hi"}', InvalidInputError),
    ],
)
def test_bad_posts_are_clear_errors(body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse(body)


def test_a_utf8_byte_order_mark_before_the_post_is_not_part_of_it() -> None:
    """Input class: a post file saved as "UTF-8 with BOM". RFC 8259 lets a parser ignore the mark and the
    comment batches do (tutela.comments.lines.split_batch); the post was held as "not valid UTF-8 JSON".
    Only the leading mark: one inside the JSON is still invalid."""
    body = json.dumps({"caption": "sunset at the lake"}).encode()
    assert parse(b"\xef\xbb\xbf" + body) == parse(body)
    with pytest.raises(InvalidInputError):
        parse(b"\xef\xbb\xbf\xef\xbb\xbf" + body)


def test_invisible_characters_are_removed_before_judging_and_publishing() -> None:
    post = parse({"caption": "dancing with\u200bout clo\u200bthes"})
    assert post.caption == "dancing without clothes"
    assert post.published(1)["caption"] == "dancing without clothes"


# ---------------------------------------------------------------- signals
@pytest.mark.parametrize(
    "text",
    [
        "my 8-year-old's first dance recital",
        "My 8yo at the pool",
        "she just turned 12",
        "小学三年级",
        "初二女生",
        "我家孩子12岁了",
        "八岁生日快乐",
        "our daughter's first day",
        "ＭＹ ＤＡＵＧＨＴＥＲ",
    ],
)
def test_self_declared_minors(text: str) -> None:
    assert any(sig == "declares_minor" for sig, _ in signals(text)), text


@pytest.mark.parametrize("text", ["dancing without clothes", "擦边", "#穿搭福利", "indecent poses", "caBian"])
def test_sexualised_framing(text: str) -> None:
    assert any(sig == "sexual_framing" for sig, _ in signals(text)), text


@pytest.mark.parametrize(
    "text", ["we're at Sunny Park right now", "Sunny Hill Elementary School", "阳光小学门口", "人民路12号"]
)
def test_location_in_text(text: str) -> None:
    assert any(sig == "location_text" for sig, _ in signals(text)), text


@pytest.mark.parametrize(
    "text", ["I am 35 years old", "员工福利", "Sunset at the lake", "Grade A coffee", "dancing in the rain"]
)
def test_ordinary_text_has_no_post_signal(text: str) -> None:
    assert signals(text) == set()


def test_signal_spans_point_at_the_original_text() -> None:
    text = "Look: my 8yo dancing without clothes!"
    spans = {s.signal: (s.start, s.end) for s in find_signals(text)}
    a, b = spans["sexual_framing"]
    assert text[a:b] == "without clothes"
    a, b = spans["declares_minor"]
    assert text[a:b] == "8yo"


# ---------------------------------------------------------------- the policy
def test_framing_with_a_declared_child_is_blocked() -> None:
    d = classify_post(parse({"caption": "my 8yo dancing without clothes"}), ADULT_POST)
    assert d["verdict"] == "block" and d["minor"] == "likely" and d["minor_basis"] == "text"
    codes = [r["code"] for r in d["reasons"]]
    assert "sexualised_framing_minor" in codes and "minor_declared" in codes
    assert d["severity"] == 4 and d["minor_declared"] is True
    evidence = d["fields"]["caption"]["signals"]
    assert {s["signal"] for s in evidence} == {"declares_minor", "sexual_framing"}


def test_framing_follows_the_posts_minor_status() -> None:
    post = parse({"caption": "indecent poses #今日穿搭"})  # words the comment classifier alone lets through
    assert classify_post(post, frozenset({"media_seen", "media_likely"}))["verdict"] == "block"
    assert classify_post(post, frozenset({"media_seen", "media_possible"}))["verdict"] == "review"
    assert classify_post(post, UNKNOWN)["verdict"] == "review"  # no media decision yet: fail closed
    adult = classify_post(post, ADULT_POST)
    assert adult["verdict"] == "allow" and [r["code"] for r in adult["reasons"]] == ["sexualised_framing"]
    assert classify_post(post, frozenset({"media_seen", "text_minor"}))["verdict"] == "block"
    # Explicit words are the comment classifier's too: under a possible minor they are blocked (the
    # learned stage may not veto them there: policy.toml [model] sexual_cues).
    explicit = parse({"caption": "dancing without clothes"})
    assert classify_post(explicit, frozenset({"media_seen", "media_possible"}))["verdict"] == "block"


def test_hashtags_and_title_are_judged_too() -> None:
    post = parse({"caption": "今日穿搭", "title": "初二", "hashtags": ["擦边"]})
    d = classify_post(post, ADULT_POST)
    assert d["verdict"] == "block" and d["fields"]["hashtags"]["signals"][0]["text"] == "擦边"


def test_the_comment_classifier_judges_every_field_in_the_posts_context() -> None:
    grooming = parse({"caption": "hey cutie how old are you? add me on snap, don't tell your parents"})
    d = classify_post(grooming, ADULT_POST)
    assert d["verdict"] != "allow" and any(r["code"].startswith("post_") for r in d["reasons"])
    innuendo = parse({"caption": "my daughter, so sexy, love those legs"})
    d = classify_post(innuendo, ADULT_POST)  # the declared child makes it a child's post
    assert d["verdict"] == "block"
    assert d["fields"]["caption"]["evidence"]  # same evidence spans as comments


def test_precise_location_is_a_risk_only_with_a_possible_or_likely_minor() -> None:
    where = {"name": "Home", "lat": 31.230416, "lon": 121.473701}
    adult = classify_post(parse({"caption": "Sunset", "location": where}), ADULT_POST)
    assert adult["verdict"] == "allow" and adult["location_declared"] is True
    child = classify_post(parse({"caption": "my son's 1st grade photo", "location": where}), ADULT_POST)
    assert child["verdict"] == "review" and "location_risk_minor" in [r["code"] for r in child["reasons"]]
    coarse = classify_post(parse({"caption": "my son", "location": {"lat": 31.2, "lon": 121.5}}), ADULT_POST)
    assert coarse["verdict"] == "allow" and coarse["location_declared"] is False
    named = classify_post(parse({"caption": "my son at Sunny Hill Elementary School"}), ADULT_POST)
    assert named["verdict"] == "review"


def test_a_plain_caption_is_allowed_and_stores_no_coordinates() -> None:
    d = classify_post(
        parse({"caption": "Sunset", "location": {"lat": 48.858370, "lon": 2.294481}}), ADULT_POST
    )
    assert d["verdict"] == "allow" and d["reasons"] == [] and d["minor"] == "none"
    assert "48.858" not in json.dumps(d) and "2.294" not in json.dumps(d)
    assert d["policy"]["version"].startswith("posts-policy-")


@pytest.mark.parametrize(
    "place", ["Town hall", "Riverside Park", "Central Library", "Sunny Hill Mall", "市民广场"]
)
def test_a_place_name_is_the_location_policys_call_not_a_comment_asking_where(place: str) -> None:
    where = {"name": place, "lat": 31.230416, "lon": 121.473701}
    d = classify_post(parse({"caption": "my daughter's first recital", "location": where}), ADULT_POST)
    assert d["fields"]["location"]["verdict"] == "allow", d["fields"]["location"]
    codes = [r["code"] for r in d["reasons"]]
    assert d["verdict"] == "review" and "location_risk_minor" in codes, codes
    assert not [c for c in codes if c.startswith("post_")], codes


def test_a_place_name_is_still_judged_for_sexual_content() -> None:
    where = {"name": "send nudes to my snap, little girls only", "lat": 31.2, "lon": 121.5}
    d = classify_post(parse({"caption": "my daughter's first recital", "location": where}), ADULT_POST)
    assert d["fields"]["location"]["verdict"] != "allow" and d["verdict"] != "allow"
