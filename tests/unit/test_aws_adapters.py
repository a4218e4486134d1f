"""The AWS adapters: one classification of retryable failures, bounded reads, idempotent helpers."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from tutela.aws.bus import DecisionBus
from tutela.aws.errors import is_retryable, transient_errors
from tutela.aws.s3 import S3
from tutela.aws.step import step
from tutela.errors import LimitExceededError, TransientError
from tutela.objects import ObjectRef, version_args


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    "exc",
    [
        _client_error("ThrottlingException"),
        _client_error("SlowDown", 503),
        _client_error("ProvisionedThroughputExceededException"),
        _client_error("Whatever", 500),
        _client_error("", 503),
        EndpointConnectionError(endpoint_url="https://s3"),
        ReadTimeoutError(endpoint_url="https://s3"),
    ],
)
def test_throttling_5xx_and_network_errors_are_transient(exc: Exception, lambda_context: Any) -> None:
    """Promise: the ASL retries throttling and 5xx (issue 9: '@step no longer maps throttling/5xx to
    TransientError' survived; aws/errors.py had no test)."""
    assert is_retryable(exc)

    @step
    def handler(event: Any, context: Any) -> Any:
        raise exc

    with pytest.raises(TransientError):
        handler({}, lambda_context)


@pytest.mark.parametrize(
    "code", ["AccessDenied", "NoSuchKey", "ValidationException", "ConditionalCheckFailedException"]
)
def test_client_faults_are_not_retried(code: str) -> None:
    exc = _client_error(code)
    assert not is_retryable(exc)
    with pytest.raises(ClientError), transient_errors():
        raise exc


def test_read_bytes_refuses_an_object_over_its_limit(aws: None) -> None:
    """Issue 9 mutation 'S3.read_bytes ignores max_bytes' survived."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="k", Body=b"x" * 100)
    assert S3().read_bytes(ObjectRef("bkt", "k"), max_bytes=100) == b"x" * 100
    with pytest.raises(LimitExceededError):
        S3().read_bytes(ObjectRef("bkt", "k"), max_bytes=99)


def test_head_is_none_for_a_missing_key_or_version(aws: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bkt")
    s3.put_bucket_versioning(Bucket="bkt", VersioningConfiguration={"Status": "Enabled"})
    v = s3.put_object(Bucket="bkt", Key="k", Body=b"x")["VersionId"]
    assert S3().head("bkt", "k", v)["ContentLength"] == 1  # type: ignore[index]
    assert S3().head("bkt", "missing") is None
    s3.delete_object(Bucket="bkt", Key="k", VersionId=v)
    assert S3().head("bkt", "k", v) is None


def test_version_null_means_no_version_argument() -> None:
    assert version_args(None) == version_args("null") == version_args("") == {}
    assert version_args("abc") == {"VersionId": "abc"}
    assert ObjectRef("b", "k", "null").version_args() == {}


def test_rejected_events_are_resent_alone() -> None:
    """An entry EventBridge accepted is never sent twice; the rejected one is."""
    client = boto3.client("events", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"EventId": "1"}, {"ErrorCode": "ThrottlingException"}]},
    )
    stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "2"}]})
    sent: list[list[str]] = []
    real = client.put_events

    def spy(**kw: Any) -> Any:
        sent.append([e["DetailType"] for e in kw["Entries"]])
        return real(**kw)

    client.put_events = spy  # type: ignore[method-assign]
    with stub:
        DecisionBus("bus", client).publish_all([("A", {"n": 1}), ("B", {"n": 2})])
    assert sent == [["A", "B"], ["B"]]
    stub.assert_no_pending_responses()


def test_events_that_stay_rejected_are_a_transient_error() -> None:
    client = boto3.client("events", region_name="us-east-1")
    stub = Stubber(client)
    for _ in range(3):
        stub.add_response(
            "put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
        )
    with stub, pytest.raises(TransientError):
        DecisionBus("bus", client).publish_all([("A", {"n": 1})])


@pytest.mark.parametrize(
    ("value", "on"), [(None, True), ("", True), ("false", True), ("1", False), ("True", False)]
)
def test_tracing_is_on_unless_the_template_turns_it_off(
    value: str | None, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: X-Ray tracing follows the template's Tracing parameter (POWERTOOLS_TRACE_DISABLED), and a
    function deployed without that variable traces (the default), rather than failing at INIT."""
    from tutela.aws.step import tracing_enabled

    if value is None:
        monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert tracing_enabled() is on
