"""Byte-level golden outputs of the scrubber: what every corpus file (and deterministic mutations of it)
scrubs to, recorded from a known-good version, so a speed change cannot silently change an output.

    .venv/bin/python tests/unit/scrub/scrub_golden.py --record   # rewrite golden_outputs.json

The JSON maps sha256(input) -> outcome: ``ok <sha256 of output> <sha256 of the report without timings>``
or ``err <error code>``. Keyed by the input's hash, so a generator library that starts producing other
bytes (a new Pillow/libjpeg/exiftool) shows up as "inputs not in the table", not as a false difference;
the test then asks for a re-record (from the version before the change being tested) instead of passing.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GOLDEN = HERE / "golden_outputs.json"
MUTATIONS = 16  # per corpus file, in its first 4 KiB (where the metadata is)


def _mutations(data: bytes, n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    span = min(len(data), 4096)
    out = []
    for _ in range(n):
        b = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(span)] = rng.choice((0, 0xFF, 0x7F, rng.randrange(256)))
        out.append(bytes(b))
    for cut in sorted({rng.randrange(len(data)) for _ in range(n // 8)}):
        out.append(data[:cut])
    return out


def _undated(icc: bytes) -> bytes:
    """The ICC profile with its creation date (header bytes 24-35) and profile ID (84-99) zeroed."""
    return icc[:24] + bytes(12) + icc[36:84] + bytes(16) + icc[100:]


def inputs(directory: Path) -> dict[str, bytes]:
    """name -> bytes: the hostile corpus, the exiftool-tagged format corpus, bench-like small JPEGs with
    GPS, and deterministic mutations (bit flips and truncations) of each. Needs exiftool."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import scrub_fixtures as gen
    from PIL import Image

    from tests.hostile.media_corpus import _gps_exif, generate

    files: dict[str, bytes] = {c.name: c.path.read_bytes() for c in generate(directory / "hostile")}
    fmt = directory / "formats"
    fmt.mkdir()
    icc = gen.icc_profile
    gen.icc_profile = lambda: _undated(icc())  # lcms stamps the profile with the current time
    try:
        files.update({n: p.read_bytes() for n, p in {**gen.make_images(fmt), **gen.make_videos(fmt)}.items()})
    finally:
        gen.icc_profile = icc
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    for i in range(4):  # what bench/bench_scrub.py --batch scrubs
        p = directory / f"small{i}.jpg"
        Image.fromarray(np.roll(base, i, axis=1)).resize((640, 480)).save(p, quality=85, exif=_gps_exif())
        files[p.name] = p.read_bytes()
    for name, data in list(files.items()):
        if data:
            for k, m in enumerate(_mutations(data, MUTATIONS, zlib.crc32(name.encode()))):
                files[f"{name}~{k}"] = m
    return files


def outcome(data: bytes, path_dir: Path | None = None) -> str:
    """The scrub's result for ``data``: through ``scrub_file`` when ``path_dir`` is given, else
    ``scrub_bytes``."""
    from tutela.errors import TutelaError
    from tutela.scrub import scrub_bytes, scrub_file

    try:
        if path_dir is None:
            out, report = scrub_bytes(data)
        else:
            src, dst = path_dir / "in.bin", path_dir / "out.bin"
            src.write_bytes(data)
            report = scrub_file(src, dst)
            out = dst.read_bytes()
    except TutelaError as exc:
        return f"err {exc.code}"
    rep = report.to_dict()
    rep.pop("timings_ms")
    rep_hash = hashlib.sha256(json.dumps(rep, sort_keys=True).encode()).hexdigest()[:16]
    return f"ok {hashlib.sha256(out).hexdigest()} {rep_hash}"


def key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record() -> int:
    with tempfile.TemporaryDirectory() as d:
        files = inputs(Path(d))
        table = {key(data): outcome(data) for data in files.values()}
    GOLDEN.write_text(json.dumps(dict(sorted(table.items())), indent=0) + "\n")
    oks = sum(v.startswith("ok") for v in table.values())
    print(f"recorded {len(table)} outcomes ({oks} ok) into {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "layers" / "core"))
    sys.exit(record() if "--record" in sys.argv else 2)
