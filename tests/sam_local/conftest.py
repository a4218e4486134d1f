"""`sam local invoke` against a moto server: the Docker engine, the moto container and the invoker.

The functions run in SAM's Lambda containers (built FROM the stand-in image of `make local-image`) on a
Docker network of their own, where a moto server container answers as ``tutela-moto-<pid>:5000``; the tests
seed and inspect that same server through its published port on 127.0.0.1. SAM only passes environment
variables a template declares, so the invocations use a copy of the *built* template whose only change is
declaring ``AWS_ENDPOINT_URL`` (and disabling X-Ray) for every function. No Docker engine is a failure, not a
skip: `make sam-local` is part of `make test`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sysconfig
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
# The Runtime in template.yaml (pythonX.Y) names the base image SAM builds every function's container from.
_RUNTIME = re.search(r"Runtime: python(\d+\.\d+)", (ROOT / "template.yaml").read_text())
assert _RUNTIME, "template.yaml names no Runtime"
PY_VERSION = _RUNTIME.group(1)
IMAGE = f"public.ecr.aws/lambda/python:{PY_VERSION}-x86_64"
REGION = "us-east-1"
# The names the events/ files use; the handlers get them through --env-vars (declared variables only).
NAMES = {
    "UPLOAD_BUCKET": "tutela-dev-uploads-example",
    "STAGING_BUCKET": "tutela-dev-staging-example",
    "PUBLISHED_BUCKET": "tutela-dev-published-example",
    "QUARANTINE_BUCKET": "tutela-dev-quarantine-example",
    "DECISIONS_TABLE": "tutela-dev-decisions-example",
    "EVENT_BUS_NAME": "tutela-decisions-dev",
    "BANK_BUCKET": "tutela-dev-banks-example",  # empty: no hash bank imported yet
}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def _docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """The engine and the stand-in image must be there: say how to get them, and fail."""
    if shutil.which("docker") is None:
        pytest.fail("no docker client: run `make local-image` (as root) first", pytrace=False)
    info = _docker("info", check=False, timeout=30)
    if info.returncode != 0:
        pytest.fail(
            "the Docker engine is not answering; `make local-image` starts it (as root). "
            f"docker info: {info.stderr.strip()[:300]}",
            pytrace=False,
        )
    if _docker("image", "inspect", IMAGE, check=False).returncode != 0:
        pytest.fail(f"{IMAGE} is missing: run `make local-image`", pytrace=False)
    if not (BUILD / "template.yaml").is_file():
        pytest.fail(f"{BUILD}/template.yaml is missing: run `make build` first", pytrace=False)


@dataclass
class Moto:
    endpoint: str  # for the tests, on 127.0.0.1
    inside: str  # for the functions, on the Docker network
    network: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="session")
def moto(docker_engine: None) -> Iterator[Moto]:
    """A moto server in a container (the stand-in's Python + this venv's packages, read-only)."""
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    network, name = f"tutela-sam-local-{tag}", f"tutela-moto-{tag}"
    site = sysconfig.get_paths()["purelib"]
    for stale in _docker("network", "ls", "-q", "--filter", "name=tutela-sam-local-").stdout.split():
        _docker("network", "rm", stale, check=False)  # left by an interrupted run; one in use stays
    _docker("network", "create", network)
    try:
        _docker(
            "run", "-d", "--rm", "--name", name, "--network", network,
            "-p", "127.0.0.1::5000", "-v", f"{site}:/moto-site:ro", "-e", "PYTHONPATH=/moto-site",
            "--entrypoint", f"/var/lang/bin/python{PY_VERSION}", IMAGE,
            "-m", "moto.server", "-H", "0.0.0.0", "-p", "5000",
        )  # fmt: skip
        port = _docker("port", name, "5000/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        server = Moto(f"http://127.0.0.1:{port}", f"http://{name}:5000", network)
        _wait_until_answering(server, name)
        yield server
    finally:
        _docker("rm", "-f", name, check=False)
        _docker("network", "rm", network, check=False)


def _wait_until_answering(server: Moto, name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            server.client("s3").list_buckets()
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                logs = _docker("logs", name, check=False)
                pytest.fail(f"moto server did not answer: {exc}\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def invoker(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Invoker]:
    invoker = Invoker(moto, tmp_path_factory.mktemp("sam-local"))
    yield invoker
    invoker.close()


class Invoker:
    """`sam local invoke FUNCTION -e EVENT` on the built template (plus the endpoint variable)."""

    def __init__(self, moto: Moto, work: Path) -> None:
        from tutela_dev.emulator.cfn_yaml import load_template

        self.work = work
        template = load_template(BUILD / "template.yaml")
        env = template.setdefault("Globals", {}).setdefault("Function", {}).setdefault("Environment", {})
        variables = env.setdefault("Variables", {})
        variables.update({"AWS_ENDPOINT_URL": moto.inside, "POWERTOOLS_TRACE_DISABLED": "true"})
        # Next to the built template, so every CodeUri/ContentUri stays valid.
        self.template = BUILD / f"template.sam-local-{os.getpid()}.json"
        self.template.write_text(json.dumps(template))
        self.env_vars = work / "env.json"
        self.env_vars.write_text(json.dumps({"Parameters": NAMES}))
        self.network = moto.network

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        path = self.work / f"{function}.json"
        path.write_text(json.dumps(event))
        cmd = [
            str(ROOT / ".venv" / "bin" / "sam"), "local", "invoke", function,
            "--template", str(self.template), "--event", str(path), "--env-vars", str(self.env_vars),
            "--docker-network", self.network, "--skip-pull-image",
            "--parameter-overrides", "VisionBackend=local KmsEncryption=false",
        ]  # fmt: skip
        env = {**os.environ, **FAKE_CREDENTIALS, "SAM_CLI_TELEMETRY": "0"}
        env.pop("AWS_PROFILE", None)
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
        lines = [line for line in run.stdout.splitlines() if line.strip()]
        if run.returncode != 0 or not lines:
            pytest.fail(f"sam local invoke {function} exited {run.returncode}:\n{run.stderr[-3000:]}")
        result = json.loads(lines[-1])
        # SAM exits 0 even when the function raised: the runtime's error shape is the only sign.
        if isinstance(result, dict) and "errorType" in result:
            pytest.fail(
                f"{function} raised {result['errorType']}: {result.get('errorMessage')}\n{run.stderr[-3000:]}"
            )
        return dict(result) if isinstance(result, dict) else {"result": result}

    def close(self) -> None:
        self.template.unlink(missing_ok=True)
