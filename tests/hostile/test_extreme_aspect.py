"""Every upload ends in a stored decision: a still of extreme aspect ratio (30000 x 1, 1 x 30000) is scanned
or refused with a tutela error, never an OpenCV assertion.

The local backend's profile-face pass scaled its <= 320 px copy (500 x 1 after the frame fit) by a factor
that rounds the short side to 0 rows; ``cv2.resize`` asserts on an empty size, so ``scan_file`` raised
``cv2.error`` (a traceback in ``tutela scan``, an unclassified failure in ScanMedia) for every such file, in
every format. Sizes within every limit (30000 px a side, 120 MP)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tutela.errors import TutelaError
from tutela.vision import scan_file

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif")]
)
@pytest.mark.parametrize("shape", [(1, 16383), (16383, 1), (1, 30000), (2, 30000), (30000, 1)])
def test_an_extreme_aspect_ratio_ends_in_a_scan_or_a_tutela_error(
    tmp_path: Path, fmt: str, suffix: str, shape: tuple[int, int]
) -> None:
    if fmt == "WEBP" and max(shape) > 16383:
        pytest.skip("WebP is at most 16383 px a side")
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(buf, fmt)
    p = tmp_path / f"extreme{suffix}"
    p.write_bytes(buf.getvalue())
    try:
        report = scan_file(p, backend="local").to_dict()
    except TutelaError:
        return  # held, with a reason
    assert report["frames"] == 1
