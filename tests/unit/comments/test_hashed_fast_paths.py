"""Promise: the hashed model's speed paths compute the very same numbers as the plain arithmetic.

- rule-feature weights memoised per (features tuple, context) equal the per-key sum from zero, in key
  order, that an uncached list of the same features gets (byte for byte, every output);
- the in-place n-gram hashing gives the buckets of the plain formula ``((h + salt) * MIX) >> shift``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.comments.classify import rules_stage
from tutela.comments.hashed import (
    _B,
    _MAX,
    _MIX,
    _SALT,
    HashedModel,
    _bucket,
    _char_grams,
    _codes,
    _rule_sum,
    rule_keys,
    text_features,
)
from tutela.comments.lexicon import default_lexicon
from tutela.comments.normalize import normalize

_LEX = default_lexicon()
_TEXTS = [
    "how old r u? add me on snap",
    "dm me cutie",
    "你几岁了？加我微信",
    "send me pics and i'll buy you robux",
    "which school do you go to?",
    "so cute 😍",
    "约炮吗",
]


def _model() -> HashedModel:
    model = _LEX.model
    assert isinstance(model, HashedModel)
    return model


def _plain_rule_sum(model: HashedModel, feats: tuple[str, ...], ctx: bool | None) -> np.ndarray:
    z = np.zeros(len(model.outputs))
    for key in rule_keys(feats, ctx):
        v = model.rules.get(key)
        if v is not None:
            z = z + v
    return z


def test_memoised_rule_weights_are_the_plain_sums() -> None:
    model = _model()
    cases = []
    for ctx in (True, None, False):
        for t in _TEXTS:
            norm, feats = rules_stage(t, ctx)
            assert isinstance(feats, tuple)
            cases.append((norm, ctx, feats))
    assert any(feats for _, _, feats in cases)  # the rules stage gave features to memoise
    norms = [c[0] for c in cases]
    ctxs = [c[1] for c in cases]
    tuples = [c[2] for c in cases]
    lists = [list(f) for f in tuples]
    twice = model.batch(norms, ctxs, tuples), model.batch(norms, ctxs, tuples)  # cold, then memoised
    plain = model.batch(norms, ctxs, lists)  # a list is never memoised
    assert twice[0].tobytes() == twice[1].tobytes() == plain.tobytes()
    # and each memoised row is the plain sum from zero in key order
    for (_, ctx, feats), row in zip(cases, tuples, strict=True):
        if feats:
            assert _rule_sum(model, row, ctx).tobytes() == _plain_rule_sum(model, feats, ctx).tobytes()


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=8))
def test_in_place_ngram_buckets_match_the_plain_formula(texts: list[str]) -> None:
    norms = [normalize(t) for t in texts]
    model = _model()
    rows, buckets, _ = text_features(norms, model.fold_table, [True] * len(norms), model.bits)
    assert buckets.dtype == np.int64 and rows.dtype == np.int64
    h = np.arange(0, 5000, 37, dtype=np.uint64) * np.uint64(0x9E3779B1)
    shift = np.uint64(64 - model.bits)
    for kind in ("c1", "w", "f5"):
        want = (((h + _SALT[kind]) * _MIX) >> shift).astype(np.int64)
        assert np.array_equal(_bucket(h, kind, shift), want)
    # every character n-gram, hashed one by one in Python integers (mod 2**64), skipping separators
    codes, row0 = _codes(norms)
    for skip_space in (False, True):
        got_b, got_r = _char_grams(codes, row0, (1, 2, 3, 4, 5), "c", shift, skip_space)
        for order, (b, r) in enumerate(zip(got_b, got_r, strict=True), 1):
            want_b, want_r = [], []
            cs = [int(c) for c in codes]
            for i in range(len(cs) - order + 1):
                gram = cs[i : i + order]
                if 0 in gram or (skip_space and 32 in gram):
                    continue
                acc = 0
                for c in gram:
                    acc = (acc * int(_B) + c) % 2**64
                want_b.append((((acc + int(_SALT[f"c{order}"])) * int(_MIX)) % 2**64) >> int(shift))
                want_r.append(int(row0[i]))
            assert b.tolist() == want_b and r.tolist() == want_r
    # the same features as one text at a time, concatenated in batch order (rows tell them apart)
    for i, norm in enumerate(norms):
        _, b1, _ = text_features([norm], model.fold_table, [True], model.bits)
        assert sorted(b1.tolist()) == sorted(buckets[rows == i].tolist())


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(
        st.one_of(
            st.text(alphabet="加微信私聊 ab1", max_size=30),
            # no repeats (stage 5 would collapse them); folds to ~3 letters a character: around _MAX
            st.builds(lambda k: ("加微信私聊" * 200)[:k], st.integers(_MAX // 4, _MAX // 2)),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_batch_fold_is_each_text_folded_and_clipped(texts: list[str]) -> None:
    """The fold of a batch (skipping the clip when no text folds past _MAX) is every text's own fold,
    clipped to _MAX characters, joined by the separator."""
    model = _model()
    norms = [normalize(t) for t in texts]
    codes, rows = _codes(norms)
    out, out_rows = model.fold_table.apply(codes, rows)
    clipped = [t if len(t) <= _MAX else t[:_MAX] for t in norms]
    want = "\x00".join(model.fold_text(t)[:_MAX] for t in clipped)
    assert "".join(map(chr, out.tolist())) == want
    assert (
        out_rows.tolist()
        == [i for i, t in enumerate(clipped) for _ in range(len(model.fold_text(t)[:_MAX]) + 1)][: len(want)]
    )


def test_fold_clip_at_the_boundary() -> None:
    """Texts whose fold is just under, at and just over _MAX characters, first and last in a batch."""
    model = _model()
    cjk = ("加微信私聊" * 200)[:500]
    base = len(model.fold_text(normalize(cjk + " ab")))
    for extra in range(-2, 4):
        m = _MAX - base + 2 + extra  # letters after the Chinese: the fold grows one per letter
        text = cjk + " " + ("ab" * _MAX)[:m]
        norm = normalize(text)
        assert len(model.fold_text(norm)) == _MAX + extra
        for batch in ([norm], ["so cute", norm], [norm, "so cute"]):
            codes, rows = _codes(batch)
            out, _ = model.fold_table.apply(codes, rows)
            want = "\x00".join(model.fold_text(t)[:_MAX] for t in batch)
            assert "".join(map(chr, out.tolist())) == want
