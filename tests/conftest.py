"""Shared fixtures: fake AWS credentials, the sample events, and tables built from template.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real account: fake credentials, a fixed region, no profile or endpoint."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TutelaTest")


def outputs_under_hash_seeds(code: str, seeds: tuple[str, ...] = ("1", "2")) -> set[str]:
    """What ``python -c code`` prints in fresh processes with different ``PYTHONHASHSEED``s (one item when
    the output does not depend on the per-process string hash)."""
    return {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in seeds
    }


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def template() -> dict[str, Any]:
    from tutela_dev.emulator.cfn_yaml import load_template

    return load_template(ROOT / "template.yaml")


def create_decisions_table(dynamodb: Any, template: dict[str, Any], name: str = "decisions") -> Any:
    """Create the DecisionsTable exactly as template.yaml defines its keys and indexes."""
    props = template["Resources"]["DecisionsTable"]["Properties"]
    dynamodb.create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )
    return name


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    from tutela.aws import clients

    clients.reset()  # adapters share process-wide clients: none may outlive its mock
    with mock_aws():
        yield
    clients.reset()


@pytest.fixture
def lambda_context() -> Any:
    from tutela_dev.emulator.stack import FakeContext

    return FakeContext("test-function", 60, 512)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tutela")
    # Powertools' Metrics reads its namespace when tutela.aws.step is first imported, which may be while
    # a test module is collected, before any fixture has run.
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TutelaTest")
