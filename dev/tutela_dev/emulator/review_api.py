"""The review API on the emulated stack: the template's ReviewApiFunction invoked through moto's Lambda (so
it runs with its template environment), HTTP API v2 events built the way API Gateway builds them, and the
decisions bus's rule for the review queue played from the events the pipeline sent.

moto neither runs API Gateway's JWT authorizer nor delivers EventBridge events to Lambda targets; here,
bearer tokens map to fixed reviewer identities (claims as the authorizer would pass them) and
``ReviewRules.play`` delivers what the real rule would.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tutela_dev.emulator.stack import EmulatedStack

OBSERVER = "tutela-local-observer"


@dataclass(frozen=True)
class Identity:
    token: str
    claims: dict[str, Any]


def emulator_identities() -> dict[str, Identity]:
    """Two reviewers (the second also a lead), so appeals can be decided by someone else."""
    people = {
        "token": {"sub": "local-reviewer-1", "cognito:username": "reviewer1", "cognito:groups": "[reviewer]"},
        "token2": {
            "sub": "local-reviewer-2",
            "cognito:username": "reviewer2",
            "cognito:groups": "[reviewer lead]",
        },
    }
    return {name: Identity(secrets.token_urlsafe(24), claims) for name, claims in people.items()}


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class ReviewApi:
    """Calls the review function as API Gateway would, one call at a time (moto is not thread-safe)."""

    def __init__(self, stack: EmulatedStack, identities: dict[str, Identity] | None = None) -> None:
        self.stack = stack
        self.function = stack.resources["ReviewApiFunction"]
        self.identities = identities or emulator_identities()
        self._by_token = {i.token: i for i in self.identities.values()}
        self._lock = threading.Lock()
        self._lambda = stack.client("lambda")

    def claims_for(self, authorization: str | None) -> dict[str, Any] | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        ident = self._by_token.get(authorization[len("Bearer ") :].strip())
        return dict(ident.claims) if ident else None

    def call(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes | None = None,
        authorization: str | None = None,
        iam_caller: str | None = None,
    ) -> ApiResponse:
        claims = self.claims_for(authorization)
        if iam_caller:
            authorizer: dict[str, Any] | None = {"iam": {"userArn": iam_caller, "callerId": iam_caller}}
        elif claims is not None:
            authorizer = {"jwt": {"claims": claims, "scopes": None}}
        else:  # the JWT authorizer refuses before the function runs
            return ApiResponse(401, {"content-type": "application/json"}, b'{"message":"Unauthorized"}')
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {"content-type": "application/json"},
            "queryStringParameters": dict(parse_qsl(query)) or None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "authorizer": authorizer,
                "domainName": "127.0.0.1",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                         "userAgent": "tutela-local"},
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "$default",
            },
            "body": base64.b64encode(body).decode() if body else None,
            "isBase64Encoded": bool(body),
        }  # fmt: skip
        with self._lock:
            resp = self._lambda.invoke(FunctionName=self.function, Payload=json.dumps(event).encode())
        payload = json.loads(resp["Payload"].read() or b"{}")
        if resp.get("FunctionError") or "statusCode" not in payload:
            kind = str(payload.get("errorType") or "internal")  # the class name; the message stays in the log
            return ApiResponse(
                500, {"content-type": "application/json"}, json.dumps({"error": kind}).encode()
            )
        raw = payload.get("body") or ""
        data = base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
        headers = {str(k).lower(): str(v) for k, v in (payload.get("headers") or {}).items()}
        return ApiResponse(int(payload["statusCode"]), headers, data)


class ReviewRules:
    """Observe the decisions bus (an SQS queue on a catch-all rule) and deliver to the review function what
    the template's rule for it would match."""

    def __init__(self, stack: EmulatedStack) -> None:
        self.stack = stack
        self.sqs = stack.client("sqs")
        self.events = stack.client("events")
        self.bus = stack.outputs["DecisionsBusName"]
        self.queue_url = self.sqs.create_queue(QueueName=OBSERVER)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name=OBSERVER, EventBusName=self.bus, EventPattern=json.dumps({"source": ["tutela.moderation"]})
        )
        self.events.put_targets(
            Rule=OBSERVER, EventBusName=self.bus, Targets=[{"Id": "observer", "Arn": arn}]
        )
        self.function_arn = stack.client("lambda").get_function(
            FunctionName=stack.resources["ReviewApiFunction"]
        )["Configuration"]["FunctionArn"]
        self.seen: list[dict[str, Any]] = []

    def _patterns(self) -> list[Any]:
        from moto.events.models import EventPattern

        return [EventPattern.load(p) for p, arns in self.stack.bus_lambda_rules if self.function_arn in arns]

    def drain(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while msgs := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.seen.extend(out)
        return out

    def play(self) -> int:
        """Deliver every new bus event the review function's rule matches; returns how many."""
        patterns = self._patterns()
        lam = self.stack.client("lambda")
        n = 0
        for event in self.drain():
            if any(p.matches_event(event) for p in patterns):
                resp = lam.invoke(FunctionName=self.function_arn, Payload=json.dumps(event).encode())
                if resp.get("FunctionError"):
                    raise RuntimeError(f"the review queue intake failed: {resp['Payload'].read()[:500]!r}")
                n += 1
        return n
