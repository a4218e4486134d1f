"""Writer-level cross-validation of the whole classifier (rules + learned stage).

    .venv/bin/python eval/comments/crossval.py [--writers en_genz zh_tw_hk] [train.py options]

For each writer under ``eval/comments/train/``: train a model on every *other* writer (and the
project's dev sets), put it next to the packaged rule files in a temporary data directory, and
evaluate the full classifier (``classify_lines``) on the held-out writer's comments — a writer's
style entirely unseen, the closest we can get to the sealed sets. Prints the evaluate.py tables
per writer and pooled over writers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "layers" / "core"))

import evaluate  # noqa: E402

from tutela.comments import load_lexicon  # noqa: E402
from tutela.comments.classify import rules_stage  # noqa: E402
from tutela.comments.lexicon import DATA_DIR  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writers", nargs="*")
    ap.add_argument("--rules-only", action="store_true", help="evaluate the rules stage alone (no model)")
    ap.add_argument("--errors", action="store_true")
    ap.add_argument(
        "--dump", type=Path, help="write per comment: writer, labels, context, model p, rules verdict"
    )
    args, train_args = ap.parse_known_args()
    writers = args.writers or sorted(p.name for p in (HERE / "train").iterdir() if p.is_dir())
    pooled_rows: list[dict[str, Any]] = []
    pooled_res: list[dict[str, Any]] = []
    for w in writers:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            for f in DATA_DIR.glob("*.toml"):
                shutil.copyfile(f, d / f.name)
            if not args.rules_only:
                subprocess.run(
                    [
                        sys.executable,
                        str(HERE / "train.py"),
                        "--holdout",
                        w,
                        "--out",
                        str(d / "model.comments.json.gz"),
                        *train_args,
                    ],
                    check=True,
                )
            lex = load_lexicon(d)
        rows = evaluate.read_rows(sorted((HERE / "train" / w).glob("*.jsonl")))
        res = evaluate.judge(rows, lex)
        if args.dump and lex.model is not None:
            rules = evaluate.judge(rows, load_lexicon(DATA_DIR, with_model=False))
            with args.dump.open("a", encoding="utf-8") as fh:
                for r, rr in zip(rows, rules, strict=True):
                    norm, feats = rules_stage(r["text"], r["minor_context"], lex)
                    p = lex.model.scores(norm, r["text"], r["minor_context"], feats, force=True)
                    fh.write(
                        json.dumps({"writer": w, **r, "p": p, "rules": rr["verdict"]}, ensure_ascii=False)
                        + "\n"
                    )
        pooled_rows += rows
        pooled_res += res
        s = evaluate.score(rows, res)
        evaluate.report(f"held-out writer {w} ({len(rows)} comments)", s, 5, 8)
        if args.errors:
            for r, res_ in s["errors"]:
                want = ",".join(r["labels"]) or "allow"
                print(
                    f"  ERR ctx={evaluate._ctx(r['minor_context'])}"
                    f" want={want} got={res_['verdict']} {res_['categories']} :: {r['text']}"
                )
        print(flush=True)
    evaluate.report(
        f"pooled over held-out writers ({len(pooled_rows)} comments)",
        evaluate.score(pooled_rows, pooled_res),
        10,
        15,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
