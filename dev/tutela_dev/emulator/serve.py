"""``tutela local serve``: the emulated stack, the pipeline run on the given files, then the review API
and the console on 127.0.0.1 until interrupted.

Requests under ``/api/`` and ``/platform/`` go to the template's ReviewApiFunction as API Gateway would
send them (bearer tokens stand in for Cognito:
see ``tutela_dev.emulator.review_api``); everything else is a file
of ``web/`` (the static console). Bus events are replayed to the review queue's intake after every request.
"""

from __future__ import annotations

import json
import mimetypes
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tutela_dev.emulator.review_api import ReviewApi, ReviewRules
from tutela_dev.emulator.runner import Runner, Upload, published_path
from tutela_dev.emulator.stack import EmulatedStack

MAX_BODY = 1024 * 1024
API_PREFIXES = ("/api/", "/platform/")
# The console loads only its own files; previews are blob: URLs made from authenticated fetches.
CSP = "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


@dataclass
class Served:
    url: str
    server: ThreadingHTTPServer
    api: ReviewApi
    rules: ReviewRules

    def info(self) -> dict[str, Any]:
        ids = self.api.identities
        return {
            "url": self.url,
            "token": ids["token"].token,
            "token2": ids["token2"].token,
            "users": {name: i.claims["cognito:username"] for name, i in ids.items()},
        }


def static_file(web: Path, path: str) -> Path | None:
    """The console file for a URL path, never outside ``web``."""
    rel = path.lstrip("/") or "index.html"
    target = (web / rel).resolve()
    if not target.is_relative_to(web.resolve()) or not target.is_file():
        return None
    return target


def make_handler(api: ReviewApi, rules: ReviewRules, web: Path) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "tutela-local"

        def log_message(self, format: str, *args: Any) -> None:
            return  # no request lines (paths carry item ids and upload keys)

        def _send(
            self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", CSP)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _api(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b'{"error":"too_large"}', "application/json")
                return
            body = self.rfile.read(length) if length else None
            with lock:
                resp = api.call(
                    method,
                    parts.path,
                    query=parts.query,
                    body=body,
                    authorization=self.headers.get("Authorization"),
                )
                rules.play()  # what the decisions bus's rule would deliver to the queue's intake
            self._send(resp.status, resp.body, resp.headers.get("content-type", "application/json"))

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path.startswith(API_PREFIXES):
                self._api("GET")
                return
            target = static_file(web, path)
            if target is None:
                self._send(404, b"not found", "text/plain")
                return
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(200, target.read_bytes(), ctype)

        def do_POST(self) -> None:
            if urlsplit(self.path).path.startswith(API_PREFIXES):
                self._api("POST")
            else:
                self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"", "text/plain")

    return Handler


def start(stack: EmulatedStack, *, port: int = 0, web: Path, rules: ReviewRules | None = None) -> Served:
    api = ReviewApi(stack)
    rules = rules or ReviewRules(stack)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(api, rules, web))
    host, bound = server.server_address[:2]
    served = Served(f"http://{host!s}:{bound}", server, api, rules)
    threading.Thread(target=server.serve_forever, name="tutela-serve", daemon=True).start()
    return served


def write_info(out_dir: Path, info: dict[str, Any]) -> Path:
    """serve.json, written atomically and readable by its owner only (it holds bearer tokens)."""
    path = out_dir / "serve.json"
    tmp = out_dir / ".serve.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    tmp.replace(path)
    return path


def serve_files(
    files: list[Path],
    out_dir: Path,
    *,
    root: Path,
    port: int = 0,
    on_progress: Callable[[str, Upload], None] | None = None,
    on_ready: Callable[[Served], None] | None = None,
    until: threading.Event | None = None,
) -> None:
    """Deploy, moderate ``files``, serve until ``until`` is set (or Ctrl-C)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    notify = on_progress or (lambda _stage, _u: None)
    stop = until or threading.Event()
    with (
        (out_dir / "lambda.log").open("w", encoding="utf-8") as log,
        EmulatedStack(root, log=log) as stack,
    ):
        runner = Runner(stack)
        rules = ReviewRules(stack)
        uploads: dict[Path, Upload] = {}
        for path in files:
            upload = uploads.get(path.resolve())
            if upload is None:
                upload = uploads[path.resolve()] = runner.upload(path)
                notify("uploaded", upload)
            runner.deliver(upload)
            notify("delivered", upload)
        rules.play()
        with (out_dir / "decisions.jsonl").open("w", encoding="utf-8") as fh:
            for u in uploads.values():
                for line in runner.decisions(u):
                    fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        base = (out_dir / "published").resolve()
        for key, body in runner.published():
            dest = published_path(base, key)
            if dest is not None:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(body)
        served = start(stack, port=port, web=root / "web", rules=rules)
        try:
            write_info(out_dir, served.info())
            if on_ready:
                on_ready(served)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
        finally:
            served.server.shutdown()
            served.server.server_close()
