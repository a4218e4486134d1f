"""Import one module of a big package without first running the package's ``__init__``.

Python runs a package's ``__init__`` before any of its submodules, and some re-export everything they
have: ``aws_lambda_powertools.event_handler``'s imports every resolver (AppSync's pulls in asyncio, then
Bedrock agents, VPC Lattice...), ~50 ms of ReviewApi's cold start when it uses only the API Gateway one.
:func:`defer_package_init` registers the package as an empty module with the package's search path, so
its submodules import as usual; the first time anything else is looked up on the package (a name its
``__init__`` defines), that ``__init__`` runs in place and the lookup proceeds: nothing breaks, it only
happens later or never.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def defer_package_init(name: str) -> None:
    """Make ``import name.submodule`` skip ``name/__init__.py`` until a name it defines is used.

    No effect when the package is already imported (or is not a package)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attr: str) -> Any:
        dunder = attr.startswith("__") and attr != "__all__"
        if dunder or importlib.util.find_spec(f"{name}.{attr}") is not None:
            # a dunder probe, or a submodule (``from package import submodule``): the import system
            # imports it on its own; running __init__ here would re-enter a half-imported submodule
            raise AttributeError(attr)
        del package.__dict__["__getattr__"]
        loader.exec_module(package)  # the real __init__, in the module everyone already holds
        return getattr(package, attr)

    package.__dict__["__getattr__"] = __getattr__
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)  # as the import system does for a loaded submodule
