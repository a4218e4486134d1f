"""Cross-check the state machine against the template (what asl-validator cannot see).

- every ${Name} in the ASL is a DefinitionSubstitutions key, and every key is used;
- every Lambda-backed Task retries transient errors and either catches everything or sits in a branch
  whose Parallel catches everything (fail closed: no path ends without a decision or the DLQ);
- retry intervals stay short enough for moto, which really sleeps;
- every Lambda Task sends exactly the fields of its step's input contract (``tutela.contracts``), and every
  path read from a contracted result (``$.record.duplicate``...) is a field of that result's contract;
- the moderation machine (the one with a DeadLetter state) catches everything; a re-moderation machine's
  failed item leaves the decision in force, so it need not;
- every Distributed Map reads its items with a selector, bounds its concurrency and says how many failures
  it tolerates; one with an ItemReader (any number of items) writes its results to S3 (ResultWriter);
- the bucket an ItemReader lists is one the template names: a ``${...}`` substitution, or a path
  (``Bucket.$: $.listing.bucket``) that every state leading into the map sets from a substitution (a Pass),
  so an execution's input can never point a backfill at another bucket.
Tasks inside Map item processors are checked like top-level ones.
Usage: check_asl.py statemachine/X.asl.json template.yaml
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core"))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))  # tutela_dev: the emulated stack and CLI
from tutela.contracts import RESULT_PATHS, STEP_ALTERNATIVES, STEP_INPUTS
from tutela_dev.emulator.cfn_yaml import load_template


def contract_errors(name: str, st: dict[str, Any]) -> list[str]:
    """A Task's Parameters against the input contract of the function it invokes."""
    match = re.fullmatch(r"\$\{([A-Za-z0-9_]+)\}", st.get("Resource", ""))
    contract = STEP_INPUTS.get(match.group(1)) if match else None
    if contract is None:
        return []
    sent = {k.removesuffix(".$") for k in st.get("Parameters", {})}
    expected = set(contract.FIELDS)
    alternatives = [set(c.FIELDS) for c in STEP_ALTERNATIVES.get(match.group(1), [])] if match else []
    if sent != expected and sent not in alternatives:
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
        if st["Type"] == "Map" and "ItemProcessor" in st:
            all_caught = any("States.ALL" in c["ErrorEquals"] for c in st.get("Catch", []))
            out += tasks(st["ItemProcessor"]["States"], caught or all_caught, f"{here}.")
    return out


def maps(states: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, st in states.items():
        if st["Type"] == "Map":
            out.append((f"{path}{name}", st))
            out += maps(st.get("ItemProcessor", {}).get("States", {}), f"{path}{name}.")
    return out


def distributed_map_errors(states: dict[str, Any]) -> list[str]:
    errors = []
    for name, st in maps(states):
        if st.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
            continue
        for field in ("ItemSelector", "MaxConcurrency", "Label"):
            if field not in st:
                errors.append(f"{name}: a Distributed Map needs {field}")
        if "ItemReader" in st:
            for field in ("ToleratedFailurePercentage", "ResultWriter"):
                if field not in st:
                    errors.append(f"{name}: a Distributed Map over an ItemReader needs {field}")
    return errors


def listed_bucket_errors(states: dict[str, Any]) -> list[str]:
    errors = []
    for name, st in states.items():
        params = st.get("ItemReader", {}).get("Parameters", {})
        if "Bucket" in params:
            if not re.fullmatch(r"\$\{[A-Za-z0-9_]+\}", str(params["Bucket"])):
                errors.append(f"{name}: lists a bucket the template does not name")
            continue
        path = params.get("Bucket.$")
        if path is None:
            continue
        parent, _, field = str(path).rpartition(".")
        into = [(n, s) for n, s in states.items() if s.get("Next") == name]
        if not into or parent == "$":
            errors.append(f"{name}: the listed bucket {path} is set by no state")
        for n, s in into:
            value = s.get("Parameters", {}).get(field, "") if s.get("ResultPath") == parent else ""
            if s["Type"] != "Pass" or not re.fullmatch(r"\$\{[A-Za-z0-9_]+\}", str(value)):
                errors.append(f"{name}: {n} leads in without setting {path} from the template")
    return errors


def main(asl_path: str, template_path: str) -> int:
    text = Path(asl_path).read_text()
    asl = json.loads(text)
    template = load_template(Path(template_path))
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
    mine = [m for m in machines if Path(m["Properties"].get("DefinitionUri", "")).name == Path(asl_path).name]
    subs = set((mine or machines)[0]["Properties"].get("DefinitionSubstitutions", {}))
    needs_catch = "DeadLetter" in asl["States"]
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    errors = [f"substitution ${{{n}}} is not in DefinitionSubstitutions" for n in sorted(used - subs)]
    errors += [f"DefinitionSubstitutions {n} is never used" for n in sorted(subs - used)]
    for name, st, caught in tasks(asl["States"], False):
        retry = st.get("Retry", [])
        if needs_catch and not caught and name != "DeadLetter":
            errors.append(f"{name}: no Catch leads to a decision or the dead-letter queue")
        if "${" in st["Resource"] and not any("TransientError" in r["ErrorEquals"] for r in retry):
            errors.append(f"{name}: does not retry TransientError")
        slow = [r["IntervalSeconds"] for r in retry if r.get("IntervalSeconds", 1) > 2]
        errors += [f"{name}: retry interval {s}s" for s in slow]
        errors += contract_errors(name, st)
    errors += path_errors(text)
    errors += distributed_map_errors(asl["States"])
    errors += listed_bucket_errors(asl["States"])
    for e in errors:
        print(f"check_asl: {e}", file=sys.stderr)
    n_tasks = len(tasks(asl["States"], False))
    print(f"check_asl: {len(used)} substitutions, {n_tasks} tasks checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
