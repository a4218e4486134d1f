"""``tutela bank import|add|match|list``: PDQ hash banks of known content.

Banks live in a folder (``--dir``, default ``.tutela/banks``) or in a deployed stack's bank bucket
(``--bucket``); both use the same layout (``tutela.bank.store``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tutela.errors import TutelaError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bank",
        help="PDQ hash banks: import hash lists, add media, match files",
        description="Known-content matching with PDQ hash banks (see docs/bank.md).",
    )
    where = argparse.ArgumentParser(add_help=False)
    g = where.add_mutually_exclusive_group()
    g.add_argument("--dir", type=Path, default=Path(".tutela/banks"), help="local bank folder")
    g.add_argument("--bucket", help="a deployed stack's bank bucket (BankBucketName output)")
    sub = p.add_subparsers(dest="bank_command", metavar="ACTION", required=True)

    imp = sub.add_parser("import", parents=[where], help="import a CSV list: signal_type,signal[,label]")
    imp.add_argument("file", type=Path)
    _bank_options(imp)
    imp.set_defaults(run=run_import)

    add = sub.add_parser("add", parents=[where], help="hash media files and add them to a bank")
    add.add_argument("files", nargs="+", type=Path)
    _bank_options(add)
    add.set_defaults(run=run_add)

    match = sub.add_parser("match", parents=[where], help="hash a file and print its bank matches as JSON")
    match.add_argument("file", type=Path)
    match.add_argument("--max-distance", type=int, default=31, help="PDQ match threshold (default 31)")
    match.add_argument("--min-quality", type=int, default=50, help="hashes below this never match")
    match.set_defaults(run=run_match)

    lst = sub.add_parser("list", parents=[where], help="list banks with their sizes")
    lst.set_defaults(run=run_list)


def _bank_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bank", required=True, help="bank name, e.g. platform_removed")
    p.add_argument("--label", help="what a match means (default: the bank's, or platform_removed)")
    p.add_argument("--action", choices=("block", "review"), help="what the pipeline does on a match")


def _repo(args: argparse.Namespace) -> Any:
    from tutela.bank.store import BankRepository, DirBlobs

    if args.bucket:
        from tutela.aws.banks import S3Blobs

        return BankRepository(S3Blobs(args.bucket))
    return BankRepository(DirBlobs(args.dir))


def _defaults(args: argparse.Namespace, repo: Any) -> Any:
    from tutela.bank.model import Bank

    current = {b.name: b for b in repo.banks()}.get(args.bank)
    base = current.to_dict() if current else {"name": args.bank}
    if args.label:
        base["label"] = args.label
    if args.action:
        base["action"] = args.action
    bank = Bank.from_dict(base)
    if current and bank != current:
        repo.define(bank)
    return bank


def _fail(message: str, code: int = 2) -> int:
    print(f"tutela bank: {message}", file=sys.stderr)
    return code


def run_import(args: argparse.Namespace) -> int:
    from tutela.bank.csvio import read_hash_csv

    try:
        with args.file.open(encoding="utf-8", newline="") as fh:
            result = read_hash_csv(fh, args.bank)
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    for line, reason in result.errors:
        print(f"{args.file}:{line}: {reason}", file=sys.stderr)
    try:
        repo = _repo(args)
        added = repo.add(args.bank, result.entries, defaults=_defaults(args, repo), videos=result.videos)
    except (ValueError, TutelaError) as exc:
        return _fail(str(exc))
    print(
        json.dumps(
            {
                "bank": added.bank,
                "added": added.added,
                "videos_added": added.videos_added,
                "already_present": added.already_present + result.duplicates,
                "skipped_lines": len(result.errors),
                "total": added.total,
                "videos_total": added.videos_total,
            }
        )
    )
    return 1 if result.errors else 0


def run_add(args: argparse.Namespace) -> int:
    from tutela.bank.media import hash_file
    from tutela.bank.model import BankEntry, VideoEntry

    entries, videos, failed = [], [], 0
    for path in args.files:
        try:
            hashes = hash_file(path)
        except (OSError, TutelaError) as exc:
            print(f"{path}: {getattr(exc, 'code', 'unreadable')}: {exc}", file=sys.stderr)
            failed += 1
            continue
        if hashes.video:  # a video is banked whole, matched the vPDQ way (share of frames)
            frames = tuple((h.hex, h.quality) for h in hashes.hashes)
            videos.append(VideoEntry(bank=args.bank, frames=frames))
        else:
            entries += [BankEntry(bank=args.bank, pdq=h.hex) for h in hashes.hashes]
    try:
        repo = _repo(args)
        added = repo.add(args.bank, entries, defaults=_defaults(args, repo), videos=videos)
    except (ValueError, TutelaError) as exc:
        return _fail(str(exc))
    out = {
        "bank": added.bank,
        "added": added.added,
        "videos_added": added.videos_added,
        "total": added.total,
        "videos_total": added.videos_total,
        "failed_files": failed,
    }
    print(json.dumps(out))
    return 1 if failed else 0


def run_match(args: argparse.Namespace) -> int:
    from tutela.bank.matching import match_media
    from tutela.bank.media import hash_file
    from tutela.bank.model import MatchPolicy

    try:
        policy = MatchPolicy(max_distance=args.max_distance, min_quality=args.min_quality)
        hashes = hash_file(args.file)
        _, index = _repo(args).load_index()
    except (OSError, ValueError, TutelaError) as exc:
        return _fail(f"{args.file}: {exc}")
    matches = match_media(index, hashes.queries, hashes.hashes, policy)
    best = max(hashes.hashes, key=lambda h: h.quality) if hashes.hashes else None
    out = {
        "matches": [m.to_dict() for m in matches],
        "pdq": best.hex if best else None,
        "quality": best.quality if best else 0,
    }
    if len(hashes.hashes) > 1:
        out["frames"] = len(hashes.hashes)
    print(json.dumps(out))
    return 0


def run_list(args: argparse.Namespace) -> int:
    index = _repo(args).read_index()
    print(json.dumps({"version": index["version"], "banks": index["banks"]}, indent=2, sort_keys=True))
    return 0
