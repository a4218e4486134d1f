"""The prebuilt comment matcher is used only when it was built from exactly the current data files."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tutela.comments import prebuilt
from tutela.comments.lexicon import DATA_DIR, load_lexicon
from tutela.comments.match import Matcher
from tutela.comments.normalize import normalize

DEV_CORPUS = Path(__file__).resolve().parents[3] / "eval" / "comments" / "dev.jsonl"


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


def test_an_edited_model_is_never_judged_by_a_stale_pickle(tmp_path: Path) -> None:
    """The gzip'd weights file is checked by its size and gzip trailer (its content's CRC-32 and length), not
    read whole: an edit of what it holds makes the pickle stale, even one that keeps the file's size."""
    import gzip
    import re

    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    prebuilt.write(root)
    model = next(root.glob("model.*.json.gz"))
    whole = model.read_bytes()
    content = gzip.decompress(whole)
    # one digit of a weight changed, compressed as the trainer does, until the file keeps its size
    same_size = None
    bias = re.search(rb'"bias":(\[[^"]*\]\])', content)
    assert bias is not None
    for m in re.finditer(rb"\d", bias.group(1)):
        at = bias.start(1) + m.start()
        edited = content[:at] + (b"1" if content[at : at + 1] != b"1" else b"2") + content[at + 1 :]
        candidate = gzip.compress(edited, mtime=0)
        model.write_bytes(candidate)
        assert prebuilt.load(root) is None
        if len(candidate) == len(whole):
            same_size = candidate
            break
    assert same_size is not None
    model.write_bytes(whole)
    assert prebuilt.load(root) is not None


def test_a_corrupt_pickle_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    (root / prebuilt.PICKLE.name).write_bytes(b"not a pickle")
    assert prebuilt.load(root) is None


def test_the_prebuilt_learned_model_scores_byte_identically(tmp_path: Path) -> None:
    """The compact weight and embedding tables travel outside the compressed body as 4-bit nibbles plus the
    entries outside [-7, 7], their bucket lists as gaps: rebuilt, they are the same writable int8 arrays and
    bucket maps, the pinyin fold the same map, and every result on the dev corpus is the one the data files
    give."""
    import json

    import numpy as np

    from tutela.comments import classify_lines

    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    prebuilt.write(root)
    matcher = prebuilt.load(root)
    assert matcher is not None
    fresh = load_lexicon(root)
    loaded, built = matcher.lexicon.model, fresh.model
    assert loaded is not None and built is not None
    pairs = [("table", "index"), ("emb", "emb_index")]
    for name, index in pairs:
        table = getattr(loaded, name, None)
        if table is None:  # a linear (version 1) model has no tables; version 2 no embeddings
            continue
        want = getattr(built, name)
        assert table.dtype == np.int8 and table.flags.writeable and table.flags.c_contiguous
        assert table.shape == want.shape and table.tobytes() == want.tobytes()
        got_index, want_index = getattr(loaded, index), getattr(built, index)
        assert got_index.ids.tobytes() == want_index.ids.tobytes()
        assert got_index.row.tobytes() == want_index.row.tobytes()
    if getattr(loaded, "fold", None) is not None:
        fold = loaded.fold  # type: ignore[union-attr]  # the pinyin fold: same items in the same order
        assert fold == built.fold and list(fold.items()) == list(built.fold.items())  # type: ignore[union-attr]
    # the layer is shared by ScanMedia near Lambda's 262 MB: no dense table is shipped (16 MB of embeddings)
    assert (root / prebuilt.PICKLE.name).stat().st_size < 6_000_000
    rows = [json.loads(line) for line in (DEV_CORPUS).read_text(encoding="utf-8").splitlines() if line]
    lines = [json.dumps({"id": str(i), "text": r["text"]}) for i, r in enumerate(rows)]
    for ctx in (True, None, False):
        want = list(classify_lines(lines, minor_context=ctx, lexicon=fresh))
        got = list(classify_lines(lines, minor_context=ctx, lexicon=matcher.lexicon))
        assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)


def test_a_truncated_or_old_format_file_is_ignored(tmp_path: Path) -> None:
    import pickle
    import zlib

    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    path = prebuilt.write(root)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 1000])  # the blobs cut short
    assert prebuilt.load(root) is None
    matcher = Matcher(load_lexicon(root))
    old = (1, prebuilt.data_digest(root), tuple(sys.version_info[:2]), matcher)  # format 1: one zlib'd pickle
    path.write_bytes(zlib.compress(pickle.dumps(old)))
    assert prebuilt.load(root) is None
    path.write_bytes(whole)
    assert prebuilt.load(root) is not None


def test_a_file_written_by_another_python_is_ignored(tmp_path: Path) -> None:
    """A layer built before the runtime moved to another minor version (3.12 -> 3.13) is rebuilt at INIT."""
    import pickle

    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root, ignore=shutil.ignore_patterns(prebuilt.PICKLE.name))
    path = prebuilt.write(root)
    whole = path.read_bytes()
    n = int.from_bytes(whole[:4], "big")
    fmt, digest, python, body_len = pickle.loads(whole[4 : 4 + n])
    assert python == sys.version_info[:2]
    other = pickle.dumps((fmt, digest, (python[0], python[1] - 1), body_len), protocol=4)
    path.write_bytes(len(other).to_bytes(4, "big") + other + whole[4 + n :])
    assert prebuilt.load(root) is None
    path.write_bytes(whole)
    assert prebuilt.load(root) is not None
