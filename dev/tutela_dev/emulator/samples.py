"""License-clean demo samples, generated (nothing downloaded, no real people): a geotagged photo,
a comment thread with a grooming comment, the post's own text (a caption that says a child is in the post,
with precise coordinates), and a file the pipeline does not support."""

from __future__ import annotations

import json
from pathlib import Path

# A public landmark's coordinates (Eiffel Tower), embedded the way phones do.
_GPS = {1: "N", 2: (48.0, 51.0, 29.6), 3: "E", 4: (2.0, 17.0, 40.2), 5: 0, 6: 35.0}

THREAD = [
    {"id": "c1", "text": "What a lovely day at the beach! 🌊"},
    {"id": "c2", "text": "Beautiful photo, the colours are amazing."},
    {"id": "c3", "text": "hey cutie how old are you? add me on snap, don't tell your parents 🤫"},
    {"id": "c4", "text": "好可爱的照片,周末愉快!"},
    {"id": "c5", "text": "加我薇信聊聊,别告诉你爸妈"},
]


POST = {
    "post_id": "local",
    "caption": "Our 8-year-old's first swim at the beach today 🌊",
    "title": "Summer holiday",
    "hashtags": ["summer", "family", "beachday"],
    "location": {"name": "Plage du Prado", "lat": 43.26122, "lon": 5.37291},
    "uploader": "demo-parent",
}


def photo(path: Path, size: tuple[int, int] = (1280, 960)) -> Path:
    """A synthetic landscape JPEG with EXIF GPS, camera serial and owner name."""
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):  # sky to sea gradient
        t = y / h
        draw.line([(0, y), (w, y)], fill=(int(90 + 100 * t), int(160 + 40 * t), int(235 - 80 * t)))
    draw.ellipse([w * 0.7, h * 0.1, w * 0.85, h * 0.3], fill=(255, 220, 120))
    draw.polygon(
        [(0, h * 0.75), (w * 0.3, h * 0.5), (w * 0.6, h * 0.78), (w, h * 0.6), (w, h), (0, h)],
        fill=(60, 120, 70),
    )
    exif = Image.Exif()
    exif[0x010F] = "TutelaCam"  # Make
    exif[0x0110] = "Demo 1"  # Model
    exif[0x0112] = 1  # Orientation
    exif[0x013B] = "Jane Parent"  # Artist (identifying)
    exif.get_ifd(0x8769).update({0xA431: "SN-0042-DEMO", 0x9003: "2026:07:14 10:30:00"})  # BodySerialNumber
    exif.get_ifd(0x8825).update(_GPS)
    img.save(path, "JPEG", quality=90, exif=exif)
    return path


def thread(path: Path) -> Path:
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in THREAD), encoding="utf-8")
    return path


def post(path: Path) -> Path:
    path.write_text(json.dumps(POST, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def unsupported(path: Path) -> Path:
    """Not an executable: an MZ header followed by text, enough to be sniffed as 'not media'."""
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 60 + b"This is a Tutela demo file, not a program.\r\n")
    return path


def write_samples(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        photo(directory / "beach.jpg"),
        thread(directory / "thread.jsonl"),
        unsupported(directory / "notes.exe"),
        post(directory / "post.json"),
    ]
