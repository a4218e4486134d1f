"""Benchmark reading a post's context: the flag items (tutela.aws.post_context) against the previous
PostIndex query (every decision item of the post), side by side, at several post sizes.

    .venv/bin/python bench/bench_post_context.py [--sizes 20,1049,5000] [--repeat 15]

In-process moto with the decisions table built from template.yaml plus the removed ``PostIndex`` (the peer's
index; the template no longer has it). A post of N items is what the old query
read: its media decisions and its comment records (every comment record carries ``post_id``). For each size:

- peer: the previous ``DecisionStore.post_minor_context`` (one PostIndex Query, first page only, as shipped),
  and the same query read to the end (what correctness at that size would have cost);
- tutela: ``PostContextStore.flags`` (one consistent Query of the post's flag items: at most five).

Reported: median milliseconds per read, items read per call (what DynamoDB bills: read units grow with the
bytes returned), and whether the answer was right. moto's latency is not DynamoDB's; the item counts are.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "core"))
sys.path.insert(0, str(ROOT / "dev"))  # tutela_dev: the emulated stack and CLI
sys.path.insert(0, str(ROOT))


def _old_query(table: Any, post_id: str, *, all_pages: bool) -> tuple[bool | None, int]:
    """The removed ``post_minor_context`` (optionally paginated); returns (answer, items read)."""
    args: dict[str, Any] = {
        "IndexName": "PostIndex",
        "KeyConditionExpression": "post_id = :p",
        "ExpressionAttributeValues": {":p": post_id},
    }
    items: list[dict[str, Any]] = []
    while True:
        resp = table.query(**args)
        items.extend(resp.get("Items", []))
        if not all_pages or "LastEvaluatedKey" not in resp:
            break
        args["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    minors = [i.get("minor") for i in items if i.get("kind") in ("media", "error")]
    if not minors:
        return None, len(items)
    return any(m in ("likely", "possible") or m is None for m in minors), len(items)


def _with_post_index(template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml's table plus the index the previous query read (removed from the template)."""
    import copy

    out = copy.deepcopy(template)
    props = out["Resources"]["DecisionsTable"]["Properties"]
    props["AttributeDefinitions"].append({"AttributeName": "post_id", "AttributeType": "S"})
    props["GlobalSecondaryIndexes"].append(
        {
            "IndexName": "PostIndex",
            "KeySchema": [
                {"AttributeName": "post_id", "KeyType": "HASH"},
                {"AttributeName": "decided_at", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["kind", "verdict", "minor", "key"],
            },
        }
    )
    return out


def _median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def _measure(table: Any, store: Any, post: str, repeat: int) -> str:
    from tutela.posts.context import comment_context

    old_ms, (old, old_read) = _median_ms(lambda: _old_query(table, post, all_pages=False), repeat)
    full_ms, (_, full_read) = _median_ms(lambda: _old_query(table, post, all_pages=True), repeat)
    new_ms, flags = _median_ms(lambda: store.flags(post), repeat)
    new = comment_context(flags)
    return (
        f"{{size:>6}} | {old_ms:>8.1f} {old_read:>5} {old is True!s:>5} | {full_ms:>17.1f} {full_read:>5} | "
        f"{new_ms:>9.2f} {len(flags):>4} {new is True!s:>5} | {old_ms / new_ms:>6.1f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,1049,5000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import os

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    import boto3
    from moto import mock_aws

    from tests.conftest import create_decisions_table
    from tutela.aws import clients
    from tutela.aws.post_context import PostContextStore
    from tutela.objects import ObjectRef
    from tutela_dev.emulator.cfn_yaml import load_template

    template = _with_post_index(load_template(ROOT / "template.yaml"))
    text = "x" * 180  # a comment record's evidence/ids: ~300 bytes per item, as stored
    print(f"{'items':>6} | {'peer ms':>8} {'read':>5} {'right':>5} | {'peer all-pages ms':>17} {'read':>5} | "
          f"{'tutela ms':>9} {'read':>4} {'right':>5} | speed-up")  # fmt: skip
    for size in (int(s) for s in args.sizes.split(",")):
        clients.reset()
        with mock_aws():
            name = create_decisions_table(boto3.client("dynamodb"), template, f"bench-{size}")
            table = boto3.resource("dynamodb").Table(name)
            store = PostContextStore(name)
            post = "p"
            # Newest last: the child's media decision is the post's most recent item (after its comments).
            with table.batch_writer() as batch:
                for n in range(size - 1):
                    batch.put_item(
                        Item={
                            "pk": f"obj#up/comments/{post}/b{n // 20}.jsonl",
                            "sk": f"v#v1#c#{n:06d}",
                            "post_id": post,
                            "kind": "comment",
                            "verdict": "allow",
                            "decided_at": f"2026-12-01T00:00:{n:09d}",
                            "evidence": text,
                        }
                    )
                batch.put_item(
                    Item={
                        "pk": f"obj#up/media/{post}/a.jpg",
                        "sk": "v#v1",
                        "post_id": post,
                        "kind": "media",
                        "minor": "likely",
                        "verdict": "allow",
                        "decided_at": "2026-12-02T00:00:00",
                    }
                )
            store.raise_flags(
                post, ["media_seen", "media_likely"], source=ObjectRef("up", f"media/{post}/a.jpg")
            )
            row = _measure(table, store, post, args.repeat)
            print(row.format(size=size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
