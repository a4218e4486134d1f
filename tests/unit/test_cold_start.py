"""What a cold start imports: the X-Ray SDK only when tracing is on; Act never loads the comment
classifier. Checked in a fresh interpreter (a test process has imported everything already)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def loaded_after_import(function: str, modules: list[str], **env: str) -> dict[str, bool]:
    code = (
        "import sys, importlib.util\n"
        f"sys.path[:0] = [{str(ROOT / 'functions' / function)!r}, {str(ROOT / 'layers' / 'core')!r}]\n"
        "spec = importlib.util.spec_from_file_location('app', sys.path[0] + '/app.py')\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"print(' '.join(str(n in sys.modules) for n in {modules!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(zip(modules, (w == "True" for w in out.stdout.split()), strict=True))


@pytest.mark.parametrize("function", ["act"])
def test_xray_sdk_is_imported_only_when_tracing_is_on(function: str) -> None:
    off = loaded_after_import(function, ["aws_xray_sdk"], POWERTOOLS_TRACE_DISABLED="true")
    on = loaded_after_import(function, ["aws_xray_sdk"], POWERTOOLS_TRACE_DISABLED="false")
    assert off == {"aws_xray_sdk": False}
    assert on == {"aws_xray_sdk": True}


def test_post_context_reads_no_lexicon_at_init() -> None:
    """PostContext needs the classifier, and the re-evaluation with Act's planning, only when it re-evaluates
    (a post that declares a child)."""
    mods = ["tutela.comments.lexicon", "tutela.comments.llm", "tomllib"]
    mods += ["tutela.act", "tutela.posts.reevaluate"]
    loaded = loaded_after_import("post_context", mods, POWERTOOLS_TRACE_DISABLED="true")
    assert loaded == dict.fromkeys(mods, False)


def test_act_does_not_load_the_classifier() -> None:
    loaded = loaded_after_import(
        "act", ["tutela.comments.classify", "pypinyin"], POWERTOOLS_TRACE_DISABLED="true"
    )
    assert loaded == {"tutela.comments.classify": False, "pypinyin": False}


FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "scan_media"])
def test_no_handler_imports_boto3_or_importlib_resources_at_init(function: str) -> None:
    """boto3 (and botocore's client machinery, ~100 ms) comes with the first client, in the first request;
    importlib.resources (tempfile, shutil, bz2, lzma: ~10 ms) is never needed to read our own data files."""
    mods = ["boto3", "botocore.client", "botocore.config", "importlib.resources"]
    loaded = loaded_after_import(function, mods, POWERTOOLS_TRACE_DISABLED="true")
    assert loaded == dict.fromkeys(mods, False)


def test_review_api_loads_only_the_api_gateway_resolver() -> None:
    used = "aws_lambda_powertools.event_handler.api_gateway"
    unused = [
        "aws_lambda_powertools.event_handler.appsync",
        "aws_lambda_powertools.utilities.data_classes.code_pipeline_job_event",
        "asyncio",
        "zipfile",
    ]
    loaded = loaded_after_import("review_api", [used, *unused], POWERTOOLS_TRACE_DISABLED="true")
    assert loaded == {used: True, **dict.fromkeys(unused, False)}


def test_reexports_are_read_from_the_package_source() -> None:
    from tutela.aws.imports import reexports

    source = "from .a import X, Y as Z\nfrom . import b\nfrom .c import *\nfrom os import path\nimport json\n"
    assert reexports(source) == {"X": ("a", "X"), "Z": ("a", "Y")}


def test_a_deferred_package_still_gives_every_name_it_defines() -> None:
    """tutela.aws.imports: the package's __init__ runs on the first use of a name it defines (and only then),
    in the module object everyone already holds; submodules import as usual before and after."""
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(ROOT / 'layers' / 'core')!r}]\n"
        "from tutela.aws.imports import defer_package_init\n"
        "defer_package_init('aws_lambda_powertools.event_handler')\n"
        "from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver\n"
        "import aws_lambda_powertools.event_handler as pkg\n"
        "before = 'aws_lambda_powertools.event_handler.appsync' in sys.modules\n"
        "from aws_lambda_powertools.event_handler import AppSyncResolver, APIGatewayHttpResolver as again\n"
        "from aws_lambda_powertools.event_handler import content_types\n"
        "import aws_lambda_powertools as root\n"
        "print(before, again is APIGatewayHttpResolver, AppSyncResolver.__name__,\n"
        "      sys.modules['aws_lambda_powertools.event_handler'] is pkg is root.event_handler,\n"
        "      content_types.APPLICATION_JSON)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "AppSyncResolver", "True", "application/json"]


def test_a_deferred_package_serves_its_reexports_from_their_submodules() -> None:
    """A name the package's __init__ imports from one of its submodules comes from that submodule alone;
    a name it does not re-export (here ``__all__``) runs the __init__."""
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(ROOT / 'layers' / 'core')!r}]\n"
        "from tutela.aws.imports import defer_package_init\n"
        "name = 'aws_lambda_powertools.utilities.data_classes'\n"
        "defer_package_init(name)\n"
        "from aws_lambda_powertools.utilities.data_classes import SQSEvent, ALBEvent\n"
        "from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent as direct\n"
        "unused = name + '.code_pipeline_job_event'\n"
        "before = unused in sys.modules\n"
        "every = sys.modules[name].__all__\n"
        "print(SQSEvent is direct, ALBEvent.__name__, before, unused in sys.modules, 'SQSEvent' in every)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "ALBEvent", "False", "True", "True"]


def test_classify_comments_loads_the_llm_stage_only_when_it_is_configured() -> None:
    """Stage 3 is off by default: its prompts, answer validation and Bedrock adapter stay out of INIT; with
    COMMENTS_LLM set they load at INIT (not in the first request)."""
    mods = ["tutela.comments.llm", "tutela.aws.bedrock"]
    env = {"POWERTOOLS_TRACE_DISABLED": "true", "STAGING_BUCKET": "b", "DECISIONS_TABLE": "t"}
    off = loaded_after_import("classify_comments", mods, **env, COMMENTS_LLM="")
    on = loaded_after_import("classify_comments", mods, **env, COMMENTS_LLM="amazon.nova-micro-v1:0")
    assert off == dict.fromkeys(mods, False)
    assert on == dict.fromkeys(mods, True)


@pytest.mark.parametrize(
    "function", [f for f in FUNCTIONS if f not in ("scan_media", "classify_comments", "classify_post")]
)
def test_no_handler_builds_a_dataclass_at_init(function: str) -> None:
    """Each ``@dataclass`` costs 2-5M instructions at import (its methods compiled from source): what a
    handler loads at INIT uses ``tutela.record`` instead (settings, contracts, decisions...)."""
    code = (
        "import sys, importlib.util\n"
        f"sys.path[:0] = [{str(ROOT / 'functions' / function)!r}, {str(ROOT / 'layers' / 'core')!r}]\n"
        "spec = importlib.util.spec_from_file_location('app', sys.path[0] + '/app.py')\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(sorted(f'{n}.{v.__name__}' for n, mod in list(sys.modules.items()) if n.startswith('tutela')\n"
        "             for v in list(vars(mod).values())\n"
        "             if isinstance(v, type) and v.__module__ == n and '__dataclass_fields__' in vars(v)))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
