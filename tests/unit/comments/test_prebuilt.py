"""The prebuilt comment matcher is used only when it was built from exactly the current data files."""

from __future__ import annotations

import shutil
from pathlib import Path

from tutela.comments import prebuilt
from tutela.comments.lexicon import DATA_DIR, load_lexicon
from tutela.comments.match import Matcher
from tutela.comments.normalize import normalize


def test_prebuilt_matcher_round_trips_and_judges_the_same(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    prebuilt.write(root)
    matcher = prebuilt.load(root)
    assert matcher is not None
    assert matcher.lexicon.version == load_lexicon(root).version
    text = "add me on snap, don't tell your parents"
    fresh = Matcher(load_lexicon(root))
    assert matcher.find(normalize(text), text) == fresh.find(normalize(text), text)


def test_an_edited_lexicon_is_never_judged_by_a_stale_pickle(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    prebuilt.write(root)
    policy = root / "policy.toml"
    policy.write_text(policy.read_text() + "\n# edited\n")
    assert prebuilt.load(root) is None


def test_a_corrupt_pickle_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    (root / prebuilt.PICKLE.name).write_bytes(b"not a pickle")
    assert prebuilt.load(root) is None
