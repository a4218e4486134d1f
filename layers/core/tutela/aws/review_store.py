"""The decisions table as the review store: queue entries, append-only review records, strikes.

An action writes its record and the entry's next revision in one transaction: the record with
``attribute_not_exists`` (history is never overwritten), the entry conditioned on the revision the action
read (two reviewers acting at once: one wins, the other gets a conflict).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tutela.aws import clients
from tutela.aws.store import TableAdapter
from tutela.decision import from_dynamo, to_dynamo
from tutela.review.rules import ReviewError

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeSerializer


@cache
def _serializer() -> TypeSerializer:
    from boto3.dynamodb.types import TypeSerializer  # boto3 on first use, not at INIT (cold start)

    return TypeSerializer()


def _typed(item: Mapping[str, Any]) -> dict[str, Any]:
    ser = _serializer()
    return {
        k: ser.serialize(v) for k, v in to_dynamo({k: v for k, v in item.items() if v is not None}).items()
    }


class ReviewStore(TableAdapter):
    def __init__(self, table_name: str, resource: Any | None = None, client: Any | None = None) -> None:
        super().__init__(table_name, resource)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("dynamodb")
        return self._client

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        return None if item is None else dict(from_dynamo(item))

    def query_prefix(self, pk: str, prefix: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Items of ``pk`` whose sort key starts with ``prefix`` (bounded by ``limit``)."""
        from boto3.dynamodb.conditions import Key

        out: list[dict[str, Any]] = []
        cond = Key("pk").eq(pk) & Key("sk").begins_with(prefix) if prefix else Key("pk").eq(pk)
        args: dict[str, Any] = {"KeyConditionExpression": cond, "ConsistentRead": True}
        while len(out) < limit:
            resp = self.table.query(**args, Limit=min(1000, limit - len(out)))
            out.extend(from_dynamo(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            args["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return out

    def query_queue(
        self, partition: str, *, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One queue partition, oldest first (the index's sort key is when the item was queued)."""
        from boto3.dynamodb.conditions import Key

        args: dict[str, Any] = {
            "IndexName": "ReviewQueueIndex",
            "KeyConditionExpression": Key("queue").eq(partition),
            "Limit": limit,
        }
        if start:
            args["ExclusiveStartKey"] = start
        resp = self.table.query(**args)
        return [dict(from_dynamo(i)) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")

    def commit(
        self, entry: Mapping[str, Any], record: Mapping[str, Any] | None, *, expected_rev: int
    ) -> None:
        """Write the entry's next revision (and the action's record) atomically."""
        if expected_rev == 0:
            cond, values = "attribute_not_exists(pk)", {}
        else:
            cond, values = "rev = :rev", {":rev": {"N": str(expected_rev)}}
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _typed(entry),
            "ConditionExpression": cond,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        items: list[dict[str, Any]] = [{"Put": put}]
        if record is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _typed(record),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "TransactionCanceledException",
                "ConditionalCheckFailedException",
            ):
                raise ReviewError(
                    409, "conflict", "the item changed meanwhile: reload it and try again"
                ) from exc
            raise

    def put_once(self, item: Mapping[str, Any]) -> bool:
        """Append ``item`` unless its key exists; True if this call wrote it."""
        try:
            self.table.put_item(Item=to_dynamo(dict(item)), ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
