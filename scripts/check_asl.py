"""Cross-check the state machine against the template (what asl-validator cannot see).

- every ${Name} in the ASL is a DefinitionSubstitutions key, and every key is used;
- every Lambda-backed Task retries transient errors and either catches everything or sits in a branch
  whose Parallel catches everything (fail closed: no path ends without a decision or the DLQ);
- retry intervals stay short enough for moto, which really sleeps;
- every Lambda Task sends exactly the fields of its step's input contract (``tutela.contracts``), and every
  path read from a contracted result (``$.record.duplicate``...) is a field of that result's contract.
Usage: check_asl.py statemachine/moderation.asl.json template.yaml
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core"))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))  # tutela_dev: the local stack and CLI
from tutela.contracts import RESULT_PATHS, STEP_INPUTS
from tutela_dev.emulator.cfn_yaml import load_template


def contract_errors(name: str, st: dict[str, Any]) -> list[str]:
    """A Task's Parameters against the input contract of the function it invokes."""
    match = re.fullmatch(r"\$\{([A-Za-z0-9_]+)\}", st.get("Resource", ""))
    contract = STEP_INPUTS.get(match.group(1)) if match else None
    if contract is None:
        return []
    sent = {k.removesuffix(".$") for k in st.get("Parameters", {})}
    expected = set(contract.FIELDS)
    if sent != expected:
        return [f"{name}: sends {sorted(sent)}, {contract.__name__} expects {sorted(expected)}"]
    return []


def path_errors(text: str) -> list[str]:
    errors = []
    for prefix, contract in RESULT_PATHS.items():
        for field in sorted(set(re.findall(re.escape(prefix) + r"\.([A-Za-z0-9_]+)", text))):
            if field not in contract.FIELDS:
                errors.append(f"{prefix}.{field} is not a field of {contract.__name__} {contract.FIELDS}")
    return errors


def tasks(states: dict[str, Any], caught: bool, path: str = "") -> list[tuple[str, dict[str, Any], bool]]:
    out = []
    for name, st in states.items():
        here = f"{path}{name}"
        if st["Type"] == "Task":
            out.append((here, st, caught or bool(st.get("Catch"))))
        if st["Type"] == "Parallel":
            all_caught = any("States.ALL" in c["ErrorEquals"] for c in st.get("Catch", []))
            for i, br in enumerate(st["Branches"]):
                out += tasks(br["States"], caught or all_caught, f"{here}[{i}].")
    return out


def main(asl_path: str, template_path: str) -> int:
    text = Path(asl_path).read_text()
    asl = json.loads(text)
    template = load_template(Path(template_path))
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
    subs = set(machines[0]["Properties"].get("DefinitionSubstitutions", {}))
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    errors = [f"substitution ${{{n}}} is not in DefinitionSubstitutions" for n in sorted(used - subs)]
    errors += [f"DefinitionSubstitutions {n} is never used" for n in sorted(subs - used)]
    for name, st, caught in tasks(asl["States"], False):
        retry = st.get("Retry", [])
        if not caught and name != "DeadLetter":
            errors.append(f"{name}: no Catch leads to a decision or the dead-letter queue")
        if "${" in st["Resource"] and not any("TransientError" in r["ErrorEquals"] for r in retry):
            errors.append(f"{name}: does not retry TransientError")
        slow = [r["IntervalSeconds"] for r in retry if r.get("IntervalSeconds", 1) > 2]
        errors += [f"{name}: retry interval {s}s" for s in slow]
        errors += contract_errors(name, st)
    errors += path_errors(text)
    for e in errors:
        print(f"check_asl: {e}", file=sys.stderr)
    n_tasks = len(tasks(asl["States"], False))
    print(f"check_asl: {len(used)} substitutions, {n_tasks} tasks checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
