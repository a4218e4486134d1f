"""Golden check for speed work on the comment path: full outputs byte-identical to a peer tree's.

    git worktree add ../peer main     # a checkout of the code to compare with (e.g. main)
    .venv/bin/python bench/golden_comments.py --peer ../peer             # compare with its code
    .venv/bin/python bench/golden_comments.py --dump OUT_DIR [--tree T]  # just write the outputs
    .venv/bin/python bench/golden_comments.py --against OUT_DIR          # this tree against a dump

A large deterministic corpus goes through ``classify_lines`` of this tree and of the peer tree (a
subprocess running this same script with the peer's ``layers/core`` first on the path, so both judge
the same input): every result serialised with ``json.dumps`` (key order kept, not sorted), one file per
(corpus, context, lexicon). Compared line by line; the first difference is printed and the exit
status is 1. The corpus:

- the benchmark's mixed corpus (``comment_corpus.make_corpus``, 10% and 50% bad);
- every comment under ``eval/comments`` (real writers, both languages, every evasion kind), as
  written and through random evasions (leet, dots, spaces, full-width, zero-width, repeats, case,
  emoji separators, Traditional characters) -- what reaches the regex stages, spans and the model;
- broken lines: invalid JSON and UTF-8, duplicate keys, bidi controls, odd ids, over-long texts.

Each under a child's, an adult's and an unknown post, with the learned stage and rules-only.
Not a test (~1.2M results, about two minutes per tree): run it around a change that must keep decisions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVAL = HERE.parent / "eval" / "comments"

_TAILS = ["😏", "💦", "🍑🍆", "❤️", "👍🏽", "13800138000", "一三八零零一三八零零零"]
_EVASIONS = (
    lambda s, r: s.replace("e", "3").replace("a", "4").replace("o", "0"),
    lambda s, r: ".".join(s),
    lambda s, r: " ".join(s),
    lambda s, r: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s),
    lambda s, r: "\u200b".join(s),
    lambda s, r: "".join(c * r.randint(1, 4) for c in s),
    lambda s, r: s.upper(),
    lambda s, r: "🍆".join(s.split(" ")),
    lambda s, r: s.replace("你", "妳").replace("发", "發").replace("约", "約").replace("学", "學"),
    lambda s, r: s + " " + r.choice(_TAILS),
    lambda s, r: s.replace(" ", "_"),
    lambda s, r: "\u202e" + s if r.random() < 0.1 else s + "\u00ad",
)
_BROKEN = [
    b"{not json",
    b'{"id": "x", "text": "\xff\xfe"}',
    b'{"id": 1}',
    b"[]",
    b'{"id": "a", "id": "b", "text": "hi"}',
    b'{"id": "a", "text": "hi", "text": "dm me"}',
    b'{"id": "\\ud800", "text": "hi"}',
    b'{"id": "x", "text": "lone \\udc00 surrogate dm me sexy"}',
    b'{"id": "x\\u0000y", "text": "hi"}',
    b'{"id": "' + b"i" * 300 + b'", "text": "hi"}',
    b'{"id": ["x"], "text": "hi"}',
    b'{"id": "x", "text": 5}',
    b'{"id": "x", "text": null}',
    b'{"id": "x", "text": "ok"} trailing',
    b"   ",
    b"",
    b'{"id": "x", "text": "\xe2\x80\xaedm me"}',
    b'{"id": "x", "text": "' + b"a" * 70000 + b'"}',
    b'{"id": "x", "text": "' + "你好 sexy ".encode() * 400 + b'"}',
    b'\xef\xbb\xbf{"id": "bom", "text": "hi"}',
    b'{"id": null, "text": "send nudes", "minor_context": false}',
    b'{"id": "", "text": "how old r u", "minor_context": true}',
]


def _eval_texts() -> list[tuple[str, bool | None]]:
    out: list[tuple[str, bool | None]] = []
    for f in sorted(EVAL.rglob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if isinstance(row.get("text"), str):
                    out.append((row["text"], row.get("minor_context")))
    return out


def corpora(tmp: Path) -> dict[str, list[bytes]]:
    sys.path.insert(0, str(HERE))
    import comment_corpus

    out: dict[str, list[bytes]] = {}
    for name, bad in (("bench10", 0.1), ("bench50", 0.5)):
        p = tmp / f"{name}.jsonl"
        comment_corpus.make_corpus(p, 20_000, bad, seed=11)
        out[name] = p.read_bytes().splitlines()
    rng = random.Random(5)
    texts = _eval_texts()
    plain: list[bytes] = []
    evaded: list[bytes] = []
    for i, (t, ctx) in enumerate(texts):
        row: dict[str, object] = {"id": f"e{i}", "text": t}
        if ctx is not None and rng.random() < 0.5:
            row["minor_context"] = ctx
        plain.append(json.dumps(row, ensure_ascii=rng.random() < 0.3).encode())
        ev = t
        for fn in rng.sample(_EVASIONS, rng.randint(1, 3)):
            ev = fn(ev, rng)
        evaded.append(json.dumps({"id": i, "text": ev}, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    out["eval"] = plain
    out["evaded"] = evaded
    out["broken"] = _BROKEN * 3 + plain[:200]
    return out


def dump(out_dir: Path, tree: Path, only: str = "") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {k: v for k, v in corpora(Path(tmp)).items() if k.startswith(only)}
    # the judging tree's layers/core goes first on the path (the corpus module imports no tutela)
    assert not any(m == "tutela" or m.startswith("tutela.") for m in sys.modules)
    sys.path.insert(0, str(tree.resolve() / "layers" / "core"))
    from tutela.comments import classify_lines, load_lexicon

    out_dir.mkdir(parents=True, exist_ok=True)
    lexicons = {"model": load_lexicon(), "rules": load_lexicon(with_model=False)}
    if True:
        for name, lines in inputs.items():
            for ctx in (True, False, None):
                for lname, lex in lexicons.items():
                    path = out_dir / f"{name}.{ctx}.{lname}.jsonl"
                    with path.open("w", encoding="utf-8", errors="surrogatepass") as f:
                        for r in classify_lines(lines, minor_context=ctx, lexicon=lex):
                            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def compare(ours: Path, peer: Path) -> int:
    names = sorted(p.name for p in ours.glob("*.jsonl"))
    if not names or not set(names) <= {p.name for p in peer.glob("*.jsonl")}:
        print("different output files")
        return 1
    total = 0
    h = hashlib.sha256()
    for name in names:
        a = (ours / name).read_bytes().splitlines()
        b = (peer / name).read_bytes().splitlines()
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                print(f"{name} line {i + 1} differs:\n  ours: {x[:600]!r}\n  peer: {y[:600]!r}")
                return 1
        if len(a) != len(b):
            print(f"{name}: {len(a)} lines here, {len(b)} in the peer's")
            return 1
        total += len(a)
        h.update((ours / name).read_bytes())
    print(f"identical: {total} results in {len(names)} files, sha256 {h.hexdigest()[:16]}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peer", type=Path, help="a worktree whose layers/core is compared with this one's")
    p.add_argument("--dump", type=Path, help="write the outputs to this directory")
    p.add_argument("--against", type=Path, help="compare this tree with an earlier --dump (of the peer)")
    p.add_argument("--only", default="", help="only the corpora whose name starts with this (bench, eval...)")
    p.add_argument("--tree", type=Path, default=HERE.parent, help="whose layers/core judges (--dump)")
    args = p.parse_args()
    if args.dump is not None:
        dump(args.dump, args.tree, args.only)
        return 0
    if args.peer is None and args.against is None:
        p.error("--peer, --against or --dump")
    with tempfile.TemporaryDirectory() as tmp:
        mine, theirs = Path(tmp) / "ours", Path(tmp) / "peer"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        for tree, out in ((HERE.parent, mine), (args.peer, theirs)):
            if tree is not None:
                cmd = [sys.executable, __file__, "--dump", str(out), "--tree", str(tree), "--only", args.only]
                subprocess.run(cmd, check=True, env=env)
        return compare(mine, args.against or theirs)


if __name__ == "__main__":
    sys.exit(main())
