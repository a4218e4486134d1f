"""A seeded moto server for ``bench_cold.py``'s first-request column.

Each function's first request is its ``events/`` file against moto in this process (an HTTP server on
127.0.0.1), with the seeded objects' real version ids, as ``tests/sam_local`` invokes them. The function runs
in its own fresh bare interpreter; only that process's CPU time is reported, so moto's own work is not
counted (its latency is in the wall time, which is not judged).

The state is shared by the runs: a later run meets what the first left (RecordDecision finds its decision
recorded, Remoderate its re-moderation done, ReviewApi its entry queued), as a redelivery would.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
REGION = "us-east-1"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.sam_local.conftest import NAMES  # noqa: E402  (the names the events/ files use: one definition)

EXAMPLE_VERSIONS = {
    "media/post-123/beach.jpg": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH",
    "comments/post-123/batch-0001.jsonl": "Ua8Jq0bQ7lx1vN3_Y4pXz0Wc2kq9mS1e",
    "posts/post-456.json": "Pq2Lm8nR4tV6xZ0bD3fH5jK7mN9pQ1sU",
    "media/post-456/held.jpg": "Hd7Qm2xVb9LpZ0rT4kYc6sNw1eJf8uAa",
}
# function -> its events/ file; the pipeline's order, so each step meets the state the previous ones left
EVENT_OF = {
    "ScanMediaFunction": "scan_media",
    "ScrubGeotagsFunction": "scrub_geotags",
    "RecordDecisionFunction": "record_media_analysis",  # the media path: fuse the analysis, then store
    "ActFunction": "act",
    "ClassifyCommentsFunction": "classify_comments",
    "ClassifyPostFunction": "classify_post",
    "PostContextFunction": "post_context",
    "RemodPlanFunction": "remod_plan_item",
    "RemoderateFunction": "remoderate_media",
    "ReviewApiFunction": "review_intake",
}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class Seeded:
    """moto on a free port with the buckets, table, bus and the sample objects the events name."""

    def __init__(self) -> None:
        sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT / "dev"), str(ROOT)]
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
        self._seed()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **_creds())  # type: ignore[call-overload]

    def _seed(self) -> None:
        from tests.conftest import create_decisions_table
        from tutela.decision import object_item, step_decision, to_dynamo
        from tutela.objects import ObjectRef
        from tutela_dev.emulator import samples
        from tutela_dev.emulator.cfn_yaml import load_template

        s3 = self.client("s3")
        for name in [n for n in NAMES if n.endswith("_BUCKET")]:
            s3.create_bucket(Bucket=NAMES[name])
            if name not in ("STAGING_BUCKET", "BANK_BUCKET"):
                s3.put_bucket_versioning(Bucket=NAMES[name], VersioningConfiguration={"Status": "Enabled"})
        photo = samples.photo(self.work / "beach.jpg").read_bytes()
        post = {"post_id": "post-456", "caption": "My 8-year-old's first dance recital"}
        self.bodies = {
            "media/post-123/beach.jpg": photo,
            "comments/post-123/batch-0001.jsonl": samples.thread(self.work / "thread.jsonl").read_bytes(),
            "posts/post-456.json": json.dumps(
                {**post, "location": {"lat": 48.85837, "lon": 2.29448}}
            ).encode(),
            "media/post-456/held.jpg": photo,
        }
        self.versions = {
            key: s3.put_object(
                Bucket=NAMES["UPLOAD_BUCKET"], Key=key, Body=body, Metadata={"uploader-id": "u-42"}
            )["VersionId"]
            for key, body in self.bodies.items()
        }
        create_decisions_table(
            self.client("dynamodb"), load_template(ROOT / "template.yaml"), NAMES["DECISIONS_TABLE"]
        )
        self.client("events").create_event_bus(Name=NAMES["EVENT_BUS_NAME"])
        # ReviewApi's intake queues a held decision that RecordDecision would have stored
        key = "media/post-456/held.jpg"
        ref = ObjectRef(NAMES["UPLOAD_BUCKET"], key, self.versions[key], len(photo))
        held = {
            "kind": "media",
            "verdict": "review",
            "severity": 2,
            "reasons": [{"code": "possible_minor_swimwear"}],
        }
        item = object_item(
            ref, step_decision(held), execution_id="arn:ex", event_time=None, retention_days=30
        )
        self.client("dynamodb").put_item(TableName=NAMES["DECISIONS_TABLE"], Item=_typed(to_dynamo(item)))

    def event_file(self, function: str) -> Path | None:
        """The function's events/ file with the seeded versions and sizes (None: no event for it)."""
        name = EVENT_OF.get(function)
        if name is None:
            return None
        text = (EVENTS / f"{name}.json").read_text()
        for key, example in EXAMPLE_VERSIONS.items():
            text = text.replace(example, self.versions[key])
        event = json.loads(text)
        obj = (event.get("detail") or {}).get("object") if isinstance(event.get("detail"), dict) else None
        if isinstance(obj, dict) and obj.get("key") in self.bodies:
            obj["size"] = len(self.bodies[obj["key"]])
        if function == "ActFunction":  # what ScrubGeotags verified for the photo (Act scrubs it again)
            from tutela.scrub import scrub_bytes

            clean, _ = scrub_bytes(self.bodies["media/post-123/beach.jpg"])
            staged = {
                "sha256": hashlib.sha256(clean).hexdigest(),
                "size": len(clean),
                "content_type": "image/jpeg",
            }
            event["decision"]["staged"] = staged
        if function == "RemoderateFunction":
            event["scan"]["known_content"] = []
        path = self.work / f"{function}.json"
        path.write_text(json.dumps(event))
        return path

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS, **NAMES}

    def close(self) -> None:
        self.server.stop()


def _creds() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    return {k: ser.serialize(v) for k, v in item.items()}
