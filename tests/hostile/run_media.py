"""Run every file of a directory through the scrub and scan domain in ONE process and print one JSON line
per file: outcome, error code, seconds, and how far the file pushed peak memory above the warm baseline.

    python -m tests.hostile.run_media CORPUS_DIR OUT_DIR

Peak RSS (``ru_maxrss``) only grows, so a file's ``rss_mb`` is how much it raised the high-water mark
reached by everything before it (models loaded, a normal photo scanned first). An address-space limit
(RLIMIT_AS, 6 GiB) is a safety net for the shared machine, not the measurement.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    corpus, out = Path(argv[0]), Path(argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    from tutela.errors import TutelaError
    from tutela.scrub import scrub_file
    from tutela.vision import scan_file

    out.mkdir(parents=True, exist_ok=True)
    warm = out / ".warm.png"
    from tests.hostile.media_corpus import png

    warm.write_bytes(png())
    scan_file(warm)  # models loaded, decoders initialised: the baseline
    scrub_file(warm, out / ".warm.out.png")
    for path in sorted(p for p in corpus.iterdir() if p.is_file()):
        row: dict[str, object] = {"name": path.name}
        before = _peak_mb()
        t0 = time.perf_counter()
        for step in ("scrub", "scan"):
            try:
                if step == "scrub":
                    row["scrub"] = scrub_file(path, out / path.name).to_dict()
                else:
                    row["scan"] = scan_file(path).to_dict()
            except TutelaError as exc:
                row[step] = {"error": exc.code, "message": str(exc)}
            except Exception as exc:  # reported, never hidden: the test fails on it
                row[step] = {"error": "internal_error", "message": f"{type(exc).__name__}: {exc}"[:300]}
        row["seconds"] = round(time.perf_counter() - t0, 3)
        row["rss_mb"] = round(_peak_mb() - before, 1)
        print(json.dumps(row, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
