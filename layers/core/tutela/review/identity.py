"""Who is calling, from the API Gateway request context only (never from the request body).

HTTP API JWT authorizer: ``requestContext.authorizer.jwt.claims`` (Cognito: ``sub``, ``cognito:username``,
``cognito:groups`` - a list, or the string ``"[reviewer lead]"`` as API Gateway flattens it). IAM
authorizer (the platform's service calls): ``requestContext.authorizer.iam``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tutela.review.rules import Actor, ReviewError


def _groups(raw: Any) -> frozenset[str]:
    if isinstance(raw, list | tuple):
        return frozenset(str(g) for g in raw)
    if isinstance(raw, str):
        return frozenset(g for g in raw.strip("[]").replace(",", " ").split() if g)
    return frozenset()


def actor_from_event(event: Mapping[str, Any]) -> Actor:
    auth = ((event.get("requestContext") or {}).get("authorizer")) or {}
    jwt = auth.get("jwt") if isinstance(auth, Mapping) else None
    if isinstance(jwt, Mapping) and isinstance(jwt.get("claims"), Mapping):
        claims = jwt["claims"]
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise ReviewError(401, "unauthorized", "the token has no subject")
        name = claims.get("cognito:username") or claims.get("username") or claims.get("email") or sub
        return Actor(sub, str(name), _groups(claims.get("cognito:groups")), "jwt")
    iam = auth.get("iam") if isinstance(auth, Mapping) else None
    if isinstance(iam, Mapping):
        who = iam.get("userArn") or iam.get("callerId")
        if isinstance(who, str) and who:
            return Actor(who, "platform", frozenset({"platform"}), "iam")
    raise ReviewError(401, "unauthorized", "no authenticated identity")
