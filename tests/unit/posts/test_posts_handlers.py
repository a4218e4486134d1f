"""ClassifyPost and PostContext handlers on moto, with the sample events in events/ (as sam local invoke)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import create_decisions_table, load_event
from tests.unit.test_handlers import PUBLISHED, QUARANTINE, STAGING, UPLOADS, handler
from tutela.errors import InvalidInputError, LimitExceededError


@pytest.fixture
def env(aws: None, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    s3 = boto3.client("s3")
    for bucket in (UPLOADS, STAGING, PUBLISHED, QUARANTINE):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
    table = create_decisions_table(boto3.client("dynamodb"), template)
    boto3.client("events").create_event_bus(Name="decisions")
    settings = {
        "STAGING_BUCKET": STAGING,
        "PUBLISHED_BUCKET": PUBLISHED,
        "QUARANTINE_BUCKET": QUARANTINE,
        "DECISIONS_TABLE": table,
        "EVENT_BUS_NAME": "decisions",
    }
    for k, v in settings.items():
        monkeypatch.setenv(k, v)
    return {"s3": s3, "table": boto3.resource("dynamodb").Table(table)}


def upload(env: dict[str, Any], event: dict[str, Any], body: bytes) -> dict[str, Any]:
    obj = event["detail"]["object"]
    event["detail"]["bucket"]["name"] = UPLOADS
    obj["version-id"] = env["s3"].put_object(Bucket=UPLOADS, Key=obj["key"], Body=body)["VersionId"]
    obj["size"] = len(body)
    return event


def test_classify_post_stages_the_judged_coarsened_post(env: dict[str, Any], lambda_context: Any) -> None:
    post = {
        "post_id": "post-456",
        "caption": "My 8-year-old's first dance recital",
        "location": {"name": "Town hall", "lat": 48.858370, "lon": 2.294481},
        "uploader": "u-9",
    }
    event = upload(env, load_event("classify_post"), json.dumps(post).encode())
    out = handler("classify_post")(event, lambda_context)
    assert out["kind"] == "post" and out["minor_declared"] is True and out["verdict"] == "review"
    assert "48.858" not in json.dumps(out)
    staged = json.loads(env["s3"].get_object(Bucket=STAGING, Key=out["staged"]["key"])["Body"].read())
    assert staged == {
        "post_id": "post-456",
        "caption": "My 8-year-old's first dance recital",
        "location": {"name": "Town hall", "lat": 48.9, "lon": 2.3},
    }
    assert out["staged"]["key"].startswith("post-results/")


@pytest.mark.parametrize(
    ("body", "error"),
    [(b'{"post_id": "other", "caption": "x"}', InvalidInputError), (b"x" * 70000, LimitExceededError)],
)
def test_classify_post_refuses_bad_files(
    env: dict[str, Any], lambda_context: Any, body: bytes, error: type[Exception]
) -> None:
    event = upload(env, load_event("classify_post"), body)
    with pytest.raises(error):
        handler("classify_post")(event, lambda_context)


def test_post_context_raises_the_flags_once(env: dict[str, Any], lambda_context: Any) -> None:
    event = load_event("post_context")
    first = handler("post_context")(event, lambda_context)
    again = handler("post_context")(event, lambda_context)
    assert first == {"raised": ["text_minor"], "reevaluated": 0, "first": []}
    assert again["raised"] == []  # already raised: never written twice, never lowered
    flags = env["table"].get_item(Key={"pk": "post#post-456", "sk": "flag#text_minor"})["Item"]
    assert flags["source"]["pk"] == "obj#tutela-dev-uploads-example/posts/post-456.json"


def test_post_context_refuses_other_decisions(env: dict[str, Any], lambda_context: Any) -> None:
    event = {**load_event("post_context"), "decision": {"kind": "media", "verdict": "allow"}}
    with pytest.raises(InvalidInputError):
        handler("post_context")(event, lambda_context)
