"""Video-to-video matching the vPDQ way: the exchange format, the match rule, storage, import and the
CLI on real videos (a re-encoded, downscaled copy and a clip match; another video does not)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as samples

from tutela.bank.csvio import read_hash_csv
from tutela.bank.known import scan_and_match
from tutela.bank.media import hash_file
from tutela.bank.model import Bank, MatchPolicy, VideoEntry
from tutela.bank.pdq import PdqHash
from tutela.bank.store import BankRepository, DirBlobs
from tutela.bank.vpdq import MAX_FRAMES, VideoIndex, parse_vpdq, to_signal
from tutela_dev.cli import main

POLICY = MatchPolicy()


def _hashes(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)
    return [w.astype(">u8").tobytes().hex() for w in words]


def _flip_bits(pdq: str, bits: int, seed: int) -> str:
    value = int(pdq, 16)
    for b in np.random.default_rng(seed).choice(256, size=bits, replace=False):
        value ^= 1 << int(b)
    return f"{value:064x}"


def _video(frames: list[str], bank: str = "removed", quality: int = 100) -> VideoEntry:
    return VideoEntry(bank, tuple((h, quality) for h in frames))


def test_exchange_format_round_trips_drops_exact_repeats_and_rejects_bad_signals() -> None:
    a, b = _hashes(2, seed=1)
    frames = [PdqHash(a, 90), PdqHash(a, 90), PdqHash(b, 40)]
    signal = to_signal(frames)
    assert json.loads(signal)[0] == f"{a},90,0.000"
    assert parse_vpdq(signal) == ((a, 90), (b, 40))
    assert parse_vpdq(json.dumps([f"{a.upper()},100,1.5"])) == ((a, 100),)
    for bad in (
        "",
        "[]",
        "{}",
        json.dumps([a]),
        json.dumps([f"{a},101,0"]),
        json.dumps([f"{a},50,-1"]),
        json.dumps([f"{a[:-1]},50,0"]),
        json.dumps([f"{a},50,0"] * (MAX_FRAMES + 1)),
    ):
        with pytest.raises(ValueError):
            parse_vpdq(bad)


def test_a_video_matches_when_most_of_its_frames_are_in_a_banked_video() -> None:
    banked = _hashes(20, seed=2)
    index = VideoIndex({"removed": Bank("removed", label="csam")}, [_video(banked)])
    # a re-encoded clip: half of the banked frames, each moved by 12 bits
    clip = [PdqHash(_flip_bits(h, 12, i), 90) for i, h in enumerate(banked[5:15])]
    [m] = index.match(clip, POLICY)
    assert (m.bank, m.label, m.action, m.signal_type) == ("removed", "csam", "block", "vpdq")
    assert (m.query_match_percent, m.compared_match_percent) == (100.0, 50.0)
    assert m.distance == 12
    assert m.to_dict()["signal_type"] == "vpdq"
    # the share of the banked video found can be required too
    assert index.match(clip, MatchPolicy(video_compared_match_percent=60.0)) == []
    # 3 of 10 frames in common (30%) is not a match: a shared title card or black frame is not enough
    mixed = clip[:3] + [PdqHash(h, 90) for h in _hashes(7, seed=3)]
    assert index.match(mixed, POLICY) == []
    # 8 of 10 is
    mostly = clip[:8] + [PdqHash(h, 90) for h in _hashes(2, seed=4)]
    assert index.match(mostly, POLICY)[0].query_match_percent == 80.0


def test_low_quality_frames_never_count_and_disabled_banks_are_ignored() -> None:
    banked = _hashes(10, seed=5)
    index = VideoIndex({"removed": Bank("removed")}, [_video(banked, quality=20)])
    assert index.match([PdqHash(h, 90) for h in banked], POLICY) == []
    index = VideoIndex({"removed": Bank("removed")}, [_video(banked)])
    assert index.match([PdqHash(h, 20) for h in banked], POLICY) == []
    off = VideoIndex({"removed": Bank("removed", enabled=False)}, [_video(banked)])
    assert off.size == 0 and off.match([PdqHash(h, 90) for h in banked], POLICY) == []


def test_best_video_per_bank_across_many_banked_videos() -> None:
    videos = [_video(_hashes(30, seed=100 + i), bank="b1" if i % 2 else "b2") for i in range(40)]
    index = VideoIndex({"b1": Bank("b1"), "b2": Bank("b2", action="review")}, videos)
    target = videos[17]  # bank b1
    query = [PdqHash(_flip_bits(h, 5, i), 80) for i, (h, _) in enumerate(target.frames)]
    [m] = index.match(query, POLICY)
    assert (m.bank, m.compared_match_percent) == ("b1", 100.0)


def test_csv_import_and_repository_keep_videos_across_versions(tmp_path: Path) -> None:
    a = _hashes(6, seed=7)
    signal = to_signal([PdqHash(h, 90) for h in a])
    text = "signal_type,signal,label\n" + "\n".join(
        [
            f"vpdq,{json.dumps(signal)[1:-1]!s}",  # unquoted JSON: the commas split it (bad line 2)
            'vpdq,"' + signal.replace('"', '""') + '",case-9',
            'vpdq,"' + signal.replace('"', '""') + '"',  # duplicate
            'vpdq,"[1, 2]"',
            f"pdq,{a[0]}",
        ]
    )
    parsed = read_hash_csv(text, "removed")
    assert [line for line, _ in parsed.errors] == [2, 5]
    assert len(parsed.videos) == 1 and parsed.videos[0].label == "case-9" and parsed.duplicates == 1
    assert [e.pdq for e in parsed.entries] == [a[0]]

    repo = BankRepository(DirBlobs(tmp_path))
    first = repo.add("removed", parsed.entries, videos=parsed.videos)
    assert (first.added, first.videos_added, first.videos_total) == (1, 1, 1)
    other = _video(_hashes(4, seed=8))
    second = repo.add("removed", [], videos=[parsed.videos[0], other])
    assert (second.videos_added, second.already_present, second.videos_total) == (1, 1, 2)
    _, index = repo.load_index()
    assert index.videos is not None and index.videos.size == 2
    [m] = index.videos.match([PdqHash(h, 90) for h in a], POLICY)
    assert m.label == "case-9"
    assert index.size == 1  # the image hash is still there


FPS = 10


def _write_video(path: Path, shots: list[np.ndarray], seconds_each: float, size: tuple[int, int]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, size)
    assert writer.isOpened()
    for shot in shots:
        frame = cv2.resize(shot, size, interpolation=cv2.INTER_AREA)
        for _ in range(int(seconds_each * FPS)):
            writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    shots = [
        cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        for img in (samples.astronaut(), samples.coffee(), samples.chelsea(), samples.rocket())
    ]
    others = [
        cv2.cvtColor(np.stack([img] * 3, axis=-1) if img.ndim == 2 else img, cv2.COLOR_RGB2BGR)
        for img in (samples.camera(), samples.moon(), samples.text(), samples.page())
    ]
    return {
        "banked": _write_video(d / "banked.mp4", shots, 2.0, (480, 360)),
        "smaller": _write_video(d / "smaller.mp4", shots, 2.0, (240, 180)),
        "clip": _write_video(d / "clip.mp4", shots[2:], 2.0, (320, 240)),
        "other": _write_video(d / "other.mp4", others, 2.0, (480, 360)),
    }


def test_cli_banks_a_video_whole_and_matches_copies_and_clips_not_other_videos(
    tmp_path: Path, videos: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    banks = str(tmp_path / "banks")
    assert main(["bank", "add", str(videos["banked"]), "--bank", "removed", "--dir", banks]) == 0
    added = json.loads(capsys.readouterr().out)
    assert (added["added"], added["videos_added"]) == (0, 1)
    for name in ("smaller", "clip"):
        assert main(["bank", "match", str(videos[name]), "--dir", banks]) == 0
        [m] = json.loads(capsys.readouterr().out)["matches"]
        assert (m["bank"], m["signal_type"], m["action"]) == ("removed", "vpdq", "block"), name
        assert m["query_match_percent"] >= 80.0, name
    assert main(["bank", "match", str(videos["other"]), "--dir", banks]) == 0
    assert json.loads(capsys.readouterr().out)["matches"] == []


def test_the_pipeline_scan_reports_a_video_match_for_the_policy(
    tmp_path: Path, videos: dict[str, Path]
) -> None:
    repo = BankRepository(DirBlobs(tmp_path))
    frames = tuple((h.hex, h.quality) for h in hash_file(videos["banked"]).hashes)
    repo.add("removed", [], videos=[VideoEntry("removed", frames)], defaults=Bank("removed", action="review"))
    _, index = repo.load_index()
    report = scan_and_match(videos["smaller"], backend="local", index=index)
    assert [(k["bank"], k["action"], k.get("signal_type")) for k in report["known_content"]] == [
        ("removed", "review", "vpdq")
    ]
    from tutela.policy.media import decide_media

    decision = decide_media(report)
    assert decision["verdict"] == "review"
    assert any(r["code"] == "known_content" for r in decision["reasons"])
