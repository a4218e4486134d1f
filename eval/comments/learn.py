"""Training library for the learned comment stage (the hashed n-gram model of ``tutela.comments.hashed``).

Used by ``train.py`` (``make train-comments``) and ``crossval.py`` (leave-one-writer-out). Features are
computed by the layer's own :func:`tutela.comments.hashed.text_features` over the layer's own
normalisation and rules stage, so training and inference cannot drift apart. Fitting is L-BFGS
(scipy, training only) on the L2-regularised log loss of every output, with bad comments weighted up.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "layers" / "core"))

from tutela.comments.classify import rules_stage  # noqa: E402
from tutela.comments.hashed import CONTEXT_INDEX, dump_model, rule_keys, text_features  # noqa: E402
from tutela.comments.lexicon import CATEGORIES, Lexicon  # noqa: E402

TRAIN_DIR = HERE / "train"
SEALED_DIR = HERE / "sealed-2026-12"
# Later rounds' held-out writers, scored once, then burned: one group per writer folder, ``rN-<folder>``.
SEALED_ROUNDS = {
    "r3": HERE / "sealed-2026-12-r3",
    "r4": HERE / "sealed-2026-12-r4",
    "r5": HERE / "sealed-2026-12-r5",
    "r6": HERE / "sealed-2026-12-r6",
    "r7": HERE / "sealed-2026-12-r7",
    "r8": HERE / "sealed-2026-12-r8",
    "r9": HERE / "sealed-2026-12-r9",
    "r10": HERE / "sealed-2026-12-r10",
    "r11": HERE / "sealed-2026-12-r11",
    "r13": HERE / "sealed-2026-12-r13",
}
OUTPUTS = ("any", *CATEGORIES)
_CJK = (0x3400, 0x9FFF)


def load_rows(paths: list[Path], writer: str) -> list[dict[str, Any]]:
    rows = []
    for p in paths:
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError:
                print(f"skip {p}:{n}: invalid JSON", file=sys.stderr)
                continue
            if not isinstance(r, dict) or not isinstance(r.get("text"), str) or not r["text"].strip():
                continue
            labels = sorted({c for c in r.get("labels") or [] if c in CATEGORIES})
            ctx = r.get("minor_context")
            rows.append(
                {
                    "text": r["text"],
                    "labels": labels,
                    "minor_context": ctx if isinstance(ctx, bool) else None,
                    "lang": str(r.get("lang", "?")),
                    "style": str(r.get("style") or r.get("evasion") or "?"),
                    "writer": writer,
                }
            )
    return rows


def writer_groups() -> dict[str, list[dict[str, Any]]]:
    """Every writer's rows: ``train/<writer>/``, the burned sealed set (one group), the project's dev sets."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in sorted(p for p in TRAIN_DIR.iterdir() if p.is_dir()) if TRAIN_DIR.exists() else []:
        groups[d.name] = load_rows(sorted(d.glob("*.jsonl")), d.name)
    if SEALED_DIR.exists():
        groups["sealed-2026-12"] = load_rows(sorted(SEALED_DIR.rglob("*.jsonl")), "sealed-2026-12")
    for tag, root in SEALED_ROUNDS.items():
        for d in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
            groups[f"{tag}-{d.name}"] = load_rows(sorted(d.glob("*.jsonl")), f"{tag}-{d.name}")
    groups["project"] = load_rows([HERE / "dev.jsonl", HERE / "heldout.jsonl"], "project")
    return groups


# ---------------------------------------------------------------- augmentation

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
# Padding between characters: punctuation only. Pictographs are features of their own now, and padding
# good and bad rows alike with 🍑 or ❤ would teach the model that they mean nothing.
_PAD = [".", "*", "_", "~", "·", "-", "。"]


def s2t_table() -> dict[str, str]:
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "STCharacters.txt"
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        s, _, t = line.partition("\t")
        if len(s) == 1 and t:
            table[s] = t.split(" ")[0]
    return table


def augment(row: dict[str, Any], rng: random.Random, s2t: dict[str, str]) -> list[dict[str, Any]]:
    """Evasive spellings of a comment (the same labels): what writers' evaders do to filters."""
    text = row["text"]
    out = []
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 3 and w.isascii() and w.isalpha()]
    if long_words:
        i = rng.choice(long_words)
        sep = rng.choice([".", " ", "_", "-", "*"])
        w2 = list(words)
        w2[i] = sep.join(w2[i])
        out.append(" ".join(w2))
        w3 = [
            "".join(_LEET.get(c, c) if rng.random() < 0.5 else c for c in w) if w.isascii() else w
            for w in words
        ]
        out.append(" ".join(w3))
        if rng.random() < 0.5:  # every letter of one word doubled (`sseexxyy`): no separator to strip
            w4 = list(words)
            j = rng.choice(long_words)
            w4[j] = "".join(c + c for c in w4[j])
            out.append(" ".join(w4))
    if any("\u4e00" <= c <= "\u9fff" for c in text):
        out.append("".join(s2t.get(c, c) for c in text))
        pad = rng.choice(_PAD)
        out.append(pad.join(text) if len(text) < 40 else text.replace("，", pad))
    return [{**row, "text": t, "style": "aug", "aug": True} for t in out if t != text]


