"""Digest of every classification output over the whole eval/comments corpus (issue 11's freeze).

    .venv/bin/python eval/comments/freeze_digest.py            # print the digest
    .venv/bin/python eval/comments/freeze_digest.py --write    # record it (only at a freeze)

After the classifier is frozen, only output-identical changes (speed, docs, tests) may land:
``tests/unit/comments/test_comments_frozen.py`` recomputes this digest — every result dict of
``classify_lines`` for every comment under ``eval/comments`` (each under its own context, batched per
context as the pipeline batches a post) — and compares it with the recorded one.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "layers" / "core"))

import evaluate  # noqa: E402

from tutela.comments import load_lexicon  # noqa: E402

RECORD = HERE.parents[1] / "tests" / "unit" / "comments" / "frozen_comments2.json"


def digest() -> dict[str, Any]:
    lex = load_lexicon()
    files = sorted(p for p in HERE.rglob("*.jsonl"))
    h = hashlib.sha256()
    n = 0
    for f in files:
        rows = evaluate.read_rows([f])
        for res in evaluate.judge(rows, lex):
            h.update(json.dumps(res, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
            n += 1
    return {"lexicon_version": lex.version, "comments": n, "files": len(files), "sha256": h.hexdigest()}


def main() -> int:
    d = digest()
    print(json.dumps(d))
    if "--write" in sys.argv[1:]:
        RECORD.write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
