"""Step contracts, the ASL check against them, settings at INIT, and the batch verdict policy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, load_event
from tutela.aws.settings import ActSettings, ClassifySettings, at_init
from tutela.contracts import ActInput, DecideInput, RecordInput, RecordOutput, StepInput
from tutela.errors import ConfigurationError, InvalidInputError
from tutela.policy.comments import summarize


@pytest.mark.parametrize(
    ("contract", "event"),
    [
        (StepInput, "scan_media"),
        (StepInput, "classify_comments"),
        (RecordInput, "record_media_analysis"),
        (RecordInput, "record_decision"),
        (ActInput, "act"),
    ],
)
def test_sample_events_round_trip_through_their_contract(contract: Any, event: str) -> None:
    raw = load_event(event)
    parsed = contract.from_event(raw)
    again = contract.from_event(parsed.to_event())
    assert again == parsed
    assert set(parsed.to_event()) == set(contract.FIELDS)


def test_contracts_refuse_what_they_cannot_parse() -> None:
    with pytest.raises(InvalidInputError):
        StepInput.from_event({"detail": {"bucket": {"name": "b"}}})
    with pytest.raises(InvalidInputError):
        StepInput.from_event({**load_event("scan_media"), "execution_id": 7})
    with pytest.raises(InvalidInputError):
        DecideInput.from_event({"detail": {}, "analysis": [{"scan": {}}]})
    with pytest.raises(InvalidInputError):
        ActInput.from_event({**load_event("act"), "decision": {"verdict": "allow"}})  # not recorded
    with pytest.raises(InvalidInputError):
        RecordOutput.from_event({"decision": {}})


def test_decide_input_treats_an_unsaid_verification_as_unverified() -> None:
    """Promise: never allow an unverified scrub (fail closed when the report does not say)."""
    analysis = load_event("record_media_analysis")["decision"]
    analysis["analysis"][1]["scrub"].pop("verified")
    assert DecideInput.from_event(analysis).scrub["verified"] is False


def test_check_asl_checks_the_state_machine_against_the_contracts(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import check_asl
    finally:
        sys.path.pop(0)
    asl, template = ROOT / "statemachine/moderation.asl.json", ROOT / "template.yaml"
    assert check_asl.main(str(asl), str(template)) == 0
    text = asl.read_text()
    for broken in (
        text.replace('"execution_id.$": "$.execution_id",', "", 1),  # ScanMedia loses a contract field
        text.replace("$.record.duplicate", "$.record.dup"),  # a path the RecordOutput has no field for
    ):
        bad = tmp_path / "bad.asl.json"
        bad.write_text(broken)
        json.loads(broken)
        assert check_asl.main(str(bad), str(template)) == 1


def test_a_missing_setting_is_a_configuration_error_at_every_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 9: a missing setting raised InvalidInputError (blamed on the upload)."""
    for var in ("DECISIONS_TABLE", "EVENT_BUS_NAME", "PUBLISHED_BUCKET", "QUARANTINE_BUCKET"):
        monkeypatch.setenv(var, "x")
    assert at_init(ActSettings.from_env)().published_bucket == "x"
    monkeypatch.delenv("PUBLISHED_BUCKET")
    get = at_init(ActSettings.from_env)  # parsed now, at INIT: never an import error
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="PUBLISHED_BUCKET"):
            get()


def test_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_BUCKET", "s")
    monkeypatch.setenv("DECISIONS_TABLE", "t")
    monkeypatch.setenv("MAX_COMMENTS_PER_BATCH", "lots")
    with pytest.raises(ConfigurationError):
        ClassifySettings.from_env(__import__("os").environ)
    monkeypatch.setenv("MAX_COMMENTS_PER_BATCH", "10")
    monkeypatch.setenv("COMMENTS_COMPREHEND", "yes")
    with pytest.raises(ConfigurationError):
        ClassifySettings.from_env(__import__("os").environ)


def test_batch_verdict_is_the_worst_comment_with_its_severity() -> None:
    """Issue 9 mutation 'batch severity always 0' survived the suite."""
    results = [
        {"verdict": "allow", "severity": 0, "categories": []},
        {"verdict": "block", "severity": 3, "categories": ["grooming"]},
        {"verdict": "review", "severity": 1, "categories": [], "error": "x", "code": "bidi_control"},
    ]
    batch = summarize(results)
    assert (batch.verdict, batch.severity) == ("block", 3)
    assert batch.counts == {"allow": 1, "block": 1, "review": 1}
    assert [(r["code"], r["count"]) for r in batch.reasons] == [("comment_grooming", 1), ("bidi_control", 1)]
    assert summarize([]).verdict == "allow"


class _Recording(dict):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        if key.startswith("MAX_") or key.endswith(("_BYTES", "_DAYS")):
            return "1"
        return {
            "VISION_BACKEND": "local",
            "COMMENTS_COMPREHEND": "false",
            "RETIRE_ORIGINALS": "true",
            "COMMENTS_LLM": "amazon.nova-micro-v1:0",  # set, so its own settings are read too
            "COMMENTS_LLM_SCOPE": "all",
            "COMMENTS_LLM_BATCH_TOKENS": "30000",
        }.get(key, "x")


SETTINGS = {
    "ScanMediaFunction": "ScanSettings",
    "ScrubGeotagsFunction": "ScrubSettings",
    "ClassifyCommentsFunction": "ClassifySettings",
    "RecordDecisionFunction": "RecordSettings",
    "ActFunction": "ActSettings",
    "ClassifyPostFunction": "PostSettings",
    "PostContextFunction": "ReevaluateSettings",
    "RemodPlanFunction": "RemodPlanSettings",
    "RemoderateFunction": "ReevaluateSettings",
    "ReviewApiFunction": "ReviewApiSettings",
}


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_every_variable_the_template_declares_is_read(template: dict[str, Any], function: str) -> None:
    """Issue 9: dead env vars (UPLOAD_BUCKET, TUTELA_STAGE, unread STAGING_BUCKETs) - none may come back."""
    from tutela.aws import settings

    declared = set(template["Resources"][function]["Properties"]["Environment"]["Variables"])
    declared |= set(template["Globals"]["Function"]["Environment"]["Variables"])
    env = _Recording()
    getattr(settings, SETTINGS[function]).from_env(env)
    # Powertools' and numpy's OpenBLAS's own variables are read by those libraries, not by the settings.
    unread = {v for v in declared - env.read if not v.startswith(("POWERTOOLS_", "OPENBLAS_"))}
    assert not unread, f"{function} declares {sorted(unread)} but never reads them"
