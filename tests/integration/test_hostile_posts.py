"""Hostile post texts through the real template on moto: every post file, whatever its text repeats, ends in
exactly one decision that is carried out (Act ran: the quarantine, the events). Step Functions carries at most
256 KiB of state and a state over it fails the execution with ``States.DataLimitExceeded``, which no catcher
matches; the post's decision is in the state twice (ClassifyPost's output, RecordDecision's item)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutela_dev.emulator.runner import Runner

pytestmark = pytest.mark.integration

MARKED = "".join(c + "\u0301" * 40 for c in "sexy nudes " * 12)[:5000]  # each letter under 40 accents
POSTS = {
    # one term per five characters: a signal span and an evidence span for each (~1,000 per field)
    "repeats": {"caption": ("nudes " * 833)[:5000], "title": ("sexy " * 1000)[:5000]},
    # long spans: a term spread over hundreds of combining marks, in two fields
    "marks": {"caption": MARKED, "title": MARKED, "hashtags": ["sexy"] * 60},
    "daughter": {"caption": ("my daughter at sunny school " * 180)[:5000], "title": ("my 8yo " * 700)[:5000]},
}


@pytest.mark.parametrize("name", sorted(POSTS))
def test_a_post_repeating_terms_is_decided_and_carried_out(runner: Runner, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(POSTS[name], ensure_ascii=False), encoding="utf-8")
    up = runner.upload(path, f"posts/rep-{name}.json")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), str(execution.get("cause"))[:300])
    [line] = runner.decisions(up)
    # judged (not held as an analyzer error), and carried out: published only when allowed
    assert line["kind"] == "post" and "analyzer_error" not in line["reasons"], line
    assert line["action"], line
    assert (up.key in dict(runner.published())) is (line["verdict"] == "allow")
    if name != "daughter":
        assert line["verdict"] == "block", line
