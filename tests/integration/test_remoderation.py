"""Re-moderation on the real template and ASLs (moto runs the Distributed Map over the upload bucket's
listing and its child executions): ``tutela backfill`` judges stored uploads again once per version and
ruleset, applies what became stricter, sends what became looser to review; a bank snapshot matches earlier
uploads' stored hashes retroactively and blocks them exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
from skimage import data as samples

from tests.integration.stacks import emulated_stack
from tutela.aws.banks import S3Blobs
from tutela.bank.media import hash_file
from tutela.bank.model import Bank
from tutela.bank.store import BankRepository
from tutela.decision import object_keys
from tutela.review.rules import parse_item_id
from tutela_dev.cli import main
from tutela_dev.emulator.review_api import ReviewApi, ReviewRules
from tutela_dev.emulator.runner import Runner, object_created_event
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with emulated_stack(tmp_path_factory, retry_scale=0.01) as s:
        yield s


def _photo(tmp: Path, name: str, image: Any) -> Path:
    path = tmp / name
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def _remod_arn(stack: EmulatedStack) -> str:
    return stack.executable[stack.outputs["RemoderationStateMachineArn"]]


def _chain(stack: EmulatedStack, runner: Runner, upload: Any) -> list[dict[str, Any]]:
    """The object version's decision items (pipeline's first), without comment, action or review items."""
    keys = object_keys(runner.ref(upload))
    table = stack.resource("dynamodb").Table(stack.outputs["DecisionsTableName"])
    items = table.query(
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": keys["pk"], ":s": keys["sk"]},
        ConsistentRead=True,
    )["Items"]
    return sorted(
        (i for i in items if i.get("kind") in ("media", "comments", "error")), key=lambda i: str(i["sk"])
    )


def _backfill(stack: EmulatedStack, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    argv = [
        "backfill",
        "--since",
        "2000-01-01",
        "--state-machine-arn",
        _remod_arn(stack),
        "--interval",
        "0.2",
    ]
    code = main([*argv, *extra])
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    summary["code"] = code
    summary["progress"] = lines[1:-1]
    return summary


def _bank(stack: EmulatedStack) -> BankRepository:
    return BankRepository(S3Blobs(stack.outputs["BankBucketName"], client=stack.client("s3")))


def _published(stack: EmulatedStack, key: str) -> bool:
    s3 = stack.client("s3")
    return bool(s3.list_objects_v2(Bucket=stack.outputs["PublishedBucketName"], Prefix=key).get("KeyCount"))


def _quarantined(stack: EmulatedStack) -> list[str]:
    s3 = stack.client("s3")
    listing = s3.list_objects_v2(Bucket=stack.outputs["QuarantineBucketName"]).get("Contents", [])
    return [o["Key"] for o in listing]


def test_backfill_is_once_per_ruleset_stricter_applied_looser_reviewed(
    stack: EmulatedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Runner(stack)
    rules = ReviewRules(stack)  # the decisions bus -> the review queue's intake, as the template routes it
    cat = runner.upload(_photo(tmp_path, "cat.jpg", samples.chelsea()), "media/bf/cat.jpg")
    astro_path = _photo(tmp_path, "astro.jpg", samples.astronaut())
    astro = runner.upload(astro_path, "media/bf/astro.jpg")
    coffee_path = _photo(tmp_path, "coffee.jpg", samples.coffee())
    # coffee is held at upload: its hash is in a review bank
    _bank(stack).add(
        "watch",
        [_entry("watch", hash_file(coffee_path).hashes[0].hex)],
        defaults=Bank("watch", action="review"),
    )
    coffee = runner.upload(coffee_path, "media/bf/coffee.jpg")
    for up in (cat, coffee, astro):
        runner.deliver(up)
    assert runner.decisions(cat)[0]["verdict"] == "allow" and _published(stack, "media/bf/cat.jpg")
    assert runner.decisions(coffee)[0]["verdict"] == "review"

    # Act retired the allowed originals (a delete marker): the upload bucket lists only coffee (held).
    s3 = stack.client("s3")
    uploads = s3.list_objects_v2(Bucket=runner.bucket, Prefix="media/bf/").get("Contents", [])
    assert [o["Key"] for o in uploads] == ["media/bf/coffee.jpg"]
    # astro as if Act had not retired it yet: its original is current AND its copy is published
    marker = s3.list_object_versions(Bucket=runner.bucket, Prefix="media/bf/astro.jpg")["DeleteMarkers"][0]
    s3.delete_object(Bucket=runner.bucket, Key="media/bf/astro.jpg", VersionId=marker["VersionId"])

    first = _backfill(stack, capsys, "--prefix", "media/bf/")
    assert first["code"] == 0 and first["status"] == "SUCCEEDED"
    # uploads: coffee, astro; published: cat, astro (skipped: listed_in_uploads) - each judged once
    assert first["items"]["total"] == 4 and first["items"]["succeeded"] == 4
    assert any("succeeded: total=4" in line for line in first["progress"])
    for up in (cat, astro, coffee):  # same rules: recorded, nothing changed
        assert [i["verdict"] for i in _chain(stack, runner, up)] == [runner.decisions(up)[0]["verdict"]] * 2
    assert _chain(stack, runner, cat)[-1]["sk"].startswith(f"v#{cat.version_id}#remod#")
    assert _published(stack, "media/bf/cat.jpg") and _published(stack, "media/bf/astro.jpg")

    # The same versions again: nothing is judged or written.
    before = sum(len(_chain(stack, runner, u)) for u in (cat, coffee, astro))
    again = _backfill(stack, capsys, "--prefix", "media/bf/")
    assert again["code"] == 0 and again["items"]["succeeded"] == 4
    assert sum(len(_chain(stack, runner, u)) for u in (cat, coffee, astro)) == before

    # A bank change: cat's hash is banked (block), the review bank is disabled.
    _bank(stack).add(
        "removed",
        [_entry("removed", hash_file(tmp_path / "cat.jpg").hashes[0].hex)],
        defaults=Bank("removed"),
    )
    _bank(stack).define(Bank("watch", action="review", enabled=False))
    _bank(stack).add(
        "suspect",
        [_entry("suspect", hash_file(astro_path).hashes[0].hex)],
        defaults=Bank("suspect", action="review"),
    )
    dry = _backfill(stack, capsys, "--prefix", "media/bf/", "--dry-run")
    assert dry["code"] == 0 and len(_chain(stack, runner, cat)) == 2  # a dry run writes nothing
    third = _backfill(stack, capsys, "--prefix", "media/bf/")
    assert third["code"] == 0

    cat_chain = _chain(stack, runner, cat)
    assert [i["verdict"] for i in cat_chain] == ["allow", "allow", "block"]
    stricter = cat_chain[-1]
    assert "known_content" in {r["code"] for r in stricter["reasons"]}
    assert not _published(stack, "media/bf/cat.jpg")  # withdrawn
    assert any(k.startswith("media/bf/cat.jpg@") for k in _quarantined(stack))
    assert not s3.list_object_versions(
        Bucket=stack.outputs["UploadBucketName"], Prefix="media/bf/cat.jpg"
    ).get("Versions")  # the original was moved to quarantine

    # allow -> review: withdrawn and queued for a human (the review intake takes the re-moderation)
    held = _chain(stack, runner, astro)[-1]
    assert held["verdict"] == "review" and held["requeue"] is True
    assert not _published(stack, "media/bf/astro.jpg")
    rules.play()
    api = ReviewApi(stack)
    token = f"Bearer {api.identities['token'].token}"
    queue = json.loads(api.call("GET", "/api/queue", query="kind=media&limit=100", authorization=token).body)
    mine = {i["key"]: i for i in queue["items"] if i["key"].startswith("media/bf/")}
    # coffee was queued at upload (and stays queued once); astro by its re-moderation
    assert sorted(mine) == ["media/bf/astro.jpg", "media/bf/coffee.jpg"]
    assert len([i for i in queue["items"] if i["key"] == "media/bf/coffee.jpg"]) == 1
    assert parse_item_id(mine["media/bf/astro.jpg"]["id"])[1] == held["sk"]

    coffee_chain = _chain(stack, runner, coffee)
    looser = coffee_chain[-1]
    assert looser["verdict"] == "review" and looser["computed_verdict"] == "allow"
    assert "remoderation_looser" in {r["code"] for r in looser["reasons"]}
    assert not _published(stack, "media/bf/coffee.jpg")  # never straight to publish


def _entry(bank: str, pdq: str) -> Any:
    from tutela.bank.model import BankEntry

    return BankEntry(bank=bank, pdq=pdq)


def test_bank_import_blocks_an_earlier_upload_retroactively_exactly_once(
    stack: EmulatedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Runner(stack)
    photo = _photo(tmp_path, "rocket.jpg", samples.rocket())  # in no bank of this stack yet
    a = runner.upload(photo, "media/retro/a.jpg")
    other = runner.upload(_photo(tmp_path, "cells.jpg", samples.immunohistochemistry()), "media/retro/b.jpg")
    for up in (a, other):
        runner.deliver(up)
    assert runner.decisions(a)[0]["verdict"] == "allow" and _published(stack, "media/retro/a.jpg")

    csv_path = tmp_path / "list.csv"
    csv_path.write_text(f"signal_type,signal\npdq,{hash_file(photo).hashes[0].hex}\n")
    bank_bucket = stack.outputs["BankBucketName"]
    assert (
        main(
            ["bank", "import", str(csv_path), "--bank", "known", "--action", "block", "--bucket", bank_bucket]
        )
        == 0
    )
    capsys.readouterr()
    snapshot = _bank(stack).read_index()["banks"]["known"]["version"]
    key = f"banks/known/v{snapshot}.pdq"
    head = stack.client("s3").head_object(Bucket=bank_bucket, Key=key)
    event = object_created_event(bank_bucket, key, head.get("VersionId"), head["ContentLength"], head["ETag"])
    # The template's rule (BankBucket Object Created *.pdq -> RemoderationStateMachine), twice: at least once.
    for _ in range(2):
        runs = stack.deliver(event)
        assert len(runs) == 1
        assert stack.wait(runs[0])["status"] == "SUCCEEDED"

    chain = _chain(stack, runner, a)
    known = [i for i in chain if "known_content" in {r["code"] for r in i.get("reasons", [])}]
    assert len(known) == 1  # exactly once, however often the snapshot event is delivered
    assert known[0]["verdict"] == "block" and known[0]["cause"]["bank"] == "known"
    assert not _published(stack, "media/retro/a.jpg")
    assert f"media/retro/a.jpg@{a.version_id}#remod" in _quarantined(stack)
    assert [i["verdict"] for i in _chain(stack, runner, other)] == ["allow"]  # no match: untouched


def _versions(stack: EmulatedStack, key: str) -> list[str]:
    """The upload bucket's object versions of ``key`` (delete markers left out)."""
    listing = stack.client("s3").list_object_versions(Bucket=stack.outputs["UploadBucketName"], Prefix=key)
    return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]


