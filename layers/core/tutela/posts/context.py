"""A post's context: what its decisions so far say about a minor and location, and what follows from it.

The context is a handful of monotone *flags* (``media_seen``, ``media_possible``, ``media_likely``,
``text_minor``, ``location``). A flag is set once and never removed, so the context can only become stricter,
and a reader needs one small read (``tutela.aws.post_context``), whatever the number of items on the post.

Everything here is pure: the flags a decision raises, the comments' context, the post's minor status, and
the media policy applied again with the minor status at least ``likely`` when the post's text declares a
child (a *floor*: nothing is ever lowered).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from tutela.verdict import VERDICTS, Severity, Verdict, worst

FLAGS = ("media_seen", "media_possible", "media_likely", "text_minor", "location")
MINOR_RANK = {"none": 0, "possible": 1, "likely": 2}
REEVAL_SUFFIX = "#post-context"


def comment_context(flags: Collection[str]) -> bool | None:
    """A comment batch's minor context: True (a likely/possible minor, declared or seen), False (media seen,
    no minor), None (nothing decided yet: the classifier treats it as a minor, fail closed)."""
    if {"text_minor", "media_likely", "media_possible"} & set(flags):
        return True
    return False if "media_seen" in flags else None


def post_minor(flags: Collection[str], *, declared: bool = False) -> tuple[str, str]:
    """(minor, basis) of a post: likely/possible/none, from its text, its media, or unknown (= possible)."""
    f = set(flags)
    if declared or "text_minor" in f:
        return "likely", "text"
    if "media_likely" in f:
        return "likely", "media"
    if "media_possible" in f:
        return "possible", "media"
    if "media_seen" in f:
        return "none", "media"
    return "possible", "unknown"


def raised_by(decision: Mapping[str, Any], route: str) -> set[str]:
    """The flags a recorded decision sets on its post."""
    kind = decision.get("kind")
    out: set[str] = set()
    if kind == "media":
        out.add("media_seen")
        minor = decision.get("minor")
        if minor in ("likely", "possible"):
            out.add(f"media_{minor}")
        elif minor != "none":
            out.add("media_possible")  # no minor signal at all: fail closed
        if (decision.get("signals") or {}).get("location_found"):
            out.add("location")
    elif kind == "error" and route == "media":
        out |= {"media_seen", "media_possible"}  # held media: age unknown
    elif kind == "post":
        if decision.get("minor_declared"):
            out.add("text_minor")
        if decision.get("location_declared"):
            out.add("location")
    return out


@cache
def _media_policy() -> dict[str, Any]:
    text = (Path(__file__).parents[1] / "policy" / "media_policy.json").read_text(encoding="utf-8")
    policy: dict[str, Any] = json.loads(text)
    return policy


def floor_media(decision: Mapping[str, Any], floor: str = "likely") -> dict[str, Any]:
    """The media decision again with its minor status at least ``floor`` (the post's text declares a child).

    The content families are the ones the policy fired (the reasons' ``family``), so the same evidence is
    judged again under the stricter row of the matrix; every other reason stays, and the verdict, severity
    and escalation are never lowered. A decision already at or above ``floor`` is returned unchanged.
    """
    old = dict(decision)
    minor = old.get("minor")
    if old.get("kind") != "media" or MINOR_RANK.get(str(minor), 0) >= MINOR_RANK[floor]:
        return old
    policy = _media_policy()
    matrix = policy["matrix"][floor]
    kept: list[dict[str, Any]] = []
    families: list[str] = []
    for reason in old.get("reasons") or []:
        fam = reason.get("family") if isinstance(reason, Mapping) else None
        if isinstance(fam, str) and fam in matrix:
            families.append(fam)
        else:
            kept.append(dict(reason))
    verdicts: list[Verdict] = [v for v in [old.get("verdict")] if v in VERDICTS] or ["review"]
    severity = int(old.get("severity") or 0)
    escalate = bool(old.get("escalate"))
    reasons: list[dict[str, Any]] = []
    for fam in dict.fromkeys(families or ["nothing"]):
        cell = matrix[fam]
        verdicts.append(cell["verdict"])
        severity = max(severity, int(Severity[cell["severity"]]))
        escalate = escalate or bool(cell["escalate"])
        if cell["code"]:
            previous: Mapping[str, Any] = next(
                (r for r in old.get("reasons") or [] if r.get("family") == fam), {}
            )
            reasons.append(
                {
                    **{k: v for k, v in previous.items() if k in ("labels", "confidence", "t")},
                    "code": cell["code"],
                    "message": f"{fam.replace('_', ' ')} with a minor declared in the post's text",
                    "family": fam,
                    "minor": floor,
                }
            )
    if (old.get("signals") or {}).get("location_found") and not any(
        r.get("code") == "location_risk_minor" for r in kept
    ):
        cell = policy["other"]["location_risk_minor"]
        severity = max(severity, int(Severity[cell["severity"]]))
        reasons.append(
            {
                "code": cell["code"],
                "message": "upload carried a location; the post's text declares a child; location scrubbed",
                "minor": floor,
            }
        )
    reasons.append({"code": "minor_declared_in_post", "message": "the post's text says a child is in it"})
    return {
        **old,
        "verdict": worst(verdicts),
        "severity": severity,
        "escalate": escalate,
        "reasons": reasons + kept,
        "minor": floor,
        "minor_basis": "post_text",
    }


def stricter(new: str, old: str) -> bool:
    rank: dict[str, int] = {v: i for i, v in enumerate(VERDICTS)}
    return rank.get(new, 1) > rank.get(old, 1)
