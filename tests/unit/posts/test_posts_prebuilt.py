"""The post signals' matcher is prebuilt like the comment matcher: used only while it matches the data."""

from __future__ import annotations

import shutil
from pathlib import Path

from tutela.comments import prebuilt
from tutela.comments.lexicon import load_lexicon
from tutela.comments.match import Matcher
from tutela.comments.normalize import normalize
from tutela.posts.signals import DATA_DIR


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    return root


def test_the_post_matcher_round_trips_and_finds_the_same(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    prebuilt.write(root)
    matcher = prebuilt.load(root)
    assert matcher is not None and matcher.lexicon.version == load_lexicon(root).version
    fresh = Matcher(load_lexicon(root))
    texts = ("my 8yo dancing without clothes", "初二女生 今日穿搭 #擦边", "we're at the school right now")
    for text in texts:
        assert matcher.find(normalize(text), text) == fresh.find(normalize(text), text)


def test_edited_post_signals_are_never_judged_by_a_stale_pickle(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    prebuilt.write(root)
    signals = root / "signals.toml"
    signals.write_text(signals.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert prebuilt.load(root) is None
