"""The learned stage: weights file, features, scoring, and how it combines with the rules stage."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tutela.comments import LexiconError, classify_lines, classify_text, load_lexicon
from tutela.comments.lexicon import CATEGORIES, DATA_DIR
from tutela.comments.model import FORMAT, feature_groups, feature_names, load_model
from tutela.comments.normalize import normalize

OUTPUTS = ["any", *CATEGORIES]


def _doc(features: dict[str, list[int]], bias: float = -3.0, gate: float = 0.2) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "model_id": "test-model",
        "outputs": OUTPUTS,
        "scale": 1.0,
        "gate": gate,
        "bias": {ctx: [bias] * len(OUTPUTS) for ctx in ("minor", "unknown", "adult")},
        "features": features,
    }


def _raw(doc: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(doc).encode())


def _data_dir(tmp_path: Path, doc: dict[str, Any]) -> Path:
    for f in DATA_DIR.glob("*.toml"):
        shutil.copyfile(f, tmp_path / f.name)
    (tmp_path / "model.comments.json.gz").write_bytes(_raw(doc))
    return tmp_path


# "zebra" is a made-up cue: strongly bad for the model, unknown to the rules
ZEBRA = {"word:zebra": [12, 0, 0, 9, 0, 0], "word:snap": [-9, 0, 0, -9, 0, 0]}


def test_features_are_words_pairs_heads_and_for_chinese_characters_and_pairs() -> None:
    words, pairs, heads, chars, bigrams = feature_groups(normalize("Hello there"), "Hello there")
    assert words == ["hello", "there"] and pairs == [("hello", "there")] and heads == ["hell", "ther"]
    assert chars == [] and bigrams == []
    text = "加我微信😏"
    _, _, _, chars, bigrams = feature_groups(normalize(text), text)
    assert "😏" in chars and "微信" in bigrams
    assert feature_names(normalize("hi you"), "hi you", ("verdict:review",))[-1] == "rule:verdict:review"


def test_scores_are_deterministic_and_gated(tmp_path: Path) -> None:
    model = load_model(_raw(_doc(ZEBRA)), "m")
    high = model.scores(normalize("zebra"), "zebra", True)
    low = model.scores(normalize("hello"), "hello", True)
    assert high["any"] > 0.9 and set(high) == {"any", *CATEGORIES}  # categories computed above the gate
    assert low["any"] < 0.2 and set(low) == {"any"}
    assert model.scores(normalize("hello"), "hello", True, force=True).keys() == high.keys()
    # a second process (another hash seed) gives the same number: features are exact strings
    code = (
        "import sys; from tutela.comments.model import load_model; from tutela.comments.normalize "
        "import normalize; m = load_model(sys.stdin.buffer.read(), 'm'); "
        "print(m.scores(normalize('zebra'), 'zebra', True)['any'])"
    )
    env = {"PYTHONHASHSEED": "7", "PYTHONPATH": str(DATA_DIR.parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", code], input=_raw(_doc(ZEBRA)), capture_output=True, check=True, env=env
    )
    assert float(out.stdout) == pytest.approx(high["any"], abs=1e-12)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d.update(outputs=["x", *CATEGORIES]), "any"),
        (lambda d: d["features"].update({"word:x": [1, 2]}), "one weight per output"),
        (lambda d: d["features"].update({"nope:x": [0] * 6}), "known kind"),
        (lambda d: d.pop("gate"), "gate"),
    ],
)
def test_malformed_model_files_are_rejected_at_load(mutate: Any, message: str) -> None:
    doc = _doc(dict(ZEBRA))
    mutate(doc)
    with pytest.raises(LexiconError, match=message):
        load_model(_raw(doc), "m")
    with pytest.raises(LexiconError, match="gzip"):
        load_model(b"not gzip", "m")


def test_the_model_flags_what_the_rules_miss_and_says_so(tmp_path: Path) -> None:
    lex = load_lexicon(_data_dir(tmp_path, _doc(ZEBRA)))
    r = classify_text("zebra", minor_context=True, lexicon=lex)
    assert r["verdict"] == "block"  # p 0.996 >= the minor block threshold
    assert r["model"]["id"] == "test-model" and r["model"]["score"] > 0.9
    assert r["evidence"][-1]["rule"] == "model:test-model" and r["evidence"][-1]["text"] == "zebra"
    assert r["categories"] == ["grooming"]  # the output ZEBRA weighs (index 3)
    assert classify_text("hello", minor_context=True, lexicon=lex)["verdict"] == "allow"
    # the Lambda's path gives the same result
    (line,) = classify_lines([json.dumps({"id": "1", "text": "zebra"})], minor_context=True, lexicon=lex)
    assert {k: line[k] for k in r} == r


def test_a_confident_model_vetoes_a_lone_rules_review(tmp_path: Path) -> None:
    lex = load_lexicon(_data_dir(tmp_path, _doc(ZEBRA)))
    rules_only = load_lexicon(tmp_path, with_model=False)
    assert classify_text("snap?", minor_context=True, lexicon=rules_only)["verdict"] == "review"
    r = classify_text("snap?", minor_context=True, lexicon=lex)
    assert r["verdict"] == "allow" and r["model"]["vetoed"] is True
    assert r["categories"] == ["grooming"] and r["severity"] == 1  # still reported, not acted on
    (line,) = classify_lines([json.dumps({"id": "1", "text": "snap?"})], minor_context=True, lexicon=lex)
    assert line["verdict"] == "allow" and line["model"]["vetoed"] is True


def test_the_model_version_is_part_of_the_lexicon_version(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = load_lexicon(_data_dir(tmp_path / "a", _doc(ZEBRA)))
    b = load_lexicon(_data_dir(tmp_path / "b", _doc({"word:zebra": [8, 0, 0, 8, 0, 0]})))
    assert a.version != b.version
    assert load_lexicon(tmp_path / "b", with_model=False).model is None


def test_a_model_needs_its_policy_and_a_gate_under_the_review_thresholds(tmp_path: Path) -> None:
    d = _data_dir(tmp_path, _doc(ZEBRA, gate=0.99))
    with pytest.raises(LexiconError, match="gate"):
        load_lexicon(d)
    policy = (d / "policy.toml").read_text(encoding="utf-8")
    start = policy.index("[model]")
    end = policy.index("[categories.")
    (d / "policy.toml").write_text(policy[:start] + policy[end:], encoding="utf-8")
    (d / "model.comments.json.gz").write_bytes(_raw(_doc(ZEBRA)))
    with pytest.raises(LexiconError, match=r"\[model\]"):
        load_lexicon(d)


def test_the_packaged_model_loads_and_judges() -> None:
    lex = load_lexicon()
    if lex.model is None:  # pragma: no cover - the packaged data ships a model
        pytest.skip("no packaged model")
    r = classify_text("how old r u? add my snap and send pics", minor_context=True, lexicon=lex)
    assert r["verdict"] != "allow"
    assert (
        classify_text("happy birthday, have a lovely day", minor_context=True, lexicon=lex)["verdict"]
        == "allow"
    )


def test_chinese_comments_have_their_own_thresholds(tmp_path: Path) -> None:
    from tutela.comments.classify import _combine

    lex = load_lexicon(_data_dir(tmp_path, _doc(ZEBRA)))
    assert lex.model is not None and lex.model_policy is not None
    from tutela.comments.classify import model_thresholds

    mp = lex.model_policy
    # a context where the packaged policy gives Chinese and other text different review thresholds
    ctx = next(
        c
        for c in (True, None, False)
        if (model_thresholds(mp, "你好呀", c).review or 1.0)
        != (model_thresholds(mp, "hello there", c).review or 1.0)
    )
    zh, en = model_thresholds(mp, "你好呀", ctx), model_thresholds(mp, "hello there", ctx)
    assert zh.review is not None and en.review is not None and zh.review != en.review
    p = (zh.review + en.review) / 2  # flags the text with the lower threshold only
    m = {"any": p, **dict.fromkeys(CATEGORIES, 0.9)}
    base = {"verdict": "allow", "categories": [], "score": 0.0, "severity": 0, "evidence": []}
    en_r, zh_r = dict(base), dict(base)
    _combine(en_r, {}, lex, lex.model, m, "hello there", " hello there ", ctx)
    _combine(zh_r, {}, lex, lex.model, m, "你好呀", " 你好呀 ", ctx)
    low, high = (en_r, zh_r) if en.review < zh.review else (zh_r, en_r)
    assert low["verdict"] != "allow" and high["verdict"] == "allow"
