"""Leave-one-WRITER-out cross-validation of the learned stage (the honest estimate for unseen writers).

    .venv/bin/python eval/comments/crossval.py --dump /tmp/cv.jsonl [--groups en_genz ...] [train options]
    .venv/bin/python eval/comments/thresholds.py /tmp/cv.jsonl --report     # the tables, packaged thresholds

``--folds K``: group K-fold instead (every group judged by a model that never saw it, K trainings
instead of one per group: the way to judge all ~40 groups in under an hour).

Groups: every writer folder under ``train/`` and the burned sealed set (``sealed-2026-12``) as one
group; the project's own dev sets (writer ``project``) are always in training, never judged. For each
group, a model trained on every *other* group (and their augmented spellings) scores that group's
comments. The dump holds, per judged comment, the model's probabilities, the rules stage's verdict
(packaged rules, single-cue policy) and whether the rules stage saw a sexual cue that the model may
not veto; ``thresholds.py`` turns it into verdicts exactly as ``classify._combine`` does.
In-writer cross-validation overstates what a new writer sees (a writer's phrasing recurs in their
own rows); this is the number to improve.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import evaluate  # noqa: E402
import learn  # noqa: E402

from tutela.comments.lexicon import load_lexicon  # noqa: E402


def group_folds(judged: list[str], groups: dict[str, list[Any]], k: int) -> list[list[str]]:
    """Leave-one-out (``k`` <= 0) or the judged groups dealt into ``k`` folds, largest first into the
    currently smallest fold, so each fold holds about the same number of comments (deterministic)."""
    if k <= 0 or k >= len(judged):
        return [[g] for g in judged]
    folds: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for g in sorted(judged, key=lambda g: (-len(groups[g]), g)):
        i = sizes.index(min(sizes))
        folds[i].append(g)
        sizes[i] += len(groups[g])
    return folds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", type=Path, required=True)
    ap.add_argument("--groups", nargs="*", help="judge only these groups (default: all but project)")
    ap.add_argument(
        "--folds",
        type=int,
        default=0,
        help="K > 0: group K-fold instead of leave-one-out: the judged groups are dealt into K folds "
        "balanced by size, and one model per fold (trained on every group outside it) judges the fold",
    )
    ap.add_argument("--bits", type=int, default=20)
    ap.add_argument("--l2", type=float, default=3e-5)
    ap.add_argument("--iters", type=int, default=150)
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--bad-weight", type=float, default=1.0)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--all-outputs", action="store_true", help="fit the category outputs too (6x slower)")
    ap.add_argument("--no-deep", action="store_true", help="the linear model alone (no deep head)")
    ap.add_argument(
        "--deep",
        type=json.loads,
        default={},
        help='override the deep head\'s settings, e.g. \'{"dim": 8, "hidden": 64}\' (see learn.DEEP)',
    )
    ap.add_argument(
        "--baseline-dump",
        type=Path,
        help="also write the same folds' linear-only scores here (the linear part is the same fit)",
    )
    args = ap.parse_args()
    t0 = time.time()
    lex = load_lexicon(with_model=False)
    groups = learn.writer_groups()
    judged = args.groups or [g for g in groups if g != "project"]
    rng = random.Random(args.seed)
    s2t = learn.s2t_table()
    fold = learn.fold_table()
    everything = [r for rs in groups.values() for r in rs]
    aug = [] if args.no_augment else [a for r in everything for a in learn.augment(r, rng, s2t)]
    learn.featurize(everything + aug, lex, fold, args.bits)
    print(
        f"featurised {len(everything)} + {len(aug)} augmented rows in {time.time() - t0:.0f}s",
        file=sys.stderr,
    )
    args.dump.write_text("")
    if args.baseline_dump:
        args.baseline_dump.write_text("")
    for fold_groups in group_folds(judged, groups, args.folds):
        t1 = time.time()
        held = set(fold_groups)
        train_rows = [r for r in everything + aug if r["writer"] not in held]
        design, w, head = learn.train(
            train_rows,
            l2=args.l2,
            iters=args.iters,
            min_df=args.min_df,
            bad_weight=args.bad_weight,
            any_only=not args.all_outputs,
            deep=None if args.no_deep else {**learn.DEEP, **args.deep},
            seed=args.seed,
        )
        rows = [r for g in fold_groups for r in groups[g]]
        p = learn.predict(design, w, rows, head)
        p_lin = learn.predict(design, w, rows) if head is not None else p
        rules = evaluate.judge(rows, lex)
        for path, probs in ((args.dump, p), (args.baseline_dump, p_lin)):
            if path is None:
                continue
            with path.open("a", encoding="utf-8") as fh:
                for r, pr, pl, rr in zip(rows, probs, p_lin, rules, strict=True):
                    out = {k: v for k, v in r.items() if not k.startswith("_")}
                    out["p"] = dict(zip(learn.OUTPUTS, np.round(pr, 5).tolist(), strict=False))
                    out["p_lin"] = round(float(pl[0]), 5)
                    out["rules"] = rr["verdict"]
                    out["rule_cats"] = rr["categories"]
                    out["rule_feats"] = list(r["_rules"])
                    out["emoji"] = True  # the model read pictographs (thresholds.py: they count as readable)
                    fh.write(json.dumps(out, ensure_ascii=False) + "\n")
        bad = np.array([bool(r["labels"]) for r in rows])
        print(
            f"{'+'.join(fold_groups)}: {len(rows)} rows, fold trained+judged in {time.time() - t1:.0f}s; "
            f"'any' recall@p>=0.5 {float((p[bad, 0] >= 0.5).mean()):.3f} "
            f"FPR {float((p[~bad, 0] >= 0.5).mean()):.3f} "
            f"(linear alone {float((p_lin[bad, 0] >= 0.5).mean()):.3f} / "
            f"{float((p_lin[~bad, 0] >= 0.5).mean()):.3f})",
            file=sys.stderr,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
