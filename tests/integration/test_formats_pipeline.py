"""Issue #3 end to end: every supported format, carrying GPS/XMP/IPTC location and owner/serial tags, goes
through the real ASL; whatever is published has no location or identity tag that exiftool can find."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutela_dev.emulator.runner import Runner
from tutela_dev.emulator.stack import EmulatedStack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "scrub"))
import scrub_fixtures as gen

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FORMATS = [
    "baseline.jpg", "progressive.jpg", "image.png", "lossy.webp", "lossless.webp", "image.tif",
    "image.heic", "image.avif", "video.mp4", "video.mov", "camm.mp4", "gpmd.mp4",
]  # fmt: skip


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    assert shutil.which("exiftool"), "exiftool (libimage-exiftool-perl) is the oracle: make test installs it"
    d = tmp_path_factory.mktemp("formats")
    return {**gen.make_images(d), **gen.make_videos(d)}


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    with (
        (tmp_path_factory.mktemp("logs") / "lambda.log").open("w") as log,
        EmulatedStack(ROOT, log=log) as stack,
    ):
        yield Runner(stack)


@pytest.mark.parametrize("name", FORMATS)
def test_format_through_the_pipeline(
    runner: Runner, media: dict[str, Path], name: str, tmp_path: Path
) -> None:
    original = media[name]
    assert gen.tag_hits(
        gen.exiftool_json([original])[original.name], gen.LOCATION_TAG
    )  # it does carry location
    up = runner.upload(original, f"media/formats/{name}")
    runner.deliver(up)
    [line] = runner.decisions(up)
    # Synthetic pixels: no face, no exposure - the policy allows them, so the scrubbed copy is published.
    assert line["verdict"] == "allow", line
    assert any(("gps" in c or "location" in c or "loci" in c) for c in line["removed"]), line["removed"]
    published = dict(runner.published())[up.key]
    assert published != original.read_bytes()
    out = tmp_path / name
    out.write_bytes(published)
    tags = gen.exiftool_json([out])[name]
    assert gen.tag_hits(tags, gen.LOCATION_TAG) == [], name
    assert gen.tag_hits(tags, gen.IDENTITY_TAG) == [], name
