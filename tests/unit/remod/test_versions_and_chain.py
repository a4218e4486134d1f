"""Rulesets key re-moderations; the chain says which decision is in force (a human's verdict wins)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from tutela.objects import ObjectRef
from tutela.remod.chain import read_chain
from tutela.remod.versions import fingerprint, is_remod_sk, remod_sk, retro_fingerprint, ruleset

VERSIONS = {"media_policy": "media-1.2.0", "model": "local: opencv 4", "banks": "7", "comments": "data-ab"}


def test_a_ruleset_is_what_judges_its_kind_and_a_change_in_any_part_is_a_new_key() -> None:
    assert ruleset("media", VERSIONS) == {
        "media_policy": "media-1.2.0",
        "model": "local: opencv 4",
        "banks": "7",
    }
    assert ruleset("comments", VERSIONS) == {
        "comments": "data-ab"
    }  # a bank change does not re-judge comments
    base = fingerprint(ruleset("media", VERSIONS))
    for part in ("media_policy", "model", "banks"):
        assert fingerprint(ruleset("media", {**VERSIONS, part: "other"})) != base, part
    assert fingerprint(ruleset("media", dict(reversed(VERSIONS.items())))) == base  # order does not matter
    with pytest.raises(ValueError):
        ruleset("media", {**VERSIONS, "model": ""})  # an unknown model never passes for an old one
    with pytest.raises(ValueError):
        ruleset("posts", VERSIONS)


def test_re_moderation_keys() -> None:
    sk = remod_sk("v#abc", fingerprint(ruleset("media", VERSIONS)))
    assert is_remod_sk(sk) and is_remod_sk(remod_sk("v#abc", retro_fingerprint("csam", 3)))
    assert not is_remod_sk(sk + "#action") and not is_remod_sk(sk + "#c#000001") and not is_remod_sk("v#abc")
    with pytest.raises(ValueError):
        remod_sk("v#abc", "a#b")


class History:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = {(i["pk"], i["sk"]): i for i in items}

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.items.get((pk, sk))

    def query(self, pk: str, prefix: str) -> Iterable[dict[str, Any]]:
        return [i for (p, s), i in sorted(self.items.items()) if p == pk and s.startswith(prefix)]


REF = ObjectRef("up", "media/p/x.jpg", "v1")
PK = "obj#up/media/p/x.jpg"


def test_the_latest_decision_is_in_force_unless_a_human_closed_it() -> None:
    items = [
        {"pk": PK, "sk": "v#v1", "verdict": "allow", "decided_at": "2026-01-01T00:00:00.000+00:00"},
        {
            "pk": PK,
            "sk": "v#v1#remod#aaaa",
            "verdict": "review",
            "decided_at": "2026-02-01T00:00:00.000+00:00",
        },
        {"pk": PK, "sk": "v#v1#remod#aaaa#action", "kind": "action", "decided_at": "2026-03-01"},
    ]
    chain = read_chain(History(items), REF)
    assert chain is not None and chain.latest["sk"] == "v#v1#remod#aaaa" and chain.verdict == "review"
    assert read_chain(History(items), REF, fingerprint="aaaa").verdict == "allow"  # a retry of aaaa itself
    closed = {
        "pk": PK,
        "sk": "v#v1#remod#aaaa#review",
        "status": "closed",
        "verdict": "block",
        "decided_by": "r1",
    }
    chain = read_chain(History([*items, closed]), REF)
    assert chain is not None and chain.verdict == "block" and chain.by_human
    assert read_chain(History([]), REF) is None


def test_the_comments_version_changes_with_any_comment_data_file(tmp_path: Any) -> None:
    """Re-moderation is keyed on it: a lexicon or model edit that kept the version would never re-judge."""
    import gzip
    import shutil

    from tutela.comments.lexicon import DATA_DIR
    from tutela.remod.versions import code_versions, comments_version

    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns("matcher.pickle", "__pycache__"))
    base = comments_version(root)
    assert base == code_versions()["comments"] and base.startswith("data-")
    assert comments_version(root) == base  # a function of the files
    toml = root / "policy.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    edited = comments_version(root)
    assert edited != base
    model = next(root.glob("model.*.json.gz"))
    raw = gzip.decompress(model.read_bytes())
    model.write_bytes(gzip.compress(raw.replace(b'"bias"', b'"bias" ', 1)))
    assert comments_version(root) not in (base, edited)
