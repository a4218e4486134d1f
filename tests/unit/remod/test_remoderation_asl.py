"""The re-moderation machine's shape: what moto runs (tests/integration/test_remoderation.py) must also be
what AWS needs at scale - a Distributed Map reading the upload bucket's listing and then the published
bucket's, bounded concurrency, a failure budget, results written to S3 - and check_asl.py refuses a
definition that drops any of it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

ASL = ROOT / "statemachine" / "remoderation.asl.json"


@pytest.fixture
def asl() -> dict[str, Any]:
    return dict(json.loads(ASL.read_text()))


def test_backfill_is_a_distributed_map_over_the_upload_then_the_published_bucket(asl: dict[str, Any]) -> None:
    states = asl["States"]
    m = states["Backfill"]
    assert m["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket.$": "$.listing.bucket", "Prefix.$": "$.prefix"},
    }
    # the listed bucket is one of two the template names, set by the machine (never by the input):
    # originals still current first, then the copies of allowed uploads (their originals are retired)
    assert states["Versions"]["Next"] == "ListUploads"
    assert states["ListUploads"] == {
        **states["ListUploads"],
        "Type": "Pass",
        "Parameters": {"bucket": "${UploadBucketName}", "source": "uploads"},
        "ResultPath": "$.listing",
        "Next": "Backfill",
    }
    assert states["ListPublished"] == {
        **states["ListPublished"],
        "Type": "Pass",
        "Parameters": {"bucket": "${PublishedBucketName}", "source": "published"},
        "ResultPath": "$.listing",
        "Next": "Backfill",
    }
    assert {n for n, st in states.items() if st.get("Next") == "Backfill"} == {"ListUploads", "ListPublished"}
    assert m["Next"] == "Listed"
    assert states["Listed"]["Choices"] == [
        {"Variable": "$.listing.source", "StringEquals": "uploads", "Next": "KeepUploadResults"}
    ]
    assert states["Listed"]["Default"] == "BackfillDone"  # after the published listing: done, no loop
    assert states["KeepUploadResults"]["ResultPath"] == "$.upload_results"
    assert states["KeepUploadResults"]["Next"] == "ListPublished"
    assert m["ItemSelector"]["key.$"] == "$$.Map.Item.Value.Key"
    assert m["ItemSelector"]["source.$"] == "$.listing.source"
    assert set(m["ItemSelector"]) == {"key.$", "since.$", "dry_run.$", "versions.$", "source.$"}
    assert m["ItemProcessor"]["States"]["Plan"]["Parameters"]["source.$"] == "$.source"
    assert m["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert 1 <= m["MaxConcurrency"] <= 100  # bounded: Rekognition and Lambda quotas are shared with uploads
    assert 0 <= m["ToleratedFailurePercentage"] <= 5
    assert m["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert m["ResultWriter"]["Parameters"] == {
        "Bucket": "${ResultsBucketName}",
        "Prefix": "remoderation-runs/",
    }
    inner = m["ItemProcessor"]["States"]
    assert inner["Plan"]["Resource"] == "${RemodPlanFunctionArn}"
    assert inner["Scan"]["Catch"][0]["Next"] == "HoldMedia"  # fail closed: an unscannable version is held
    assert {inner[s]["Resource"] for s in ("RemoderateMedia", "HoldMedia", "RemoderateComments")} == {
        "${RemoderateFunctionArn}"
    }


def test_the_ruleset_comes_from_the_scanner_before_any_item(asl: dict[str, Any]) -> None:
    assert asl["States"]["Probe"]["Parameters"] == {"op": "versions"}
    assert asl["States"]["Probe"]["Next"] == "Versions" and asl["States"]["Versions"]["Next"] == "ListUploads"
    assert asl["States"]["Backfill"]["ItemProcessor"]["States"]["Scan"]["Parameters"]["banks.$"] == (
        "$.plan.ruleset.banks"
    )  # the scan uses at least the bank version the run is keyed on


def test_a_bank_snapshot_event_starts_the_retro_map(asl: dict[str, Any]) -> None:
    mode = asl["States"]["Mode"]["Choices"][0]
    assert mode == {"Variable": "$.detail.object.key", "IsPresent": True, "Next": "FromBankEvent"}
    retro = asl["States"]["RetroShards"]
    assert retro["ItemsPath"] == "$.retro.shards"
    assert retro["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    pages = retro["ItemProcessor"]["States"]
    assert pages["MorePages"]["Choices"][0]["Next"] == "NextPage" and pages["NextPage"]["Next"] == "Page"


def _check_asl() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import check_asl
    finally:
        sys.path.pop(0)
    return check_asl


@pytest.mark.parametrize(
    "field", ["ItemSelector", "MaxConcurrency", "ToleratedFailurePercentage", "ResultWriter"]
)
def test_check_asl_refuses_a_distributed_map_without(field: str, asl: dict[str, Any], tmp_path: Path) -> None:
    check_asl = _check_asl()
    template = str(ROOT / "template.yaml")
    assert check_asl.main(str(ASL), template) == 0
    del asl["States"]["Backfill"][field]
    bad = tmp_path / "remoderation.asl.json"  # the same name: checked against its own machine's substitutions
    bad.write_text(json.dumps(asl))
    assert check_asl.main(str(bad), template) == 1


def test_check_asl_requires_transient_retries_inside_item_processors(
    asl: dict[str, Any], tmp_path: Path
) -> None:
    check_asl = _check_asl()
    del asl["States"]["Backfill"]["ItemProcessor"]["States"]["Plan"]["Retry"]
    bad = tmp_path / "remoderation.asl.json"
    bad.write_text(json.dumps(asl))
    assert check_asl.main(str(bad), str(ROOT / "template.yaml")) == 1


@pytest.mark.parametrize(
    "break_it",
    [
        lambda st: st["ListPublished"]["Parameters"].update(bucket="$.bucket"),  # not the template's
        lambda st: st["ListUploads"].update(Type="Wait", Seconds=1),  # not a Pass that sets it
        lambda st: st["ListUploads"].update(ResultPath="$.other"),  # sets something else
        lambda st: st["Backfill"]["ItemReader"]["Parameters"].update({"Bucket.$": "$.bucket"}),  # the input's
        lambda st: st["Versions"].update(Next="Backfill"),  # a path in that sets nothing
    ],
)
def test_check_asl_refuses_a_listing_of_a_bucket_the_template_does_not_name(
    break_it: Any, asl: dict[str, Any], tmp_path: Path
) -> None:
    check_asl = _check_asl()
    break_it(asl["States"])
    bad = tmp_path / "remoderation.asl.json"
    bad.write_text(json.dumps(asl))
    assert check_asl.main(str(bad), str(ROOT / "template.yaml")) == 1
