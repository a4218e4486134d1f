"""The wide & deep learned stage (tutela.comments.widedeep): the hashed model plus a nonlinear head."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import outputs_under_hash_seeds
from tutela.comments import LexiconError, classify_text, load_lexicon
from tutela.comments.hashed import HashedModel, dump_model, text_features
from tutela.comments.lexicon import CATEGORIES, DATA_DIR
from tutela.comments.model import load_model
from tutela.comments.normalize import normalize
from tutela.comments.widedeep import WideDeepModel, dump_widedeep

OUTPUTS = ("any", *CATEGORIES)
BITS = 16
DIM, HIDDEN = 4, 6


def _buckets(*cues: str) -> np.ndarray:
    out: set[int] = set()
    for cue in cues:
        for ctx in (True, None, False):
            out.update(text_features([cue], [cue], [ctx], BITS)[1].tolist())
    return np.array(sorted(out))


def _linear(weight: int = 60) -> bytes:
    idx = _buckets(" zebra ", " hello there ", " 加我微信 ")
    q = np.zeros((len(idx), len(OUTPUTS)), dtype=np.int64)
    q[:, 0] = weight
    q[:, 3] = weight
    bias = np.full((3, len(OUTPUTS)), -3.0)
    return dump_model(
        idx, q, 0.05, {"verdict:review": [20] * 6}, bias, BITS, OUTPUTS, {}, 0.0, {}, emoji=True
    )


def _raw(seed: int = 3, w2_scale: float = 1.0) -> bytes:
    rng = np.random.default_rng(seed)
    idx = _buckets(" zebra ", " hello there ", " snap ", " 加我微信 ")
    return dump_widedeep(
        _linear(),
        idx,
        rng.integers(-127, 128, (len(idx), DIM)),
        0.02,
        {"verdict:review": [30, -20, 10, 5], "minor|verdict:review": [1, 2, 3, 4]},
        rng.normal(0, 1, (DIM, HIDDEN)),
        rng.normal(0, 0.5, (3, HIDDEN)),
        rng.normal(0, 1, HIDDEN) * w2_scale,
        np.array([0.1, -0.2, 0.3]) * w2_scale,
    )


def _model(**kw: float) -> WideDeepModel:
    m = load_model(_raw(**kw), "m")  # type: ignore[arg-type]
    assert isinstance(m, WideDeepModel)
    return m


TEXTS = ["zebra time", "hello there", "加我微信 snap", "", "zebra " * 50, "ok 😏🍑", "snap?"]
CTXS: list[bool | None] = [True, None, False, True, None, True, False]
RULES: list[tuple[str, ...]] = [(), ("verdict:review",), (), (), ("verdict:review",), (), ()]


def test_a_comment_scores_the_same_alone_and_in_any_batch() -> None:
    m = _model()
    norms = [normalize(t) for t in TEXTS]
    batch = m.batch(norms, CTXS, RULES, raws=TEXTS)
    for i in range(len(TEXTS)):
        one = m.batch([norms[i]], [CTXS[i]], [RULES[i]], raws=[TEXTS[i]])[0]
        assert np.array_equal(one, batch[i], equal_nan=True)  # bit for bit (NaN: blank text, abstains)
    rev = m.batch(norms[::-1], CTXS[::-1], RULES[::-1], raws=TEXTS[::-1])[::-1]
    assert np.array_equal(rev, batch, equal_nan=True)
    # a list of rule features (not the memoised tuple) gives the same numbers
    as_list = m.batch(norms, CTXS, [list(r) for r in RULES], raws=TEXTS)
    assert np.array_equal(as_list, batch, equal_nan=True)


def test_the_head_sums_the_same_whichever_way_features_are_grouped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches above ``_RADIX_ROWS`` group the features by another sort: the same numbers, bit for bit."""
    from tutela.comments import widedeep

    m = _model()
    texts = TEXTS * 3
    ctxs, rules = CTXS * 3, RULES * 3
    norms = [normalize(t) for t in texts]
    rows, buckets, scale = text_features(norms, m.fold_table, ctxs, BITS, texts)
    cidx = [[0, 1, 2][[True, None, False].index(c)] for c in ctxs]
    radix = m._any_head(rows, buckets, scale, cidx, rules, ctxs)
    monkeypatch.setattr(widedeep, "_RADIX_ROWS", 2)
    other = m._any_head(rows, buckets, scale, cidx, rules, ctxs)
    assert np.array_equal(radix, other)
    for i in range(len(texts)):  # and each is the comment's head alone
        r1, b1, s1 = text_features([norms[i]], m.fold_table, [ctxs[i]], BITS, [texts[i]])
        assert m._any_head(r1, b1, s1, [cidx[i]], [rules[i]], [ctxs[i]])[0] == radix[i]


