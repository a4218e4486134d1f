"""``tutela comments FILE|-``: classify comments in JSON Lines, one JSON result line per comment.

Input lines are ``{"id", "text", "minor_context"?}``. Output lines carry ``id``, ``line``,
``verdict``, ``categories``, ``score``, ``severity``, ``evidence`` (spans of the original text),
``minor_context`` and ``lexicon_version``; an invalid line gives a ``review`` line with ``error``.
Exit code: 0 when every line was classified, 1 when some lines were invalid, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, BinaryIO, TextIO


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "comments",
        help="classify comments (JSON Lines) for innuendo and grooming",
        description="Classify comments (JSON Lines: {id, text, minor_context?}) for sexual innuendo, "
        "sexualising minors, grooming, solicitation and locating minors (Chinese and English).",
    )
    p.add_argument("file", metavar="FILE", help="JSON Lines file, or - for standard input")
    ctx = p.add_mutually_exclusive_group()
    ctx.add_argument(
        "--minor-context",
        dest="minor_context",
        action="store_const",
        const=True,
        default=None,
        help="the post features a minor (default: unknown, judged as a possible minor)",
    )
    ctx.add_argument(
        "--adult-context",
        dest="minor_context",
        action="store_const",
        const=False,
        help="the post features no minor",
    )
    p.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    p.add_argument("--lexicon-dir", default=None, help="use the data files in this directory instead")
    p.add_argument(
        "--comprehend",
        action="store_true",
        help="also ask Amazon Comprehend DetectToxicContent about English comments (needs AWS credentials)",
    )
    p.add_argument(
        "--llm",
        default="",
        metavar="MODEL_ID",
        help="also run stage 3: ask this Amazon Bedrock foundation model (Converse) about the file as one "
        "batch (needs AWS credentials and model access; docs/comments.md)",
    )
    p.add_argument("--llm-scope", choices=["child-or-unknown", "all"], default="child-or-unknown")
    p.add_argument(
        "--llm-batch-tokens",
        type=int,
        default=30_000,
        metavar="N",
        help="estimated input tokens the file may spend (default 30000, as a deployed batch)",
    )
    p.add_argument("--summary", action="store_true", help="print verdict counts to standard error")
    p.set_defaults(run=run)


def _llm_stage(args: argparse.Namespace, lines: list[bytes], results: list[dict[str, Any]]) -> None:
    """Stage 3 on the whole file, as ClassifyComments runs it on a batch (stricter only, fail closed)."""
    from tutela.aws.bedrock import WORST_CALL_SECONDS, BedrockConverse
    from tutela.comments import default_lexicon
    from tutela.comments.lines import parse_batch
    from tutela.comments.llm import LLMConfig, judge

    config = LLMConfig(
        args.llm, args.llm_scope, batch_tokens=args.llm_batch_tokens, call_seconds=WORST_CALL_SECONDS
    )
    texts = {c.line: c.text for c in parse_batch(lines, args.minor_context) if c.text is not None}
    report = judge(
        results, texts, config=config, ask=BedrockConverse(args.llm).ask, lexicon=default_lexicon()
    )
    if args.summary:
        print(json.dumps({"llm": report.summary()}), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from tutela.comments import ComprehendToxicity, LexiconError, classify_lines, load_lexicon
    from tutela.comments.lines import iter_batch

    try:
        lexicon = load_lexicon(args.lexicon_dir) if args.lexicon_dir else None
    except LexiconError as exc:
        print(f"tutela comments: {exc}", file=sys.stderr)
        return 2
    comprehend = ComprehendToxicity() if args.comprehend else None
    if args.llm:
        from tutela.comments.llm import check_model_id

        try:
            check_model_id(args.llm)
        except ValueError as exc:
            print(f"tutela comments: --llm: {exc}", file=sys.stderr)
            return 2
    try:
        # Bytes, split by the same splitter as the Lambda: an invalid UTF-8 line is that comment's error.
        src: BinaryIO = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"tutela comments: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    out: TextIO = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    counts: dict[str, int] = {}
    errors = 0
    try:
        write = out.write
        dumps = json.dumps
        lines: Any = iter_batch(src)
        if args.llm:  # the stage needs the whole batch: the file is read first
            lines = list(lines)
        results: Any = classify_lines(
            lines, minor_context=args.minor_context, comprehend=comprehend, lexicon=lexicon
        )
        if args.llm:
            results = list(results)
            _llm_stage(args, lines, results)
        for result in results:
            if "error" in result:
                errors += 1
            counts[result["verdict"]] = counts.get(result["verdict"], 0) + 1
            try:
                write(dumps(result, ensure_ascii=False) + "\n")
            except UnicodeEncodeError:  # e.g. a lone surrogate in an id: escape instead
                write(dumps(result) + "\n")
    finally:
        if src is not sys.stdin.buffer:
            src.close()
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
    if args.summary:
        print(json.dumps({"verdicts": counts, "invalid_lines": errors}), file=sys.stderr)
    return 1 if errors else 0
