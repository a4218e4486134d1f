"""PDQ hash banks: hashing, the exchange format, the index, import, storage and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as samples

from tutela.bank.csvio import read_hash_csv
from tutela.bank.index import BankIndex, hex_to_words, popcount_distances
from tutela.bank.matching import match_hashes
from tutela.bank.media import hash_file
from tutela.bank.model import Bank, BankEntry, MatchPolicy, parse_pdq
from tutela.bank.pdq import distance, hash_frame, vector_to_hex
from tutela.bank.store import BankRepository, CachedIndex, DirBlobs
from tutela_dev.cli import main

POLICY = MatchPolicy()


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("photos")
    banked = _bgr(samples.astronaut())
    h, w = banked.shape[:2]
    out = {
        "banked": banked,
        "half_q70": cv2.resize(banked, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
        # PDQ tolerates slight crops only (1% a side: distance 16; 2%: 38, past the threshold)
        "cropped": banked[int(h * 0.01) : int(h * 0.99), int(w * 0.01) : int(w * 0.99)],
        "mirrored": cv2.flip(banked, 1),
        "other": _bgr(samples.chelsea()),
        "uniform": np.full((300, 300, 3), 127, np.uint8),
    }
    paths = {}
    for name, img in out.items():
        paths[name] = d / f"{name}.jpg"
        cv2.imwrite(str(paths[name]), img, [cv2.IMWRITE_JPEG_QUALITY, 70 if name == "half_q70" else 92])
    return paths


def test_hex_is_the_exchange_format_first_bit_most_significant() -> None:
    vector = [1] + [0] * 254 + [1]
    assert vector_to_hex(vector) == "8" + "0" * 62 + "1"
    assert distance("f" * 64, "0" * 64) == 256


def test_bank_matches_resized_reencoded_cropped_and_mirrored_copies_not_other_photos(
    photos: dict[str, Path],
) -> None:
    banked = hash_file(photos["banked"])
    index = BankIndex([Bank("platform_removed")], [BankEntry("platform_removed", banked.hashes[0].hex)])
    for name in ("half_q70", "cropped", "mirrored"):
        matches = match_hashes(index, hash_file(photos[name]).queries, POLICY)
        assert [m.bank for m in matches] == ["platform_removed"], name
        assert matches[0].distance <= POLICY.max_distance
        assert matches[0].action == "block"
    assert match_hashes(index, hash_file(photos["other"]).queries, POLICY) == []


def test_a_uniform_image_never_matches_even_its_own_hash(photos: dict[str, Path]) -> None:
    uniform = hash_file(photos["uniform"])
    assert uniform.hashes[0].quality < POLICY.min_quality
    index = BankIndex([Bank("b")], [BankEntry("b", uniform.hashes[0].hex)])
    assert match_hashes(index, uniform.queries, POLICY) == []


def _random_hashes(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)
    return [w.astype(">u8").tobytes().hex() for w in words]


def _flip_bits(pdq: str, n: int, rng: np.random.Generator) -> str:
    value = int(pdq, 16)
    for bit in rng.choice(256, size=n, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


@pytest.mark.parametrize("max_distance", [0, 15, 31, 40])
def test_multi_index_search_finds_exactly_what_a_full_scan_finds(max_distance: int) -> None:
    hashes = _random_hashes(20_000)
    index = BankIndex([Bank("b")], [BankEntry("b", h) for h in hashes])
    rng = np.random.default_rng(max_distance)
    words = hex_to_words(hashes)
    for target in range(0, 20_000, 997):
        for flips in (0, max_distance // 2, max_distance, max_distance + 1):
            query = _flip_bits(hashes[target], min(flips, 256), rng)
            full = popcount_distances(words, hex_to_words([query])[0])
            expected = sorted((int(i), int(full[i])) for i in np.nonzero(full <= max_distance)[0])
            assert sorted(index.search(query, max_distance)) == expected


def test_closest_match_per_bank_with_per_entry_labels_and_disabled_banks_ignored() -> None:
    base = _random_hashes(1)[0]
    rng = np.random.default_rng(1)
    near, far = _flip_bits(base, 3, rng), _flip_bits(base, 20, rng)
    banks = [
        Bank("ncii", label="ncii", action="review"),
        Bank("csam", label="csam"),
        Bank("old", enabled=False),
    ]
    entries = [
        BankEntry("ncii", far),
        BankEntry("ncii", near, label="case-17"),
        BankEntry("csam", far),
        BankEntry("old", base),
    ]
    matches = BankIndex(banks, entries).match([base], 31)
    assert [(m.bank, m.label, m.distance, m.action) for m in matches] == [
        ("csam", "csam", 20, "block"),
        ("ncii", "case-17", 3, "review"),
    ]


def test_csv_import_reports_bad_lines_by_number_and_keeps_the_good_ones() -> None:
    good = "a" * 64
    text = "\n".join(
        [
            "signal_type,signal,label",
            f"pdq,{good.upper()},x",
            "pdq,abc,",
            "vpdq," + "b" * 64,
            "md5," + "c" * 64,
            "",
            f"pdq,{good}",
            "pdq",
            f"pdq,{'d' * 64}",
        ]
    )
    result = read_hash_csv(text, "b")
    assert [e.pdq for e in result.entries] == [good, "d" * 64]
    assert result.entries[0].label == "x"
    assert [line for line, _ in result.errors] == [3, 4, 5, 8]
    assert result.duplicates == 1
    assert read_hash_csv("signal,foo\n", "b").errors[0][0] == 1
    with pytest.raises(ValueError):
        parse_pdq("g" * 64)


def test_repository_versions_snapshots_and_the_cache_refreshes_on_a_new_version(tmp_path: Path) -> None:
    repo = BankRepository(DirBlobs(tmp_path))
    first, second = _random_hashes(2, seed=3)
    added = repo.add("platform_removed", [BankEntry("platform_removed", first)])
    assert (added.added, added.total) == (1, 1)
    cache = CachedIndex(lambda: repo, ttl=30)
    assert cache.get(now=0).match([second], 0) == []
    again = repo.add(
        "platform_removed", [BankEntry("platform_removed", first), BankEntry("platform_removed", second)]
    )
    assert (again.added, again.already_present, again.total) == (1, 1, 2)
    assert cache.get(now=10).match([second], 0) == []  # within the TTL: the warm index is kept
    assert [m.bank for m in cache.get(now=31).match([second], 0)] == ["platform_removed"]
    repo.define(Bank("platform_removed", enabled=False))
    assert cache.get(now=62).match([second], 0) == []
    with pytest.raises(ValueError):
        DirBlobs(tmp_path).get("banks/../../etc/passwd")


def test_cli_add_match_and_import(
    tmp_path: Path, photos: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    banks = str(tmp_path / "banks")
    assert main(["bank", "add", str(photos["banked"]), "--bank", "platform_removed", "--dir", banks]) == 0
    capsys.readouterr()
    assert main(["bank", "match", str(photos["half_q70"]), "--dir", banks]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["matches"][0]["bank"] == "platform_removed" and out["matches"][0]["action"] == "block"
    assert len(out["pdq"]) == 64 and out["quality"] >= 50
    assert main(["bank", "match", str(photos["other"]), "--dir", banks]) == 0
    assert json.loads(capsys.readouterr().out)["matches"] == []
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(f"signal_type,signal\npdq,{'0' * 63}\npdq,{out['pdq']}\n")
    assert (
        main(["bank", "import", str(csv_file), "--bank", "ncii", "--action", "review", "--dir", banks]) == 1
    )
    captured = capsys.readouterr()
    assert f"{csv_file}:2:" in captured.err
    assert json.loads(captured.out)["added"] == 1
    assert main(["bank", "match", str(photos["half_q70"]), "--dir", banks]) == 0
    got = {m["bank"]: m["action"] for m in json.loads(capsys.readouterr().out)["matches"]}
    assert got == {"platform_removed": "block", "ncii": "review"}


def test_hash_frame_accepts_grey_and_alpha_frames() -> None:
    rgb = samples.astronaut()
    colour = hash_frame(_bgr(rgb))
    grey = hash_frame(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    alpha = hash_frame(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA))
    assert distance(colour.hex, alpha.hex) == 0
    assert distance(colour.hex, grey.hex) <= 31


def test_media_policy_decides_known_content_before_any_classifier() -> None:
    from tutela.policy.media import decide_media, match_policy

    clean = {"kind": "image", "frames": 1, "ModerationLabels": [], "Faces": []}
    assert decide_media(clean)["verdict"] == "allow"
    block = {**clean, "known_content": [{"bank": "csam", "label": "csam", "distance": 4, "action": "block"}]}
    decided = decide_media(block)
    assert (decided["verdict"], decided["severity"], decided["escalate"]) == ("block", 4, True)
    assert decided["reasons"][0]["code"] == "known_content" and decided["reasons"][0]["bank"] == "csam"
    review = {
        **clean,
        "known_content": [{"bank": "ncii", "label": "ncii", "distance": 9, "action": "review"}],
    }
    assert decide_media(review)["verdict"] == "review" and not decide_media(review)["escalate"]
    assert match_policy() == MatchPolicy(max_distance=31, min_quality=50)


def test_scan_settings_read_the_bank_bucket() -> None:
    from tutela.aws.settings import ScanSettings

    assert ScanSettings.from_env({"BANK_BUCKET": "b"}).bank_bucket == "b"
    assert ScanSettings.from_env({}).bank_bucket is None


def test_every_scanned_page_is_hashed_so_banked_content_on_page_two_matches(tmp_path: Path) -> None:
    """Promise: the hashes are of exactly what was scanned (the scanner's frame sink), not only page 1."""
    import io

    from PIL import Image

    from tutela.bank.known import scan_and_match

    pages = [Image.fromarray(samples.chelsea()), Image.fromarray(samples.astronaut()).resize((451, 300))]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    tiff = tmp_path / "pages.tif"
    tiff.write_bytes(buf.getvalue())
    banked = hash_frame(_bgr(np.asarray(pages[1]))).hex
    index = BankIndex([Bank("platform_removed")], [BankEntry("platform_removed", banked)])
    report = scan_and_match(tiff, backend="local", index=index)
    assert report["frames"] == 2 and len(report["pdq"]) == 2
    assert [m["bank"] for m in report["known_content"]] == ["platform_removed"]
