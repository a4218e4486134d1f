"""PDQ hashing of decoded frames (Meta's reference algorithm, through the `pdqhash` bindings).

Lives in the vision layer with OpenCV and numpy: it hashes the very frames the scanner decoded, so
hashing never decodes a file a second time. Imported lazily: the core layer does not need numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# Full-resolution hashing is what hash-sharing programmes do (python-threatexchange hashes the decoded
# array as is); above this many pixels we area-downscale first, which moves a hash by a few bits at most
# (measured in tests) and keeps a 50 MP photo from costing a second.
MAX_HASH_PIXELS = 4_000_000
DIHEDRAL_NAMES = ("r0", "r90", "r180", "r270", "fv", "fh", "r90fv", "r90fh")


@dataclass(frozen=True)
class PdqHash:
    hex: str
    quality: int

    def to_dict(self) -> dict[str, Any]:
        return {"pdq": self.hex, "quality": self.quality}


def vector_to_hex(vector: Any) -> str:
    """256 bits, first most significant -> 64 lowercase hex digits (the exchange format)."""
    bits = 0
    for b in vector:
        bits = (bits << 1) | (1 if b else 0)
    return f"{bits:064x}"


def _rgb(frame: np.ndarray) -> np.ndarray:
    import cv2

    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    else:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    h, w = frame.shape[:2]
    if h * w > MAX_HASH_PIXELS:
        scale = (MAX_HASH_PIXELS / (h * w)) ** 0.5
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return frame


def hash_frame(frame: np.ndarray) -> PdqHash:
    """PDQ of one decoded OpenCV frame (BGR, BGRA or grey)."""
    import pdqhash

    vector, quality = pdqhash.compute(_rgb(frame))
    return PdqHash(vector_to_hex(vector), int(quality))


def hash_frame_dihedral(frame: np.ndarray) -> list[PdqHash]:
    """The 8 rotations/flips in one pass (PDQ computes them from one DCT), original first."""
    import pdqhash

    vectors, quality = pdqhash.compute_dihedral(_rgb(frame))
    return [PdqHash(vector_to_hex(v), int(quality)) for v in vectors]


def hash_image_bytes(data: bytes) -> PdqHash:
    """Decode an image with OpenCV and hash it (the CLI's path; the pipeline hashes the scanner's frames)."""
    import cv2
    import numpy as np

    frame = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise ValueError("not an image OpenCV can decode")
    return hash_frame(frame)


def distance(a: str, b: str) -> int:
    """Hamming distance of two hex PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
