"""``tutela redrive``: replay the dead-letter queue into the pipeline (runbook: README, "Dead letters").

One JSON line per message (id, kind, key, outcome), then a summary line. Exit 0 when every message handled
was replayed (or would be, with --dry-run), 1 when any failed or was not understood (those stay in the queue).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "redrive",
        help="replay dead-lettered uploads and decisions into the pipeline (idempotent)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--stack", default="tutela-dev", help="the deployed stack (default tutela-dev)")
    p.add_argument("--dry-run", action="store_true", help="say what would be replayed; change nothing")
    p.add_argument("--max", type=int, default=None, metavar="N", help="handle at most N messages")
    p.add_argument("--queue-url", help="override the stack's DeadLetterQueueUrl")
    p.add_argument("--state-machine-arn", help="override the stack's StateMachineArn")
    p.add_argument("--record-function", help="override the stack's RecordDecisionFunction name")
    p.add_argument("--act-function", help="override the stack's ActFunction name")
    p.add_argument("--review-function", help="override the stack's ReviewApiFunction name")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tutela.aws.redrive import Redriver, Targets

    if args.max is not None and args.max < 1:
        print("tutela redrive: --max must be at least 1", file=sys.stderr)
        return 2
    overrides = (args.queue_url, args.state_machine_arn, args.record_function, args.act_function)
    if all(overrides):
        targets = Targets(*overrides, args.review_function)
    else:
        found = Targets.from_stack(args.stack)
        given = (*overrides, args.review_function)
        targets = Targets(*(o or f for o, f in zip(given, vars(found).values(), strict=True)))

    def report(outcome: dict[str, Any]) -> None:
        print(json.dumps({k: v for k, v in outcome.items() if k != "delete"}, ensure_ascii=False), flush=True)

    summary = Redriver(targets).run(dry_run=args.dry_run, max_messages=args.max, report=report)
    print(summary.line() + (" (dry run: nothing changed)" if args.dry_run else ""))
    return 1 if summary.failed else 0
