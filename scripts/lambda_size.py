"""After `sam build`: unzipped size of each function with its layers against Lambda's 250 MB limit."""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 250 * 1024 * 1024


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main(build_dir: str) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core"))
    sys.path.insert(
        0, str(Path(__file__).resolve().parents[1] / "dev")
    )  # tutela_dev: the emulated stack and CLI
    from tutela_dev.emulator.cfn_yaml import load_template

    build = Path(build_dir)
    template = load_template(build / "template.yaml")
    resources = template["Resources"]
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    sizes = {name: du(build / name) for name in resources if (build / name).is_dir()}
    worst = 0
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        refs = [*global_layers, *res["Properties"].get("Layers", [])]
        layers = [ref["Ref"] for ref in refs if isinstance(ref, dict)]
        total = sizes.get(name, 0) + sum(sizes.get(layer, 0) for layer in layers)
        worst = max(worst, total)
        print(f"{name:28s} {total / 1e6:8.1f} MB  (function + {', '.join(layers) or 'no layers'})")
    print(f"largest: {worst / 1e6:.1f} MB of {LIMIT / 1e6:.0f} MB allowed unzipped")
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build"))
