"""Mutation testing (``make mutation``): mutmut over the modules that hold the product's promises.

Mutated: ``tutela/policy/``, ``tutela/decision.py``, ``tutela/aws/``, ``tutela/comments/classify.py`` and
every handler (``functions/*/app.py``). Each mutant runs only the unit tests that executed the function it
changes (mutmut records which tests reach which function in one traced run first), so a mutant in
``policy/media.py`` never waits for the scrub tests.

mutmut imports the code it mutates from ``src/`` and names each function after its file path, so the run
happens in a staged copy (``.make/mutation``): ``layers/core/tutela`` as ``src/tutela`` and each handler as
``src/tutela_fn_<dir>_app.py`` — the module name the local runtime gives it (``load_handler``), which is
how mutmut tells whose mutant is active — reached by the tests at ``functions/<dir>/app.py`` through a
symlink. Nothing in the work tree is touched.

Usage: mutation.py [--max-children N] [--sample N [--seed S]] [--only GLOB ...]   (GLOBs over src/...)
``--sample N`` runs N mutants drawn with a fixed seed from all of them (an unbiased estimate of the rate
in a bounded time; 0 runs all). Prints, last, ``mutation: K killed of N (P%)`` (killed includes timeouts;
"no tests" counts as survived).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / ".make" / "mutation"
MUTMUT = ROOT / ".make" / "mutmut" / "bin" / "mutmut"

MUTATE = [
    "src/tutela/policy/*",
    "src/tutela/decision.py",
    "src/tutela/aws/*",
    "src/tutela/comments/classify.py",
    "src/tutela_fn_*",
]
# Copied beside the tests (they read the template, events and ASL through paths from the repo root).
ALSO_COPY = [
    "dev",
    "events",
    "statemachine",
    "template.yaml",
    "samconfig.toml",
    "scripts",
    "cost",
    "eval",
    "web",
]
TESTS = [
    "tests/unit",
    # These check the real layout (the layer's source folder, a fresh interpreter on layers/core), which the
    # staged copy does not have by design; they mutate nothing and kill nothing.
    "--ignore=tests/unit/test_layer_contents.py",
    "--ignore=tests/unit/test_cold_start.py",
    "--ignore=tests/unit/vision/test_import.py",
]


def stage() -> list[str]:
    """A fresh staged tree; returns the handler directory names."""
    shutil.rmtree(STAGE, ignore_errors=True)
    (STAGE / "src").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "matcher.pickle")
    shutil.copytree(ROOT / "layers" / "core" / "tutela", STAGE / "src" / "tutela", ignore=ignore)
    handlers = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    for name in handlers:
        shutil.copy2(ROOT / "functions" / name / "app.py", STAGE / "src" / f"tutela_fn_{name}_app.py")
        target = STAGE / "mutants" / "functions" / name
        target.mkdir(parents=True)
        (target / "app.py").symlink_to(Path("..", "..", "src", f"tutela_fn_{name}_app.py"))
    for name in ["tests", *ALSO_COPY]:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, STAGE / name, ignore=ignore)
        else:
            shutil.copy2(src, STAGE / name)
    layers = STAGE / "layers"
    for req in ROOT.glob("layers/*/*"):
        if req.is_file():
            (layers / req.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(req, layers / req.parent.name / req.name)
    return handlers


def config(only: list[str]) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {toml_list(only)}\n"
        f"also_copy = {toml_list([*ALSO_COPY, 'layers'])}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(TESTS)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "--timeout=120"]\n'
        "use_git_change_detection = false\n"
    )


# mutmut 3.8's own generation step (pinned in the Makefile), run alone so a sample can be drawn from the
# full list of mutants before any test runs.
_GENERATE = """
import warnings
from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants
from mutmut.mutation.trampoline import set_mutant_under_test
warnings.simplefilter("ignore")
set_mutant_under_test("mutant_generation")
copy_src_dir()
copy_also_copy_files()
create_mutants(2)
"""
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}


def all_mutants() -> list[str]:
    names: list[str] = []
    for meta in sorted((STAGE / "mutants" / "src").rglob("*.meta")):
        names += json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
    return sorted(names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="mutate only these globs (src/...)")
    parser.add_argument("--sample", type=int, default=0, help="run N mutants drawn at random (0: all)")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    if not MUTMUT.exists():
        sys.exit(f"{MUTMUT} missing: run `make mutation` (it installs mutmut in its own venv)")
    stage()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (STAGE / "pyproject.toml").write_text(pyproject + config(args.only or MUTATE), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MUTANT_UNDER_TEST")}
    python = str(MUTMUT.parent / "python")
    subprocess.run([python, "-c", _GENERATE], cwd=STAGE, env=env, check=True, stdout=subprocess.DEVNULL)
    everything = all_mutants()
    chosen = everything
    if 0 < args.sample < len(everything):
        chosen = sorted(random.Random(args.seed).sample(everything, args.sample))
    print(f"mutants: {len(everything)} generated, {len(chosen)} run", flush=True)
    started = time.monotonic()
    cmd = [str(MUTMUT), "run", "--max-children", str(args.max_children)]
    run = subprocess.run(cmd + (chosen if chosen is not everything else []), cwd=STAGE, env=env, check=False)
    minutes = (time.monotonic() - started) / 60
    listing = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=STAGE,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    status = dict(line.strip().rsplit(": ", 1) for line in listing.splitlines() if ": " in line)
    statuses = [status.get(name, "not checked") for name in chosen]
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    survivors = sorted(n for n in chosen if status.get(n, "not checked") not in DETECTED)
    (STAGE / "survivors.txt").write_text("".join(f"{n}: {status.get(n)}\n" for n in survivors))
    print(
        f"statuses: {json.dumps(counts, sort_keys=True)}; {minutes:.1f} min with {args.max_children} workers"
    )
    print(
        f"survivors: {(STAGE / 'survivors.txt').relative_to(ROOT)} (diff of one: cd {STAGE.relative_to(ROOT)}"
        " && ../mutmut/bin/mutmut show NAME)"
    )
    killed = len(chosen) - len(survivors)
    pct = 100 * killed / len(chosen) if chosen else 0.0
    print(f"mutation: {killed} killed of {len(chosen)} ({pct:.1f}%)")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
