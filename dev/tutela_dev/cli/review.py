"""``tutela review list|show|decide|appeal|report``: the command line over the review API.

Where the API is: ``--url`` (or ``TUTELA_REVIEW_URL``), ``--serve-json DIR/serve.json`` written by
``tutela local serve``, or ``--stack NAME`` (the deployed stack's ``ReviewApiUrl`` output). The bearer
token: ``--token`` (or ``TUTELA_REVIEW_TOKEN``), or ``serve.json``'s ``token`` (``--as token2`` for the
second local reviewer). Prints the API's JSON; exits 1 when the API refuses, with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode


def add_parser(sub: Any) -> None:
    p = sub.add_parser("review", help="list, show and decide review items; appeal; report")
    p.add_argument("--url", default=os.environ.get("TUTELA_REVIEW_URL"), help="the review API's base URL")
    p.add_argument("--token", default=os.environ.get("TUTELA_REVIEW_TOKEN"), help="a reviewer's bearer token")
    p.add_argument("--serve-json", type=Path, help="serve.json of `tutela local serve` (url and tokens)")
    p.add_argument("--as", dest="identity", default="token", help="which serve.json token (token, token2)")
    p.add_argument("--stack", help="read the URL from this deployed stack's ReviewApiUrl output")
    rsub = p.add_subparsers(dest="review_command", metavar="ACTION", required=True)
    ls = rsub.add_parser("list", help="pending items, most urgent first")
    ls.add_argument("--kind", default="media", choices=["media", "comment", "appeal", "report"])
    ls.add_argument("--limit", type=int, default=25)
    ls.add_argument("--cursor")
    show = rsub.add_parser("show", help="an item: decision, evidence, history")
    show.add_argument("item")
    decide = rsub.add_parser("decide", help="allow (publish) or block (quarantine) an item")
    decide.add_argument("item")
    decide.add_argument("verdict", choices=["allow", "block"])
    decide.add_argument("--reason", required=True)
    decide.add_argument(
        "--category", help="e.g. child_sexual_abuse (a block in an escalation category escalates)"
    )
    appeal = rsub.add_parser("appeal", help="appeal a block (for the platform's user)")
    appeal.add_argument("item")
    appeal.add_argument("--statement", required=True)
    report = rsub.add_parser("report", help="report a published object (or one comment of a batch)")
    report.add_argument("key")
    report.add_argument("--category", required=True)
    report.add_argument("--note")
    report.add_argument("--comment-id")
    account = rsub.add_parser("account", help="an uploader's strikes")
    account.add_argument("uploader")
    p.set_defaults(run=run)


def _target(args: argparse.Namespace) -> tuple[str, str]:
    url, token = args.url, args.token
    if args.serve_json:
        info = json.loads(args.serve_json.read_text(encoding="utf-8"))
        url = url or info.get("url")
        token = token or info.get(args.identity)
    if not url and args.stack:
        from tutela.aws.stack_outputs import stack_output

        url = stack_output(args.stack, "ReviewApiUrl")
    if not url or not token:
        raise SystemExit(
            "error: the API's URL and a token are needed (--url/--token, --serve-json or --stack)"
        )
    return str(url).rstrip("/"), str(token)


def request(url: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{url}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, {"error": "http", "message": raw[:200].decode("utf-8", "replace")}


def run(args: argparse.Namespace) -> int:
    url, token = _target(args)
    cmd = args.review_command
    if cmd == "list":
        query = {"kind": args.kind, "limit": args.limit, **({"cursor": args.cursor} if args.cursor else {})}
        status, data = request(url, token, "GET", f"/api/queue?{urlencode(query)}")
    elif cmd == "show":
        status, data = request(url, token, "GET", f"/api/items/{quote(args.item, safe='')}")
    elif cmd == "decide":
        body = {
            "verdict": args.verdict,
            "reason": args.reason,
            **({"category": args.category} if args.category else {}),
        }
        status, data = request(url, token, "POST", f"/api/items/{quote(args.item, safe='')}/decision", body)
    elif cmd == "appeal":
        status, data = request(
            url, token, "POST", "/api/appeals", {"item": args.item, "statement": args.statement}
        )
    elif cmd == "report":
        body = {"key": args.key, "category": args.category}
        body |= {k: v for k, v in (("note", args.note), ("comment_id", args.comment_id)) if v}
        status, data = request(url, token, "POST", "/api/reports", body)
    else:
        status, data = request(url, token, "GET", f"/api/accounts/{quote(args.uploader, safe='')}")
    print(json.dumps(data, indent=2, ensure_ascii=False))
    if status >= 400:
        message = data.get("message") if isinstance(data, dict) else None
        print(f"refused ({status}): {message or data}", file=sys.stderr)
        return 1
    return 0
