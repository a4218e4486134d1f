"""The trust audit's hostile corpus (tests/hostile/trust_corpus.py: media, comment batches, post files and
object keys, by class) through the real template and ASL on moto. Per input, the README's promises:

- every upload ends in exactly one stored decision, and its execution succeeds (nothing dead-lettered);
- the verdict is terminal, and never ``allow`` for what the pipeline could not parse (``HELD`` cases);
- nothing is published unless the verdict is ``allow``, and nothing published carries a location (the
  in-process verifier and carver on every published media object, exiftool as the independent oracle);
- bad input is a clear error: a handler may refuse with one of Tutela's own errors (the ASL's Catch turns it
  into a reason), never with anything else (a traceback: KeyError, ClientError, UnicodeEncodeError...);
- no comment text or coordinates reach the logs.

``make test`` runs a deterministic sample (every class, the first/middle/last truncation of each format);
``TUTELA_TRUST_SWEEP=1`` runs every case (every marker boundary of every format).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

import tutela.errors
from tests.hostile.exiftool_oracle import location_tags
from tests.hostile.trust_corpus import HELD, LAT_RATIONALS, Case, all_cases
from tests.integration.stacks import emulated_stack
from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator.runner import Runner, Upload

pytestmark = pytest.mark.integration
FULL = os.environ.get("TUTELA_TRUST_SWEEP") == "1"
# Tutela's own refusals: the ASL's Catch records their code as the reason.
CLEAR_ERRORS = {
    name
    for name, obj in vars(tutela.errors).items()
    if isinstance(obj, type) and issubclass(obj, tutela.errors.TutelaError)
}
# What the corpus writes that must never be logged: comment/caption text and coordinates.
CANARIES = ("lovely light", "dont tell ur parents", "sunny day", "51.50072", "48.85837", "Westminster")


# Cases that found a bug (each fixed with a unit test of its own): always in the sample.
REGRESSIONS = {"key_long", "key_long_unicode", "mp4_stco_lies.mp4", "lone_surrogate_id", "lone_surrogate"}
REGRESSIONS |= {"jpeg_gps_in_ifd1.jpg", "jpeg_gps_in_interop.jpg", "jpeg_jfif_thumbnail.jpg"}
REGRESSIONS |= {"mp4_dashcam_freegps.mp4", "mp4_top_level_nmea.mp4", "mp4_insta360_trailer.mp4"}


def sample(cases: list[Case]) -> list[Case]:
    """Every class, and within it every fourth case (the truncation sweep is already first/middle/last)."""
    if FULL:
        return cases
    seen: dict[str, int] = {}
    out = []
    for c in cases:
        n = seen[c.cls] = seen.get(c.cls, -1) + 1
        if n % 4 == 0 or c.name in REGRESSIONS:
            out.append(c)
    return out


@dataclass
class Outcome:
    case: Case
    upload: Upload
    decisions: list[dict[str, Any]]
    errors: list[str]  # the handlers' error classes while this upload ran
    log: str


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runner, list[Outcome]]]:
    tmp = tmp_path_factory.mktemp("trust")
    cases = sample(all_cases(full=FULL))
    with emulated_stack(tmp_path_factory, retry_scale=0.01) as stack:
        runner, log = Runner(stack), stack.log
        log_path = Path(log.name)
        done = []
        for n, case in enumerate(cases):
            path = tmp / f"{n}.bin"
            path.write_bytes(case.build())
            log.flush()
            start = log_path.stat().st_size
            up = runner.upload(path, case.key)
            runner.deliver(up)
            log.flush()
            with log_path.open(encoding="utf-8", errors="replace") as fh:
                fh.seek(start)
                text = fh.read()
            errors = []
            for line in text.splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and "trace" in rec:
                    errors.append(str(rec.get("error")))
            pk = object_keys(ObjectRef(runner.bucket, case.key))["pk"]
            items = runner.table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]
            decisions = [i for i in items if str(i["sk"]).count("#") == 1]  # v#{version}: the decision
            done.append(Outcome(case, up, decisions, errors, text))
        yield runner, done


def test_the_sample_covers_every_class(outcomes: tuple[Runner, list[Outcome]]) -> None:
    _, done = outcomes
    classes = {o.case.cls for o in done}
    assert classes >= {"tiny", "truncated", "wrong_ext", "polyglot", "dimensions", "colour", "video", "exif"}
    assert classes >= {"key", "comments", "posts"}
    assert any(o.case.expect == HELD for o in done) and any(o.case.expect != HELD for o in done)


def test_every_upload_ends_in_exactly_one_terminal_decision(outcomes: tuple[Runner, list[Outcome]]) -> None:
    _, done = outcomes
    problems = []
    for o in done:
        statuses = [e["status"] for e in o.upload.executions]
        if len(o.decisions) != 1 or statuses != ["SUCCEEDED"]:
            problems.append((o.case.name, len(o.decisions), statuses))
            continue
        verdict = o.decisions[0].get("verdict")
        if verdict not in ("allow", "review", "block"):
            problems.append((o.case.name, verdict))
        if o.case.expect == HELD and (verdict == "allow" or not o.decisions[0].get("reasons")):
            problems.append((o.case.name, "held input", verdict, o.decisions[0].get("reasons")))
    assert problems == []


def test_bad_input_is_a_clear_error_never_a_traceback(outcomes: tuple[Runner, list[Outcome]]) -> None:
    _, done = outcomes
    unclear = [(o.case.name, e) for o in done for e in o.errors if e not in CLEAR_ERRORS]
    assert unclear == []


def test_no_text_or_coordinates_in_the_logs(outcomes: tuple[Runner, list[Outcome]]) -> None:
    _, done = outcomes
    leaks = [(o.case.name, c) for o in done for c in CANARIES if c in o.log]
    assert leaks == []


def test_only_allowed_uploads_are_published_and_without_location(
    outcomes: tuple[Runner, list[Outcome]], tmp_path: Path
) -> None:
    from tutela.scrub import find_location
    from tutela.scrub.core import BytesReader
    from tutela.scrub.verify import carve_location

    runner, done = outcomes
    published = dict(runner.published())
    wrong, files = [], []
    for o in done:
        key, verdict = o.case.key, o.decisions[0].get("verdict") if o.decisions else None
        if key in published and verdict != "allow" and not key.startswith("comments/"):
            wrong.append((o.case.name, verdict))
        if key not in published or not key.startswith("media/"):
            continue
        data = published[key]
        path = tmp_path / f"{len(files)}.bin"
        path.write_bytes(data)
        if carve_location(BytesReader(data)) or find_location(path) or LAT_RATIONALS in data:
            wrong.append((o.case.name, "location"))
        if o.case.name == "jpeg_jfif_thumbnail.jpg" and b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x10" in data:
            wrong.append((o.case.name, "an unscanned thumbnail"))
        files.append(path)
    assert wrong == []
    assert len(files) >= 5  # not vacuous: allowed media were published and checked
    if not shutil.which("exiftool"):
        pytest.skip("exiftool not installed: the in-process verifier and carver checked every file")
    assert location_tags(files) == {}
