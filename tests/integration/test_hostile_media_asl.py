"""The hostile media corpus (tests/hostile/media_corpus.py) through the real template and ASL on moto:
exactly one decision per object, every "held" file held with a reason, and nothing published that carries a
location - not in its metadata, not in anything carved out of it (issue 8, E). exiftool, when installed,
is the independent oracle on every published file and every JPEG carved from it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from boto3.dynamodb.conditions import Key

from tests.hostile.exiftool_oracle import location_tags
from tests.hostile.media_corpus import HELD, OK, Case, generate
from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator.runner import Runner, Upload
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runner, list[tuple[Case, Upload]], Path]]:
    tmp = tmp_path_factory.mktemp("hostile-asl")
    cases = generate(tmp / "in")
    log = (tmp / "lambda.log").open("w")
    with EmulatedStack(ROOT, log=log, retry_scale=0.01) as stack:
        runner = Runner(stack)
        done = []
        for case in cases:
            up = runner.upload(case.path, f"media/hostile/{case.name}")
            runner.deliver(up)
            done.append((case, up))
        yield runner, done, tmp
    log.close()


def test_exactly_one_decision_per_object(run: tuple[Runner, list[tuple[Case, Upload]], Path]) -> None:
    runner, done, _ = run
    for case, up in done:
        pk = object_keys(ObjectRef(runner.bucket, up.key))["pk"]
        items = runner.table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]
        decisions = [i for i in items if i.get("kind") != "action"]
        assert len(decisions) == 1, case.name
        assert [e["status"] for e in up.executions] == ["SUCCEEDED"], case.name


def test_held_files_are_held_with_a_reason_and_never_published(
    run: tuple[Runner, list[tuple[Case, Upload]], Path],
) -> None:
    runner, done, _ = run
    published = dict(runner.published())
    problems = []
    for case, up in done:
        [line] = runner.decisions(up)
        if case.expect == HELD and (
            line["verdict"] != "review" or up.key in published or not line["reasons"]
        ):
            problems.append((case.name, line["verdict"], line["reasons"]))
        if case.expect == OK and case.frames is not None and line["verdict"] == "allow":
            item = runner.table.get_item(Key=object_keys(runner.ref(up)))["Item"]
            if int(item.get("frames") or 0) != case.frames:
                problems.append((case.name, "frames", item.get("frames")))
    assert not problems


def test_nothing_published_carries_location(run: tuple[Runner, list[tuple[Case, Upload]], Path]) -> None:
    from tutela.scrub import find_location
    from tutela.scrub.core import BytesReader
    from tutela.scrub.verify import carve_location

    runner, done, tmp = run
    published = dict(runner.published())
    assert sum(1 for c, up in done if up.key in published and c.expect == OK) >= 10  # not vacuous
    files = []
    out = tmp / "published"
    out.mkdir(exist_ok=True)
    for case, up in done:
        if up.key not in published:
            continue
        data = published[up.key]
        path = out / case.name
        path.write_bytes(data)
        assert carve_location(BytesReader(data)) == [], case.name
        assert find_location(path) == [], case.name
        files.append(path)
        start = 1
        while (i := data.find(b"\xff\xd8\xff", start)) >= 0:
            piece = out / f"{case.name}.at{i}.jpg"
            piece.write_bytes(data[i:])
            files.append(piece)
            start = i + 1
    if not shutil.which("exiftool"):
        pytest.skip("exiftool not installed: the in-process verifier and carver checked every file")
    assert location_tags(files) == {}
