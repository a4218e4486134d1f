from __future__ import annotations

from pathlib import Path

import pytest
import scrub_fixtures as gen


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not gen.EXIFTOOL:
        pytest.skip("exiftool not installed")
    d = tmp_path_factory.mktemp("scrub-corpus")
    files = gen.make_images(d)
    files.update(gen.make_videos(d))
    return files


@pytest.fixture(scope="session")
def scrubbed(
    corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, dict]]:
    from tutela.scrub import scrub_file

    out = tmp_path_factory.mktemp("scrub-out")
    res = {}
    for name, src in corpus.items():
        dst = out / name
        res[name] = (dst, scrub_file(src, dst).to_dict())
    return res


@pytest.fixture(scope="session")
def oracle(corpus: dict[str, Path], scrubbed: dict[str, tuple[Path, dict]]) -> dict[str, dict]:
    """exiftool over inputs and outputs, one process."""
    ins = gen.exiftool_json(list(corpus.values()))
    outs = gen.exiftool_json([p for p, _ in scrubbed.values()])
    return {"in": ins, "out": outs}
