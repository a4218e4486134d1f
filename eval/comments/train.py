"""Train the learned comment stage (``make train-comments``): numpy logistic regression.

    .venv/bin/python eval/comments/train.py                       # train on everything, write the model
    .venv/bin/python eval/comments/train.py --sync DIR   # copy new <writer>/*.jsonl files in first
    .venv/bin/python eval/comments/train.py --holdout en_genz --out m.json.gz   # leave a writer out
    .venv/bin/python eval/comments/train.py --extra labels.jsonl  # add exported review outcomes

Data: ``eval/comments/train/<writer>/*.jsonl``, one comment a line in the data format
``{"text", "labels": [categories], "minor_context": true|false|null, "lang", "style"}`` (``[]`` =
acceptable in that context), plus ``dev.jsonl`` and ``heldout.jsonl`` (writer ``project``) and any
``--extra`` files (``tutela comments export-labels`` output, writer ``reviewers``).

Features are exactly the ones the layer computes at run time (:func:`tutela.comments.model.
feature_names` over :func:`~tutela.comments.normalize.normalize`), so training and inference cannot
drift apart. Rows are augmented with programmatic evasion (letters spaced or dotted, digit leet,
Traditional characters, emoji padding) so the model sees what normalisation leaves behind.

Outputs: ``any`` (some label) and one per category; a bias per output and post context (minor,
unknown, adult). Full-batch Adam on the L2-regularised log loss over a sparse matrix held as numpy
index arrays. The weights are pruned (features seen in at least ``--min-df`` training comments and
with a non-negligible weight), quantised to integers and written as gzip'd JSON; the model id is a
hash of that content.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "layers" / "core"))

from tutela.comments.classify import rules_stage  # noqa: E402
from tutela.comments.lexicon import CATEGORIES, DATA_DIR, load_lexicon  # noqa: E402
from tutela.comments.model import CONTEXT_KEYS, FORMAT, feature_names  # noqa: E402

TRAIN_DIR = HERE / "train"
MODEL_PATH = DATA_DIR / "model.comments.json.gz"
OUTPUTS = ("any", *CATEGORIES)
CONTEXTS = tuple(CONTEXT_KEYS.values())


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
            if not isinstance(r, dict) or not isinstance(r.get("text"), str):
                continue
            labels = [c for c in r.get("labels") or [] if c in CATEGORIES]
            ctx = r.get("minor_context")
            rows.append(
                {
                    "text": r["text"],
                    "labels": labels,
                    "minor_context": ctx if isinstance(ctx, bool) else None,
                    "lang": r.get("lang", "?"),
                    "style": r.get("style") or r.get("evasion") or "?",
                    "writer": writer,
                }
            )
    return rows


def all_rows(extra: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for d in sorted(p for p in TRAIN_DIR.iterdir() if p.is_dir()) if TRAIN_DIR.exists() else []:
        rows += load_rows(sorted(d.glob("*.jsonl")), d.name)
    rows += load_rows([HERE / "dev.jsonl", HERE / "heldout.jsonl"], "project")
    if extra:
        rows += load_rows(extra, "reviewers")
    return rows


# ---------------------------------------------------------------- augmentation

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_PAD = ["🍑", "💕", "✨", ".", "*", "_", "❤"]


def _s2t() -> dict[str, str]:
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
    if any("\u4e00" <= c <= "\u9fff" for c in text):
        out.append("".join(s2t.get(c, c) for c in text))
        pad = rng.choice(_PAD)
        out.append(pad.join(text) if len(text) < 40 else text.replace("，", pad))
    return [{**row, "text": t, "style": "aug"} for t in out if t != text]


# ---------------------------------------------------------------- the model


class Design:
    """A sparse design matrix as numpy index arrays (CSR without scipy)."""

    def __init__(self, rows: list[dict[str, Any]], vocab: dict[str, int]) -> None:
        indptr = [0]
        indices: list[int] = []
        values: list[float] = []
        base = len(vocab)
        for r in rows:
            feats = r["_feats"]
            c = Counter(f for f in feats if f in vocab)
            n_text = sum(1 for f in feats if not f.startswith("rule:"))
            scale = 1.0 / np.sqrt(n_text) if n_text else 0.0
            for f, k in c.items():
                indices.append(vocab[f])
                values.append(1.0 if f.startswith("rule:") else k * scale)
            indices.append(base + CONTEXTS.index(CONTEXT_KEYS[r["minor_context"]]))  # context bias
            values.append(1.0)
            indptr.append(len(indices))
        self.n = len(rows)
        self.n_feat = base + len(CONTEXTS)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float64)
        self.row = np.repeat(np.arange(self.n), np.diff(np.asarray(indptr)))

    def dot(self, w: np.ndarray) -> np.ndarray:  # (n_feat, k) -> (n, k)
        contrib = w[self.indices] * self.values[:, None]
        out = np.zeros((self.n, w.shape[1]))
        for j in range(w.shape[1]):
            out[:, j] = np.bincount(self.row, weights=contrib[:, j], minlength=self.n)
        return out

    def tdot(self, g: np.ndarray) -> np.ndarray:  # (n, k) -> (n_feat, k)
        out = np.zeros((self.n_feat, g.shape[1]))
        for j in range(g.shape[1]):
            out[:, j] = np.bincount(self.indices, weights=g[self.row, j] * self.values, minlength=self.n_feat)
        return out


def targets(rows: list[dict[str, Any]]) -> np.ndarray:
    y = np.zeros((len(rows), len(OUTPUTS)))
    for i, r in enumerate(rows):
        y[i, 0] = bool(r["labels"])
        for j, c in enumerate(CATEGORIES, 1):
            y[i, j] = c in r["labels"]
    return y


def fit(x: Design, y: np.ndarray, l2: float, epochs: int, lr: float) -> np.ndarray:
    w = np.zeros((x.n_feat, y.shape[1]))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    reg = np.ones((x.n_feat, 1))
    reg[-len(CONTEXTS) :] = 0.0  # biases are not regularised
    for t in range(1, epochs + 1):
        z = x.dot(w)
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = x.tdot(p - y) / x.n + l2 * reg * w
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


def predict(x: Design, w: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x.dot(w), -30, 30)))


def build_vocab(rows: list[dict[str, Any]], min_df: int) -> dict[str, int]:
    df: Counter[str] = Counter()
    for r in rows:
        df.update(set(r["_feats"]))
    kept = sorted(f for f, n in df.items() if n >= min_df)
    return {f: i for i, f in enumerate(kept)}


def export(w: np.ndarray, vocab: dict[str, int], prune: float, gate: float, meta: dict[str, Any]) -> bytes:
    feats = w[: len(vocab)]
    scale = float(np.abs(feats).max()) / 127.0 or 1.0
    q = np.rint(feats / scale).astype(int)
    keep = np.abs(feats).max(axis=1) >= prune
    names = sorted(vocab, key=vocab.__getitem__)
    features = {names[i]: [int(a) for a in q[i]] for i in np.flatnonzero(keep) if q[i].any()}
    bias = {ctx: [round(float(b), 5) for b in w[len(vocab) + k]] for k, ctx in enumerate(CONTEXTS)}
    doc: dict[str, Any] = {
        "format": FORMAT,
        "outputs": list(OUTPUTS),
        "scale": scale,
        "bias": bias,
        "gate": gate,
        "features": features,
        "meta": meta,
    }
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    doc["model_id"] = "cng1-" + hashlib.sha256(body).hexdigest()[:10]
    raw = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(raw, mtime=0)


def recall_at_fpr(p: np.ndarray, bad: np.ndarray, fpr: float) -> tuple[float, float]:
    good = np.sort(p[~bad])[::-1]
    if not len(good):
        return float("nan"), 0.5
    k = int(np.floor(fpr * len(good)))
    th = good[k] + 1e-9 if k < len(good) else 0.0
    return float((p[bad] >= th).mean()) if bad.any() else float("nan"), float(th)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sync", type=Path, help="copy <dir>/<writer>/*.jsonl into eval/comments/train first")
    ap.add_argument("--holdout", action="append", default=[], help="leave this writer out (repeatable)")
    ap.add_argument(
        "--extra", type=Path, action="append", default=[], help="more rows (export-labels output)"
    )
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--l2", type=float, default=2e-5)
    ap.add_argument("--epochs", type=int, default=250)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--prune", type=float, default=0.05)
    ap.add_argument("--gate", type=float, default=0.25)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument(
        "--lexicon-dir", type=Path, help="the rules stage to stack on (default: the packaged one)"
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.sync:
        for src in sorted(args.sync.glob("*/*.jsonl")):
            dst = TRAIN_DIR / src.parent.name / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    rng = random.Random(args.seed)
    rows = all_rows(args.extra)
    train = [r for r in rows if r["writer"] not in args.holdout]
    held = [r for r in rows if r["writer"] in args.holdout]
    if not args.no_augment:
        s2t = _s2t()
        train = train + [a for r in train for a in augment(r, rng, s2t)]
    t0 = time.time()
    lex = load_lexicon(args.lexicon_dir)  # the rules stage the model is stacked on
    for r in train + held:
        norm, rule_feats = rules_stage(r["text"], r["minor_context"], lex)
        r["_feats"] = feature_names(norm, r["text"], rule_feats)
    vocab = build_vocab(train, args.min_df)
    xt = Design(train, vocab)
    yt = targets(train)
    print(
        f"train {len(train)} rows ({sum(1 for r in train if r['style'] == 'aug')} augmented), "
        f"{len(vocab)} features, held out {len(held)} ({', '.join(args.holdout) or 'none'})",
        file=sys.stderr,
    )
    w = fit(xt, yt, args.l2, args.epochs, args.lr)
    print(f"fitted in {time.time() - t0:.1f}s", file=sys.stderr)
    meta = {
        "writers": sorted({r["writer"] for r in train}),
        "rows": len(train),
        "l2": args.l2,
        "epochs": args.epochs,
        "min_df": args.min_df,
        "prune": args.prune,
        "augment": not args.no_augment,
    }
    raw = export(w, vocab, args.prune, args.gate, meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(raw)
    doc = json.loads(gzip.decompress(raw))
    print(
        f"wrote {args.out} ({len(raw)} bytes, {len(doc['features'])} features, {doc['model_id']})",
        file=sys.stderr,
    )
    if held:
        xh = Design(held, vocab)
        p = predict(xh, w)[:, 0]
        bad = targets(held)[:, 0].astype(bool)
        for fpr in (0.01, 0.03, 0.05):
            rec, th = recall_at_fpr(p, bad, fpr)
            print(f"held-out 'any' alone: recall {rec:.3f} at FPR {fpr:.2f} (p >= {th:.3f})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
