"""Evaluate ``tutela.comments`` on the labelled sets in this directory.

    .venv/bin/python eval/comments/evaluate.py            # dev and held-out, summary tables
    .venv/bin/python eval/comments/evaluate.py --errors dev.jsonl

Each line: ``{"id", "text", "minor_context", "labels": [categories], "lang", "evasion"}``; empty
``labels`` means the comment is acceptable in that context and must stay ``allow``.
A comment is *flagged* when its verdict is ``review`` or ``block``. Reported:
- overall: recall of bad comments (flagged / bad), false-positive rate on good comments
  (flagged / good), precision of flagging;
- per category: precision and recall of the category among flagged comments;
- per language, evasion kind and context: bad recall and good false-positive rate.

``heldout.jsonl`` was written before the classifier was first run on it and is never tuned on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "layers" / "core"))

from tutela.comments import CATEGORIES, LEXICON_VERSION, classify_text  # noqa: E402


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:5.1f}% ({n}/{d})" if d else "    -"


def evaluate(path: Path, show_errors: bool) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tot = {"bad": 0, "bad_flagged": 0, "good": 0, "good_flagged": 0}
    cat = {c: {"tp": 0, "fp": 0, "fn": 0} for c in CATEGORIES}
    groups: dict[str, dict[str, dict[str, int]]] = {
        k: defaultdict(lambda: {"bad": 0, "bad_flagged": 0, "good": 0, "good_flagged": 0})
        for k in ("lang", "evasion", "context")
    }
    errors: list[str] = []
    for r in rows:
        res = classify_text(r["text"], minor_context=r["minor_context"])
        flagged = res["verdict"] != "allow"
        labels = set(r["labels"])
        pred = set(res["categories"]) if flagged else set()
        kind = "bad" if labels else "good"
        ctx = {True: "minor", False: "adult", None: "unknown"}[r["minor_context"]]
        buckets = (tot, groups["lang"][r["lang"]], groups["evasion"][r["evasion"]], groups["context"][ctx])
        for bucket in buckets:
            bucket[kind] += 1
            bucket[kind + "_flagged"] += flagged
        for c in CATEGORIES:
            if c in pred and c in labels:
                cat[c]["tp"] += 1
            elif c in pred:
                cat[c]["fp"] += 1
            elif c in labels:
                cat[c]["fn"] += 1
        if flagged != bool(labels) or (flagged and not labels <= pred):
            errors.append(
                f"  {r['id']} ctx={ctx} want={sorted(labels) or 'allow'} got={res['verdict']} "
                f"{res['categories']} :: {r['text']}"
            )
    print(f"== {path.name}: {len(rows)} comments, lexicon {LEXICON_VERSION}")
    print(f"   bad comments flagged (recall):   {_pct(tot['bad_flagged'], tot['bad'])}")
    print(f"   good comments flagged (FP rate): {_pct(tot['good_flagged'], tot['good'])}")
    flagged_all = tot["bad_flagged"] + tot["good_flagged"]
    print(f"   precision of flagging:           {_pct(tot['bad_flagged'], flagged_all)}")
    print("   per category (among flagged):      precision            recall")
    for c, m in cat.items():
        print(f"     {c:18s} {_pct(m['tp'], m['tp'] + m['fp']):>22s} {_pct(m['tp'], m['tp'] + m['fn']):>20s}")
    for k, g in groups.items():
        print(f"   per {k}:{'':14s}bad recall              good FP rate")
        for name in sorted(g):
            m = g[name]
            print(
                f"     {name:18s} {_pct(m['bad_flagged'], m['bad']):>22s} "
                f"{_pct(m['good_flagged'], m['good']):>22s}"
            )
    if show_errors and errors:
        print(f"   mistakes ({len(errors)}):")
        print("\n".join(errors))
    return tot


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", default=["dev.jsonl", "heldout.jsonl"])
    p.add_argument("--errors", action="store_true", help="list the mistakes (do not tune on held-out!)")
    args = p.parse_args()
    ok = True
    for f in args.files:
        path = Path(f) if Path(f).exists() else HERE / f
        tot = evaluate(path, args.errors)
        recall = tot["bad_flagged"] / tot["bad"] if tot["bad"] else 1.0
        fpr = tot["good_flagged"] / tot["good"] if tot["good"] else 0.0
        ok = ok and recall >= 0.90 and fpr <= 0.05
        print()
    print("bar (>=90% recall, <=5% FP on every set):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
