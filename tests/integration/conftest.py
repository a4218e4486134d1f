"""The fixtures most integration modules share, one stack per module: the real template on moto
(``stacks.emulated_stack``), a runner over it, a small photo. A module that needs another stack (retry
timings scaled, a stubbed model) defines its own fixture of the same name, which takes precedence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stacks import emulated_stack
from tutela_dev.emulator import samples
from tutela_dev.emulator.review_api import ReviewApi, ReviewRules
from tutela_dev.emulator.runner import Runner
from tutela_dev.emulator.stack import EmulatedStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with emulated_stack(tmp_path_factory) as s:
        yield s


@pytest.fixture(scope="module")
def runner(stack: EmulatedStack) -> Runner:
    return Runner(stack)


@pytest.fixture(scope="module")
def rules(stack: EmulatedStack) -> ReviewRules:
    return ReviewRules(stack)


@pytest.fixture(scope="module")
def api(stack: EmulatedStack) -> ReviewApi:
    return ReviewApi(stack)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.photo(tmp_path_factory.mktemp("media") / "beach.jpg", size=(320, 240))
