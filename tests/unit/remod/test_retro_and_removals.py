"""Retroactive matching of stored hashes, what a reviewer's block banks, and bank writes that never lose
another writer's addition (S3 conditional writes on moto)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from tutela.bank.index import BankIndex
from tutela.bank.model import Bank, BankEntry, MatchPolicy
from tutela.remod.retro import match_stored
from tutela.review.removals import removal_entries

A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _flip(h: str, bits: int) -> str:
    return f"{int(h, 16) ^ ((1 << bits) - 1):064x}"


def _stored(pk: str, version: str, *hashes: tuple[str, int]) -> dict[str, Any]:
    return {
        "pk": pk,
        "bucket": "up",
        "key": pk.split("/", 1)[1],
        "version_id": version,
        "pdq": [{"pdq": h, "quality": q} for h, q in hashes],
    }


def test_stored_hashes_match_within_the_threshold_and_above_the_quality_floor() -> None:
    index = BankIndex([Bank("b")], [BankEntry("b", A)])
    policy = MatchPolicy()
    items = [
        _stored("obj#up/media/p/near.jpg", "v1", (_flip(A, 30), 90)),  # distance 30: a match
        _stored("obj#up/media/p/far.jpg", "v1", (_flip(A, 32), 90)),  # distance 32: not
        _stored("obj#up/media/p/flat.jpg", "v1", (A, 40)),  # exact, but below the quality floor
        _stored("obj#up/media/p/near.jpg", "v1", (A, 90)),  # the same version again (a re-moderation)
        _stored("obj#up/media/p/video.mp4", "v2", (_flip(A, 128), 90), (_flip(A, 3), 80)),  # one frame
    ]
    found = match_stored(items, index, policy)
    assert [(m["key"], m["match"]["distance"]) for m in found] == [
        ("media/p/near.jpg", 30),
        ("media/p/video.mp4", 3),
    ]
    assert found[0]["match"]["action"] == "block"


def test_a_reviewers_block_banks_an_image_hash_and_a_video_whole() -> None:
    image = {"kind": "media", "media_type": "jpeg", "pdq": [{"pdq": A, "quality": 90}]}
    entries, videos = removal_entries(image, "platform_removed", 50)
    assert [e.pdq for e in entries] == [A] and videos == []
    video = {
        "kind": "media",
        "media_type": "mp4",
        "pdq": [
            {"pdq": A, "quality": 90},
            {"pdq": _flip(A, 40), "quality": 70},
            {"pdq": "0" * 64, "quality": 0},
        ],
    }
    entries, videos = removal_entries(video, "platform_removed", 50)
    assert entries == [] and [v.frames for v in videos] == [((A, 90), (_flip(A, 40), 70))]
    assert removal_entries({"kind": "comment", "pdq": image["pdq"]}, "x", 50) == ([], [])
    assert removal_entries({"kind": "media", "pdq": [{"pdq": A, "quality": 10}]}, "x", 50) == ([], [])


@pytest.fixture
def bucket(aws: None) -> str:
    boto3.client("s3").create_bucket(Bucket="banks-test")
    return "banks-test"


@pytest.fixture
def atomic_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each request to moto applied atomically, as S3 applies it. moto answers in the calling thread and
    checks a PUT's If-Match/If-None-Match before the write, not with it: two concurrent writers could both
    pass, and a hash was lost (2 of 100 runs on a loaded machine; S3 lets exactly one win and answers the
    other 412, or 409 while both are in flight). It also closes an overwritten object's buffer under a
    concurrent GET ("I/O operation on closed file", 4 of 100). Writers still interleave between requests."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    process = BotocoreStubber.process_request

    def atomic(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)


def test_concurrent_removals_are_all_kept(bucket: str, atomic_s3: None) -> None:
    """Reviewers block at the same time: every hash ends in the bank (conditional writes + retry). All eight
    read the bank before any of them writes (a barrier before each one's first PUT), so every run races
    eight writers for the same snapshot version and index: unconditional writes would keep one hash."""
    from tutela.aws.banks import RemovedBank, S3Blobs
    from tutela.bank.store import BankRepository

    client = boto3.client("s3")
    hashes = [_flip(A, n) for n in range(1, 9)]
    errors: list[BaseException] = []
    all_read = threading.Barrier(len(hashes), timeout=60)
    refused: list[int] = []

    def block(h: str) -> None:
        own = boto3.session.Session().client("s3")  # one per reviewer, as separate Lambda containers
        first_put = [True]

        def wait_for_all(**_: Any) -> None:
            if first_put:
                first_put.clear()
                all_read.wait()

        def count_refused(http_response: Any, **_: Any) -> None:
            if http_response.status_code == 412:
                refused.append(1)

        own.meta.events.register("before-call.s3.PutObject", wait_for_all)
        own.meta.events.register("after-call.s3.PutObject", count_refused)
        try:
            RemovedBank(bucket, "platform_removed", client=own, attempts=12).add(
                [BankEntry("platform_removed", h)], []
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=block, args=(h,)) for h in hashes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(refused) >= len(hashes) - 1  # the race happened: seven writers lost the first round
    repo = BankRepository(S3Blobs(bucket, client))
    meta = repo.read_index()["banks"]["platform_removed"]
    words, _ = repo._snapshot("platform_removed", meta["version"])
    assert sorted(w.astype(">u8").tobytes().hex() for w in words) == sorted(hashes)
    assert meta["count"] == 8 and meta["action"] == "block"


def test_only_a_dead_writers_snapshot_counts_as_abandoned(template: dict[str, Any]) -> None:
    """Promise: a takeover never overwrites a snapshot its writer may still commit (that writer's additions
    would be lost). The conditional writer is the review function, which Lambda stops at its timeout: a
    snapshot counts as abandoned only when it is older than that."""
    from tutela.aws.banks import ABANDONED_AFTER_S, ConditionalS3Blobs

    timeout = template["Resources"]["ReviewApiFunction"]["Properties"]["Timeout"]
    assert timeout < ABANDONED_AFTER_S
    assert ConditionalS3Blobs("b").abandoned_after == ABANDONED_AFTER_S


def test_a_lost_race_is_a_conflict_not_an_overwrite(bucket: str) -> None:
    from tutela.aws.banks import BankConflict, ConditionalS3Blobs
    from tutela.bank.store import INDEX_KEY, BankRepository

    class Racing(ConditionalS3Blobs):
        """Another writer commits right after this one has read the index."""

        raced = False

        def get(self, key: str) -> bytes | None:
            out = super().get(key)
            if key == INDEX_KEY and not Racing.raced:
                Racing.raced = True
                BankRepository(ConditionalS3Blobs(bucket)).add("b", [BankEntry("b", A)])
            return out

    with pytest.raises(BankConflict):
        BankRepository(Racing(bucket)).add("b", [BankEntry("b", _flip(A, 1))])  # would replace v1
    repo = BankRepository(ConditionalS3Blobs(bucket))
    assert repo.read_index()["banks"]["b"]["count"] == 1
    assert repo._snapshot("b", 1)[0][0].astype(">u8").tobytes().hex() == A  # the winner's, intact


def test_a_snapshot_left_by_a_dead_writer_is_taken_over(bucket: str) -> None:
    from tutela.aws.banks import ConditionalS3Blobs
    from tutela.bank.store import BankRepository

    boto3.client("s3").put_object(Bucket=bucket, Key="banks/b/v1.pdq", Body=b"\0" * 32)  # never committed
    with pytest.raises(Exception, match="changed"):
        BankRepository(ConditionalS3Blobs(bucket)).add("b", [BankEntry("b", A)])
    done = BankRepository(ConditionalS3Blobs(bucket, abandoned_after=-1)).add("b", [BankEntry("b", A)])
    assert done.added == 1 and done.total == 1


def test_a_committed_snapshot_is_never_taken_over(bucket: str) -> None:
    """Promise: only a snapshot no index ever committed counts as abandoned. A late writer of a version the
    index already holds (for its own bank) gets a conflict, however old the snapshot is; it never
    overwrites what the index points at."""
    from tutela.aws.banks import BankConflict, ConditionalS3Blobs
    from tutela.bank.store import BankRepository

    BankRepository(ConditionalS3Blobs(bucket)).add("b", [BankEntry("b", A)])  # commits banks/b/v1
    before = boto3.client("s3").get_object(Bucket=bucket, Key="banks/b/v1.pdq")["Body"].read()
    with pytest.raises(BankConflict):
        ConditionalS3Blobs(bucket, abandoned_after=-1).put("banks/b/v1.pdq", b"\1" * 32)
    assert boto3.client("s3").get_object(Bucket=bucket, Key="banks/b/v1.pdq")["Body"].read() == before