def _expire(stack: EmulatedStack, key: str, version_id: str) -> None:
    """What the noncurrent-version rule does after OriginalRetentionDays: the retired original is gone."""
    stack.client("s3").delete_object(Bucket=stack.outputs["UploadBucketName"], Key=key, VersionId=version_id)


def test_retired_originals_are_judged_through_their_published_copies(
    stack: EmulatedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Runner(stack)
    batch = tmp_path / "kind.jsonl"
    batch.write_text(
        '{"id": "k1", "text": "what a lovely sunset"}\n{"id": "k2", "text": "great colours, well done"}\n'
    )
    kind = runner.upload(batch, "comments/rp/kind.jsonl")
    gone = runner.upload(batch, "comments/rp/gone.jsonl")
    path = _photo(tmp_path, "retina.jpg", samples.retina())
    photo = runner.upload(path, "media/rp/retina.jpg")
    for up in (kind, gone, photo):
        runner.deliver(up)
        assert up.version_id in _versions(stack, up.key)  # retired: noncurrent, kept for the retention
        assert not stack.client("s3").list_objects_v2(Bucket=runner.bucket, Prefix=up.key).get("KeyCount")
    assert _published(stack, "comments/rp/kind.jsonl") and _published(stack, "media/rp/retina.jpg")

    # Comment batches: found through their published files, re-judged from the kept original.
    _expire(stack, gone.key, gone.version_id)
    comments = _backfill(stack, capsys, "--prefix", "comments/rp/")
    assert comments["code"] == 0 and comments["items"]["total"] == 2
    kind_chain = _chain(stack, runner, kind)
    assert [i["verdict"] for i in kind_chain] == ["allow", "allow"]
    assert kind_chain[-1]["sk"].startswith(f"v#{kind.version_id}#remod#")
    # an expired batch original is not judged from its published lines (docs/remoderation.md)
    assert [i["verdict"] for i in _chain(stack, runner, gone)] == ["allow"]
    assert _published(stack, "comments/rp/gone.jsonl")

    # Media whose original expired: scanned from its published copy, blocked, the copy is the evidence.
    _expire(stack, photo.key, photo.version_id)
    _bank(stack).add("expired", [_entry("expired", hash_file(path).hashes[0].hex)], defaults=Bank("expired"))
    media = _backfill(stack, capsys, "--prefix", "media/rp/")
    assert media["code"] == 0 and media["items"]["total"] == 1 and media["items"]["succeeded"] == 1
    chain = _chain(stack, runner, photo)
    assert [i["verdict"] for i in chain] == ["allow", "block"]
    assert "known_content" in {r["code"] for r in chain[-1]["reasons"]}
    assert not _published(stack, "media/rp/retina.jpg")  # withdrawn
    assert f"media/rp/retina.jpg@{photo.version_id}#remod" in _quarantined(stack)
