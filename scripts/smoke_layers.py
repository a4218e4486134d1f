"""Run inside a bare Python (boto3 only, like the Lambda runtime) with the built layers on sys.path:
every handler must import, and the media policy fusion (RecordDecision's pure part) must run on its sample
event.

    smoke_layers.py BUILD_DIR REPO_ROOT [MACHINE]

MACHINE (x86_64, aarch64) is the architecture the interpreter must report: `make build` runs this once
natively and once under qemu-user with an aarch64 interpreter and the layers built for it."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

build, root = Path(sys.argv[1]), Path(sys.argv[2])
machine = platform.machine()
print(f"interpreter: CPython {platform.python_version()} on {machine}")
assert len(sys.argv) < 4 or machine == sys.argv[3], f"expected a {sys.argv[3]} interpreter, not {machine}"
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for layer in ("CoreLayer", "VisionLayer"):
    sys.path.insert(0, str(build / layer / "python"))
    # Only what Lambda runs: the emulated stack, the CLI (tutela_dev) and moto stay in the dev venv.
    for dev_only in ("tutela_dev", "tutela/local", "tutela/cli", "moto"):
        assert not (build / layer / "python" / dev_only).exists(), f"{layer} ships {dev_only}"


handlers = {}
for fn in sorted(p for p in (build).iterdir() if p.name.endswith("Function")):
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location(f"smoke_{fn.name}", fn / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handlers[fn.name] = module.lambda_handler
    print(f"{fn.name:28s} imports in {1000 * (time.perf_counter() - started):7.1f} ms")
for name in (
    "cv2",
    "numpy",
    "pi_heif",
    "PIL",
    "tutela",
    "ahocorasick",
    "opencc",
    "pypinyin",
    "aws_lambda_powertools",
):
    mod = importlib.import_module(name)
    assert str(build) in str(mod.__file__), f"{name} was not loaded from the built layers: {mod.__file__}"
from tutela.analysis import fuse  # noqa: E402

analysis = json.loads((root / "events/record_media_analysis.json").read_text())["decision"]
out = fuse(analysis)
assert out["kind"] == "media" and out["verdict"] == "allow", out
print("media policy on events/record_media_analysis.json:", out["verdict"])

# The local vision backend with the layer's OpenCV and CC0 age model, on a synthetic image.
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tutela.comments import classify_text  # noqa: E402
from tutela.vision import scan_file  # noqa: E402

image = build / "smoke.jpg"
cv2.imwrite(str(image), np.full((480, 640, 3), 180, np.uint8))
started = time.perf_counter()
report = scan_file(image, backend="local").to_dict()
print(
    f"local scan in the layer: {1000 * (time.perf_counter() - started):.0f} ms, backend {report['backend']}"
)
from tutela.review.policy import load_policy  # noqa: E402
from tutela.review.preview import render  # noqa: E402

preview = render(image.read_bytes(), clear=False, settings=load_policy().preview)
assert preview[:2] == b"\xff\xd8", "the review preview is not a JPEG"
print(f"review preview in the layer: {len(preview)} bytes")
image.unlink()
heic = build / "smoke.heic"  # written by the dev venv (make build): pi-heif only decodes
if heic.exists():
    report = scan_file(heic, backend="local").to_dict()
    assert report["media_type"] == "heif", report
    print(f"HEIC decoded and scanned in the layer: {report['image']}")
import pdqhash  # noqa: E402

from tutela.bank.pdq import hash_frame  # noqa: E402

assert str(build) in str(pdqhash.__file__), f"pdqhash not from the built layers: {pdqhash.__file__}"
texture = cv2.resize(np.random.default_rng(5).integers(0, 256, (16, 16, 3), dtype=np.uint8), (256, 256))
pdq = hash_frame(texture)
assert len(pdq.hex) == 64 and pdq.quality >= 50, pdq
print(f"PDQ in the layer: quality {pdq.quality}")
verdict = classify_text("add me on snap, don't tell your parents", minor_context=True)["verdict"]
assert verdict in ("review", "block"), verdict
print("comments classifier in the layer:", verdict)
# The matchers the layer build prebuilt must be the ones INIT loads: a file that no longer loads (a format or
# library change) would silently rebuild them at every cold start (pypinyin, the automaton: ~0.5 s).
from tutela.comments.prebuilt import load, prebuilt  # noqa: E402

core = build / "CoreLayer" / "python" / "tutela"
assert prebuilt() is not None, "the prebuilt comment matcher does not load"
assert load(core / "posts" / "data") is not None, "the prebuilt post signals matcher does not load"
print("prebuilt matchers load in the layer: comments, post signals")
# The scrubber's native marker scan: shipped for this architecture, it must load (a .so that does not would
# silently leave every photo on the slower Python scan); a build without a compiler for ARCH ships none.
from tutela.scrub import ecs  # noqa: E402

shipped = (core / "scrub" / "_marker_scan.so").exists()
assert ecs.native() is not None if shipped else ecs.native() is None, "the shipped marker scan does not load"
print("scrubber marker scan in the layer:", "native" if shipped else "Python (no native build for this arch)")
