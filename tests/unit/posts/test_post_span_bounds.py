"""A post decision's spans are bounded (it travels in the execution state twice, and Step Functions carries
at most 256 KiB): each field keeps its first spans and says so; verdict and reasons still count every hit."""

from __future__ import annotations

import json

from tutela.limits import POST_SPANS_MAX_BYTES
from tutela.posts.classify import classify_post
from tutela.posts.model import parse_post


def _decide(**fields: object) -> dict:
    data = json.dumps({"post_id": "p", **fields}, ensure_ascii=False).encode()
    post = parse_post(data, key_post="p", max_bytes=65536, max_chars=5000, max_hashtags=60)
    return classify_post(post, [])  # no media decision yet: judged as a possible minor


def test_a_post_repeating_terms_keeps_its_first_spans_within_the_bound() -> None:
    d = _decide(caption=("nudes " * 833)[:5000], title=("sexy " * 1000)[:5000], hashtags=["sexy"] * 60)
    assert len(json.dumps(d["fields"])) <= POST_SPANS_MAX_BYTES
    assert d["verdict"] == "block"
    assert {r["field"] for r in d["reasons"] if "field" in r} >= {"caption", "title"}
    for name in ("caption", "title"):
        f = d["fields"][name]
        assert f["spans_truncated"] is True and f["evidence"] and f["categories"]
        starts = [e["start"] for e in f["evidence"] if not e["rule"].startswith("model:")]
        assert starts == sorted(starts) and starts[0] == 0  # the first spans, in text order


def test_an_ordinary_post_keeps_every_span() -> None:
    d = _decide(caption="my 8yo dancing without clothes", hashtags=["dance"])
    assert all("spans_truncated" not in f for f in d["fields"].values())
    assert d["fields"]["caption"]["signals"] and d["verdict"] == "block"
