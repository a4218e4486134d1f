"""``tutela comments export-labels``: reviewer outcomes -> training rows for ``make train-comments``.

    tutela comments export-labels --decisions out/decisions.jsonl --comments batch.jsonl -o labels.jsonl
    tutela comments export-labels --table TutelaDecisions --comments comments/ -o labels.jsonl

Reads review outcomes (see :mod:`tutela.comments.feedback`) from a ``decisions.jsonl`` or the
decisions table (a scan: needs ``dynamodb:Scan`` on it), joins them with the comment texts of the
given batch files (or directories of ``*.jsonl``), and writes one training row per line. Exit 0 when
every outcome found its text, 1 when some had none (they are counted on stderr), 2 on usage errors.
Nothing is logged; rows contain comment text, so write them only where training data may live.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "comments-export-labels",
        help="turn review outcomes into training rows (tutela comments export-labels)",
        description="Turn reviewers' outcomes on comments into training rows for the learned stage.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--decisions", type=Path, help="a decisions.jsonl (tutela local run output, or an export)"
    )
    src.add_argument("--table", help="the decisions table name (scanned for review outcomes)")
    p.add_argument(
        "--comments",
        type=Path,
        action="append",
        default=[],
        help="comment batch file or directory (repeatable)",
    )
    p.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    p.set_defaults(run=run)


def _items(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.decisions is not None:
        items = []
        for line in args.decisions.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                if isinstance(obj, dict):
                    items.append(obj)
        return items
    from tutela.aws.store import DecisionStore

    return list(DecisionStore(args.table).scan_comment_records())


def run(args: argparse.Namespace) -> int:
    from tutela.comments.feedback import comment_texts, review_outcomes, training_rows

    try:
        items = _items(args)
    except (OSError, ValueError) as exc:
        print(
            f"tutela comments export-labels: cannot read the decisions: {exc.__class__.__name__}",
            file=sys.stderr,
        )
        return 2
    texts: dict[tuple[str, str], str] = {}
    for c in args.comments:
        files = sorted(c.rglob("*.jsonl")) if c.is_dir() else [c]
        for f in files:
            try:
                with open(f, "rb") as fh:
                    texts.update(comment_texts(fh, f.name))
            except OSError as exc:
                print(f"tutela comments export-labels: cannot read {f}: {exc.strerror}", file=sys.stderr)
                return 2
    rows, missing = training_rows(review_outcomes(items), texts)
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print(json.dumps({"rows": len(rows), "outcomes_without_text": missing}), file=sys.stderr)
    return 1 if missing else 0
