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
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dumps", nargs="+", type=Path)
    ap.add_argument("--fpr", type=float, default=0.025)
    ap.add_argument("--block-precision", type=float, default=0.95)
    ap.add_argument("--script", choices=["zh", "en"], help="only comments with (zh) or without (en) Chinese")
    ap.add_argument(
        "--report", action="store_true", help="apply the packaged policy.toml thresholds; print tables"
    )
    args = ap.parse_args()
    rows = [json.loads(line) for p in args.dumps for line in p.read_text(encoding="utf-8").splitlines()]
    if args.script:
        rows = [r for r in rows if bool(_CJK.search(r["text"])) == (args.script == "zh")]
    if args.report:
        return report(rows)
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


def report(rows: list[dict[str, Any]]) -> int:
    """The evaluate.py tables for the held-out writers under the packaged thresholds.

    The verdict is simulated from the dump exactly as ``_combine`` decides it: a rules flag stands
    when p >= veto (veto_block for a rules block), the model flags from review and blocks from block.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import evaluate

    from tutela.comments.lexicon import load_lexicon

    pol = load_lexicon().model_policy
    assert pol is not None
    results = []
    for r in rows:
        ckey = "adult" if r["minor_context"] is False else "minor"
        th = (pol.thresholds.get("zh." + ckey) if _CJK.search(r["text"]) else None) or pol.thresholds[ckey]
        p = r["p"]["any"]
        rv = r["rules"]
        if (rv == "block" and th.veto_block is not None and p < th.veto_block) or (
            rv == "review" and p < th.veto
        ):
            rv = "allow"
        mv = (
            "block"
            if th.block is not None and p >= th.block
            else "review"
            if th.review is not None and p >= th.review
            else "allow"
        )
        order = ("allow", "review", "block")
        results.append({"verdict": max(rv, mv, key=order.index)})
    evaluate.report(
        f"held-out writers, packaged thresholds ({len(rows)} comments)", evaluate.score(rows, results), 10, 15
    )
    for w in sorted({r["writer"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["writer"] == w]
        s = evaluate.score([rows[i] for i in idx], [results[i] for i in idx])
        print(evaluate._line(f"writer {w}", s["total"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
