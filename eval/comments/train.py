"""Train the learned comment stage (``make train-comments``): a hashed n-gram linear model, numpy.

    .venv/bin/python eval/comments/train.py                     # train on everything, write the model
    .venv/bin/python eval/comments/train.py --sync DIR          # import DIR/<writer>/*.jsonl first
    .venv/bin/python eval/comments/train.py --holdout en_genz --out m.json.gz   # leave a writer out
    .venv/bin/python eval/comments/train.py --extra labels.jsonl   # add exported review outcomes

Data: every writer folder ``eval/comments/train/<writer>/*.jsonl``, the burned sealed set
``eval/comments/sealed-2026-12`` (writer ``sealed-2026-12``), ``dev.jsonl`` + ``heldout.jsonl`` (writer
``project``) and ``--extra`` files (``tutela comments export-labels`` output, writer ``reviewers``); one
comment a line: ``{"text", "labels": [categories], "minor_context": true|false|null, "lang", "style"}``
(``[]`` = acceptable in that context). Rows are augmented with programmatic evasion (letters spaced or
dotted, digit leet, Traditional characters, emoji padding).

Features are the layer's own (:func:`tutela.comments.hashed.text_features` over the layer's
normalisation, plus the rules stage's output), see ``learn.py``. ``--sync`` validates every line
(a JSON object with a string text, known labels, a boolean or null context) and drops exact
duplicates (the same text, labels and context) already present in any writer's files.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import learn  # noqa: E402

from tutela.comments.lexicon import CATEGORIES, DATA_DIR, load_lexicon  # noqa: E402

MODEL_PATH = DATA_DIR / "model.comments.json.gz"
load_rows = learn.load_rows  # the reader --extra (export-labels) rows go through


def _key(r: dict[str, object]) -> str:
    return json.dumps(
        [r.get("text"), sorted(r.get("labels") or []), r.get("minor_context")], ensure_ascii=False
    )  # type: ignore[type-var]


def valid(r: object) -> bool:
    if not isinstance(r, dict) or not isinstance(r.get("text"), str) or not r["text"].strip():
        return False
    labels = r.get("labels")
    if not isinstance(labels, list) or any(c not in CATEGORIES for c in labels):
        return False
    return r.get("minor_context", None) in (True, False, None)


def sync(src: Path) -> None:
    """Import ``src/<writer>/*.jsonl`` into ``train/<writer>/``: valid lines only, no exact duplicates."""
    seen = set()
    incoming = {(f.parent.name, f.name) for f in src.glob("*/*.jsonl")}
    for p in sorted(learn.TRAIN_DIR.glob("*/*.jsonl")):
        if (p.parent.name, p.name) in incoming:  # an earlier import of the same file: replaced below
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if valid(r):
                seen.add(_key(r))
    for f in sorted(src.glob("*/*.jsonl")):
        kept, dropped_invalid, dropped_dup = [], 0, 0
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError:
                dropped_invalid += 1
                continue
            if not valid(r):
                dropped_invalid += 1
                continue
            k = _key(r)
            if k in seen:
                dropped_dup += 1
                continue
            seen.add(k)
            kept.append(json.dumps(r, ensure_ascii=False))
        dst = learn.TRAIN_DIR / f.parent.name / f.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text("".join(x + "\n" for x in kept), encoding="utf-8")
        print(
            f"{f.parent.name}/{f.name}: {len(kept)} rows "
            f"({dropped_invalid} invalid, {dropped_dup} duplicates)",
            file=sys.stderr,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sync", type=Path, help="import <dir>/<writer>/*.jsonl into eval/comments/train first")
    ap.add_argument("--holdout", action="append", default=[], help="leave this writer out (repeatable)")
    ap.add_argument(
        "--extra", type=Path, action="append", default=[], help="more rows (export-labels output)"
    )
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--bits", type=int, default=20)
    ap.add_argument("--l2", type=float, default=3e-5)
    ap.add_argument("--iters", type=int, default=150)
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--bad-weight", type=float, default=1.0)
    ap.add_argument("--prune", type=float, default=0.02)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument(
        "--no-deep", action="store_true", help="the linear model alone (format hashed/1, no deep head)"
    )
    ap.add_argument(
        "--lexicon-dir", type=Path, help="the rules stage to stack on (default: the packaged one)"
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.sync:
        sync(args.sync)
    t0 = time.time()
    groups = learn.writer_groups()
    rows = [r for g, rs in groups.items() if g not in args.holdout for r in rs]
    if args.extra:
        rows += learn.load_rows(args.extra, "reviewers")
    if not args.no_augment:
        rng = random.Random(args.seed)
        s2t = learn.s2t_table()
        rows += [a for r in list(rows) for a in learn.augment(r, rng, s2t)]
    fold = learn.fold_table()
    learn.featurize(rows, load_lexicon(args.lexicon_dir, with_model=False), fold, args.bits)
    design, w, head = learn.train(
        rows,
        l2=args.l2,
        iters=args.iters,
        min_df=args.min_df,
        bad_weight=args.bad_weight,
        deep=None if args.no_deep else learn.DEEP,
        seed=args.seed,
    )
    meta = {
        "writers": sorted({r["writer"] for r in rows}),
        "rows": len(rows),
        "bits": args.bits,
        "l2": args.l2,
        "iters": args.iters,
        "min_df": args.min_df,
        "bad_weight": args.bad_weight,
        "prune": args.prune,
        "augment": not args.no_augment,
        "deep": None if args.no_deep else {**learn.DEEP, "min_df": learn.DEEP_MIN_DF},
    }
    raw = learn.export(design, w, args.bits, fold, args.prune, meta, head)
    drift = learn.quantisation_drift(raw, design, w, head, rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(raw)
    print(
        f"wrote {args.out}: {len(raw)} bytes, trained on {len(rows)} rows ({', '.join(meta['writers'])}) "
        f"in {time.time() - t0:.0f}s; 'any' of the file vs the fit on 2,000 training rows: "
        f"max |dp| {drift:.4f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
