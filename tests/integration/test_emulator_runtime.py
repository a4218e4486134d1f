"""Promise (the emulated stack): a handler imported for a test to patch (``EmulatedStack.handler_module``) is
imported like its Lambda INIT — inside its own function's environment — so settings parsed at import are
the deployed function's, with no warm-up invocation first, and nothing of that environment leaks out."""

from __future__ import annotations

import os

import pytest

from tests.integration.stacks import emulated_stack

pytestmark = pytest.mark.integration

FUNCTION_ONLY = ("DECISIONS_TABLE", "EVENT_BUS_NAME", "PUBLISHED_BUCKET", "QUARANTINE_BUCKET")


def test_handler_module_imports_a_handler_in_its_functions_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in FUNCTION_ONLY:
        monkeypatch.delenv(var, raising=False)
    with emulated_stack(tmp_path_factory) as stack:
        module = stack.handler_module("ActFunction")  # cold: the deployment cleared every module
        settings = module._settings()  # parsed at import; a ConfigurationError here before the fix
        assert settings.published_bucket == stack.resources["PublishedBucket"]
        assert settings.quarantine_bucket == stack.resources["QuarantineBucket"]
        assert not [v for v in FUNCTION_ONLY if v in os.environ]
        assert stack.handler_module("ActFunction") is module  # warm: the same module, as Lambda keeps it
