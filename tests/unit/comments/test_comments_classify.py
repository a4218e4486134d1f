"""classify_text / classify_lines: categories, context, hard negatives, evidence, invalid lines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tutela.comments import LEXICON_VERSION, classify_lines, classify_text, load_lexicon

KEYS = {"verdict", "categories", "score", "severity", "evidence", "minor_context", "lexicon_version"}
# The rules stage alone: these tests pin the lexicon and the policy, not the trained weights
# (the learned stage has its own tests in test_comments_model.py).
RULES = load_lexicon(with_model=False)


def flagged(text: str, ctx: bool | None = True) -> dict[str, Any]:
    return classify_text(text, minor_context=ctx, lexicon=RULES)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("how old are you? add me on snap", "grooming"),
        ("dm me, don't tell your parents", "grooming"),
        ("i'll buy you robux if you send me a pic", "grooming"),
        ("are you home alone?", "grooming"),
        ("wanna meet? i can pick you up", "grooming"),
        ("text me 415 555 0134", "grooming"),
        ("你几岁了？加我微信", "grooming"),
        ("别告诉你爸妈，我给你发红包", "grooming"),
        ("发照片给我，给你买皮肤", "grooming"),
        ("jailbait", "sexualising_minor"),
        ("sexy little girl", "sexualising_minor"),
        ("发育得真好", "sexualising_minor"),
        ("send nudes", "sexual_innuendo"),
        ("selling nudes, dm me", "solicitation"),
        ("约炮", "solicitation"),
        ("which school do you go to?", "locating_minor"),
        ("你家住哪", "locating_minor"),
        ("她在实验小学三年级二班", "locating_minor"),
    ],
)
def test_bad_comments_are_flagged_under_a_child_post(text: str, category: str) -> None:
    r = flagged(text)
    assert r["verdict"] in ("review", "block")
    assert category in r["categories"]
    assert r["severity"] >= 2
    assert set(r) == KEYS


@pytest.mark.parametrize(
    ("text", "evasion"),
    [
        ("ｓｅｘｙ", "fullwidth"),
        ("SEND NUDES", "case"),
        ("ѕеху", "homoglyph"),
        ("s3xy", "leet"),
        ("$exy", "symbol swap"),
        ("s.e.x.y", "separators"),
        ("s\u200be\u200bx\u200by", "zero-width"),
        ("s🍑e🍑x🍑y", "emoji padding"),
        ("sexxxxy", "repeats"),
        ("妳好性感", "traditional"),
        ("jia wei xin", "pinyin"),
        ("yp吗", "initials"),
        ("加薇信", "homophone"),
        ("扣扣号多少", "homophone"),
        ("vx: abc12345", "homophone"),
    ],
)
def test_each_evasion_is_caught(text: str, evasion: str) -> None:
    assert flagged(text)["verdict"] != "allow", evasion


@pytest.mark.parametrize(
    "text",
    [
        "We visited Scunthorpe last summer",
        "cocktail party tonight",
        "assassin's creed is my favourite game",
        "Sussex is beautiful in spring",
        "grilled eggplant 🍆 recipe",
        "peaches 🍑 from the farmers market",
        "我已经预约了",
        "预约吗？",
        "三加五约等于八",
        "约了朋友吃饭",
        "黄色的裙子真好看",
        "炸鸡好吃",
        "今晚吃鸡腿",
        "how old can a child start swimming?",
        "which school district is this?",
        "孩子几岁可以学游泳？",
        "sex education should start early",
        "性教育要从小开始",
        "breastfeeding tips for new moms",
        "母乳喂养好辛苦",
        "So cute! Happy birthday",
        "宝宝好可爱，生日快乐",
        "Dick Van Dyke movie night",
    ],
)
@pytest.mark.parametrize("ctx", [True, False, None])
def test_hard_negatives_and_kind_words_stay_allowed(text: str, ctx: bool | None) -> None:
    r = flagged(text, ctx)
    assert r["verdict"] == "allow", r


def test_context_changes_the_verdict_for_innuendo() -> None:
    adult = flagged("you look so sexy", False)
    child = flagged("you look so sexy", True)
    unknown = flagged("you look so sexy", None)
    assert adult["verdict"] == "allow" and adult["categories"] == ["sexual_innuendo"]
    assert child["verdict"] == "review" and "sexualising_minor" in child["categories"]
    assert unknown["verdict"] == child["verdict"]  # unknown is treated as a possible minor
    assert unknown["minor_context"] is None


def test_explicit_under_a_child_post_is_blocked_at_high_severity() -> None:
    r = flagged("send nudes", True)
    assert r["verdict"] == "block"
    assert r["severity"] == 4


def test_grooming_is_worse_under_a_child_post() -> None:
    assert flagged("how old are you?", True)["verdict"] == "review"
    assert flagged("how old are you?", False)["verdict"] == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "so cute, what school?",  # age probing / locating
        "u single?",
        "snap?",  # naming an off-platform app
        "How old is she now? Time flies!",
        "Call me later sis",
        "是哪个小学的",
        "几年级了",
        "私我",
        "加賴",  # Taiwan: LINE
        "si聊",  # pinyin inside Chinese
        "住边度呀",  # Cantonese
        "🍑🍆💦",
    ],
)
def test_a_single_cue_is_reviewed_under_a_child_or_unknown_post_by_the_rules(text: str) -> None:
    # issue 11 policy; the learned stage may still veto it when confident (tested with the model)
    assert flagged(text, True)["verdict"] != "allow"
    assert flagged(text, None)["verdict"] != "allow"


@pytest.mark.parametrize("text", ["so cute, what school?", "snap?", "Call me later sis", "你好漂亮"])
def test_single_cues_and_compliments_stay_allowed_under_an_adult_post(text: str) -> None:
    assert flagged(text, False)["verdict"] == "allow"


@pytest.mark.parametrize(
    "text", ["send nudes", "I want to see you naked", "dm me for a good time", "发张裸照", "求包养"]
)
def test_explicit_requests_and_solicitation_are_reviewed_under_an_adult_post(text: str) -> None:
    assert flagged(text, False)["verdict"] != "allow"


@pytest.mark.parametrize(
    ("said", "reported"),
    [("send me pics", "report him, he wrote 'send me pics'"), ("加我微信", "举报了，他说加我微信")],
)
def test_reported_speech_damps_the_rules_scores(said: str, reported: str) -> None:
    plain = flagged(said, None)
    quoted = flagged(reported, None)
    assert plain["score"] > 0
    assert quoted["score"] == pytest.approx(plain["score"] * RULES.report_damping, abs=1e-3)


def test_evidence_points_into_the_original_text() -> None:
    text = "hey ｃｕｔｉｅ, s.e.x.y pics? 加 薇 信 吧"
    r = flagged(text)
    assert r["evidence"]
    for e in r["evidence"]:
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["category"] in r["categories"]
        assert e["rule"]
    texts = {e["text"] for e in r["evidence"]}
    assert "s.e.x.y" in texts
    assert any("薇" in t for t in texts)


def test_emoji_evidence_offsets() -> None:
    text = "wow 🍆💦"
    r = flagged(text)
    spans = {text[e["start"] : e["end"]] for e in r["evidence"]}
    assert {"🍆", "💦"} <= spans


def test_lexicon_version_is_recorded() -> None:
    assert classify_text("hi", minor_context=True)["lexicon_version"] == LEXICON_VERSION
    assert flagged("hi")["lexicon_version"] == RULES.version
    assert "+" in LEXICON_VERSION and RULES.version != LEXICON_VERSION  # the model's weights are in it


def test_classify_text_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        classify_text(None, minor_context=True)  # type: ignore[arg-type]


def test_overlong_text_is_held_for_review_without_echoing() -> None:
    r = classify_text("a" * 6000, minor_context=False)
    assert r["verdict"] == "review" and "longer" in r["error"]


def _lines(*objs: Any) -> list[str]:
    return [o if isinstance(o, str) else json.dumps(o, ensure_ascii=False) for o in objs]


def test_classify_lines_contract() -> None:
    lines = _lines(
        {"id": "a", "text": "so cute"},
        {"id": "b", "text": "how old r u? add me on snap"},
        {"id": "c", "text": "you look so sexy", "minor_context": False},
        {"id": "d", "text": "you look so sexy", "minor_context": None},
        "",
        {"id": 7, "text": "约吗", "extra": [1, 2]},
    )
    out = list(classify_lines(lines, minor_context=True, lexicon=RULES))
    assert [r["id"] for r in out] == ["a", "b", "c", "d", "7"]
    assert [r["line"] for r in out] == [1, 2, 3, 4, 6]
    # A line's minor_context false/null cannot lower the post's context (issue 8, item 3d).
    assert [r["verdict"] for r in out] == ["allow", "block", "review", "review", "block"]
    assert [r["minor_context"] for r in out] == [True, True, True, True, True]
    adult = list(classify_lines(lines, minor_context=False))
    assert [r["minor_context"] for r in adult] == [False, False, False, False, False]
    for r in out:
        assert KEYS | {"id", "line"} == set(r)


SECRET = "s3cr3t-comment-text"


@pytest.mark.parametrize(
    ("line", "reason", "ident"),
    [
        ("{not json " + SECRET, "invalid JSON", None),
        (json.dumps([SECRET]), "line is not a JSON object", None),
        (json.dumps({"id": "x"}), "missing text", "x"),
        (json.dumps({"id": "x", "text": 5}), "text must be a string", "x"),
        (json.dumps({"id": {"a": 1}, "text": SECRET}), "id must be a string", None),
        (json.dumps({"id": "x", "text": SECRET * 400}), "text longer than 5000 characters", "x"),
        ("[" * 100_000, "line longer than 65536 characters", None),
        (b"\xff\xfe" + SECRET.encode(), "line is not valid UTF-8", None),
    ],
)
def test_invalid_lines_yield_review_with_a_reason(line: str | bytes, reason: str, ident: str | None) -> None:
    (r,) = list(classify_lines([line], minor_context=False))
    assert r["verdict"] == "review"
    assert r["error"] == reason
    assert r["id"] == ident
    assert r["line"] == 1
    assert r["categories"] == [] and r["evidence"] == []
    assert SECRET not in json.dumps(r)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise KeyError("duplicate")
    return dict(pairs)


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "a", "text": "dm me"}',
        ' \t{"id": "a", "text": "dm me"}\r\n',
        '{"id": "a", "text": "dm me"}   \n',
        '\ufeff{"id": "a", "text": "dm me"}',
        '{"id": "a", "text": "dm me"} extra',
        '{"id": "a", "text": "dm me"}{}',
        '{"id": "a", "text": "dm me"}\x00',
        '{"id": "a", "id": "b", "text": "dm me"}',
        '{"a": NaN, "id": "a", "text": "dm me"}',
        '"just a string"',
        "NaN",
        "{",
    ],
)
def test_lines_are_parsed_exactly_as_json_loads_parses_them(line: str) -> None:
    """classify_lines calls json's scanner directly; it must accept and reject what json.loads does,
    except that a key given twice holds the line (issue 8, item 3b: a reader could take either value)."""
    try:
        obj = json.loads(line, object_pairs_hook=_no_duplicates)
        expected = None if isinstance(obj, dict) else "line is not a JSON object"
    except KeyError:
        obj, expected = None, "a key appears twice in the line"
    except ValueError:
        obj, expected = None, "invalid JSON"
    (r,) = list(classify_lines([line], minor_context=True))
    assert r.get("error") == expected
    if isinstance(obj, dict):
        assert r["id"] == obj["id"] and r["verdict"] != "allow"


def test_deeply_nested_json_does_not_crash() -> None:
    (r,) = list(classify_lines(["[" * 5000 + "]" * 5000]))
    assert r["verdict"] == "review" and "error" in r


def test_random_input_never_raises_and_evidence_is_valid() -> None:
    import random

    rng = random.Random(55)
    alphabet = 'sexyknudm0134 .-_!$@\u200b\u200d🍑🍆💦加微信約炮妳幾歲私聊ｓＸ\ud800{}"\\'
    lines: list[str | bytes] = []
    for _ in range(600):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        kind = rng.random()
        if kind < 0.6:
            ctx = rng.choice([True, False, None])
            lines.append(json.dumps({"id": "r", "text": text, "minor_context": ctx}))
        elif kind < 0.8:
            lines.append(text)  # mostly invalid JSON
        else:
            lines.append(text.encode("utf-8", "surrogatepass"))
    out = list(classify_lines(lines))
    assert len(out) <= len(lines)
    for r in out:
        assert r["verdict"] in ("allow", "review", "block")
        for e in r["evidence"]:
            assert 0 <= e["start"] < e["end"]
            assert e["text"]
