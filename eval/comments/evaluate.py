"""Evaluate ``tutela.comments`` on labelled comment files (JSON Lines).

    .venv/bin/python eval/comments/evaluate.py FILE.jsonl [FILE...]        # tables per file
    .venv/bin/python eval/comments/evaluate.py --all DIR          # every *.jsonl under DIR, pooled too
    .venv/bin/python eval/comments/evaluate.py --errors --lexicon-dir D F  # mistakes; another data dir
    .venv/bin/python eval/comments/evaluate.py --json F                    # machine-readable summary

Each line: ``{"text", "labels": [categories], "minor_context": true|false|null, "lang", "style"}``
(``evasion`` is read when there is no ``style``; ``id`` is optional). An empty ``labels`` list means
the comment is acceptable in its context and must stay ``allow``. A comment is *flagged* when its
verdict is ``review`` or ``block``. Reported, overall and per language, per category (of the label),
per style/evasion and per context:

- recall: flagged bad comments / bad comments (review + block);
- block recall: blocked bad comments / bad comments;
- FPR: flagged acceptable comments / acceptable comments;

and the worst (language, category, style) and (language, category, plain/evaded) cells by recall (at
least ``--min-cell`` comments; a line is *evaded* when its ``evasion`` names anything but ``none``).
Without files it runs on ``dev.jsonl`` and ``heldout.jsonl`` (both tuned on now: dev sets).
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

from tutela.comments import classify_lines, load_lexicon  # noqa: E402
from tutela.comments.lexicon import Lexicon  # noqa: E402

Cell = dict[str, int]


def _cell() -> Cell:
    return {"bad": 0, "flagged": 0, "blocked": 0, "good": 0, "fp": 0}


def _ctx(v: Any) -> str:
    return {True: "minor", False: "adult"}.get(v, "unknown")  # type: ignore[call-overload,no-any-return]


def evasion_kind(v: Any) -> str:
    """A line's ``evasion`` as ``plain`` (``none`` or absent) or ``evaded`` (any evasion the writer named)."""
    return "plain" if v in (None, "", "none") else "evaded"


