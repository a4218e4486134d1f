"""Choose the learned stage's thresholds on leave-one-writer-out predictions, and report them.

    .venv/bin/python eval/comments/thresholds.py DUMP.jsonl --choose [--fpr 0.025]   # print policy tables
    .venv/bin/python eval/comments/thresholds.py DUMP.jsonl --report                # packaged thresholds
    .venv/bin/python eval/comments/thresholds.py DUMP.jsonl --nested                # thresholds chosen
                                                         # without the judged writer too (most honest)

A dump line (``crossval.py --dump``) holds a comment of a writer the model never saw, its labels and
context, the model's probabilities and the rules stage's verdict, categories and features. Verdicts
are simulated with the classifier's own ``classify.decide`` / ``non_vetoable`` /
``model_thresholds``, so the tables are what ``classify_lines`` would give (``--check`` proves it on a
fold). Thresholds are chosen per script (comments with Chinese characters or not) and per context
(a child's, an unknown and an adult's post): ``veto`` (a rules-stage flag stands from it) and
``review`` maximise recall with the cell's FPR at most ``--fpr``; ``block`` is the lowest probability
whose blocks are ``--block-precision`` precise (never under an adult's post: policy).
``--adult-fpr F``: the adult's-post cells first spend a budget of their own (F x their acceptable
comments; policy: explicit requests for sexual images, solicitation and sexual contact-moving are
reviewed under an adult's post too), then the pooled budget is shared as before.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "layers" / "core"))

import evaluate  # noqa: E402

from tutela.comments.classify import decide, model_thresholds, non_vetoable  # noqa: E402
from tutela.comments.hashed import MIN_CHARS, readable  # noqa: E402
from tutela.comments.lexicon import ModelPolicy, ModelThreshold, load_lexicon  # noqa: E402
from tutela.comments.normalize import normalize  # noqa: E402

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CTX = {True: "minor", None: "unknown", False: "adult"}
ORDER = ("allow", "review", "block")


def _cues(lex: Any) -> tuple[str, ...]:
    """The packaged policy's sexual cue prefixes (read from policy.toml even without a model file)."""
    import tomllib

    from tutela.comments.lexicon import DATA_DIR

    doc = tomllib.loads((DATA_DIR / "policy.toml").read_text(encoding="utf-8"))
    return tuple(doc.get("model", {}).get("sexual_cues", []))


def _listed(key: str) -> tuple[str, ...]:
    """A list of id prefixes of the packaged policy's ``[model]`` table (e.g. ``always_cues``)."""
    import tomllib

    from tutela.comments.lexicon import DATA_DIR

    doc = tomllib.loads((DATA_DIR / "policy.toml").read_text(encoding="utf-8"))
    return tuple(doc.get("model", {}).get(key, []))


ALWAYS = _listed("always_cues")  # never vetoed under any post


def cell(r: dict[str, Any]) -> str:
    return ("zh." if _CJK.search(r["text"]) else "") + CTX[r["minor_context"]]


def verdicts(rows: list[dict[str, Any]], mp: ModelPolicy) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        th = model_thresholds(mp, r["text"], r["minor_context"])
        rs = dict.fromkeys(r["rule_cats"], 1.0)
        vetoable = not non_vetoable(r["minor_context"], rs, r["rule_feats"], mp.sexual_cues, mp.always_cues)
        rv, mv, _ = decide(r["rules"], r["p"]["any"], th, vetoable)
        out.append({"verdict": max(rv, mv, key=ORDER.index)})
    return out


# Threshold grid: steps of 0.01, and of 0.0025 from 0.90. The wide & deep model is confident: on the
# out-of-writer pool recall falls 0.756 -> 0.715 -> 0.679 -> 0.615 from p 0.95 to 0.97, 0.98, 0.99, so
# a 0.01 step there moves a cell by 3-6 points of recall at once.
GRID = np.unique(np.round(np.concatenate([np.arange(0.02, 0.9, 0.01), np.arange(0.9, 0.99751, 0.0025)]), 4))


