"""Server-side splice: multipart parts from a scrub plan (pure), and an end-to-end run on moto."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pytest
import scrub_fixtures as gen

from tutela.scrub import Copy, Data, Plan, Zero, plan_reader, scrub_file

s3_splice = pytest.importorskip("tutela.aws.s3_splice")
moto = pytest.importorskip("moto")


def _render(parts: list, src: bytes) -> bytes:
    out = b""
    for p in parts:
        if isinstance(p, s3_splice.CopyPart):
            out += src[p.start : p.end]
        else:
            for q in p.pieces:
                out += src[q.offset : q.offset + q.length] if isinstance(q, Copy) else q.data
    return out


@pytest.mark.parametrize("seed", range(40))
def test_build_parts_reproduces_plan_and_respects_min_size(seed: int) -> None:
    rng = random.Random(seed)
    src = bytes(rng.randrange(256) for _ in range(5000))
    plan, expect, pos = Plan(), b"", 0
    while pos < len(src):
        kind = rng.random()
        n = rng.randint(1, 900)
        if kind < 0.6:
            n = min(n, len(src) - pos)
            plan.copy(pos, n)
            expect += src[pos : pos + n]
            pos += n + rng.choice((0, 0, 5))
        elif kind < 0.8:
            d = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
            plan.data(d)
            expect += d
        else:
            plan.zero(rng.randint(1, 30))
            expect += bytes(plan.pieces[-1].length)  # type: ignore[union-attr]
    parts = s3_splice.build_parts(plan, min_part=256, max_part=1000)
    assert _render(parts, src) == expect
    sizes = [s3_splice._size(p) for p in parts]
    assert all(s >= 256 for s in sizes[:-1]) and all(s <= 1000 + 256 for s in sizes)
    assert isinstance(Zero(1), Zero) and isinstance(Data(b"x"), Data)


@pytest.fixture()
def big_video(tmp_path: Path) -> Path:
    """A tagged MP4 with a 12 MiB padding mdat after moov: several multipart parts."""
    p = tmp_path / "big.mp4"
    gen.make_video(p, frames=4)
    gen.exiftool_write([p], gen.VIDEO_TAGS)  # exiftool moves moov before mdat
    with p.open("ab") as f:
        f.write(struct.pack(">I4s", 8 + 12 * 1024 * 1024, b"mdat") + os.urandom(12 * 1024 * 1024))
    return p


def test_scrub_object_server_side_matches_local(big_video: Path, tmp_path: Path) -> None:
    import boto3

    with moto.mock_aws():
        c = boto3.client("s3", region_name="us-east-1")
        for b in ("up-bucket", "pub-bucket"):
            c.create_bucket(Bucket=b)
        c.put_bucket_versioning(Bucket="up-bucket", VersioningConfiguration={"Status": "Enabled"})
        v = c.put_object(Bucket="up-bucket", Key="media/p1/v.mp4", Body=big_video.read_bytes())["VersionId"]

        reader = s3_splice.S3Reader(c, "up-bucket", "media/p1/v.mp4", v)
        plan, _ = plan_reader(reader)
        assert reader.gets * reader.BLOCK < reader.size // 4  # only metadata was read
        parts = s3_splice.build_parts(plan)
        assert any(isinstance(p, s3_splice.CopyPart) for p in parts)

        report = s3_splice.scrub_object(
            "up-bucket", "media/p1/v.mp4", "pub-bucket", "media/p1/v.mp4", version_id=v, client=c
        )
        assert report.verified and report.location_found
        got = c.get_object(Bucket="pub-bucket", Key="media/p1/v.mp4")["Body"].read()
    local = tmp_path / "local.mp4"
    scrub_file(big_video, local)
    assert got == local.read_bytes()


def test_scrub_object_small_image_and_failure_leaves_nothing(corpus: dict[str, Path]) -> None:
    import boto3

    from tutela.errors import CorruptMediaError

    with moto.mock_aws():
        c = boto3.client("s3", region_name="us-east-1")
        for b in ("up-bucket", "pub-bucket"):
            c.create_bucket(Bucket=b)
        c.put_object(Bucket="up-bucket", Key="a.heic", Body=corpus["image.heic"].read_bytes())
        report = s3_splice.scrub_object("up-bucket", "a.heic", "pub-bucket", "a.heic", client=c)
        assert report.verified and "exif.gps" in report.removed
        c.put_object(
            Bucket="up-bucket", Key="bad.jpg", Body=b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00" + b"\x00" * 30
        )
        with pytest.raises(CorruptMediaError):
            s3_splice.scrub_object("up-bucket", "bad.jpg", "pub-bucket", "bad.jpg", client=c)
        keys = [o["Key"] for o in c.list_objects_v2(Bucket="pub-bucket").get("Contents", [])]
        assert keys == ["a.heic"]


def test_missing_object_is_not_transient() -> None:
    import boto3

    from tutela.errors import InvalidInputError, TransientError

    with moto.mock_aws():
        c = boto3.client("s3", region_name="us-east-1")
        c.create_bucket(Bucket="up-bucket")
        c.put_object(Bucket="up-bucket", Key="k", Body=b"x" * 100)
        r = s3_splice.S3Reader(c, "up-bucket", "k")
        c.delete_object(Bucket="up-bucket", Key="k")
        with pytest.raises(InvalidInputError) as info:
            r.read_at(0, 10)
        assert not isinstance(info.value, TransientError)
