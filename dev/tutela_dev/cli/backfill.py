"""``tutela backfill``: judge stored uploads again with the current policy, lexicon, banks and model.

Starts the stack's RemoderationStateMachine (a Distributed Map over the upload bucket, then one over the
published bucket: allowed uploads' originals are retired, their published copies name them) and prints its
progress - the map runs' item counts - as it runs, then the outcome of every item (stricter, looser,
same, done_before, skipped:why). Once per object version and ruleset: a second run for the same versions
changes nothing. A stricter verdict is applied (withdrawn, quarantined, escalated as the policy says); a
looser one goes to review; nothing is ever published. ``--retro SNAPSHOT`` runs the retroactive bank match
of one bank snapshot again (bank snapshots start it by themselves).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "backfill",
        help="re-moderate stored uploads after a policy, lexicon, bank or model change",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--since", help="only uploads last modified at or after this ISO date (UTC)")
    p.add_argument("--prefix", default="media/", help="key prefix to list (default media/; comments/ too)")
    p.add_argument("--dry-run", action="store_true", help="plan every item, re-judge and change nothing")
    p.add_argument("--retro", metavar="SNAPSHOT", help="re-run the retroactive match of banks/NAME/vK.pdq")
    p.add_argument("--stack", default="tutela-dev", help="the deployed stack (default tutela-dev)")
    p.add_argument("--state-machine-arn", help="override the stack's RemoderationStateMachineArn")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between progress lines")
    p.add_argument("--no-wait", action="store_true", help="start the run and print its ARN only")
    p.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"tutela backfill: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from tutela.aws.remod_runs import RemodRuns, iter_lines
    from tutela.remod.plan import parse_since

    if args.retro:
        run_input: dict[str, Any] = {"mode": "retro", "snapshot": args.retro}
    else:
        if not args.since:
            return _fail("--since DATE is required (or --retro SNAPSHOT)")
        try:
            parse_since(args.since)
        except ValueError:
            return _fail(f"--since {args.since!r} is not an ISO date")
        if args.prefix not in ("media/", "comments/") and not args.prefix.startswith(("media/", "comments/")):
            return _fail("--prefix must be under media/ or comments/ (the kinds that are re-moderated)")
        run_input = {"mode": "backfill", "since": args.since, "prefix": args.prefix, "dry_run": args.dry_run}
    arn = args.state_machine_arn
    if not arn:
        from tutela.aws.stack_outputs import stack_output

        arn = stack_output(args.stack, "RemoderationStateMachineArn")
        if not arn:
            return _fail(f"stack {args.stack} has no RemoderationStateMachineArn output")
    runs = RemodRuns(arn)
    execution = runs.start(run_input)
    print(json.dumps({"execution": execution, "input": run_input}), flush=True)
    if args.no_wait:
        return 0

    def report(status: dict[str, Any]) -> None:
        items = " ".join(iter_lines(status.get("items") or {}))
        print(f"{status['status'].lower()}: {items or 'listing...'}", flush=True)

    final = runs.follow(execution, report, interval=args.interval)
    outcomes = runs.outcomes(final.get("output"))
    summary = {"status": final["status"], "items": final.get("items") or {}}
    if outcomes is not None:
        summary["outcomes"] = dict(sorted(outcomes.items()))
    if final.get("error"):
        summary["error"] = final["error"]
    print(json.dumps(summary, sort_keys=True), flush=True)
    failed = (final.get("items") or {}).get("failed", 0)
    return 0 if final["status"] == "SUCCEEDED" and not failed else 1
