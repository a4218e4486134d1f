"""An object version's decisions so far: the one a re-moderation re-judges and the verdict in force.

The chain is the pipeline's decision (``v#{version}``), a post-context re-evaluation
(``…#post-context``) and earlier re-moderations (``…#remod#{ruleset}``); the latest one is in force,
unless a human closed its review with a verdict of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela.posts.context import REEVAL_SUFFIX
from tutela.record import FrozenRecord
from tutela.remod.versions import REMOD, is_remod_sk


class ChainReader(Protocol):
    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...
    def query(self, pk: str, prefix: str) -> Iterable[dict[str, Any]]: ...


class Chain(FrozenRecord):
    __slots__ = ("base", "by_human", "latest", "verdict")

    def __init__(self, base: dict[str, Any], latest: dict[str, Any], verdict: str, by_human: bool) -> None:
        self.base = base  # the pipeline's own decision: re-moderations are keyed under it
        self.latest = latest  # the decision in force
        # the verdict in force (a human's, when one closed the latest decision's review)
        self.verdict = verdict
        self.by_human = by_human


def read_chain(history: ChainReader, ref: ObjectRef, *, fingerprint: str | None = None) -> Chain | None:
    """None when the object version has no recorded decision (nothing to re-judge: the pipeline has it).
    ``fingerprint``: the re-moderation being made, left out (a retry of it compares with what it re-judged,
    not with itself)."""
    keys = object_keys(ref)
    base = history.get(keys["pk"], keys["sk"])
    if base is None:
        return None
    items = [base]
    reeval = history.get(keys["pk"], keys["sk"] + REEVAL_SUFFIX)
    if reeval is not None:
        items.append(reeval)
    own = f"{keys['sk']}{REMOD}{fingerprint}" if fingerprint else None
    items += [
        i
        for i in history.query(keys["pk"], keys["sk"] + REMOD)
        if is_remod_sk(str(i.get("sk"))) and i.get("sk") != own
    ]
    latest = max(items, key=lambda i: (str(i.get("decided_at") or ""), len(str(i.get("sk")))))
    entry = history.get(keys["pk"], f"{latest['sk']}#review")
    if entry and entry.get("status") == "closed" and entry.get("decided_by") and entry.get("verdict"):
        return Chain(base, latest, str(entry["verdict"]), True)
    return Chain(base, latest, str(latest.get("verdict") or "review"), False)


def carried(item: Mapping[str, Any]) -> dict[str, Any]:
    """A media decision's fields a retroactive bank match keeps (it adds a reason; it does not rescan)."""
    names = ("verdict", "severity", "reasons", "minor", "escalate", "signals", "policy", "media_type")
    return {k: item.get(k) for k in (*names, "frames", "pdq", "analyzers") if item.get(k) is not None}
