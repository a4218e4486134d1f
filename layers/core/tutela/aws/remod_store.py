"""The decisions table as re-moderation reads and writes it: the decision chain of an object version
(append-only puts, as everywhere) and one page at a time of the sparse ``HashIndex`` of stored hashes."""

from __future__ import annotations

import base64
import json
from typing import Any

from tutela.aws.store import DecisionStore
from tutela.decision import from_dynamo, to_dynamo

HASH_INDEX = "HashIndex"


class RemodStore(DecisionStore):
    def hash_page(
        self, shard: str, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` media decisions of one HashIndex shard (projected: keys, bucket, key, version,
        hashes) and the cursor of the next page (None at the end)."""
        from boto3.dynamodb.conditions import Key  # boto3 loads on first use (cold start)

        args: dict[str, Any] = {
            "IndexName": HASH_INDEX,
            "KeyConditionExpression": Key("pdq_shard").eq(shard),
            "Limit": limit,
        }
        if cursor:
            args["ExclusiveStartKey"] = to_dynamo(json.loads(base64.urlsafe_b64decode(cursor.encode())))
        resp = self.table.query(**args)
        items = [dict(from_dynamo(i)) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        nxt = base64.urlsafe_b64encode(json.dumps(from_dynamo(last)).encode()).decode() if last else None
        return items, nxt
