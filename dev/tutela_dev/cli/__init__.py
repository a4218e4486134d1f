"""``tutela`` command line: one module per subcommand, imported only when used.

Each module in ``COMMANDS`` defines ``add_parser(subparsers) -> None`` (which must call
``set_defaults(run=...)``) and a ``run(args) -> int`` exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    # `tutela local run` is the developer command the product documents; `emulator` is an alias (inside the
    # code "local" names only the on-function vision backend, the emulated stack is `emulator`).
    "local": (
        "tutela_dev.cli.emulator",
        "run the real template and state machine on an in-process moto stack",
    ),
    "scrub": ("tutela_dev.cli.scrub", "remove location and identifying metadata from media, losslessly"),
    "scan": ("tutela_dev.cli.scan", "scan an image or video for nudity/underwear and minors"),
    "comments": ("tutela_dev.cli.comments", "classify comments (JSON Lines) for innuendo and grooming"),
    "bank": ("tutela_dev.cli.bank", "PDQ hash banks of known content: import, add, match"),
    "backfill": (
        "tutela_dev.cli.backfill",
        "re-moderate stored uploads after a policy, lexicon, bank or model change",
    ),
    "redrive": ("tutela_dev.cli.redrive", "replay dead-lettered uploads and decisions into the pipeline"),
    "review": (
        "tutela_dev.cli.review",
        "human review over the review API: list, show, decide, appeal, report",
    ),
    "comments-export-labels": ("tutela_dev.cli.comments_labels", "review outcomes -> comment training rows"),
}

ALIASES = {"emulator": "local"}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutela", description="Tutela moderation pipeline tools.")
    from tutela import __version__

    parser.add_argument("--version", action="version", version=f"tutela {__version__}")
    # ``prog`` given (what argparse derives anyway): without it argparse builds a help formatter to derive it.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="tutela")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    wanted = ALIASES.get(wanted, wanted) if wanted else wanted
    # A command named first gets only its own parser (each parser argparse builds costs translation lookups
    # and help groups: a tenth of `tutela scrub`'s start-up); anything else (no command, an unknown one,
    # options first) gets the full list, for the help and the "invalid choice" message.
    only = wanted if wanted in COMMANDS and argv and ALIASES.get(argv[0], argv[0]) == wanted else None
    for name, (module, help_text) in COMMANDS.items():
        if name == wanted:
            importlib.import_module(module).add_parser(sub)
        elif only is None:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["comments", "export-labels"]:  # a sub-command of comments, whose FILE is positional
        argv = ["comments-export-labels", *argv[2:]]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return int(run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
