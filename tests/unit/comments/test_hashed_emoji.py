"""Pictograph features of the learned stage: read from the raw text (normalisation drops emoji), with
modifiers folded away, batch-independent, counted by the abstain rule, and only for models trained
with them (the weights file says ``"emoji": true``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tutela.comments import LexiconError, classify_lines, classify_text, load_lexicon
from tutela.comments.hashed import (
    MIN_CHARS,
    HashedModel,
    dump_model,
    parse_model,
    pictograph_counts,
    readable,
    text_features,
)
from tutela.comments.lexicon import CATEGORIES, DATA_DIR
from tutela.comments.model import load_model
from tutela.comments.normalize import normalize

OUTPUTS = ("any", *CATEGORIES)
BITS = 18


def _feats(raw: str, ctx: bool | None = True, *, emoji: bool = True) -> list[int]:
    norm = normalize(raw)
    rows, buckets, _ = text_features([norm], [norm], [ctx], BITS, [raw] if emoji else None)
    assert (rows == 0).all()
    return sorted(buckets.tolist())


def _only_emoji(raw: str, ctx: bool | None = True) -> set[int]:
    """The buckets a raw text adds through its pictographs."""
    return set(_feats(raw, ctx)) - set(_feats(raw, ctx, emoji=False))


def _model(cue: str = "🍑🍆", weight: int = 100, emoji: bool = True) -> HashedModel:
    """A model whose only non-zero buckets are the pictograph features of ``cue`` (any context)."""
    idx = np.array(sorted(set().union(*(_only_emoji(cue, c) for c in (True, None, False)))))
    q = np.zeros((len(idx), len(OUTPUTS)), dtype=np.int64)
    q[:, 0] = weight
    q[:, 3] = weight
    bias = np.full((3, len(OUTPUTS)), -4.0)
    raw = dump_model(idx, q, 1.0, {}, bias, BITS, OUTPUTS, {}, 0.0, {}, emoji=emoji)
    m = load_model(raw, "m")
    assert isinstance(m, HashedModel)
    return m


def test_normalisation_drops_emoji_so_the_features_come_from_the_raw_text() -> None:
    assert normalize("🍑🍆💦😏").strip() == ""
    peach = _only_emoji("🍑")
    # one pictograph: itself + its context conjunction; two: + a pair
    assert len(peach) == 2 and len(_only_emoji("🍑🍆")) == 2 + 2 + 1
    assert _only_emoji("dm me 👻 sc?") and not _only_emoji("dm me sc?")
    assert peach != _only_emoji("😏")  # different pictographs, different buckets
    assert _only_emoji("🍑", True) != _only_emoji("🍑", False)  # conjoined with the post's context
    assert _only_emoji("♡ ✨") and _only_emoji("❤")  # symbols outside the emoji planes count too


def test_skin_tones_variation_selectors_and_zwj_fold_away() -> None:
    assert _only_emoji("👍🏽") == _only_emoji("👍") == _only_emoji("👍🏿")
    assert _only_emoji("❤️") == _only_emoji("❤")  # VS16
    assert _only_emoji("👨\u200d👩\u200d👧") == _only_emoji("👨👩👧")  # ZWJ family = its members and pairs
    assert list(pictograph_counts(["👍🏽", "👨\u200d👩\u200d👧", "❤️", "1️⃣", "plain", "中文"])) == [
        1,
        3,
        1,
        0,
        0,
        0,
    ]


def test_a_model_trained_with_emoji_scores_them_and_an_older_one_does_not() -> None:
    new, old = _model(), _model(emoji=False)
    assert new.emoji and not old.emoji
    assert new.scores(normalize("🍑🍆 tonight?"), "🍑🍆 tonight?", False)["any"] > 0.9
    assert new.scores(normalize("see you tonight?"), "see you tonight?", False)["any"] < 0.1
    # the same weights, but the file does not say "emoji": the pictographs are not read
    assert old.scores(normalize("🍑🍆 tonight?"), "🍑🍆 tonight?", False)["any"] < 0.1


def test_pictographs_count_toward_the_abstain_rule() -> None:
    m = _model()
    texts = ["🍑🍆💦😏", "😏", "🍑🍆", "ok", "🍑 ok", "👍🏽👍🏽"]
    norms = [normalize(t) for t in texts]
    assert list(readable(norms, texts)) == [4, 1, 2, 2, 3, 2]
    p = m.batch(norms, [True] * len(texts), [()] * len(texts), raws=texts)[:, 0]
    assert list(np.isnan(p)) == [n < MIN_CHARS for n in (4, 1, 2, 2, 3, 2)]
    assert p[0] > 0.9  # an emoji-only comment is read
    # an older model (no pictograph features) abstains on emoji-only comments as before
    old = _model(emoji=False).batch(norms, [True] * len(texts), [()] * len(texts), raws=texts)[:, 0]
    assert np.isnan(old[0]) and np.isnan(old[4])


def test_an_emoji_comment_scores_the_same_alone_and_in_any_batch() -> None:
    m = _model()
    texts = ["🍑🍆 tonight", "hello", "加我微信😏😏", "", "🍑" * 3000, "👍🏽 nice", "plain ascii"]
    ctxs: list[bool | None] = [True, None, False, True, None, False, True]
    norms = [normalize(t) for t in texts]
    batch = m.batch(norms, ctxs, [()] * len(texts), raws=texts)
    for order in (range(len(texts)), reversed(range(len(texts)))):
        idx = list(order)
        shuffled = m.batch(
            [norms[i] for i in idx], [ctxs[i] for i in idx], [()] * len(idx), raws=[texts[i] for i in idx]
        )
        assert np.array_equal(shuffled, batch[idx], equal_nan=True)
    for i, t in enumerate(texts):
        one = m.batch([norms[i]], [ctxs[i]], [()], raws=[t])[0]
        assert np.array_equal(one, batch[i], equal_nan=True)


def test_the_emoji_flag_must_be_a_boolean() -> None:
    import gzip

    doc = json.loads(
        gzip.decompress(
            dump_model(
                np.array([1]),
                np.ones((1, 6)),
                1.0,
                {},
                np.zeros((3, 6)),
                BITS,
                OUTPUTS,
                {},
                0.0,
                {},
                emoji=True,
            )
        )
    )
    assert parse_model(doc, "m").emoji
    with pytest.raises(LexiconError):
        parse_model({**doc, "emoji": "yes"}, "m")


def test_the_lambda_paths_pass_the_raw_text_to_the_model(tmp_path: Path) -> None:
    """classify_text and the chunked classify_lines both read the pictographs (same verdicts)."""
    for f in DATA_DIR.glob("*.toml"):
        shutil.copyfile(f, tmp_path / f.name)
    cue = sorted(set().union(*(_only_emoji("🍑🍆", c) for c in (True, None, False))))
    raw = dump_model(
        np.array(cue),
        np.full((len(cue), 6), 100),
        1.0,
        {},
        np.full((3, 6), -4.0),
        BITS,
        OUTPUTS,
        {},
        0.0,
        {},
        emoji=True,
    )
    (tmp_path / "model.comments.json.gz").write_bytes(raw)
    lex = load_lexicon(tmp_path)
    texts = ["🍑🍆🍑🍆", "nice photo", "🍑🍆 later?"]
    alone = [classify_text(t, minor_context=None, lexicon=lex) for t in texts]
    assert [r["verdict"] != "allow" for r in alone] == [True, False, True]
    lines = [json.dumps({"id": str(i), "text": t}) for i, t in enumerate(texts)]
    for r, a in zip(classify_lines(lines, minor_context=None, lexicon=lex), alone, strict=True):
        assert {k: v for k, v in r.items() if k not in ("id", "line")} == a


def test_digits_alone_are_not_read_unless_a_pictograph_comes_with_them() -> None:
    m = _model()
    texts = ["100", "10/10", "0:47", "1234567", "0:47 👀", "age 12??", "r u 13"]
    norms = [normalize(t) for t in texts]
    assert list(readable(norms, texts)) == [0, 0, 0, 0, 4, 5, 4]
    assert list(readable(norms, None))[:4] == [0, 0, 0, 0]  # without raws too
    p = m.batch(norms, [True] * len(texts), [()] * len(texts), raws=texts)[:, 0]
    assert list(np.isnan(p)) == [True, True, True, True, False, False, False]
    # the shipped classifier: a rating under a child's post is left to the rules stage (which allows it)
    out = list(
        classify_lines([json.dumps({"id": "1", "text": t}) for t in ("100", "10/10")], minor_context=True)
    )
    assert [r["verdict"] for r in out] == ["allow", "allow"]
