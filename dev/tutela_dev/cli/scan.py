"""``tutela scan FILE... [--backend local|rekognition]``: scan files and print each decision as JSON.

One file: an indented JSON object (``--compact``: one line). Several files: one JSON line per file, in
order, the models loaded once; the exit code is the worst one (0 ok, 3 a file was refused, 4 internal).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tutela.errors import TutelaError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan",
        help="scan an image or video for nudity/underwear and minors",
        description="Scan an image or video and print the policy decision, labels and faces as JSON.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="images (JPEG/PNG/WebP/TIFF/HEIF/AVIF) or videos")
    p.add_argument("--backend", choices=("local", "rekognition"), default="local")
    p.add_argument("--location-found", action="store_true", help="treat the upload as geotagged")
    p.add_argument("--frames", action="store_true", help="include per-sampled-frame results for videos")
    p.add_argument("--compact", action="store_true", help="one-line JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    compact = args.compact or len(args.files) > 1
    return max(_one(path, args, compact) for path in args.files)


def _one(path: str, args: argparse.Namespace, compact: bool) -> int:
    from tutela.held import exception_reason
    from tutela.policy.media import decide_media
    from tutela.vision import scan_file

    indent = None if compact else 2
    try:
        report = scan_file(path, backend=args.backend).to_dict()
        decision = decide_media(report, {"location_found": bool(args.location_found)})
    except TutelaError as exc:
        err = {"error": {"type": type(exc).__name__, **exception_reason(exc)}, "file": path}
        print(json.dumps(err, indent=indent))
        return 3
    except Exception as exc:  # never a traceback on hostile input; still a clear, typed error
        err = {"error": {"type": type(exc).__name__, **exception_reason(exc, limit=200)}, "file": path}
        print(json.dumps(err, indent=indent))
        return 4
    out: dict[str, Any] = {
        "file": path,
        "verdict": decision["verdict"],
        "severity": decision["severity"],
        "minor": decision["minor"],
        "escalate": decision["escalate"],
        "reasons": decision["reasons"],
        "labels": report["ModerationLabels"],
        "faces": report["Faces"],
        "media_type": report["media_type"],
        "kind": report["kind"],
        "image": report["image"],
        "backend": report["backend"],
        "policy": decision["policy"]["version"],
        "timings_ms": report["timings_ms"],
    }
    if report.get("notes"):
        out["notes"] = report["notes"]
    out["frames"] = report["frames"]
    if args.frames and "samples" in report:
        out["samples"] = report["samples"]
    elif "samples" in report:
        out["frames_scanned"] = [f["t"] for f in report["samples"]]
    json.dump(out, sys.stdout, indent=indent)
    sys.stdout.write("\n")
    return 0