def fold_table() -> dict[str, str]:
    """Chinese character -> toneless pinyin (first reading), from pypinyin's single-character table."""
    from pypinyin import Style, lazy_pinyin  # training only; the table ships inside the weights file

    out = {}
    for cp in range(_CJK[0], _CJK[1] + 1):
        c = chr(cp)
        py = lazy_pinyin(c, style=Style.NORMAL, errors="ignore")
        if py and py[0].isascii() and py[0].isalpha():
            out[c] = py[0]
    return out


# ---------------------------------------------------------------- features


def featurize(rows: list[dict[str, Any]], lex: Lexicon, fold: dict[str, str], bits: int) -> None:
    """Set ``_norm``, ``_rules`` (rules-stage features) and ``_text`` (bucket -> scaled count) per row."""
    table = {ord(c): p for c, p in fold.items()}
    for r in rows:
        r["_norm"], r["_rules"] = rules_stage(r["text"], r["minor_context"], lex)
    step = 4000
    for a in range(0, len(rows), step):
        chunk = rows[a : a + step]
        norms = [r["_norm"] for r in chunk]
        folds = [s.translate(table) if not s.isascii() else s for s in norms]
        raws = [r["text"] for r in chunk]
        rws, bks, scale = text_features(norms, folds, [r["minor_context"] for r in chunk], bits, raws)
        order = np.lexsort((bks, rws))
        rws, bks = rws[order], bks[order]
        bounds = np.searchsorted(rws, np.arange(len(chunk) + 1))
        for i, r in enumerate(chunk):
            b, c = np.unique(bks[bounds[i] : bounds[i + 1]], return_counts=True)
            r["_text"] = (b, c * scale[i])


class Design:
    """Columns: hashed text buckets seen in >= min_df training rows, rule keys, 3 context biases."""

    def __init__(self, train: list[dict[str, Any]], min_df: int) -> None:
        df: Counter[int] = Counter()
        rdf: Counter[str] = Counter()
        for r in train:
            df.update(r["_text"][0].tolist())
            rdf.update(rule_keys(r["_rules"], r["minor_context"]))
        self.buckets = np.array(sorted(b for b, n in df.items() if n >= min_df), dtype=np.int64)
        self.rule_keys = sorted(k for k, n in rdf.items() if n >= min_df)
        self.rule_col = {k: len(self.buckets) + i for i, k in enumerate(self.rule_keys)}
        self.bias0 = len(self.buckets) + len(self.rule_keys)
        self.n_feat = self.bias0 + 3

    def matrix(self, rows: list[dict[str, Any]]) -> Any:
        from scipy.sparse import csr_matrix

        indptr = [0]
        idx: list[np.ndarray] = []
        val: list[np.ndarray] = []
        for r in rows:
            b, v = r["_text"]
            pos = np.searchsorted(self.buckets, b)
            pos = np.minimum(pos, len(self.buckets) - 1)
            ok = self.buckets[pos] == b
            cols = [
                self.rule_col[k] for k in rule_keys(r["_rules"], r["minor_context"]) if k in self.rule_col
            ]
            cols.append(self.bias0 + CONTEXT_INDEX[r["minor_context"]])
            idx.append(np.concatenate([pos[ok], np.asarray(cols, dtype=np.int64)]))
            val.append(np.concatenate([v[ok], np.ones(len(cols))]))
            indptr.append(indptr[-1] + len(idx[-1]))
        return csr_matrix(
            (np.concatenate(val), np.concatenate(idx), np.asarray(indptr)), shape=(len(rows), self.n_feat)
        )


def targets(rows: list[dict[str, Any]]) -> np.ndarray:
    y = np.zeros((len(rows), len(OUTPUTS)))
    for i, r in enumerate(rows):
        y[i, 0] = bool(r["labels"])
        for j, c in enumerate(CATEGORIES, 1):
            y[i, j] = c in r["labels"]
    return y


