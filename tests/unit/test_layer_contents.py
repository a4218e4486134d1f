"""Promise: the Lambda layers and function packages carry only what Lambda runs. The emulated stack (moto
harness) and the CLI live in ``tutela_dev`` (dev/), installed only in the dev venv; a layer that shipped
them would carry moto's imports and a second copy of the CLI into every cold start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Dev-only distributions (pyproject's `local` extra and the test tools): never in a layer's requirements.
DEV_ONLY = {"moto", "aws-sam-translator", "rich", "pyyaml", "pytest", "hypothesis", "mutmut", "tutela"}


def _code_dirs(template: dict[str, Any]) -> list[Path]:
    """Every folder SAM packages: each layer's ContentUri and each function's CodeUri."""
    dirs = []
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        uri = props.get("ContentUri") or props.get("CodeUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            dirs.append(ROOT / uri)
    return dirs


def test_no_layer_or_function_source_holds_the_dev_package(template: dict[str, Any]) -> None:
    dirs = _code_dirs(template)
    assert ROOT / "layers" / "core" in dirs and ROOT / "functions" / "record_decision" in dirs
    for d in dirs:
        names = {p.relative_to(d).as_posix() for p in d.rglob("*")}
        shipped_dev = sorted(
            n for n in names if re.match(r"(.*/)?(tutela_dev|tutela/local|tutela/cli)(/|$)", n)
        )
        assert not shipped_dev, f"{d.relative_to(ROOT)} would package {shipped_dev}"


def test_the_core_layer_copies_only_the_tutela_package() -> None:
    recipe = (ROOT / "layers" / "core" / "Makefile").read_text()
    copies = re.findall(r"^\s*cp -R (\S+)", recipe, flags=re.M)
    assert copies == ["tutela"], copies  # the one package the layer ships, from layers/core


def test_layer_requirements_name_no_dev_only_package() -> None:
    for req in sorted((ROOT / "layers").glob("*/requirements.txt")):
        names = {
            re.split(r"[\[=<>~! ;]", line.strip(), maxsplit=1)[0].lower()
            for line in req.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        }
        assert not names & DEV_ONLY, f"{req.relative_to(ROOT)} pins dev-only {sorted(names & DEV_ONLY)}"


def test_the_dev_package_is_importable_here_but_not_from_the_layer_source() -> None:
    import tutela
    import tutela_dev.cli
    import tutela_dev.emulator.stack

    layer_src = ROOT / "layers" / "core"
    assert Path(tutela.__file__).is_relative_to(layer_src)
    assert not Path(tutela_dev.cli.__file__).is_relative_to(layer_src)
    assert not Path(tutela_dev.emulator.stack.__file__).is_relative_to(layer_src)


def _pins(req: Path) -> dict[str, str]:
    out = {}
    for line in req.read_text().splitlines():
        m = re.match(r"\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_one_numpy_for_both_layers() -> None:
    """The vision layer drops its numpy and uses the core layer's (every function with the vision layer
    has the core one): OpenCV and pdqhash are resolved against the version pinned for it, so the pins
    must agree, and two overlaid copies would also count twice against the 262 MB budget."""
    core, vision = (_pins(ROOT / "layers" / n / "requirements.txt") for n in ("core", "vision"))
    assert core["numpy"] == vision["numpy"]
    recipe = (ROOT / "layers" / "vision" / "Makefile").read_text()
    assert re.search(r'rm -rf .*"\$\(ARTIFACTS_DIR\)"/python/numpy ', recipe)
