"""AWS adapters that only a deployed stack reached, pinned with botocore's Stubber (no network, no moto):
the stack lookups the CLI and the redriver depend on, and the S3 error codes that mean "not there"."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tutela.aws import clients
from tutela.aws.banks import S3Blobs
from tutela.aws.redrive import Targets
from tutela.aws.s3 import S3
from tutela.aws.stack_outputs import stack_output

REGION = "us-east-1"
STACK = "tutela-dev"


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def cfn() -> Iterator[tuple[Any, Stubber]]:
    client = _client("cloudformation")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _stack(outputs: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "CreationTime": "2026-12-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": outputs,
            }
        ]
    }


def _resource(logical: str, physical: str) -> dict[str, Any]:
    return {
        "StackResourceDetail": {
            "LogicalResourceId": logical,
            "PhysicalResourceId": physical,
            "ResourceType": "AWS::Lambda::Function",
            "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
            "ResourceStatus": "CREATE_COMPLETE",
        }
    }


def test_stack_output_is_the_value_of_exactly_the_named_output(
    cfn: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: `tutela review --stack NAME` talks to the URL the stack publishes as ReviewApiUrl, not to
    another output's value; a stack without that output gives None (the CLI then says so)."""
    client, stub = cfn
    outputs = [
        {"OutputKey": "StateMachineArn", "OutputValue": "arn:aws:states:us-east-1:1:stateMachine:m"},
        {"OutputKey": "ReviewApiUrl", "OutputValue": "https://abc.execute-api.us-east-1.amazonaws.com/v1"},
    ]
    stub.add_response("describe_stacks", _stack(outputs), {"StackName": STACK})
    stub.add_response("describe_stacks", _stack(outputs[:1]), {"StackName": STACK})
    clients.override("cloudformation", client)
    try:
        assert stack_output(STACK, "ReviewApiUrl") == "https://abc.execute-api.us-east-1.amazonaws.com/v1"
        assert stack_output(STACK, "ReviewApiUrl") is None
    finally:
        clients.override("cloudformation", None)


def test_redrive_targets_are_the_stacks_own_queue_machine_and_functions(cfn: tuple[Any, Stubber]) -> None:
    """Promise: `tutela redrive --stack NAME` replays into that stack's dead-letter queue, state machine
    and tail functions (each physical name from its own logical id), and a stack without the review API
    has no review target rather than a wrong one."""
    client, stub = cfn
    outputs = [
        {"OutputKey": "DeadLetterQueueUrl", "OutputValue": "https://sqs.us-east-1.amazonaws.com/1/dlq"},
        {"OutputKey": "StateMachineArn", "OutputValue": "arn:aws:states:us-east-1:1:stateMachine:m"},
    ]
    for review in (True, False):
        stub.add_response("describe_stacks", _stack(outputs), {"StackName": STACK})
        ask = {"StackName": STACK, "LogicalResourceId": "ReviewApiFunction"}
        if review:
            stub.add_response("describe_stack_resource", _resource("ReviewApiFunction", "fn-review"), ask)
        else:
            stub.add_client_error("describe_stack_resource", "ValidationError", expected_params=ask)
        for logical, physical in (("RecordDecisionFunction", "fn-record"), ("ActFunction", "fn-act")):
            stub.add_response(
                "describe_stack_resource",
                _resource(logical, physical),
                {"StackName": STACK, "LogicalResourceId": logical},
            )
    assert Targets.from_stack(STACK, client) == Targets(
        "https://sqs.us-east-1.amazonaws.com/1/dlq",
        "arn:aws:states:us-east-1:1:stateMachine:m",
        "fn-record",
        "fn-act",
        "fn-review",
    )
    assert Targets.from_stack(STACK, client).review_function is None


def _s3_stubbed() -> tuple[Any, Stubber]:
    client = _client("s3")
    return client, Stubber(client)