def test_the_head_moves_only_the_any_output() -> None:
    wd = _model()
    lin = load_model(_linear(), "lin")
    assert isinstance(lin, HashedModel) and not isinstance(lin, WideDeepModel)
    norms = [normalize(t) for t in TEXTS]
    a = wd.batch(norms, CTXS, RULES, raws=TEXTS)
    b = lin.batch(norms, CTXS, RULES, raws=TEXTS)
    assert np.array_equal(a[:, 1:], b[:, 1:])  # categories: the linear model's (no gate here)
    seen = ~np.isnan(a[:, 0])
    assert not np.allclose(a[seen, 0], b[seen, 0])  # the head changes "any"
    assert np.array_equal(np.isnan(a[:, 0]), np.isnan(b[:, 0]))  # and abstains where the linear one does
    # "any" is the sigmoid of the mean of the linear logit and the head's
    rows, buckets, scale = text_features(norms, wd.fold_table, CTXS, BITS, TEXTS)
    head = wd._any_head(
        rows, buckets, scale, [[0, 1, 2][[True, None, False].index(c)] for c in CTXS], RULES, CTXS
    )
    ok = seen & (np.abs(b[:, 0] - 0.5) < 0.499999)  # the linear logit recoverable from its probability
    z_lin = np.log(b[ok, 0] / (1 - b[ok, 0]))
    assert ok.sum() >= 4
    assert a[ok, 0] == pytest.approx(1 / (1 + np.exp(-(z_lin + head[ok]) / 2)), rel=1e-6)


def test_the_head_is_what_the_file_says() -> None:
    """The head's logit, recomputed by hand from the file's numbers for one comment."""
    m = _model()
    raw = _raw()
    doc = json.loads(gzip.decompress(raw))["deep"]
    import base64

    idx = np.frombuffer(base64.b64decode(doc["buckets"]), dtype="<u4")
    q = np.frombuffer(base64.b64decode(doc["emb"]), dtype=np.int8).reshape(len(idx), DIM)
    emb = dict(zip(idx.tolist(), q.astype(float), strict=True))
    norm = normalize("zebra time")
    rows, buckets, scale = text_features([norm], [norm], [True], BITS, ["zebra time"])
    h = sum((emb.get(b, np.zeros(DIM)) for b in buckets.tolist()), np.zeros(DIM)) * doc["scale"] * scale[0]
    a = np.maximum(h @ np.array(doc["w1"]) + np.array(doc["b1"][0]), 0)
    head = float(a @ np.array(doc["w2"]) + doc["b2"][0])
    got = m._any_head(rows, buckets, scale, [0], [()], [True])
    assert got == pytest.approx([head], rel=1e-9)


def test_scores_do_not_depend_on_the_process(tmp_path: Path) -> None:
    (tmp_path / "m.json.gz").write_bytes(_raw())
    code = (
        "import sys;from pathlib import Path;from tutela.comments.model import load_model;"
        "from tutela.comments.normalize import normalize;"
        f"m=load_model(Path({str(tmp_path / 'm.json.gz')!r}).read_bytes(),'m');"
        f"t={TEXTS!r};"
        f"print(m.batch([normalize(x) for x in t],{CTXS!r},{RULES!r},raws=t).tobytes().hex())"
    )
    assert len(outputs_under_hash_seeds(code)) == 1


def test_malformed_deep_tables_are_rejected() -> None:
    doc = json.loads(gzip.decompress(_raw()))
    load_model(gzip.compress(json.dumps(doc).encode()), "m")
    d = doc["deep"]
    for bad in (
        {"dim": 0},
        {"dim": 5},  # the embeddings are 4 wide
        {"hidden": 1000},
        {"buckets": "!!"},
        {"emb": d["emb"][:-8]},
        {"rules": {"a": [1]}},
        {"w1": [[1.0]]},
        {"b1": [[0.0] * HIDDEN]},
        {"w2": [float("nan")] * HIDDEN},
        {"b2": "x"},
        {"scale": "inf"},
    ):
        with pytest.raises(LexiconError):
            load_model(gzip.compress(json.dumps({**doc, "deep": {**d, **bad}}).encode()), "m")
    with pytest.raises(LexiconError):
        load_model(gzip.compress(json.dumps({k: v for k, v in doc.items() if k != "deep"}).encode()), "m")
    with pytest.raises(LexiconError):  # the linear part is checked as before
        load_model(gzip.compress(json.dumps({**doc, "bits": 40}).encode()), "m")


def test_the_model_id_and_score_are_in_the_evidence(tmp_path: Path) -> None:
    for f in DATA_DIR.glob("*.toml"):
        shutil.copyfile(f, tmp_path / f.name)
    (tmp_path / "model.comments.json.gz").write_bytes(_raw())
    lex = load_lexicon(tmp_path)
    assert isinstance(lex.model, WideDeepModel)
    r = classify_text("zebra time", minor_context=True, lexicon=lex)
    assert r["model"]["id"].startswith("hwd1-")
    p = lex.model.scores(normalize("zebra time"), "zebra time", True)["any"]
    assert r["model"]["score"] == round(p, 4)


def test_a_comment_without_features_gets_the_heads_bias_only() -> None:
    """A comment with no text features in the middle of a batch: its embedding sum is zero, not a
    neighbour's features (the per-comment sums are segments of one array)."""
    m = _model()
    norm = normalize("zebra time")
    rows, buckets, scale = text_features([norm, norm], [norm, norm], [True, True], BITS, ["zebra time"] * 2)
    rows = np.where(rows == 1, 2, rows)  # comment 1 has none, comment 2 gets the second one's
    scale = np.array([scale[0], 0.0, scale[1]])
    got = m._any_head(rows, buckets, scale, [0, 1, 0], [(), (), ()], [True, None, True])
    empty = float(np.maximum(m.b1[1], 0.0) @ m.w2 + m.b2[1])
    assert got[1] == pytest.approx(empty, rel=1e-12)
    assert got[0] == got[2] != pytest.approx(empty)