def read_rows(paths: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for p in paths:
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            r = json.loads(line)
            ctx = r.get("minor_context")
            rows.append(
                {
                    "id": str(r.get("id", f"{p.name}:{n}")),
                    "text": r["text"],
                    "labels": sorted(set(r.get("labels") or [])),
                    "minor_context": ctx if isinstance(ctx, bool) else None,
                    "lang": str(r.get("lang", "?")),
                    "style": str(r.get("style") or r.get("evasion") or "?"),
                    "evasion": evasion_kind(r.get("evasion")),
                }
            )
    return rows


def judge(rows: list[dict[str, Any]], lex: Lexicon) -> list[dict[str, Any]]:
    """The pipeline's own entry point (``classify_lines``), each row under its own context: rows are
    batched per context, as the pipeline batches a post's comments (a line's own ``minor_context`` can
    only make the batch's stricter, so it cannot carry an adult context into an unknown batch)."""
    out: list[dict[str, Any]] = [{} for _ in rows]
    for ctx in (True, False, None):
        idx = [i for i, r in enumerate(rows) if r["minor_context"] is ctx]
        lines = (json.dumps({"id": str(i), "text": rows[i]["text"]}) for i in idx)
        for i, result in zip(idx, classify_lines(lines, minor_context=ctx, lexicon=lex), strict=True):
            out[i] = result
    return out


def score(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    tot = _cell()
    groups: dict[str, dict[str, Cell]] = {
        k: defaultdict(_cell) for k in ("lang", "category", "style", "evasion", "context")
    }
    cells: dict[tuple[str, str, str], Cell] = defaultdict(_cell)
    evasion_cells: dict[tuple[str, str, str], Cell] = defaultdict(_cell)
    errors = []
    for r, res in zip(rows, results, strict=True):
        flagged = res["verdict"] != "allow"
        blocked = res["verdict"] == "block"
        bad = bool(r["labels"])
        cats = r["labels"] or ["(acceptable)"]
        buckets = [
            tot,
            groups["lang"][r["lang"]],
            groups["style"][r["style"]],
            groups["evasion"][r.get("evasion", "?")],
            groups["context"][_ctx(r["minor_context"])],
        ]
        buckets += [groups["category"][c] for c in cats]
        buckets += [cells[r["lang"], c, r["style"]] for c in cats]
        buckets += [evasion_cells[r["lang"], c, r.get("evasion", "?")] for c in cats]
        for b in buckets:
            if bad:
                b["bad"] += 1
                b["flagged"] += flagged
                b["blocked"] += blocked
            else:
                b["good"] += 1
                b["fp"] += flagged
        if flagged != bad:
            errors.append((r, res))
    return {"total": tot, "groups": groups, "cells": cells, "evasion_cells": evasion_cells, "errors": errors}


def _rate(n: int, d: int) -> str:
    return f"{n / d:6.3f} ({n}/{d})" if d else "     -"


def _line(name: str, c: Cell) -> str:
    return (
        f"  {name:28s} recall {_rate(c['flagged'], c['bad']):>18s}"
        f"  block {_rate(c['blocked'], c['bad']):>18s}"
        f"  FPR {_rate(c['fp'], c['good']):>16s}"
    )


def report(title: str, s: dict[str, Any], min_cell: int, worst: int) -> None:
    print(f"== {title}")
    print(_line("overall", s["total"]))
    for k, g in s["groups"].items():
        print(f" per {k}:")
        for name in sorted(g):
            print(_line(name, g[name]))
    for table, what in (("cells", "style"), ("evasion_cells", "evasion")):
        ranked = [(k, c) for k, c in worst_cells(s[table], min_cell) if k[2] != "?"]  # "?": not recorded
        if ranked:
            print(f" worst (lang, category, {what}) cells with >= {min_cell} bad comments:")
        for key, c in ranked[:worst]:
            print(_line(" / ".join(key), c))


def worst_cells(
    cells: dict[tuple[str, str, str], Cell], min_cell: int
) -> list[tuple[tuple[str, str, str], Cell]]:
    """Cells with at least ``min_cell`` bad comments, lowest recall first (ties: the larger cell first)."""
    big = [(k, c) for k, c in cells.items() if c["bad"] >= min_cell]
    return sorted(big, key=lambda kc: (kc[1]["flagged"] / kc[1]["bad"], -kc[1]["bad"], kc[0]))


def summary(s: dict[str, Any]) -> dict[str, Any]:
    def d(c: Cell) -> dict[str, Any]:
        return {
            **c,
            "recall": c["flagged"] / c["bad"] if c["bad"] else None,
            "block_recall": c["blocked"] / c["bad"] if c["bad"] else None,
            "fpr": c["fp"] / c["good"] if c["good"] else None,
        }

    return {"overall": d(s["total"]), **{k: {n: d(c) for n, c in g.items()} for k, g in s["groups"].items()}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--all", type=Path, help="every *.jsonl under this directory (also pooled)")
    p.add_argument("--lexicon-dir", type=Path, help="data directory to evaluate (default: the packaged one)")
    p.add_argument(
        "--errors", action="store_true", help="list the mistakes (never on a set you will report!)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON summary per file instead of tables")
    p.add_argument("--min-cell", type=int, default=5)
    p.add_argument("--worst", type=int, default=10)
    args = p.parse_args()
    files = list(args.files)
    if args.all:
        files += sorted(args.all.rglob("*.jsonl"))
    if not files:
        files = [HERE / "dev.jsonl", HERE / "heldout.jsonl"]
    lex = load_lexicon(args.lexicon_dir)
    model = lex.model.model_id if lex.model else "none"
    pooled_rows: list[dict[str, Any]] = []
    pooled_res: list[dict[str, Any]] = []
    for f in files:
        rows = read_rows([f])
        res = judge(rows, lex)
        pooled_rows += rows
        pooled_res += res
        s = score(rows, res)
        if args.json:
            print(json.dumps({"file": str(f), "lexicon": lex.version, "model": model, **summary(s)}))
            continue
        report(
            f"{f} ({len(rows)} comments) lexicon {lex.version} model {model}", s, args.min_cell, args.worst
        )
        if args.errors:
            for r, res_ in s["errors"]:
                want = ",".join(r["labels"]) or "allow"
                print(
                    f"  ERR ctx={_ctx(r['minor_context'])}"
                    f" want={want} got={res_['verdict']} {res_['categories']} :: {r['text']}"
                )
        print()
    if len(files) > 1:
        s = score(pooled_rows, pooled_res)
        if args.json:
            print(json.dumps({"file": "pooled", "lexicon": lex.version, "model": model, **summary(s)}))
        else:
            report(f"pooled ({len(pooled_rows)} comments)", s, args.min_cell, args.worst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