def test_bank_blobs_read_bytes_none_when_absent_and_raise_on_anything_else() -> None:
    """Promise: a bank object that does not exist yet reads as None (a new bank starts empty), while any
    other failure (access denied) is raised, never mistaken for an empty bank."""
    client, stub = _s3_stubbed()
    ask = {"Bucket": "banks", "Key": "index.json"}
    stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(b'{"v":1}'), 7)}, ask)
    stub.add_client_error("get_object", "NoSuchKey", http_status_code=404, expected_params=ask)
    stub.add_client_error("get_object", "AccessDenied", http_status_code=403, expected_params=ask)
    blobs = S3Blobs("banks", client)
    with stub:
        assert blobs.get("index.json") == b'{"v":1}'
        assert blobs.get("index.json") is None
        with pytest.raises(ClientError, match="AccessDenied"):
            blobs.get("index.json")


@pytest.mark.parametrize(
    ("code", "status"),
    [("404", 404), ("NoSuchKey", 404), ("NoSuchVersion", 404), ("NotFound", 404), ("405", 405)],
)
def test_head_reads_every_not_there_code_as_none(code: str, status: int) -> None:
    """Promise: S3.head answers None for a key or version that is not there, whichever code S3 uses (a
    HEAD has no body: 404/405 bare; NoSuchVersion for a version id; 405 for a delete marker), so callers
    (mark_decided, the review adapters) treat a deleted upload as gone, not as a failed step."""
    client, stub = _s3_stubbed()
    ask = {"Bucket": "up", "Key": "k", "VersionId": "v1"}
    stub.add_client_error("head_object", code, http_status_code=status, expected_params=ask)
    with stub:
        assert S3(client).head("up", "k", "v1") is None


def test_head_raises_what_is_not_absence() -> None:
    """Promise: a denied or failed HEAD is an error (retried or reported), never "the object is gone"."""
    client, stub = _s3_stubbed()
    stub.add_response("head_object", {"ContentLength": 3, "ETag": '"e"'}, {"Bucket": "up", "Key": "k"})
    stub.add_client_error(
        "head_object", "403", http_status_code=403, expected_params={"Bucket": "up", "Key": "k"}
    )
    with stub:
        head = S3(client).head("up", "k")
        assert head is not None and head["ContentLength"] == 3 and head["ETag"] == '"e"'
        with pytest.raises(ClientError):
            S3(client).head("up", "k")


def test_a_conditional_bank_read_of_a_missing_index_makes_the_first_write_create_only() -> None:
    """Promise: when the bank index does not exist yet (S3 may say 404 or NoSuchKey), the writer's index
    write is create-only (If-None-Match), so two first writers cannot both win."""
    from tutela.aws.banks import ConditionalS3Blobs
    from tutela.bank.store import INDEX_KEY

    client, stub = _s3_stubbed()
    stub.add_client_error(
        "get_object", "404", http_status_code=404, expected_params={"Bucket": "banks", "Key": INDEX_KEY}
    )
    stub.add_response(
        "put_object",
        {"ETag": '"new"'},
        {"Bucket": "banks", "Key": INDEX_KEY, "Body": b"{}", "IfNoneMatch": "*"},
    )
    blobs = ConditionalS3Blobs("banks", client)
    with stub:
        assert blobs.get(INDEX_KEY) is None
        blobs.put(INDEX_KEY, b"{}")
        stub.assert_no_pending_responses()


def test_exporting_comment_records_reads_every_page_of_the_table() -> None:
    """Promise: `tutela comments-export-labels --table` exports every comment record and review outcome,
    not just the first 1 MB page of the scan (each next page starts where the last one stopped)."""
    from tutela.aws.store import DecisionStore

    class Paged:
        def __init__(self) -> None:
            self.asked: list[dict[str, Any]] = []

        def scan(self, **kwargs: Any) -> dict[str, Any]:
            self.asked.append(kwargs)
            if "ExclusiveStartKey" not in kwargs:
                return {"Items": [{"pk": "a", "kind": "comment"}], "LastEvaluatedKey": {"pk": "a"}}
            assert kwargs["ExclusiveStartKey"] == {"pk": "a"}
            return {"Items": [{"pk": "b", "kind": "comment_review"}]}

    store = DecisionStore("decisions")
    store._table = table = Paged()
    assert [r["pk"] for r in store.scan_comment_records()] == ["a", "b"]
    assert len(table.asked) == 2 and table.asked[0]["ExpressionAttributeValues"] == {
        ":c": "comment",
        ":r": "comment_review",
    }
