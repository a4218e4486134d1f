"""The static part of a media decision's provenance, stored once per deployment instead of in every item.

A media decision names the media policy's thresholds and the vision backend's version string (~360 bytes
that are the same for every upload a deployment judges). In each decision item they pushed the photo's item
past DynamoDB's 1 KB write unit (1,373 B: 2 units, where 1 does). So RecordDecision stores them in one
*provenance item* keyed by their digest, and the decision item keeps the readable names and that digest:

- decision item: ``policy: {version}``, ``analyzers: {scan: {name}, scrub: {removed}}``, ``provenance:
  <digest>``;
- provenance item (``pk = provenance#media``, ``sk = <digest>``, no TTL, no index key): ``policy: {version,
  sha256, thresholds}`` (``sha256``: of ``media_policy.json``, which pins its matrix and label families
  too), ``analyzers: {scan: {name, version}, scrub: {name}}``. Written with a conditional put before the
  first decision that names it (once per container), never changed: :func:`merged` puts a decision back
  together exactly.

"Why was this allowed on that day" is then two reads: the decision, and the provenance item it names.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

PROVENANCE_PK = "provenance#media"
_KEPT = {"scan": {"name"}, "scrub": {"removed"}}  # what each analyzer keeps in the decision item
_PER_UPLOAD = {"removed"}  # never in the provenance item


def split(item: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``item`` without its static provenance, and the provenance item (None when there is nothing to
    move: not a media decision, or one already split)."""
    policy = item.get("policy")
    if item.get("kind") != "media" or not isinstance(policy, Mapping) or "thresholds" not in policy:
        return dict(item), None
    out = copy.deepcopy(dict(item))
    raw = out.get("analyzers")
    analyzers: dict[str, Any] = raw if isinstance(raw, dict) else {}
    static: dict[str, Any] = {"policy": dict(policy), "analyzers": {}}
    for name, keep in _KEPT.items():
        analyzer = analyzers.get(name)
        if isinstance(analyzer, dict):
            static["analyzers"][name] = {k: v for k, v in analyzer.items() if k not in _PER_UPLOAD}
            analyzers[name] = {k: v for k, v in analyzer.items() if k in keep}
    digest = hashlib.sha256(
        json.dumps(static, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()[:16]
    out["policy"] = {"version": policy.get("version")}
    out["provenance"] = digest
    return out, {"pk": PROVENANCE_PK, "sk": digest, "kind": "provenance", **static}


def merged(item: Mapping[str, Any], provenance: Mapping[str, Any] | None) -> dict[str, Any]:
    """The decision as it was before :func:`split` (an item that names no provenance is returned as is)."""
    out = copy.deepcopy(dict(item))
    if provenance is None or out.pop("provenance", None) != provenance.get("sk"):
        return dict(item)
    out["policy"] = dict(provenance.get("policy") or {})
    for name, static in (provenance.get("analyzers") or {}).items():
        analyzer = out.setdefault("analyzers", {}).setdefault(name, {})
        out["analyzers"][name] = {**analyzer, **static}
    return out
