"""Choose the learned stage's thresholds from writer-level cross-validation (crossval.py --dump).

    .venv/bin/python eval/comments/thresholds.py DUMP.jsonl [...] [--fpr 0.025] [--block-precision 0.95]

Each dump line holds a held-out writer's comment, its labels and context, the model's probabilities
(trained without that writer) and the rules stage's verdict. For each context (minor = a child's or
unknown post, adult) it searches ``veto`` (a rules flag stands only when p >= veto) and ``review``
(p alone flags) for the highest recall whose false-positive rate stays under ``--fpr``, and the
lowest ``block`` threshold whose blocks are at least ``--block-precision`` precise. The numbers are
what a writer nobody trained on would see; they are printed for policy.toml, never written to it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dumps", nargs="+", type=Path)
    ap.add_argument("--fpr", type=float, default=0.025)
    ap.add_argument("--block-precision", type=float, default=0.95)
    args = ap.parse_args()
    rows = [json.loads(line) for p in args.dumps for line in p.read_text(encoding="utf-8").splitlines()]
    grid = np.round(np.arange(0.0, 1.0001, 0.01), 2)
    for ctx, sel in (
        ("minor", lambda r: r["minor_context"] is not False),
        ("adult", lambda r: r["minor_context"] is False),
    ):
        rs = [r for r in rows if sel(r)]
        p = np.array([r["p"]["any"] for r in rs])
        bad = np.array([bool(r["labels"]) for r in rs])
        ruled = np.array([r["rules"] != "allow" for r in rs])
        best = (0.0, 1.0, 1.0, 0.0)
        for veto in grid:
            base = ruled & (p >= veto)
            for review in grid[::-1]:
                flag = base | (p >= review)
                fpr = flag[~bad].mean()
                if fpr > args.fpr:
                    break
                rec = flag[bad].mean()
                if rec > best[0]:
                    best = (rec, float(veto), float(review), float(fpr))
        rec, veto, review, fpr = best
        block = 1.0
        for t in grid[::-1]:
            b = p >= t
            if b.sum() and bad[b].mean() >= args.block_precision:
                block = float(t)
        flag = (ruled & (p >= veto)) | (p >= review)
        blocked = p >= block
        print(
            f"{ctx}: veto={veto:.2f} review={review:.2f} block={block:.2f} -> recall {rec:.3f} FPR {fpr:.3f} "
            f"block recall (model blocks only) {blocked[bad].mean():.3f} ({len(rs)} comments)"
        )
        for w in sorted({r["writer"] for r in rs}):
            m = np.array([r["writer"] == w for r in rs])
            print(f"   {w:12s} recall {flag[m & bad].mean():.3f} FPR {flag[m & ~bad].mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
