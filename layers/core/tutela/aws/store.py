"""The decisions table: conditional (exactly-once, append-only) writes. A post's context: ``post_context``."""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tutela.aws import clients
from tutela.aws.errors import is_retryable
from tutela.decision import from_dynamo, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource


class TableAdapter:
    """The decisions table, opened lazily on the process's shared resource (or the one given)."""

    def __init__(self, table_name: str, resource: DynamoDBServiceResource | None = None) -> None:
        self.table_name = table_name
        self._resource = resource
        self._table: Any = None

    @property
    def table(self) -> Any:
        if self._table is None:
            if self._resource is None:
                self._resource = clients.resource("dynamodb")
            self._table = self._resource.Table(self.table_name)
        return self._table

    def query(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        """Every item under ``pk`` whose sort key starts with ``prefix``, page by page (any number)."""
        from boto3.dynamodb.conditions import Key  # boto3 loads on first use (cold start)

        args: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        while True:
            resp = self.table.query(**args)
            for item in resp.get("Items", []):
                yield dict(from_dynamo(item))
            if "LastEvaluatedKey" not in resp:
                return
            args["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# (table, digest) this container has written or found, per client (a new client - a test's new moto - asks
# again)
_PROVENANCE_STORED: weakref.WeakKeyDictionary[Any, set[tuple[str, str]]] = weakref.WeakKeyDictionary()


class DecisionStore(TableAdapter):
    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        return None if item is None else dict(from_dynamo(item))

    def put_once(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """Write ``item`` unless its key exists. Returns None on success, the stored item if it existed."""
        try:
            self.table.put_item(
                Item=to_dynamo(dict(item)),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if old is None:  # older SDKs/mocks do not return the item: read it
                return self.get(item["pk"], item["sk"]) or {}
            return dict(from_dynamo(_plain(old)))  # type: ignore[arg-type]

    def put_many(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Idempotent batch write (same keys overwrite with the same content on a retry)."""
        n = 0
        with self.table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for item in items:
                batch.put_item(Item=to_dynamo(dict(item)))
                n += 1
        return n

    def put_provenance(self, item: Mapping[str, Any]) -> None:
        """Store a provenance item (``tutela.provenance``) once per container: the same digest is the same
        content, and it is never changed or deleted, so a container that wrote or found it skips the write."""
        stored = _PROVENANCE_STORED.setdefault(self.table.meta.client, set())
        if (self.table_name, item["sk"]) in stored:
            return
        self.put_once(item)
        stored.add((self.table_name, item["sk"]))

    def append(self, item: Mapping[str, Any], *, attempts: int = 4) -> dict[str, Any]:
        """Add ``item`` to the append-only history; if its key is taken, the stored item wins and is
        returned (a retry finds what it wrote before). Nothing is ever overwritten.

        Act writes its outcome right after sending the events, and a step retry after that would send them
        again; so a throttle or 5xx here is retried in place (bounded, short backoff) before giving up."""
        for attempt in range(1, attempts + 1):
            try:
                existing = self.put_once(item)
                return dict(item) if existing is None else existing
            except ClientError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def scan_comment_records(self) -> Iterator[dict[str, Any]]:
        """Every comment decision and review outcome (``kind`` comment / comment_review), paginated."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "#k IN (:c, :r)",
            "ExpressionAttributeNames": {"#k": "kind"},
            "ExpressionAttributeValues": {":c": "comment", ":r": "comment_review"},
        }
        while True:
            resp = self.table.scan(**kwargs)
            for item in resp.get("Items", []):
                yield dict(from_dynamo(item))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """ReturnValuesOnConditionCheckFailure comes back in low-level (typed) form from the resource API."""
    if item and all(isinstance(v, dict) and len(v) == 1 and next(iter(v)) in _TYPES for v in item.values()):
        from boto3.dynamodb.types import TypeDeserializer

        des = TypeDeserializer()
        return {k: des.deserialize(v) for k, v in item.items()}
    return dict(item)


_TYPES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
