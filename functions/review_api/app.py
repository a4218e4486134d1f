"""Review API (HTTP API) and the review queue's intake (EventBridge): thin routes over ``tutela.review``.

The reviewer's identity comes from the authorizer's claims in the request context, never from the body.
"""

from __future__ import annotations

import json
from typing import Any

from tutela.aws.banks import RemovedBank
from tutela.aws.bus import DecisionBus
from tutela.aws.http_api import APIGatewayHttpResolver, Response
from tutela.aws.review_media import Buckets, ReviewMedia
from tutela.aws.review_store import ReviewStore
from tutela.aws.s3 import S3
from tutela.aws.settings import ReviewApiSettings, at_init
from tutela.aws.step import logger, step
from tutela.errors import TransientError
from tutela.review.identity import actor_from_event
from tutela.review.policy import load_policy
from tutela.review.rules import ReviewError
from tutela.review.service import ReviewService

app = APIGatewayHttpResolver()
_s3 = S3()
_settings = at_init(ReviewApiSettings.from_env)


def service() -> ReviewService:
    cfg = _settings()
    buckets = Buckets(cfg.upload_bucket, cfg.staging_bucket, cfg.published_bucket, cfg.quarantine_bucket)
    return ReviewService(
        ReviewStore(cfg.decisions_table),
        ReviewMedia(buckets, _s3),
        DecisionBus(cfg.event_bus_name),
        load_policy(),
        upload_bucket=cfg.upload_bucket,
        removals=RemovedBank(cfg.bank_bucket, cfg.removed_bank)
        if cfg.bank_bucket and cfg.removed_bank
        else None,
    )


def _body() -> dict[str, Any]:
    try:
        body = app.current_event.json_body
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise ReviewError(400, "invalid_request", "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise ReviewError(400, "invalid_request", "the body must be a JSON object")
    return body


def _actor() -> Any:
    return actor_from_event(app.current_event.raw_event)


@app.exception_handler(ReviewError)
def _refused(exc: ReviewError) -> Response:
    logger.info("refused", extra={"code": exc.code, "status": exc.status})
    return Response(exc.status, "application/json", json.dumps({"error": exc.code, "message": exc.message}))


@app.exception_handler(TransientError)
def _busy(exc: TransientError) -> Response:
    logger.warning("transient failure", extra={"error": type(exc).__name__})
    return Response(503, "application/json", json.dumps({"error": "unavailable", "message": "try again"}))


@app.get("/api/me")
def me() -> dict[str, Any]:
    actor = _actor()
    return {"sub": actor.sub, "name": actor.name, "groups": sorted(actor.groups)}


@app.get("/api/queue")
def queue() -> dict[str, Any]:
    _actor()
    q = app.current_event.query_string_parameters or {}
    try:
        limit = int(q.get("limit") or 25)
    except ValueError as exc:
        raise ReviewError(400, "invalid_request", "limit must be a number") from exc
    return service().queue(q.get("kind") or "media", limit, q.get("cursor"))


@app.get("/api/items/<item>")
def item(item: str) -> dict[str, Any]:
    _actor()
    return service().item(item)


@app.get("/api/items/<item>/preview")
def preview(item: str) -> Response:
    q = app.current_event.query_string_parameters or {}
    clear = q.get("clear") in ("1", "true")
    data = service().preview(item, _actor(), clear=clear, reason=q.get("reason"))
    return Response(200, "image/jpeg", data, headers={"Cache-Control": "no-store"})


@app.post("/api/items/<item>/decision")
def decide(item: str) -> dict[str, Any]:
    actor = _actor()
    result = service().decide(item, actor, _body())
    logger.info("reviewed", extra={"verdict": result["verdict"], "action": sorted(result["action"])})
    return result


@app.post("/api/appeals")
@app.post("/platform/appeals")
def appeal() -> Response:
    return Response(202, "application/json", json.dumps(service().appeal(_actor(), _body()), default=str))


@app.post("/api/reports")
@app.post("/platform/reports")
def report() -> Response:
    result = service().report(_actor(), _body())
    logger.info("reported", extra={"requeued": result["requeued"], "hidden": result["hidden"]})
    return Response(202, "application/json", json.dumps(result, default=str))


@app.get("/api/accounts/<uploader>")
def account(uploader: str) -> dict[str, Any]:
    _actor()
    return service().account(uploader)


@step
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("detail-type") == "Moderation Decision":  # the HeldForReview rule
        queued = service().enqueue(event.get("detail") or {})
        logger.info("queued", extra={"entries": queued})
        return {"queued": queued}
    return app.resolve(event, context)