def _frontier(
    p: np.ndarray, bad: np.ndarray, rules: np.ndarray, standing: np.ndarray
) -> list[tuple[int, int, float, float]]:
    """Pareto-optimal ``(false positives, true positives, veto, review)`` over the threshold grid
    (counts per review threshold by binary search over the sorted probabilities: same as masking)."""
    grid = GRID
    pts: dict[int, tuple[int, int, float, float]] = {}
    for veto in grid:
        base = standing | (rules & (p >= veto))
        rest = ~base & (p == p)  # a NaN (abstaining) probability never flags
        counts = []
        for sel in (~bad, bad):
            q = np.sort(p[rest & sel])
            counts.append(int(base[sel].sum()) + len(q) - np.searchsorted(q, grid, side="left"))
        for review, fp, tp in zip(grid, counts[0].tolist(), counts[1].tolist(), strict=True):
            if fp not in pts or tp > pts[fp][1]:
                pts[fp] = (fp, tp, float(veto), float(review))
    out: list[tuple[int, int, float, float]] = []
    for fp in sorted(pts):
        if not out or pts[fp][1] > out[-1][1]:
            out.append(pts[fp])
    return out


def choose(
    rows: list[dict[str, Any]],
    fpr_max: float,
    block_precision: float,
    cues: tuple[str, ...],
    script_fpr: float = 0.03,
    cell_fpr: float = 0.04,
    curve: list[str] | None = None,
    adult_fpr: float | None = None,
) -> dict[str, ModelThreshold]:
    """Share one false-positive budget of ``fpr_max`` x all acceptable comments among the six cells
    (script x context): greedily take the step (in any cell) that buys the most true positives per
    false positive, as long as the pooled FPR stays <= ``fpr_max``, each script's (comments with Chinese
    characters or not) <= ``script_fpr`` and each cell's <= ``cell_fpr``. ``curve``: if given, the
    pooled (FPR, recall) point after every step is appended to it (the curve the point was chosen from).
    ``adult_fpr``: the adult's-post cells first spend up to this FPR over their own acceptable comments
    (within the same pooled, script and cell caps), then the rest is shared as above.
    """
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[cell(r)].append(r)
    keys = sorted(by)
    fronts: dict[str, list[tuple[int, int, float, float]]] = {}
    arrays = {}
    for key in keys:
        rs = by[key]
        p = np.array([r["p"]["any"] for r in rs])
        bad = np.array([bool(r["labels"]) for r in rs])
        rules = np.array([r["rules"] != "allow" for r in rs])
        fixed = np.array(
            [
                non_vetoable(
                    r["minor_context"],
                    dict.fromkeys(r["rule_cats"], 1.0),
                    r["rule_feats"],
                    cues,
                    ALWAYS,
                )
                for r in rs
            ]
        )
        fronts[key] = _frontier(p, bad, rules, rules & fixed)
        arrays[key] = (p, bad)
    good = {k: int((~arrays[k][1]).sum()) for k in keys}
    n_bad = sum(int(arrays[k][1].sum()) for k in keys)
    script = {k: k.startswith("zh.") for k in keys}
    s_good = {z: sum(good[k] for k in keys if script[k] == z) for z in (False, True)}
    at = dict.fromkeys(keys, 0)
    fp = {k: fronts[k][0][0] for k in keys}
    tp = {k: fronts[k][0][1] for k in keys}

    adult = [k for k in keys if k.endswith("adult")]
    a_good = sum(good[k] for k in adult)

    def fits(k: str, dfp: int, reserved: bool) -> bool:
        tot = sum(fp.values()) + dfp
        sfp = sum(fp[j] for j in keys if script[j] == script[k]) + dfp
        afp = sum(fp[j] for j in adult) + dfp
        return (
            tot <= fpr_max * sum(good.values())
            and sfp <= script_fpr * s_good[script[k]]
            and fp[k] + dfp <= cell_fpr * max(good[k], 1)
            and (not reserved or afp <= (adult_fpr or 0.0) * a_good)
        )

    def spend(cells: list[str], reserved: bool) -> None:
        while True:
            best = None
            for k in cells:
                f, i = fronts[k], at[k]
                for j in range(i + 1, len(f)):
                    dfp, dtp = f[j][0] - f[i][0], f[j][1] - f[i][1]
                    if not fits(k, dfp, reserved):
                        break
                    gain = dtp / max(dfp, 1e-9)
                    if best is None or gain > best[0]:
                        best = (gain, k, j)
            if best is None:
                return
            _, k, j = best
            at[k] = j
            fp[k], tp[k] = fronts[k][j][0], fronts[k][j][1]
            if curve is not None:
                curve.append(f"{sum(fp.values()) / sum(good.values()):.4f} {sum(tp.values()) / n_bad:.4f}")

    if adult_fpr:
        # Policy (issue 11): explicit requests for sexual images, solicitation and sexual contact-moving
        # are reviewed under an adult's post too. Adult cells first spend a budget of their own
        # (adult_fpr x their acceptable comments); otherwise a child's post, where a true positive is
        # cheapest, takes the whole pooled budget and adult posts get almost nothing.
        spend(adult, True)
    spend(keys, False)
    out = {}
    for k in keys:
        _, _, veto, review = fronts[k][at[k]]
        p, bad = arrays[k]
        block = None
        if not k.endswith("adult"):
            for t in GRID[::-1]:
                if t < review:
                    break
                sel = p >= t
                if sel.sum() >= 5 and bad[sel].mean() >= block_precision:
                    block = float(t)
        out[k] = ModelThreshold(review=review, block=block, veto=veto, veto_block=veto)
    return out


