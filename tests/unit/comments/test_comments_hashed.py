"""The hashed n-gram model (learned stage v2): features, determinism, batch = one, weights file checks."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import outputs_under_hash_seeds
from tutela.comments import LexiconError, classify_text, load_lexicon
from tutela.comments.hashed import HashedModel, dump_model, parse_model, text_features
from tutela.comments.lexicon import CATEGORIES, DATA_DIR
from tutela.comments.model import load_model
from tutela.comments.normalize import normalize

OUTPUTS = ("any", *CATEGORIES)
BITS = 18


def _features(norm: str, fold: str, ctx: bool | None = True) -> list[int]:
    rows, buckets, _ = text_features([norm], [fold], [ctx], BITS)
    assert (rows == 0).all()
    return sorted(buckets.tolist())


def _model(cue: str = " zebra ", weight: int = 100, fold: dict[str, str] | None = None) -> HashedModel:
    """A model whose only non-zero buckets are those of ``cue``'s features (any context)."""
    buckets: set[int] = set()
    for ctx in (True, None, False):
        buckets.update(_features(cue, cue, ctx))
        buckets -= set(_features(" ", " ", ctx))  # the space every normalised comment has
    idx = np.array(sorted(buckets))
    q = np.zeros((len(idx), len(OUTPUTS)), dtype=np.int64)
    q[:, 0] = weight
    q[:, 3] = weight  # grooming
    bias = np.full((3, len(OUTPUTS)), -4.0)
    raw = dump_model(idx, q, 1.0, {"verdict:review": [1] * 6}, bias, BITS, OUTPUTS, fold or {}, 0.0, {})
    m = load_model(raw, "m")
    assert isinstance(m, HashedModel)
    return m


def test_features_cover_char_ngrams_words_pairs_folded_text_and_context() -> None:
    one = _features(" hi ", " hi ")
    # chars 1-5 of " hi " (4+3+2+1 n-grams), 1 word, no pair, folded 2-grams of "hi" (1), 1 context word
    assert len(one) == 4 + 3 + 2 + 1 + 1 + 1 + 1
    assert len(_features(" hi you ", " hi you ")) > len(one) + 5  # a word pair and its context conjunction
    assert _features(" hi ", " hi ", True) != _features(" hi ", " hi ", False)  # context conjunction differs


def test_no_ngram_crosses_comments_in_a_batch() -> None:
    rows, buckets, _ = text_features([" ab ", " cd "], [" ab ", " cd "], [True, True], BITS)
    alone = sorted(text_features([" ab "], [" ab "], [True], BITS)[1].tolist())
    assert sorted(buckets[rows == 0].tolist()) == alone


def test_a_comment_scores_the_same_alone_and_in_any_batch() -> None:
    m = _model()
    texts = [normalize(t) for t in ("zebra time", "hello", "加我微信", "", "zebra " * 50)]
    ctxs: list[bool | None] = [True, None, False, True, None]
    batch = m.batch(texts, ctxs, [(), ("verdict:review",), (), (), ()])
    for i, t in enumerate(texts):
        one = m.batch([t], [ctxs[i]], [("verdict:review",) if i == 1 else ()])[0]
        assert np.array_equal(one, batch[i], equal_nan=True)  # bit for bit (NaN: blank text, abstains)
    assert batch[0, 0] > 0.9 > 0.1 > batch[2, 0]


def test_pinyin_folding_lets_a_pinyin_spelling_score_like_the_characters() -> None:
    fold = {"私": "si", "聊": "liao", "吧": "ba", "你": "ni", "好": "hao", "吗": "ma"}
    m = _model(cue=" siliao ", fold=fold)
    chars = m.scores(normalize("私聊吧"), "私聊吧", True)["any"]
    mixed = m.scores(normalize("si聊吧"), "si聊吧", True)["any"]
    other = m.scores(normalize("你好吗"), "你好吗", True)["any"]
    assert chars > other and mixed > other


