"""Training of the wide & deep model (eval/comments/learn.py + deep.py) on a tiny synthetic set: the file
it writes loads as the layer's model and scores what was fitted."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tutela.comments.lexicon import load_lexicon
from tutela.comments.model import load_model
from tutela.comments.widedeep import WideDeepModel

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"
BITS = 16


@pytest.fixture(scope="module")
def learn() -> Any:
    sys.path.insert(0, str(EVAL))
    try:
        import learn

        yield learn
    finally:
        sys.path.remove(str(EVAL))


def _rows(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    good = ["nice photo", "love the colours", "happy birthday", "great game today", "so proud of you"]
    bad = ["zebra tonight", "zebra again", "come zebra with me", "zebra pics pls", "zebra time"]
    rows = []
    for i in range(n):
        is_bad = i % 3 == 0
        text = str(rng.choice(bad if is_bad else good)) + " " + str(rng.choice(["", "x", "ok", "yes"]))
        rows.append(
            {
                "text": text.strip(),
                "labels": ["grooming"] if is_bad else [],
                "minor_context": [True, None, False][i % 3],
                "lang": "en",
                "style": "t",
                "writer": f"w{i % 4}",
            }
        )
    return rows


def test_a_trained_wide_and_deep_file_scores_what_was_fitted(learn: Any, monkeypatch: Any) -> None:
    rows = _rows(240)
    learn.featurize(rows, load_lexicon(with_model=False), {}, BITS)
    deep = {**learn.DEEP, "epochs": 30, "batch": 32}
    monkeypatch.setattr(learn, "DEEP_MIN_DF", 2)
    design, w, head = learn.train(rows, l2=3e-5, iters=60, min_df=2, bad_weight=1.0, deep=deep)
    assert head is not None and np.abs(head.emb).max() > 0
    raw = learn.export(design, w, BITS, {}, 0.02, {}, head)
    m = load_model(raw, "trained")
    assert isinstance(m, WideDeepModel) and m.model_id.startswith("hwd1-")
    assert learn.quantisation_drift(raw, design, w, head, rows) < 0.02
    p = learn.predict(design, w, rows, head)[:, 0]
    bad = np.array([bool(r["labels"]) for r in rows])
    assert p[bad].min() > p[~bad].max()  # it learned the toy task
    # the linear-only export of the same fit is the hashed/1 model the deep one extends
    lin = load_model(learn.export(design, w, BITS, {}, 0.02, {}), "linear")
    assert type(lin).__name__ == "HashedModel"


def test_only_the_largest_embeddings_are_kept(learn: Any, monkeypatch: Any) -> None:
    import deep

    rng = np.random.default_rng(1)
    emb = rng.normal(0, 1, (50, 4))
    head = deep.DeepHead(
        np.arange(50), emb.copy(), np.zeros((4, 3)), np.zeros((3, 3)), np.zeros(3), np.zeros(3)
    )
    deep.keep_largest(head, 7)
    kept = np.flatnonzero(np.abs(head.emb).max(axis=1) > 0)
    assert len(kept) == 7
    assert set(kept) == set(np.argsort(-np.abs(emb).max(axis=1))[:7])
    assert np.array_equal(head.emb[kept], emb[kept])
