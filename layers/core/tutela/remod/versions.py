"""Which rules judged an upload: the versions a re-moderation is keyed on.

A *ruleset* is the part of the versions that can change a kind's verdict: for media the media policy, the
vision model and the hash banks; for comments the comment data (lexicon, rules, policy and the learned
stage, one digest). Its fingerprint is in the re-moderation's sort key, so one ruleset judges an object
version at most once, however often a backfill runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REMOD = "#remod#"
# v#{version}#remod#{fingerprint}: the decision item itself (not its comment records or action item)
_REMOD_SK = re.compile(r"^v#[^#]+#remod#[^#]+$")
KINDS = {"media": ("media_policy", "model", "banks"), "comments": ("comments",)}


def code_versions() -> dict[str, str]:
    """The versions that ship with this code (the same core layer runs in every function)."""
    from tutela.comments.lexicon import DATA_DIR
    from tutela.policy.media import POLICY_VERSION

    return {"media_policy": POLICY_VERSION, "comments": comments_version(DATA_DIR)}


def comments_version(root: Path) -> str:
    """One digest of every comment data file (lexicon, rules, policy, the learned model): any edit is a new
    version. (It was the digest's first 16 characters: the first file's *name*, the same for every edit.)"""
    from tutela.comments.prebuilt import data_digest

    return "data-" + hashlib.sha256(data_digest(root).encode("utf-8")).hexdigest()[:16]


def ruleset(kind: str, versions: Mapping[str, Any]) -> dict[str, str]:
    """The components of ``versions`` that judge ``kind``; ValueError when one is missing (fail closed:
    an unknown model or bank version must not pass for an old one)."""
    names = KINDS.get(kind)
    if names is None:
        raise ValueError(f"{kind} uploads are not re-moderated")
    missing = [n for n in names if versions.get(n) in (None, "")]
    if missing:
        raise ValueError(f"versions lack {', '.join(missing)}")
    return {n: str(versions[n]) for n in names}


def fingerprint(rules: Mapping[str, str]) -> str:
    raw = json.dumps(dict(rules), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def retro_fingerprint(bank: str, version: int) -> str:
    """A bank addition's own ruleset: one retroactive decision per object version and bank version."""
    return f"known.{bank}.v{int(version)}"


def remod_sk(base_sk: str, fp: str) -> str:
    if "#" in fp or not fp:
        raise ValueError("a ruleset fingerprint has no '#'")
    return f"{base_sk}{REMOD}{fp}"


def is_remod_sk(sk: str) -> bool:
    return bool(_REMOD_SK.match(sk))
