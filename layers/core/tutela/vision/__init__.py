"""Image and video scanning (Rekognition v7 shape) with a Rekognition backend and a local OpenCV backend.

Importing this package never imports OpenCV or numpy: they are loaded on first use by the local backend
and video sampling, and a missing OpenCV raises ``VisionUnavailableError`` (a ``TutelaError``).
"""

from __future__ import annotations

from tutela.vision.api import ScanReport, get_backend, scan_file
from tutela.vision.backend import Face, ImageScan, ModerationLabel, VisionBackend
from tutela.vision.limits import ScanLimits

__all__ = [
    "Face",
    "ImageScan",
    "ModerationLabel",
    "ScanLimits",
    "ScanReport",
    "VisionBackend",
    "get_backend",
    "scan_file",
]
