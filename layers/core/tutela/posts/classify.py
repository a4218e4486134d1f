"""Judge a post's text: every field through the comment classifier, plus the post-only signals.

The post's minor status (``tutela.posts.context``) is the context of every field; a field that declares a
child makes it ``likely`` for the whole post (and, through the post's context flags, for its media and its
comments). Verdicts come from ``data/posts.toml`` and the comment policy; the worst field decides.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from tutela.comments import classify_text
from tutela.limits import POST_SPANS_MAX_BYTES
from tutela.posts.context import MINOR_RANK, post_minor
from tutela.posts.model import Post
from tutela.posts.signals import find_signals, post_lexicon, post_policy
from tutela.verdict import Severity, Verdict, worst


def policy_version() -> dict[str, str]:
    return {"version": str(post_policy()["version"]), "signals_version": post_lexicon().version}


def classify_post(post: Post, flags: Collection[str]) -> dict[str, Any]:
    """The post-text decision (``kind: post``) under the post's context ``flags``; pure."""
    policy = post_policy()
    decimals = int(policy["location_decimals"])
    texts = post.fields()
    spans = {name: find_signals(text) for name, text in texts}
    declared = any(s.signal == "declares_minor" for ss in spans.values() for s in ss)
    minor, basis = post_minor(flags, declared=declared)
    context = minor != "none"  # "possible" (and unknown) is judged as a child's post: fail closed
    verdicts: list[Verdict] = ["allow"]
    severity = int(Severity.NONE)
    escalate = False
    reasons: list[dict[str, Any]] = []
    fields: dict[str, Any] = {}
    adult_fields = frozenset(policy["adult_context_fields"])  # (data/posts.toml: why)
    for name, text in texts:
        result = classify_text(text, minor_context=False if name in adult_fields else context)
        found = [s.to_dict() for s in spans[name]]
        fields[name] = {
            "verdict": result["verdict"],
            "severity": result["severity"],
            "categories": result["categories"],
            "score": result["score"],
            "evidence": result["evidence"],
            "signals": found,
        }
        if result.get("error"):
            fields[name]["error"] = result["error"]
        verdicts.append(result["verdict"])
        severity = max(severity, int(result["severity"]))
        if result["verdict"] != "allow":
            codes = result["categories"] or ["unjudged_text"]
            reasons.append(
                {
                    "code": f"post_{codes[0]}",
                    "message": f"{name}: {', '.join(codes)}",
                    "field": name,
                    "categories": codes,
                }
            )
    framing = [name for name, ss in spans.items() if any(s.signal == "sexual_framing" for s in ss)]
    if framing:
        cell = policy["framing"][minor]
        verdicts.append(cell["verdict"])
        severity = max(severity, int(Severity[cell["severity"]]))
        escalate = escalate or bool(cell["escalate"])
        reasons.append(
            {
                "code": cell["code"],
                "message": f"sexualised framing of the subject ({', '.join(framing)}), minor {minor}",
                "fields": framing,
                "minor": minor,
            }
        )
    if declared:
        where = [name for name, ss in spans.items() if any(s.signal == "declares_minor" for s in ss)]
        reasons.append(
            {
                "code": "minor_declared",
                "message": f"the post's text says a child is in it ({', '.join(where)})",
            }
        )
    located = [name for name, ss in spans.items() if any(s.signal == "location_text" for s in ss)]
    precise = post.precise_location(decimals)
    if (precise or located) and MINOR_RANK[minor] >= MINOR_RANK["possible"]:
        cell = policy["location_risk"]
        verdicts.append(cell["verdict"])
        severity = max(severity, int(Severity[cell["severity"]]))
        what = ["precise coordinates"] if precise else []
        what += [f"a place named in the {name}" for name in located]
        reasons.append(
            {
                "code": cell["code"],
                "message": f"{' and '.join(what)} on a post with a {minor} minor",
                "minor": minor,
            }
        )
    return {
        "kind": "post",
        "verdict": worst(verdicts),
        "severity": severity,
        "reasons": reasons,
        "escalate": escalate,
        "minor": minor,
        "minor_basis": basis,
        "minor_declared": declared,
        "location_declared": bool(precise or located),
        "fields": _bounded(fields),
        "policy": policy_version(),
    }


def _bounded(fields: dict[str, Any]) -> dict[str, Any]:
    """Each field's first evidence and signal spans, halved until they fit :data:`POST_SPANS_MAX_BYTES`
    (measured ASCII-escaped: the larger form); a field that lost spans says so (``spans_truncated``).
    Verdicts, categories and reasons still count every hit."""
    keep = max((max(len(f["evidence"]), len(f["signals"])) for f in fields.values()), default=0)
    while keep and len(json.dumps(fields)) > POST_SPANS_MAX_BYTES:
        keep //= 2
        for f in fields.values():
            if len(f["evidence"]) > keep or len(f["signals"]) > keep:
                f["evidence"], f["signals"] = f["evidence"][:keep], f["signals"][:keep]
                f["spans_truncated"] = True
    return fields
