"""HEIC (the iPhone default) is scanned, not held: the portrait's face is found through pi-heif."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tutela.vision import _cv, scan_file

pillow_heif = pytest.importorskip("pillow_heif")  # only to *write* the test file; scans decode with pi-heif


def test_heic_portrait_face_found_with_age(astronaut: Any, tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "astronaut.heic"
    rgb = astronaut[..., ::-1].copy()
    pillow_heif.from_pillow(Image.fromarray(rgb)).save(str(path), quality=90)
    assert _cv._heif_module().__name__ == "pi_heif"  # the decoder the vision layer ships
    report = scan_file(path, backend="local").to_dict()
    assert report["media_type"] == "heif"
    [face] = report["Faces"]
    assert face["AgeRange"]["High"] >= face["AgeRange"]["Low"] > 0
