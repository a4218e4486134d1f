"""``tutela local run FILE... --out DIR`` and ``tutela local samples --dir DIR``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

_VERDICT_STYLE = {"allow": "green", "review": "yellow", "block": "bold red", None: "red"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "local",
        aliases=["emulator"],
        help="run the real template and state machine on an in-process moto stack",
    )
    lsub = p.add_subparsers(dest="emulator_command", metavar="ACTION", required=True)
    run = lsub.add_parser("run", help="moderate local files end to end (no AWS account needed)")
    run.add_argument("files", nargs="+", type=Path, metavar="FILE")
    run.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="decisions.jsonl and published/ go here"
    )
    run.add_argument(
        "--root", type=Path, default=None, help="project root holding template.yaml (default: found)"
    )
    run.add_argument(
        "--backend", choices=["local", "rekognition"], default="local", help="VisionBackend parameter"
    )
    run.add_argument(
        "--comments-llm",
        default="",
        metavar="MODEL_ID",
        help="CommentsLLM parameter (Amazon Bedrock): refused here, the emulated stack has no Bedrock",
    )
    run.add_argument(
        "--chaos",
        type=int,
        default=None,
        metavar="SEED",
        help="inject transient failures, throttling and duplicate deliveries, deterministically from SEED",
    )
    run.add_argument(
        "--bank",
        action="append",
        default=[],
        metavar="FILE.csv[:NAME]",
        help="preload a PDQ hash list (signal_type,signal[,label]) into bank NAME (default: the file's stem)",
    )
    run.set_defaults(run=run_emulated)
    serve = lsub.add_parser(
        "serve", help="moderate files, then serve the review API and console on 127.0.0.1"
    )
    serve.add_argument("files", nargs="*", type=Path, metavar="FILE")
    serve.add_argument("--out", type=Path, required=True, metavar="DIR", help="serve.json, decisions.jsonl")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    serve.add_argument("--root", type=Path, default=None, help="project root holding template.yaml")
    serve.set_defaults(run=run_serve)
    samples = lsub.add_parser("samples", help="write the license-clean demo samples")
    samples.add_argument("--dir", type=Path, required=True)
    samples.set_defaults(run=run_samples)


def find_root(start: Path | None = None) -> Path:
    """The directory with template.yaml: from the working directory upward, else this source tree."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "template.yaml").is_file() and (d / "functions").is_dir():
            return d
    source = Path(__file__).resolve().parents[4]
    if (source / "template.yaml").is_file():
        return source
    raise FileNotFoundError("no template.yaml found: run from the Tutela checkout or pass --root")


def describe_action(line: dict[str, Any]) -> str:
    action = line.get("action")
    if isinstance(action, str):
        return action
    action = action or {}
    if "published" in action:
        removed = line.get("removed") or []
        return "published" + (f" (removed {', '.join(removed)})" if removed else "")
    if "quarantined" in action:
        return "quarantined"
    return "held" if action else "-"


def run_samples(args: argparse.Namespace) -> int:
    from tutela_dev.emulator.samples import write_samples

    for path in write_samples(args.dir):
        print(path)
    return 0


def run_emulated(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from tutela.bank.model import check_bank_name
    from tutela_dev.emulator.runner import run_files
    from tutela_dev.emulator.stack import EmulatorError

    err = Console(stderr=True)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        err.print(f"[red]error:[/red] not a file: {', '.join(missing)}")
        return 2
    warnings.filterwarnings("ignore", module="moto")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("moto").setLevel(logging.ERROR)
    banks = []
    for spec in args.bank:
        path, _, name = spec.partition(":")
        if not Path(path).is_file():
            err.print(f"[red]error:[/red] --bank: not a file: {path}")
            return 2
        try:
            banks.append((Path(path), check_bank_name(name or Path(path).stem)))
        except ValueError as exc:
            err.print(f"[red]error:[/red] --bank {spec}: {exc}")
            return 2
    root = args.root or find_root()
    started = time.monotonic()
    total = len(args.files)  # deliveries; chaos may add duplicates
    done = 0

    def progress(stage: str, upload: Any) -> None:
        nonlocal done
        if stage == "delivered":
            done += 1
            status = ",".join(e["status"] for e in upload.executions[-1:]) or "no execution"
            err.print(f"[{done}/{total}] {upload.key} (delivery {upload.deliveries}): {status}")

    err.print(f"deploying {root / 'template.yaml'} to the in-process moto stack ...")
    parameters = {"VisionBackend": args.backend}
    if args.comments_llm:
        parameters["CommentsLLM"] = args.comments_llm
    try:
        result = run_files(
            args.files,
            args.out,
            root=root,
            on_progress=progress,
            parameters=parameters,
            chaos_seed=args.chaos,
            banks=banks,
        )
    except EmulatorError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    table = Table(title=f"Tutela decisions ({time.monotonic() - started:.1f}s)")
    for col in ("key", "comment", "verdict", "severity", "reasons", "action"):
        table.add_column(col)
    for line in result.lines:
        verdict = line.get("verdict")
        table.add_row(
            line["key"],
            str(line.get("comment_id") or ""),
            f"[{_VERDICT_STYLE.get(verdict, 'red')}]{verdict}[/]",
            str(line.get("severity", "")),
            ", ".join(str(r) for r in line.get("reasons") or []),
            describe_action(line),
        )
    Console().print(table)
    print(f"decisions: {args.out / 'decisions.jsonl'}  ({len(result.lines)} lines)")
    print(f"published: {len(result.published)} object(s) in {args.out / 'published'}")
    for key in result.published:
        print(f"  {key}")
    print(f"events: {args.out / 'events.jsonl'}  ({len(result.events)} received)")
    audit = result.audit
    if args.chaos is not None and audit is not None:
        print(f"chaos: {result.faults} faults injected, {audit.lost} lost, {audit.doubled} doubled")
    if audit is not None and (audit.lost or audit.doubled):
        err.print(
            f"[red]{audit.lost} lost, {audit.doubled} doubled (decisions, events, object versions)[/red]"
        )
        return 1
    if result.dead_letters:
        err.print(
            f"[red]{result.dead_letters} execution(s) could not record a decision (dead-letter queue)[/red]"
        )
        return 1
    undecided = [line["key"] for line in result.lines if line.get("verdict") is None]
    if undecided:
        err.print(f"[red]no decision stored for: {', '.join(undecided)}[/red]")
        return 1
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from tutela_dev.emulator.serve import serve_files

    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"error: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", module="moto")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("moto").setLevel(logging.ERROR)
    root = args.root or find_root()
    print(f"deploying {root / 'template.yaml'} to the in-process moto stack ...", file=sys.stderr)

    def ready(served: Any) -> None:
        print(
            f"review console: {served.url}/  (tokens in {args.out / 'serve.json'}; Ctrl-C stops)",
            file=sys.stderr,
        )

    serve_files(args.files, args.out, root=root, port=args.port, on_ready=ready)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
