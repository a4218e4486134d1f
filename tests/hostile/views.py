"""A fake vision backend that keeps every picture it is handed (decoded as BGR, as the local backend decodes
a still sent as bytes): what the scan saw, to compare with what a viewer shows."""

from __future__ import annotations

from typing import Any

from tutela.sniff import MediaType
from tutela.vision import _cv
from tutela.vision.backend import ImageScan
from tutela.vision.limits import ScanLimits, image_size


class Views:
    """Fake backend: every picture it is given, decoded as BGR (a still sent as bytes is decoded here)."""

    name = "views"

    def __init__(self) -> None:
        self.views: list[Any] = []

    def version(self) -> str:
        return "views 1"

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        w, h = image_size(data, media)
        return self.scan_frame(_cv.decode_image(data, media, w, h, max(w, h)))  # as the local backend does

    def scan_frame(self, frame: Any) -> ImageScan:
        self.views.append(frame.copy())
        return ImageScan(width=frame.shape[1], height=frame.shape[0])
