"""Optional Amazon Comprehend DetectToxicContent signal, via botocore Stubber (no network)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tutela.aws import clients
from tutela.comments import ComprehendCallFailed, ComprehendToxicity, classify_text


def _client() -> Any:
    return boto3.client("comprehend", region_name="us-east-1")


def _response(*label_sets: dict[str, float]) -> dict[str, Any]:
    return {
        "ResultList": [
            {"Labels": [{"Name": k, "Score": v} for k, v in labels.items()], "Toxicity": max(labels.values())}
            for labels in label_sets
        ]
    }


def test_sexual_label_adds_innuendo_for_english() -> None:
    client = _client()
    text = "you know what I would like to do with you tonight"
    with Stubber(client) as stub:
        stub.add_response(
            "detect_toxic_content",
            _response({"SEXUAL": 0.93, "PROFANITY": 0.1}),
            {"TextSegments": [{"Text": text}], "LanguageCode": "en"},
        )
        r = classify_text(text, minor_context=True, comprehend=ComprehendToxicity(client=client))
        stub.assert_no_pending_responses()
    assert r["verdict"] != "allow"
    assert "sexual_innuendo" in r["categories"]
    assert any(e["rule"] == "comprehend.SEXUAL" for e in r["evidence"])


def test_low_scores_change_nothing_and_chinese_is_not_sent() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("detect_toxic_content", _response({"SEXUAL": 0.2}))
        comp = ComprehendToxicity(client=client)
        assert classify_text("lovely photo", minor_context=True, comprehend=comp)["verdict"] == "allow"
        # Chinese text: no call is made (no response queued for it)
        assert classify_text("宝宝好可爱", minor_context=True, comprehend=comp)["verdict"] == "allow"
        stub.assert_no_pending_responses()


def test_comprehend_failure_fails_closed() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("detect_toxic_content", service_error_code="ThrottlingException")
        r = classify_text("lovely photo", minor_context=False, comprehend=ComprehendToxicity(client=client))
    assert r["verdict"] == "review"
    assert r["degraded"] == "comprehend_unavailable"


def test_batches_of_ten_and_segment_limit() -> None:
    client = _client()
    texts = [f"comment {i} " + "x" * 2000 for i in range(12)]
    with Stubber(client) as stub:
        stub.add_response("detect_toxic_content", _response(*[{"SEXUAL": 0.1}] * 10))
        stub.add_response("detect_toxic_content", _response(*[{"SEXUAL": 0.9}] * 2))
        labels = ComprehendToxicity(client=client).labels(texts)
    assert len(labels) == 12 and labels[-1]["SEXUAL"] == 0.9


def test_wrong_result_length_is_an_error() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("detect_toxic_content", _response())
        with pytest.raises(ComprehendCallFailed):
            ComprehendToxicity(client=client).labels(["a"])


def test_client_is_created_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = _client()

    def fake_client(name: str, config: Any = None) -> Any:
        made.append(name)
        return real

    # the one home of AWS clients (aws/clients.py), asked on first use only
    monkeypatch.setattr(clients, "client", fake_client)
    comp = ComprehendToxicity()
    assert made == []
    comp._get_client()
    comp._get_client()
    assert made == ["comprehend"]


def test_a_failed_call_on_a_comment_with_rule_hits_is_held_with_the_rules_findings() -> None:
    """Promise: when Comprehend fails on a comment the rules stage did score, the comment is held for review
    (at least low severity, marked degraded) and keeps what the rules found."""
    for text in ("what school", "add me", "dm me"):  # rule hits the classifier allows under an adult
        plain = classify_text(text, minor_context=False)
        assert plain["verdict"] == "allow"
        client = _client()
        with Stubber(client) as stub:
            stub.add_client_error("detect_toxic_content", service_error_code="ThrottlingException")
            held = classify_text(text, minor_context=False, comprehend=ComprehendToxicity(client=client))
        assert held["verdict"] == "review" and held["degraded"] == "comprehend_unavailable"
        assert held["severity"] == max(plain["severity"], 1)
        assert (held["categories"], held["score"]) == (plain["categories"], plain["score"])
