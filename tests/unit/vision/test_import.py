"""The core layer is shared with Lambdas that have no OpenCV: importing tutela.vision must not need it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CODE = r"""
import json, sys
sys.modules["cv2"] = None  # simulate a Lambda without the vision layer
import tutela.vision, tutela.policy.media
from tutela.vision import scan_file, get_backend, ScanLimits
out = {"numpy": "numpy" in sys.modules}
try:
    scan_file(sys.argv[1])
except Exception as exc:
    out["error"] = [type(exc).__name__, getattr(exc, "code", None), str(exc)]
print(json.dumps(out))
"""


def test_import_without_opencv(ordinary: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CODE, str(ordinary["astronaut"])], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["numpy"] is False
    name, code, message = out["error"]
    assert name == "VisionUnavailableError" and code == "vision_unavailable"
    assert "opencv-python-headless" in message
