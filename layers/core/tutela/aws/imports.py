"""Import one module of a big package without first running the package's ``__init__``.

Python runs a package's ``__init__`` before any of its submodules, and some re-export everything they
have: ``aws_lambda_powertools.event_handler``'s imports every resolver (AppSync's pulls in asyncio, then
Bedrock agents, VPC Lattice...) and ``aws_lambda_powertools.utilities.data_classes``' every event class
(CodePipeline's pulls in zipfile, tempfile, bz2, lzma), most of ReviewApi's cold start when it uses only
the API Gateway resolver. :func:`defer_package_init` registers the package as an empty module with the
package's search path, so its submodules import as usual. A name the package is asked for is then served
from the submodule its ``__init__`` re-exports it from (``from .alb_event import ALBEvent``, read from the
``__init__``'s source); any other name runs that ``__init__`` in place first. Nothing breaks: the
``__init__`` only runs later, or never.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from typing import Any


def reexports(source: str) -> dict[str, tuple[str, str]]:
    """``{name: (submodule, its name there)}`` for each ``from .submodule import x [as name]`` at the top
    level of a module's source."""
    out: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    out[alias.asname or alias.name] = (node.module, alias.name)
    return out


def defer_package_init(name: str) -> None:
    """Make ``import name.submodule`` skip ``name/__init__.py`` until a name it defines is needed.

    No effect when the package is already imported (or is not a package)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None or not spec.origin:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    origin = spec.origin
    table: dict[str, tuple[str, str]] = {}

    def __getattr__(attr: str) -> Any:
        dunder = attr.startswith("__") and attr != "__all__"
        if dunder or importlib.util.find_spec(f"{name}.{attr}") is not None:
            # a dunder probe, or a submodule (``from package import submodule``): the import system
            # imports it on its own; running __init__ here would re-enter a half-imported submodule
            raise AttributeError(attr)
        if not table:
            with open(origin, encoding="utf-8") as f:
                table.update(reexports(f.read()))
        where = table.get(attr)
        if where is not None:
            value = getattr(importlib.import_module(f"{name}.{where[0]}"), where[1])
            setattr(package, attr, value)
            return value
        del package.__dict__["__getattr__"]
        loader.exec_module(package)  # the real __init__, in the module everyone already holds
        return getattr(package, attr)

    package.__dict__["__getattr__"] = __getattr__
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)  # as the import system does for a loaded submodule
