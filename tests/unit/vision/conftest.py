"""Test images: synthetic, or shipped with scikit-image (public-domain/CC0 sample data). No real nudity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")


def _skimage(name: str) -> Any:
    data = pytest.importorskip("skimage.data")
    img = getattr(data, name)()
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def astronaut() -> Any:
    return _skimage("astronaut")


@pytest.fixture(scope="session")
def ordinary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Ordinary photos: portrait, animals, objects, text, plus synthetic scenes."""
    root = tmp_path_factory.mktemp("ordinary")
    out: dict[str, Path] = {}
    for name in (
        "astronaut",
        "chelsea",
        "coffee",
        "camera",
        "rocket",
        "text",
        "coins",
        "immunohistochemistry",
    ):
        path = root / f"{name}.jpg"
        cv2.imwrite(str(path), _skimage(name))
        out[name] = path
    grad = np.dstack([np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))] * 3)
    cv2.imwrite(str(root / "gradient.png"), grad)
    out["gradient"] = root / "gradient.png"
    page = np.full((480, 640, 3), 255, np.uint8)
    for i in range(8):
        cv2.putText(
            page, f"Tutela line {i} lorem ipsum", (20, 50 + 50 * i), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 0), 2
        )
    cv2.imwrite(str(root / "page.webp"), page)
    out["page"] = root / "page.webp"
    return out


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def _write(name: str, data: bytes) -> Path:
        p = tmp_path / name
        p.write_bytes(data)
        return p

    return _write
