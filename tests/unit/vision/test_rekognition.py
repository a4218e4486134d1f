"""Rekognition backend against the real botocore service model (Stubber validates every request)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
from botocore.stub import ANY, Stubber

from tutela.errors import CorruptMediaError, TransientError, TutelaError
from tutela.policy.media import decide_media
from tutela.vision import get_backend, scan_file
from tutela.vision.rekognition import MAX_BYTES, RekognitionBackend

MOD_RESPONSE = {
    "ModerationLabels": [
        {
            "Confidence": 96.1,
            "Name": "Female Swimwear or Underwear",
            "ParentName": "Swimwear or Underwear",
            "TaxonomyLevel": 2,
        },
        {"Confidence": 96.1, "Name": "Swimwear or Underwear", "ParentName": "", "TaxonomyLevel": 1},
    ],
    "ModerationModelVersion": "7.0",
}
FACES_RESPONSE = {
    "FaceDetails": [
        {
            "BoundingBox": {"Width": 0.19, "Height": 0.25, "Left": 0.35, "Top": 0.12},
            "AgeRange": {"Low": 11, "High": 17},
            "Confidence": 99.99,
            "Landmarks": [{"Type": "eyeLeft", "X": 0.4, "Y": 0.2}],
        }
    ]
}


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "rekognition", region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _stub(stubber: Stubber, image_bytes: Any = ANY) -> None:
    stubber.add_response(
        "detect_moderation_labels", MOD_RESPONSE, {"Image": {"Bytes": image_bytes}, "MinConfidence": 40.0}
    )
    stubber.add_response(
        "detect_faces", FACES_RESPONSE, {"Image": {"Bytes": image_bytes}, "Attributes": ["AGE_RANGE"]}
    )


def test_jpeg_bytes_sent_as_is(client: Any, ordinary: dict[str, Path]) -> None:
    data = ordinary["astronaut"].read_bytes()
    with Stubber(client) as stubber:
        _stub(stubber, data)
        report = scan_file(ordinary["astronaut"], backend=get_backend("rekognition", client=client)).to_dict()
        stubber.assert_no_pending_responses()
    assert report["backend"]["name"] == "rekognition" and "7.0" in report["backend"]["version"]
    assert report["ModerationLabels"][0] == MOD_RESPONSE["ModerationLabels"][0]
    assert report["Faces"] == [
        {
            "BoundingBox": FACES_RESPONSE["FaceDetails"][0]["BoundingBox"],
            "Confidence": 99.99,
            "AgeRange": {"Low": 11, "High": 17},
        }
    ]
    decision = decide_media(report, {"location_found": True})
    assert decision["verdict"] == "review" and decision["minor"] == "likely"
    assert [r["code"] for r in decision["reasons"]] == ["minor_with_swimwear", "location_risk_minor"]


def test_webp_is_converted_to_jpeg(client: Any, ordinary: dict[str, Path]) -> None:
    sent: list[bytes] = []

    class Capture:
        def __eq__(self, other: object) -> bool:
            assert isinstance(other, bytes)
            sent.append(other)
            return True

    with Stubber(client) as stubber:
        _stub(stubber, Capture())
        scan_file(ordinary["page"], backend=RekognitionBackend(client))
    assert sent and all(b[:3] == b"\xff\xd8\xff" and len(b) <= MAX_BYTES for b in sent)


def test_oversize_jpeg_is_downscaled_under_5mb(client: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (2600, 2600, 3), dtype=np.uint8)
    path = tmp_path / "noise.jpg"
    cv2.imwrite(str(path), noise, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert path.stat().st_size > MAX_BYTES
    sizes: list[int] = []

    class Capture:
        def __eq__(self, other: object) -> bool:
            assert isinstance(other, bytes)
            sizes.append(len(other))
            return True

    with Stubber(client) as stubber:
        _stub(stubber, Capture())
        report = scan_file(path, backend=RekognitionBackend(client)).to_dict()
    assert sizes and max(sizes) <= MAX_BYTES
    assert report["image"] == {"width": 2600, "height": 2600}


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", TransientError),
        ("ProvisionedThroughputExceededException", TransientError),
        ("InvalidImageFormatException", CorruptMediaError),
        ("AccessDeniedException", TutelaError),
    ],
)
def test_errors_are_mapped(client: Any, ordinary: dict[str, Path], code: str, error: type[Exception]) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error("detect_moderation_labels", service_error_code=code, service_message="x")
        with pytest.raises(error):
            scan_file(ordinary["astronaut"], backend=RekognitionBackend(client))


def test_client_is_created_lazily() -> None:
    backend = RekognitionBackend()
    assert backend._client is None


def test_tiny_png_is_upscaled_to_80px(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "tiny.png"
    cv2.imwrite(str(path), np.full((20, 40, 3), 128, np.uint8))
    shapes: list[tuple[int, ...]] = []

    class Capture:
        def __eq__(self, other: object) -> bool:
            assert isinstance(other, bytes)
            decoded = cv2.imdecode(np.frombuffer(other, np.uint8), cv2.IMREAD_COLOR)
            assert decoded is not None
            shapes.append(decoded.shape)
            return True

    with Stubber(client) as stubber:
        _stub(stubber, Capture())
        scan_file(path, backend=RekognitionBackend(client))
    assert shapes and min(shapes[0][:2]) >= 80