def test_scores_do_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "from tutela.comments.hashed import text_features;"
        "print(sorted(text_features([' hi there 你好 '], [' hi there nihao '], [None], 16)[1].tolist()))"
    )
    assert len(outputs_under_hash_seeds(code)) == 1


def test_malformed_weights_files_are_rejected() -> None:
    m = gzip.decompress(
        dump_model(np.array([1]), np.ones((1, 6)), 1.0, {}, np.zeros((3, 6)), BITS, OUTPUTS, {}, 0.0, {})
    )
    doc = json.loads(m)
    parse_model(doc, "m")
    for bad in (
        {"bits": 40},
        {"bias": [[0] * 6]},
        {"outputs": ["x"]},
        {"buckets": "!!"},
        {"rules": {"a": [1]}},
    ):
        with pytest.raises(LexiconError):
            parse_model({**doc, **bad}, "m")


def test_the_model_flags_what_the_rules_miss(tmp_path: Path) -> None:
    for f in DATA_DIR.glob("*.toml"):
        shutil.copyfile(f, tmp_path / f.name)
    raw = dump_model(
        *(lambda b: (np.array(b), np.full((len(b), 6), 100)))(
            sorted(set(_features(" zebra ", " zebra ")) - set(_features(" ", " ")))
        ),
        1.0,
        {},
        np.full((3, 6), -4.0),
        BITS,
        OUTPUTS,
        {},
        0.0,
        {},
    )
    (tmp_path / "model.comments.json.gz").write_bytes(raw)
    lex = load_lexicon(tmp_path)
    r = classify_text("zebra", minor_context=True, lexicon=lex)
    assert r["verdict"] != "allow" and r["model"]["id"].startswith("hng2-")
    assert r["evidence"][-1]["rule"] == f"model:{r['model']['id']}" and r["evidence"][-1]["score"] > 0.9
    assert classify_text("hi", minor_context=True, lexicon=lex)["verdict"] == "allow"  # no shared n-gram


def test_chunked_lines_give_exactly_what_each_comment_gets_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutela.comments import classify, classify_lines

    for f in DATA_DIR.glob("*.toml"):
        shutil.copyfile(f, tmp_path / f.name)
    cue = sorted(set(_features(" zebra ", " zebra ")) - set(_features(" ", " ")))
    raw = dump_model(
        np.array(cue), np.full((len(cue), 6), 100), 1.0, {}, np.full((3, 6), -4.0), BITS, OUTPUTS, {}, 0.0, {}
    )
    (tmp_path / "model.comments.json.gz").write_bytes(raw)
    lex = load_lexicon(tmp_path)
    texts = [
        "zebra",
        "hi",
        "how old r u? add my snap",
        "你几岁了 加我微信",
        "x" * 6000,
        "great tits in the garden",
        "sexy",
    ]
    lines = [
        json.dumps({"id": str(i), "text": t, "minor_context": [True, None, False][i % 3]})
        for i, t in enumerate(texts)
    ]
    lines.insert(3, "{broken")
    expected = list(classify_lines(lines, minor_context=None, lexicon=lex))
    monkeypatch.setattr(classify, "CHUNK", 2)
    assert list(classify_lines(lines, minor_context=None, lexicon=lex)) == expected
    assert [r.get("error") is not None for r in expected] == [
        False,
        False,
        False,
        True,
        False,
        True,
        False,
        False,
    ]
    for r in expected:
        if "error" in r:
            continue
        alone = classify_text(texts[int(r["id"])], minor_context=r["minor_context"], lexicon=lex)
        assert {k: v for k, v in r.items() if k not in ("id", "line")} == alone


