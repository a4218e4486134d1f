"""The ``VisionBackend`` protocol and the result types, in Rekognition's v7 shape.

Nothing here imports OpenCV or numpy: the core layer is shared with Lambdas that do not ship them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from tutela.sniff import MediaType
    from tutela.vision.limits import ScanLimits


class BoundingBox(TypedDict):
    Width: float
    Height: float
    Left: float
    Top: float


class AgeRange(TypedDict):
    Low: int
    High: int


class Face(TypedDict):
    BoundingBox: BoundingBox
    AgeRange: AgeRange
    Confidence: float


class ModerationLabel(TypedDict):
    Name: str
    ParentName: str
    Confidence: float
    TaxonomyLevel: int


# Rekognition content moderation taxonomy v7 (the part policy cares about): name -> (parent, level).
# https://docs.aws.amazon.com/rekognition/latest/dg/moderation.html
TAXONOMY_V7: dict[str, tuple[str, int]] = {
    "Explicit": ("", 1),
    "Explicit Nudity": ("Explicit", 2),
    "Exposed Male Genitalia": ("Explicit Nudity", 3),
    "Exposed Female Genitalia": ("Explicit Nudity", 3),
    "Exposed Buttocks or Anus": ("Explicit Nudity", 3),
    "Exposed Female Nipple": ("Explicit Nudity", 3),
    "Explicit Sexual Activity": ("Explicit", 2),
    "Sex Toys": ("Explicit", 2),
    "Non-Explicit Nudity of Intimate parts and Kissing": ("", 1),
    "Non-Explicit Nudity": ("Non-Explicit Nudity of Intimate parts and Kissing", 2),
    "Bare Back": ("Non-Explicit Nudity", 3),
    "Exposed Male Nipple": ("Non-Explicit Nudity", 3),
    "Partially Exposed Buttocks": ("Non-Explicit Nudity", 3),
    "Partially Exposed Female Breast": ("Non-Explicit Nudity", 3),
    "Implied Nudity": ("Non-Explicit Nudity", 3),
    "Obstructed Intimate Parts": ("Non-Explicit Nudity of Intimate parts and Kissing", 2),
    "Obstructed Female Nipple": ("Obstructed Intimate Parts", 3),
    "Obstructed Male Genitalia": ("Obstructed Intimate Parts", 3),
    "Kissing on the Lips": ("Non-Explicit Nudity of Intimate parts and Kissing", 2),
    "Swimwear or Underwear": ("", 1),
    "Female Swimwear or Underwear": ("Swimwear or Underwear", 2),
    "Male Swimwear or Underwear": ("Swimwear or Underwear", 2),
}


def label_chain(name: str, confidence: float) -> list[ModerationLabel]:
    """``name`` plus its ancestors, as Rekognition returns them (leaf first), all at ``confidence``."""
    out: list[ModerationLabel] = []
    current = name
    while current:
        parent, level = TAXONOMY_V7[current]
        out.append(
            {
                "Name": current,
                "ParentName": parent,
                "Confidence": round(confidence, 2),
                "TaxonomyLevel": level,
            }
        )
        current = parent
    return out


MAX_FACES = 50  # faces a report keeps over several frames or pages (youngest first)


def youngest_faces(faces: list[Face], n: int = MAX_FACES) -> list[Face]:
    """About ``n`` faces, the youngest first (unknown ages before any known one, then by age, the more
    confident first), in a report whose size does not grow with the crowd: a crowd over many frames or pages
    would otherwise outgrow the 256 KiB the state machine carries (tests/integration/test_state_quota.py).

    Whatever the confidence floor the media policy reads faces with (``classify_minor``), what it reads of
    them all it reads of these too: the youngest age range above the floor, the lowest lower bound, and
    whether an age is unknown. So besides the ``n`` youngest, every face that no younger face matches in
    confidence is kept (at most one per age bound: bounded whatever the crowd)."""
    key = _age_order
    known = [f for f in faces if _has_age(f)]
    keep = {id(f) for f in sorted(faces, key=key)[:n]}
    unknown = [f for f in faces if not _has_age(f)]
    if unknown:
        keep.add(id(max(unknown, key=lambda f: f["Confidence"])))
    for order in (key, lambda f: (f["AgeRange"]["Low"], -f["Confidence"])):
        best = -1.0
        for f in sorted(known, key=order):
            if f["Confidence"] > best:
                keep.add(id(f))
                best = f["Confidence"]
    return sorted((f for f in faces if id(f) in keep), key=key)


def _has_age(face: Face) -> bool:
    age = face.get("AgeRange")
    return isinstance(age, dict) and "Low" in age and "High" in age


def _age_order(face: Face) -> tuple[int, int, float]:
    if not _has_age(face):
        return (-1, -1, -face["Confidence"])
    return (int(face["AgeRange"]["High"]), int(face["AgeRange"]["Low"]), -face["Confidence"])


def merge_labels(labels: list[ModerationLabel]) -> list[ModerationLabel]:
    """Deduplicate by name keeping the highest confidence; order by confidence, then level."""
    best: dict[str, ModerationLabel] = {}
    for label in labels:
        seen = best.get(label["Name"])
        if seen is None or label["Confidence"] > seen["Confidence"]:
            best[label["Name"]] = label
    return sorted(best.values(), key=lambda lb: (-lb["Confidence"], lb["TaxonomyLevel"], lb["Name"]))


@dataclass
class ImageScan:
    """One image (or one video frame) scanned by a backend."""

    labels: list[ModerationLabel] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    width: int = 0
    height: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class VisionBackend(Protocol):
    """A scanner that returns Rekognition v7-shaped labels and faces."""

    name: str

    def version(self) -> str:
        """Model/package versions for provenance."""
        ...

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        """Scan an encoded still image whose header has already passed the limits."""
        ...

    def scan_frame(self, frame: np.ndarray[Any, Any]) -> ImageScan:
        """Scan one decoded BGR uint8 frame (video)."""
        ...
