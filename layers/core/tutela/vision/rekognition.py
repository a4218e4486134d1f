"""Amazon Rekognition backend: DetectModerationLabels + DetectFaces(AGE_RANGE).

The boto3 client is injected or created lazily on first use (never at import). Rekognition takes JPEG or
PNG bytes up to 5 MB; anything else (WebP, TIFF, HEIF, AVIF, video frames, oversize files) is decoded
and re-encoded as a JPEG under 5 MB first, which needs OpenCV.
"""

from __future__ import annotations

import time
from typing import Any

from tutela.aws.errors import is_retryable
from tutela.errors import CorruptMediaError, LimitExceededError, TransientError, TutelaError
from tutela.sniff import MediaType
from tutela.vision.backend import Face, ImageScan, ModerationLabel
from tutela.vision.limits import ScanLimits, display_size

MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE = 80  # Rekognition rejects images smaller than 80 px


class RekognitionBackend:
    name = "rekognition"

    def __init__(self, client: Any | None = None, *, min_confidence: float = 40.0) -> None:
        self._client = client
        self.min_confidence = min_confidence
        self._model_version = "unknown"

    @property
    def client(self) -> Any:
        if self._client is None:
            from tutela.aws import clients

            self._client = clients.client("rekognition")
        return self._client

    def version(self) -> str:
        import botocore

        return f"rekognition moderation model {self._model_version}; botocore {botocore.__version__}"

    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        width, height = display_size(data, media)
        t0 = time.perf_counter()
        if media.name in ("jpeg", "png") and len(data) <= MAX_BYTES and min(width, height) >= MIN_SIDE:
            payload = data
        else:
            from tutela.vision import _cv

            img = _cv.decode_image(data, media, width, height, 4096)
            payload = _cv.encode_jpeg(_at_least_min_side(img), MAX_BYTES)
        scan = self._call(payload, t0)
        scan.width, scan.height = width, height
        return scan

    def scan_frame(self, frame: Any) -> ImageScan:
        from tutela.vision import _cv

        t0 = time.perf_counter()
        h, w = frame.shape[:2]
        scan = self._call(_cv.encode_jpeg(_at_least_min_side(frame), MAX_BYTES), t0)
        scan.width, scan.height = w, h
        return scan

    def _call(self, payload: bytes, t0: float) -> ImageScan:
        image = {"Bytes": payload}
        t1 = time.perf_counter()
        mod = self._invoke("detect_moderation_labels", Image=image, MinConfidence=self.min_confidence)
        t2 = time.perf_counter()
        faces = self._invoke("detect_faces", Image=image, Attributes=["AGE_RANGE"])
        t3 = time.perf_counter()
        self._model_version = str(mod.get("ModerationModelVersion", self._model_version))
        labels: list[ModerationLabel] = [
            {
                "Name": lb["Name"],
                "ParentName": lb.get("ParentName", ""),
                "Confidence": float(lb["Confidence"]),
                "TaxonomyLevel": int(lb.get("TaxonomyLevel", 0)),
            }
            for lb in mod.get("ModerationLabels", [])
        ]
        out_faces: list[Face] = []
        for fd in faces.get("FaceDetails", []):
            face: dict[str, Any] = {
                "BoundingBox": fd.get("BoundingBox", {}),
                "Confidence": float(fd["Confidence"]),
            }
            if "AgeRange" in fd:
                face["AgeRange"] = {"Low": int(fd["AgeRange"]["Low"]), "High": int(fd["AgeRange"]["High"])}
            out_faces.append(face)  # type: ignore[arg-type]
        return ImageScan(
            labels=labels,
            faces=out_faces,
            timings_ms={
                "prepare": round((t1 - t0) * 1000, 2),
                "moderation": round((t2 - t1) * 1000, 2),
                "faces": round((t3 - t2) * 1000, 2),
            },
        )

    def _invoke(self, op: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            result: dict[str, Any] = getattr(self.client, op)(**kwargs)
            return result
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if is_retryable(exc):
                raise TransientError(f"rekognition {op}: {code}") from exc
            if code == "ImageTooLargeException":
                raise LimitExceededError(f"rekognition {op}: image too large") from exc
            if code == "InvalidImageFormatException":
                raise CorruptMediaError(f"rekognition {op}: image format rejected") from exc
            raise TutelaError(
                f"rekognition {op} failed: {code or 'ClientError'}", code="rekognition_error"
            ) from exc
        except BotoCoreError as exc:
            raise TransientError(f"rekognition {op}: {type(exc).__name__}") from exc


def _at_least_min_side(img: Any) -> Any:
    """Rekognition rejects images under 80 px a side: upscale tiny ones (faces there are unusable anyway)."""
    from tutela.vision import _cv

    h, w = img.shape[:2]
    if min(h, w) >= MIN_SIDE:
        return img
    k = MIN_SIDE / min(h, w)
    cv = _cv.cv2()
    return cv.resize(
        img, (max(MIN_SIDE, round(w * k)), max(MIN_SIDE, round(h * k))), interpolation=cv.INTER_LINEAR
    )
