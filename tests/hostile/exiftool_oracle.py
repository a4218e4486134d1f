"""exiftool as the independent location oracle for published bytes: one definition for every hostile suite."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

# Any tag name that places the picture: GPS blocks, XMP/IPTC city/country/location, PNG text keys.
LOCATION_TAG = re.compile(
    r"(?i)gps|latitude|longitude|^city$|country|location|province|^state$|^coverage$|locality|municipality|"
    r"^county$|^island|^continent$|^waterbody$|geography|coordinate|^footprint"
)


def location_tags(files: Iterable[Path]) -> dict[str, list[str]]:
    """``{file: [location tags]}`` that exiftool reads in ``files``, embedded documents included (``-ee``)."""
    proc = subprocess.run(
        ["exiftool", "-j", "-G1", "-a", "-ee", "-m", "-q", "-q", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    hits: dict[str, list[str]] = {}
    for rec in json.loads(proc.stdout or "[]"):
        tags = [k for k in rec if LOCATION_TAG.search(k.split(":")[-1])]
        if tags:
            hits[Path(rec["SourceFile"]).name] = tags
    return hits