def policy_text(th: dict[str, ModelThreshold]) -> str:
    lines = []
    for prefix, title in (("", "[model]"), ("zh.", "[model.zh]")):
        lines.append(title)
        for ctx in ("minor", "unknown", "adult"):
            t = th.get(prefix + ctx)
            if t is None:
                continue
            parts = [f"review = {t.review:g}"]
            if t.block is not None:
                parts.append(f"block = {t.block:g}")
            parts += [f"veto = {t.veto:g}", f"veto_block = {t.veto:g}"]
            lines.append(f"{ctx} = {{ {', '.join(parts)} }}")
    return "\n".join(lines)


def report(title: str, rows: list[dict[str, Any]], res: list[dict[str, Any]]) -> None:
    s = evaluate.score(rows, res)
    evaluate.report(title, s, 10, 15)
    print(" per writer:")
    for w in sorted({r["writer"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["writer"] == w]
        print(evaluate._line(w, evaluate.score([rows[i] for i in idx], [res[i] for i in idx])["total"]))
    print(" per script x context:")
    for c in sorted({cell(r) for r in rows}):
        idx = [i for i, r in enumerate(rows) if cell(r) == c]
        print(evaluate._line(c, evaluate.score([rows[i] for i in idx], [res[i] for i in idx])["total"]))


def markdown(rows: list[dict[str, Any]], res: list[dict[str, Any]], min_cell: int = 20) -> None:
    """The tables of docs/comments.md: overall, per language, context, category, writer, style."""
    s = evaluate.score(rows, res)

    def row(name: str, c: dict[str, int]) -> str:
        rec = f"{c['flagged'] / c['bad']:.3f}" if c["bad"] else "-"
        blk = f"{c['blocked'] / c['bad']:.3f}" if c["bad"] else "-"
        fpr = f"{c['fp'] / c['good']:.3f}" if c["good"] else "-"
        return f"| {name} | {rec} | {blk} | {fpr} | {c['bad']} / {c['good']} |"

    head = "| | recall (review+block) | blocks only | FPR | bad / acceptable |\n|---|---:|---:|---:|---:|"
    print(head)
    print(row("**pooled**", s["total"]))
    for key in ("lang", "context", "category"):
        for name in sorted(s["groups"][key]):
            if name != "(acceptable)":
                print(row(f"{key}: {name}", s["groups"][key][name]))
    for w in sorted({r["writer"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["writer"] == w]
        print(row(f"writer: {w}", evaluate.score([rows[i] for i in idx], [res[i] for i in idx])["total"]))
    print()
    print(f"Styles / evasion kinds with at least {min_cell} bad comments (recall, blocks, bad):")
    print()
    print("| style | recall | blocks | bad |\n|---|---:|---:|---:|")
    styles = sorted(
        ((c["flagged"] / c["bad"], n, c) for n, c in s["groups"]["style"].items() if c["bad"] >= min_cell),
        key=lambda t: t[0],
    )
    for rec, n, c in styles:
        print(f"| {n} | {rec:.3f} | {c['blocked'] / c['bad']:.3f} | {c['bad']} |")
    print()
    print("Worst (language, category, style) cells with at least 10 bad comments:")
    print()
    print("| cell | recall |\n|---|---:|")
    ranked = sorted(
        ((c["flagged"] / c["bad"], k, c) for k, c in s["cells"].items() if c["bad"] >= 10), key=lambda t: t[0]
    )
    for _, k, c in ranked[:12]:
        print(f"| {' / '.join(k)} | {c['flagged']}/{c['bad']} |")


def stages(rows: list[dict[str, Any]], mp: ModelPolicy) -> None:
    """Stage contributions: rules alone, model alone, surviving rules flags, combined."""
    res = verdicts(rows, mp)
    bad = np.array([bool(r["labels"]) for r in rows])

    def line(name: str, flag: np.ndarray) -> None:
        print(f"  {name:42s} recall {flag[bad].mean():.3f}  FPR {flag[~bad].mean():.3f}")

    rules = np.array([r["rules"] != "allow" for r in rows])
    rblock = np.array([r["rules"] == "block" for r in rows])
    model = np.array(
        [
            (t := model_thresholds(mp, r["text"], r["minor_context"])).review is not None
            and r["p"]["any"] >= t.review
            for r in rows
        ]
    )
    comb = np.array([x["verdict"] != "allow" for x in res])
    print(" stage contributions:")
    line("rules stage alone (single-cue policy)", rules)
    line("rules blocks alone", rblock)
    line("learned stage alone (p >= review)", model)
    line("combined (shipped)", comb)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dumps", nargs="+", type=Path)
    ap.add_argument("--fpr", type=float, default=0.025, help="pooled FPR budget")
    ap.add_argument("--script-fpr", type=float, default=0.03, help="cap per script (Chinese or not)")
    ap.add_argument("--cell-fpr", type=float, default=0.04, help="cap per script x context cell")
    ap.add_argument(
        "--adult-fpr", type=float, help="budget reserved for the adult's-post cells (their own FPR)"
    )
    ap.add_argument("--curve", type=Path, help="with --choose: write the pooled (FPR, recall) steps here")
    ap.add_argument("--block-precision", type=float, default=0.95)
    ap.add_argument("--choose", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--nested", action="store_true")
    ap.add_argument("--markdown", action="store_true", help="with --nested/--report: docs tables too")
    args = ap.parse_args()
    packaged = load_lexicon(with_model=False)
    cues = _cues(packaged)
    rows = [json.loads(x) for p in args.dumps for x in p.read_text(encoding="utf-8").splitlines() if x]
    for r in rows:
        r["labels"] = sorted(set(r["labels"]))
        norm = normalize(r["text"])
        raw = [r["text"]] if r.get("emoji") else None  # (dumps of models without pictograph features)
        if readable([norm], raw)[0] < MIN_CHARS:  # the shipped model abstains on so short a text
            r["p"]["any"] = float("nan")
    if args.choose:
        steps: list[str] = []
        th = choose(
            rows, args.fpr, args.block_precision, cues, args.script_fpr, args.cell_fpr, steps, args.adult_fpr
        )
        if args.curve:
            args.curve.write_text("fpr recall\n" + "\n".join(steps) + "\n")
        print(policy_text(th))
        mp = ModelPolicy(th, 0.4, cues, ALWAYS)
        report(
            f"chosen thresholds on the same pool ({len(rows)} comments; optimistic)", rows, verdicts(rows, mp)
        )
        stages(rows, mp)
    if args.nested:
        res: list[dict[str, Any]] = [{} for _ in rows]
        for w in sorted({r["writer"] for r in rows}):
            others = [r for r in rows if r["writer"] != w]
            mp = ModelPolicy(
                choose(
                    others,
                    args.fpr,
                    args.block_precision,
                    cues,
                    args.script_fpr,
                    args.cell_fpr,
                    adult_fpr=args.adult_fpr,
                ),
                0.4,
                cues,
                ALWAYS,
            )
            idx = [i for i, r in enumerate(rows) if r["writer"] == w]
            for i, v in zip(idx, verdicts([rows[i] for i in idx], mp), strict=True):
                res[i] = v
        report(f"nested: thresholds chosen without the judged writer ({len(rows)} comments)", rows, res)
        if args.markdown:
            markdown(rows, res)
    if args.report:
        mp2 = load_lexicon().model_policy
        assert mp2 is not None
        res2 = verdicts(rows, mp2)
        report(f"packaged thresholds ({len(rows)} comments)", rows, res2)
        stages(rows, mp2)
        if args.markdown:
            markdown(rows, res2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