def fit(x: Any, y: np.ndarray, sw: np.ndarray, l2: float, iters: int, lr: float = 0.05) -> np.ndarray:
    """Full-batch Adam on the weighted, L2-regularised log loss (the 3 bias columns unregularised)."""
    k = y.shape[1]
    d = x.shape[1]
    reg = np.ones((d, 1))
    reg[-3:] = 0.0
    xt = x.T.tocsr()
    swn = (sw / sw.sum())[:, None]
    w = np.zeros((d, k))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t in range(1, iters + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        g = xt @ ((p - y) * swn)
        g += l2 * reg * w
        m *= 0.9
        m += 0.1 * g
        v *= 0.999
        v += 0.001 * g * g
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


def sample_weights(rows: list[dict[str, Any]], bad_weight: float) -> np.ndarray:
    """Bad comments weighted ``bad_weight``; each writer weighted equally (no writer's style dominates)."""
    w = np.array([bad_weight if r["labels"] else 1.0 for r in rows])
    per: Counter[str] = Counter(r["writer"] for r in rows)
    mean = len(rows) / len(per)
    return w * np.array([mean / per[r["writer"]] for r in rows]) ** 0.5


def predict(design: Design, w: np.ndarray, rows: list[dict[str, Any]], head: Any = None) -> np.ndarray:
    """Probabilities per output; with the deep head ``any``'s logit is the mean of the linear and the
    head's."""
    x = design.matrix(rows)
    z = x @ w
    if head is not None:
        z[:, 0] = 0.5 * (z[:, 0] + head.logit(x[:, head.cols], contexts(rows)))  # as widedeep._any_logit
    return 1.0 / (1.0 + np.exp(-z))


def contexts(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.array([CONTEXT_INDEX[r["minor_context"]] for r in rows], dtype=np.int64)


# The deep head's defaults (``deep.fit_head``); ``deep_min_df``: the features it reads (fewer than the
# linear model's: a rare n-gram's embedding learns nothing, and the file stays small).
DEEP = {"dim": 16, "hidden": 32, "epochs": 4, "batch": 512, "lr": 0.01, "l2_emb": 1e-6, "l2_dense": 1e-4}
DEEP_MIN_DF = 5
# Embeddings kept after the fit (largest first, by their largest component; the rest are zeroed): on all
# writers ~670k features reach DEEP_MIN_DF, ~17 gzip'd bytes each in the file; this keeps the file ~6 MB.
DEEP_MAX_ROWS = 240_000


def train(
    rows: list[dict[str, Any]],
    *,
    l2: float,
    iters: int,
    min_df: int,
    bad_weight: float,
    any_only: bool = False,
    deep: dict[str, Any] | None = None,
    deep_min_df: int = DEEP_MIN_DF,
    seed: int = 7,
) -> tuple[Design, np.ndarray, Any]:
    """``any_only``: fit only the ``any`` output (each output's loss and Adam state are separate, so its
    weights are the same as in the full fit; cross-validation needs nothing else, at 1/6 of the cost).
    ``deep``: also fit the deep head (``deep.fit_head`` options) on ``any``; returned third (else None)."""
    design = Design(rows, min_df)
    x = design.matrix(rows)
    y = targets(rows)
    sw = sample_weights(rows, bad_weight)
    w = fit(x, y[:, :1] if any_only else y, sw, l2, iters)
    head = None
    if deep is not None:
        import deep as deep_mod

        df = np.bincount(x.indices, minlength=design.n_feat)[: design.bias0]
        cols = np.flatnonzero(df >= deep_min_df)
        head = deep_mod.fit_head(x, contexts(rows), y[:, 0], sw, cols, seed=seed, **deep)
        deep_mod.keep_largest(head, DEEP_MAX_ROWS)
    return design, w, head


def export(
    design: Design,
    w: np.ndarray,
    bits: int,
    fold: dict[str, str],
    prune: float,
    meta: dict[str, Any],
    head: Any = None,
) -> bytes:
    nb = len(design.buckets)
    feats = w[: design.bias0]
    scale = float(np.abs(feats).max()) / 127.0 or 1.0
    q = np.rint(feats / scale).astype(np.int64)
    keep = (np.abs(feats).max(axis=1) >= prune) & q.any(axis=1)
    tb = np.flatnonzero(keep[:nb])
    rules = {design.rule_keys[i - nb]: [int(a) for a in q[i]] for i in range(nb, design.bias0) if keep[i]}
    bias = w[design.bias0 :]
    raw = dump_model(
        design.buckets[tb], q[tb], scale, rules, bias, bits, OUTPUTS, fold, 0.0, meta, emoji=True
    )
    if head is None:
        return raw
    from tutela.comments.widedeep import dump_widedeep

    escale = float(np.abs(head.emb).max()) / 127.0 or 1.0
    eq = np.rint(head.emb / escale).astype(np.int64)
    live = eq.any(axis=1)  # an all-zero embedding adds nothing: not stored
    text = live & (head.cols < nb)
    erules = {
        design.rule_keys[c - nb]: [int(a) for a in eq[i]]
        for i, c in enumerate(head.cols)
        if c >= nb and live[i]
    }
    return dump_widedeep(
        raw, design.buckets[head.cols[text]], eq[text], escale, erules, head.w1, head.b1, head.w2, head.b2
    )


def quantisation_drift(
    raw: bytes, design: Design, w: np.ndarray, head: Any, rows: list[dict[str, Any]], n: int = 2000
) -> float:
    """The largest difference in ``any`` between the weights file (int8, pruned) and the fit it was
    written from, on ``n`` rows spread over ``rows``: the shipped model should score what was trained."""
    from tutela.comments.model import load_model

    m = load_model(raw, "trained")
    sample = rows[:: max(1, len(rows) // n)]
    fitted = predict(design, w, sample, head)[:, 0]
    got = m.batch(  # type: ignore[union-attr]
        [r["_norm"] for r in sample],
        [r["minor_context"] for r in sample],
        [r["_rules"] for r in sample],
        raws=[r["text"] for r in sample],
    )[:, 0]
    ok = ~np.isnan(got)
    return float(np.abs(got[ok] - fitted[ok]).max()) if ok.any() else 0.0
