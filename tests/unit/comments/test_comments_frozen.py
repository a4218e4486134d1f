"""The frozen classifier (issue 11): its outputs on the whole eval/comments corpus never change."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"
RECORD = Path(__file__).resolve().parent / "frozen_comments2.json"


def test_every_output_on_the_eval_corpus_is_the_frozen_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EVAL))
    sys.modules.pop("freeze_digest", None)
    import freeze_digest

    want = json.loads(RECORD.read_text(encoding="utf-8"))
    # the corpus itself must be the frozen one too (new files would change the digest for another reason)
    got = freeze_digest.digest()
    assert got["files"] == want["files"] and got["comments"] == want["comments"]
    assert got["lexicon_version"] == want["lexicon_version"]
    assert got["sha256"] == want["sha256"]