def test_only_precise_sexual_cues_escape_the_veto_under_a_childs_or_unknown_post(tmp_path: Path) -> None:
    """Policy: a sexual cue under a child's/unknown post is never vetoed; ambiguous lone slang, hard
    negatives and reported speech are left to the model (here: a model that finds everything benign)."""
    from tutela.comments.classify import non_vetoable

    for f in DATA_DIR.glob("*.toml"):
        shutil.copyfile(f, tmp_path / f.name)
    raw = dump_model(
        np.array([1]), np.zeros((1, 6)), 1.0, {}, np.full((3, 6), -12.0), BITS, OUTPUTS, {}, 0.0, {}
    )
    (tmp_path / "model.comments.json.gz").write_bytes(raw)
    lex = load_lexicon(tmp_path)
    assert lex.model_policy is not None and lex.model_policy.sexual_cues
    for ctx in (True, None):
        assert classify_text("you look so sexy", minor_context=ctx, lexicon=lex)["verdict"] != "allow"
        vetoed = classify_text("great tits spotted in the garden 🐦", minor_context=ctx, lexicon=lex)
        assert vetoed["verdict"] == "allow" and vetoed["model"]["vetoed"] is True
    assert classify_text("you look so sexy", minor_context=False, lexicon=lex)["verdict"] == "allow"
    cues = ("en.innuendo.sexy",)
    assert non_vetoable(True, {"sexualising_minor": 0.5}, ["en.innuendo.sexy"], cues)
    assert not non_vetoable(False, {"sexualising_minor": 0.5}, ["en.innuendo.sexy"], cues)
    assert not non_vetoable(None, {"sexualising_minor": 0.5}, ["en.innuendo.sexy", "report"], cues)
    assert not non_vetoable(None, {"sexualising_minor": 0.5}, ["en.innuendo.sexy", "en.neg.food"], cues)
    assert not non_vetoable(None, {"sexualising_minor": 0.5}, ["en2.sexual"], cues)
    assert non_vetoable(None, {"sexualising_minor": 0.5}, ["en2.sexual"], ())  # no list: any sexual cue


def test_the_model_abstains_on_a_blank_normalised_text(tmp_path: Path) -> None:
    """A model whose bias alone says "bad" (the share of bad emoji-only training comments) must not
    block "😂" under a child's post: with nothing to read it neither flags nor vetoes the rules stage."""
    for f in DATA_DIR.glob("*.toml"):
        shutil.copyfile(f, tmp_path / f.name)
    raw = dump_model(
        np.array([1]), np.zeros((1, 6)), 1.0, {}, np.full((3, 6), 5.0), BITS, OUTPUTS, {}, 0.0, {}
    )
    (tmp_path / "model.comments.json.gz").write_bytes(raw)
    lex = load_lexicon(tmp_path)
    assert lex.model is not None
    assert np.isnan(lex.model.scores(normalize("😂"), "😂", True)["any"])
    for text in ("", "😂", "👍❤️", "!!!"):
        assert classify_text(text, minor_context=True, lexicon=lex)["verdict"] == "allow"
    # the rules stage still reviews a sexual emoji under a child's post (no veto from an abstaining model)
    assert classify_text("🍆💦", minor_context=True, lexicon=lex)["verdict"] != "allow"
    # bias 5: p 0.993, above every review threshold
    assert classify_text("hello there", minor_context=True, lexicon=lex)["verdict"] != "allow"


def test_the_fold_table_expands_every_code_point_as_translate_does() -> None:
    from tutela.comments.hashed import FoldTable

    fold = {ord("私"): "si", ord("聊"): "liao", ord("一"): "", ord("你"): "ni"}
    t = FoldTable.build(fold)
    for cp in range(t.lo, t.lo + len(t.n)):
        got = "".join(map(chr, t.letters[t.start[cp - t.lo] : t.start[cp - t.lo] + t.n[cp - t.lo]].tolist()))
        assert got == (fold.get(cp) or chr(cp))
    assert t.lo == ord("你") and len(t.n) == ord("聊") - ord("你") + 1  # "一" folds to "": not in the table
