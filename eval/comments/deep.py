"""Training of the deep head of the wide & deep comment model (inference: ``tutela.comments.widedeep``).

The head reads the same hashed text buckets and rule keys as the linear model (``learn.Design``), but
through an embedding bag: each feature (bucket seen in >= ``min_df`` training rows, or rule key) has a
``dim``-vector; a comment's vectors are summed with the linear model's values (text counts scaled by
``1/sqrt(n)``, rule keys 1), then one hidden ReLU layer (its bias per post context) and one logit (its
bias per post context). It is trained on its own (not on the linear model's residual: the linear model
nearly memorises its training rows, so their residual carries little signal) and the ``any`` logit is
the mean of its logit and the linear model's. Minibatch Adam with lazy (touched rows only) embedding updates;
numpy + scipy.sparse, training only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class DeepHead:
    cols: np.ndarray  # design columns the head reads (sorted)
    emb: np.ndarray  # (len(cols), dim)
    w1: np.ndarray  # (dim, hidden)
    b1: np.ndarray  # (3, hidden): per context (minor, unknown, adult)
    w2: np.ndarray  # (hidden,)
    b2: np.ndarray  # (3,)

    def logit(self, xd: Any, ctx: np.ndarray) -> np.ndarray:
        """``xd``: the design matrix restricted to ``cols`` (csr)."""
        h = np.asarray(xd @ self.emb)
        a = np.maximum(h @ self.w1 + self.b1[ctx], 0.0)
        return a @ self.w2 + self.b2[ctx]


def fit_head(
    x: Any,
    ctx: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray,
    cols: np.ndarray,
    *,
    dim: int = 16,
    hidden: int = 32,
    epochs: int = 4,
    batch: int = 512,
    lr: float = 0.01,
    l2_emb: float = 1e-6,
    l2_dense: float = 1e-4,
    seed: int = 7,
) -> DeepHead:
    """Weighted log loss of ``y`` (0/1 per row), rows weighted ``sw`` (normalised to mean 1)."""
    rng = np.random.default_rng(seed)
    xd = x[:, cols].tocsr()
    xd.sort_indices()
    n, m = xd.shape
    sw = sw / sw.mean()
    params = {
        "emb": np.zeros((m, dim)),
        "w1": rng.normal(0.0, (2.0 / dim) ** 0.5, (dim, hidden)),
        "b1": np.full((3, hidden), 0.1),
        "w2": rng.normal(0.0, 0.1, hidden),
        "b2": np.zeros(3),
    }
    mom = {k: np.zeros_like(v) for k, v in params.items()}
    vel = {k: np.zeros_like(v) for k, v in params.items()}
    last = np.zeros(m, dtype=np.int64)  # step at which an embedding row was last updated (lazy Adam)
    b1m, b2m, eps = 0.9, 0.999, 1e-8
    t = 0

    def adam(k: str, g: np.ndarray, rows: np.ndarray | None = None) -> None:
        p, mo, ve = params[k], mom[k], vel[k]
        if rows is None:
            mo *= b1m
            mo += (1 - b1m) * g
            ve *= b2m
            ve += (1 - b2m) * g * g
            p -= lr * (mo / (1 - b1m**t)) / (np.sqrt(ve / (1 - b2m**t)) + eps)
            return
        # lazy: decay the moments of these rows for the steps they were not touched, then update
        gap = (t - last[rows])[:, None]
        mo_r = mo[rows] * b1m**gap + (1 - b1m) * g
        ve_r = ve[rows] * b2m**gap + (1 - b2m) * g * g
        mo[rows] = mo_r
        ve[rows] = ve_r
        p[rows] -= lr * (mo_r / (1 - b1m**t)) / (np.sqrt(ve_r / (1 - b2m**t)) + eps)
        last[rows] = t

    from scipy.sparse import csr_matrix

    for _ in range(epochs):
        order = rng.permutation(n)
        for a in range(0, n, batch):
            t += 1
            idx = order[a : a + batch]
            xb = xd[idx]
            used, inv = np.unique(xb.indices, return_inverse=True)
            xs = csr_matrix((xb.data, inv, xb.indptr), shape=(len(idx), len(used)))
            e = params["emb"][used]
            h = xs @ e
            c = ctx[idx]
            pre = h @ params["w1"] + params["b1"][c]
            act = np.maximum(pre, 0.0)
            z = act @ params["w2"] + params["b2"][c]
            p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
            dz = (p - y[idx]) * sw[idx] / len(idx)
            gw2 = act.T @ dz + l2_dense * params["w2"]
            gb2 = np.bincount(c, weights=dz, minlength=3)
            dact = np.outer(dz, params["w2"]) * (pre > 0)
            gw1 = h.T @ dact + l2_dense * params["w1"]
            gb1 = np.zeros((3, dact.shape[1]))
            np.add.at(gb1, c, dact)
            dh = dact @ params["w1"].T
            ge = xs.T @ dh + l2_emb * e
            adam("w2", gw2)
            adam("b2", gb2)
            adam("w1", gw1)
            adam("b1", gb1)
            adam("emb", ge, used)
    return DeepHead(cols, params["emb"], params["w1"], params["b1"], params["w2"], params["b2"])


def keep_largest(head: DeepHead, rows: int) -> None:
    """Zero all but the ``rows`` embeddings with the largest component (ties: the lower column), in
    place: the file stores only non-zero embeddings, and the many rare features' small ones add little."""
    if len(head.emb) <= rows:
        return
    size = np.abs(head.emb).max(axis=1)
    drop = np.argsort(-size, kind="stable")[rows:]
    head.emb[drop] = 0.0
