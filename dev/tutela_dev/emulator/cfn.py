"""CloudFormation helpers for the emulated stack: what moto's CloudFormation cannot do with a SAM-transformed
template (conditions inside policy lists, DefinitionString joins, local code URIs)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tutela_dev.emulator.runtime import EmulatorError


def tiny_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "tutela emulated stack: handlers run in-process from the source tree\n")
    return buf.getvalue()


def null_policy_loader() -> Any:
    class _Loader:
        def load(self) -> dict[str, str]:
            return {}

    return _Loader()


_NO_VALUE = object()


class Conditions:
    """Evaluate template Conditions (Equals/Not/And/Or/Condition) on known parameter values."""

    def __init__(self, conditions: dict[str, Any], parameters: dict[str, str]) -> None:
        self.conditions = conditions
        self.parameters = parameters
        self.cache: dict[str, bool] = {}

    def truth(self, name: str) -> bool:
        if name not in self.cache:
            self.cache[name] = self._eval(self.conditions[name])
        return self.cache[name]

    def _value(self, v: Any) -> Any:
        if isinstance(v, dict) and "Ref" in v and v["Ref"] in self.parameters:
            return self.parameters[v["Ref"]]
        return v

    def _eval(self, node: Any) -> bool:
        ((fn, args),) = node.items()
        if fn == "Fn::Equals":
            return bool(str(self._value(args[0])) == str(self._value(args[1])))
        if fn == "Fn::Not":
            return not self._eval(args[0])
        if fn == "Fn::And":
            return all(self._eval(a) for a in args)
        if fn == "Fn::Or":
            return any(self._eval(a) for a in args)
        if fn == "Condition":
            return self.truth(args)
        raise EmulatorError(f"unsupported condition function {fn}")

    def apply(self, node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return self.apply(yes if self.truth(name) else no)
            if node == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            out = {k: self.apply(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not _NO_VALUE}
        if isinstance(node, list):
            return [x for x in (self.apply(v) for v in node) if x is not _NO_VALUE]
        return node


def join(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return str(sep).join(join(p) for p in parts)
    raise EmulatorError(f"unsupported DefinitionString form: {type(value).__name__}")
