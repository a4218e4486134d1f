"""HDR gain maps of HEIF/AVIF stills: a second picture of the frame, judged before the file is published.

An HDR display (Photos, Safari, Chrome) shows the base picture multiplied by its gain map, and a reader that
extracts auxiliary images shows the gain map itself; the scrubber keeps both (every iPhone photo has one). So
each gain map (``isobmff.heif_gain_maps``: Apple's ``auxl``, the ISO 21496-1 ``tmap`` input) is decoded and
compared with its base. When it is a smooth tone curve of the base's luminance (what phones write: more gain
where the scene is bright), the HDR rendering and the gain map show the base's own picture, already scanned,
and nothing more is scanned. Otherwise two more views of the frame are scanned: the gain map as a picture,
and the HDR rendering (base brightened by it). Sizes are checked against the limits before any decode.
"""

from __future__ import annotations

import itertools
from typing import Any

from tutela.errors import CorruptMediaError, LimitExceededError, TutelaError
from tutela.sniff import MediaType
from tutela.vision import _cv
from tutela.vision.limits import Deadline, ScanLimits, check_decode_bytes, check_pixels

# "Explained by the base": the gain map is, within GAIN_TOLERANCE levels (of 255) everywhere, a tone curve of
# the base's luminance, blurred or not (phones smooth their gain maps), at the gain map's size. The curve is
# piecewise linear over _KNOTS segments and never rises faster than GAIN_SLOPE gain levels per level of
# luminance, so it cannot amplify a picture hidden in the base's lowest bits (a step between two base
# levels is not a tone curve). The residual is averaged over 5 x 5 gain-map pixels (coding noise, an edge the
# blur moved); whatever passes is the base's own picture, brightened where it is bright, which the scan saw.
GAIN_TOLERANCE = 12.0
GAIN_SLOPE = 4.0
_KNOTS = 16
_BLURS = (0.0, 1.0, 2.0, 4.0, 8.0)  # gain-map pixels (Gaussian sigma), neighbours fitted in pairs
_RESIDUAL_BOX = 5
_ANALYSIS_SIDE = 512  # long side the comparison runs at (a gain map is usually half or a quarter of the base)
_FIT_SAMPLES = 65536
# The rendering scanned: the base (linear light, plus the formats' usual 1/64 offset) times 2 ** (stops x
# gain), scaled back into SDR. 3 stops (8x) is an iPhone's largest headroom; the file's own metadata is not
# read (see docs/vision.md for what that leaves an attacker).
RENDER_STOPS = 3.0
_OFFSET = 1 / 64


def gain_map_views(
    data: bytes, media: MediaType, limits: ScanLimits, deadline: Deadline | None = None
) -> tuple[list[Any], list[str]]:
    """(views to scan as more views of the frame, notes). No gain map: ([], [])."""
    found = _cv._heif_meta(data)
    if found is None:
        return [], []
    from tutela.scrub.isobmff import heif_gain_maps

    ctx, meta, off, hdr = found
    gains = heif_gain_maps(ctx, meta, off, hdr)  # raises for a gain map the scan cannot pair with its base
    if not gains:
        return [], []
    if len(gains) > limits.max_image_frames:  # each costs a decode and a fit (and its base a decode)
        raise LimitExceededError(f"{len(gains)} HDR gain maps, over the limit of {limits.max_image_frames}")
    total = 0
    for g in gains:  # declared sizes, before any decoder allocates (the header walk reads the first MiB only)
        if g.size is None:
            raise CorruptMediaError("an HDR gain map without a declared size (ispe)")
        check_pixels(*g.size, limits)
        check_decode_bytes(data, media, *g.size, limits)
        total += g.size[0] * g.size[1]
    if total > limits.max_total_pixels:
        raise LimitExceededError(f"HDR gain maps of {total} pixels in all, over the limit")
    views: list[Any] = []
    explained = 0
    bases: dict[int, Any] = {}  # each base decoded once, however many gain maps it has
    for g in gains:
        base, gain = _decode_pair(data, media, ctx, meta, off, hdr, g, limits, bases)
        if deadline is not None:
            deadline.check("decoding HDR gain maps")
        if is_explained(base, gain):
            explained += 1
            continue
        views.extend(gain_views(base, gain))
    notes = []
    if explained:
        notes.append(f"{explained} HDR gain map(s) a tone curve of the base: not scanned apart")
    if views:
        notes.append(f"{len(gains) - explained} HDR gain map(s) scanned (gain map and HDR rendering)")
    return views, notes


def _decode_pair(
    data: bytes,
    media: MediaType,
    ctx: Any,
    meta: bytes,
    off: int,
    hdr: int,
    g: Any,
    limits: ScanLimits,
    bases: dict[int, Any],
) -> tuple[Any, Any]:
    """(the base as BGR, the gain map as grey or BGR), each checked against the limits before decoding."""
    from tutela.scrub.isobmff import heif_with_primary

    if media.name == "avif":  # OpenCV (libavif) decodes the primary item: made the base, then the gain map
        if g.base not in bases:
            bases[g.base] = _decode_avif(heif_with_primary(data, meta, off, hdr, ctx, g.base))
        return bases[g.base], _decode_avif(heif_with_primary(data, meta, off, hdr, ctx, g.item))
    lib = _cv._heif_module()
    try:
        if g.kind == "apple":  # libheif lists it as an auxiliary image of its base
            heif = lib.open_heif(data, convert_hdr_to_8bit=True)
            owner = next((im for im in heif if any(g.item in ids for ids in im.info["aux"].values())), None)
            if owner is None:
                raise CorruptMediaError("HDR gain map that libheif does not attach to an image")
            aux = owner.get_aux_image(g.item)
            w, h = aux.size
            check_pixels(w, h, limits)
            gain = _gain_array(aux.to_pillow())
            if g.base not in bases:
                bases[g.base] = _bgr(owner.to_pillow())
            return bases[g.base], gain

        def primary(iid: int) -> Any:  # a tone map's inputs: libheif opens only top-level images
            heif = lib.open_heif(heif_with_primary(data, meta, off, hdr, ctx, iid), convert_hdr_to_8bit=True)
            im = next(im for im in heif if im.info.get("primary"))
            w, h = im.size
            check_pixels(w, h, limits)
            return im.to_pillow()

        gain = _gain_array(primary(g.item))
        if g.base not in bases:
            bases[g.base] = _bgr(primary(g.base))
        return bases[g.base], gain
    except TutelaError:
        raise
    except Exception as exc:  # the HEIF libraries raise plain ValueError/RuntimeError on bad input
        raise CorruptMediaError("heif HDR gain map could not be decoded") from exc


def _decode_avif(data: bytes) -> Any:
    cv = _cv.cv2()
    import numpy as np

    try:
        img = cv.imdecode(np.frombuffer(data, np.uint8), cv.IMREAD_COLOR)
    except cv.error as exc:
        raise CorruptMediaError("avif HDR gain map could not be decoded") from exc
    if img is None or img.size == 0:
        raise CorruptMediaError("avif HDR gain map could not be decoded")
    return img


def _bgr(pil: Any) -> Any:
    import numpy as np

    return _cv.cv2().cvtColor(np.asarray(pil.convert("RGB")), _cv.cv2().COLOR_RGB2BGR)


def _gain_array(pil: Any) -> Any:
    """A gain map as uint8: grey (one channel, as phones write it) or BGR (ISO allows one per colour)."""
    import numpy as np

    if pil.mode == "RGB":
        rgb = np.asarray(pil)
        if int(np.abs(rgb.astype(np.int16) - rgb[..., :1]).max()) > 0:
            return np.ascontiguousarray(rgb[..., ::-1])
        return np.ascontiguousarray(rgb[..., 0])
    return np.asarray(pil.convert("L"))


def is_explained(base: Any, gain: Any) -> bool:
    """Whether every channel of ``gain`` is a slope-bounded tone curve of the base's luminance (above)."""
    import numpy as np

    cv = _cv.cv2()
    gain = _cv.fit(gain, _ANALYSIS_SIDE)
    gh, gw = gain.shape[:2]
    luma = cv.resize(cv.cvtColor(base, cv.COLOR_BGR2GRAY), (gw, gh), interpolation=cv.INTER_AREA)
    x = luma.astype(np.float32) * (_KNOTS / 255)
    # the curve's basis: one "hat" per knot (1 at it, 0 at its neighbours), so f(luma) = sum f_k hat_k(luma)
    hats = [np.maximum(0, 1 - np.abs(x - k)).astype(np.float32) for k in range(_KNOTS + 1)]
    used = np.bincount(np.minimum(x.astype(np.int64), _KNOTS - 1).ravel(), minlength=_KNOTS) > 0
    channels = [gain] if gain.ndim == 2 else [gain[..., i] for i in range(gain.shape[2])]
    blurred = (hats if sigma == 0 else [cv.GaussianBlur(h, (0, 0), sigma) for h in hats] for sigma in _BLURS)
    # blur(f(luma)) = sum f_k blur(hat_k): linear in f; two neighbouring scales stand for any blur between
    # (computed as needed: a sharp or lightly smoothed gain map stops at the first pair)
    for lo, hi in itertools.pairwise(blurred):
        channels = [c for c in channels if not _fits(lo + hi, used, c.astype(np.float32))]
        if not channels:
            return True
    return False


def _fits(basis: list[Any], used: Any, g: Any) -> bool:
    """``g`` (gain levels) within GAIN_TOLERANCE (5 x 5 average) of sum f_k basis_k, f slope-bounded where the
    luminance has values."""
    import numpy as np

    cv = _cv.cv2()
    step = max(1, g.size // _FIT_SAMPLES)
    a = np.stack([b.ravel()[::step] for b in basis], axis=1).astype(np.float64)
    n = len(basis) // 2
    # a little smoothing (second differences of each curve): knots without data follow their neighbours
    d2 = np.kron(np.eye(2), np.diff(np.eye(n), 2, axis=0)) * (0.05 * np.sqrt(a.shape[0]))
    lhs = a.T @ a + d2.T @ d2
    f = np.linalg.solve(lhs + 1e-9 * np.eye(len(basis)), a.T @ g.ravel()[::step].astype(np.float64))
    for curve in (f[:n], f[n:]):  # each curve's slope where the luminance has values
        if float(np.abs(np.diff(curve))[used].max()) > GAIN_SLOPE * 255 / _KNOTS:
            return False
    model = sum((float(fk) * b for fk, b in zip(f, basis, strict=True)), np.zeros_like(g))
    local = cv.blur(g - model, (_RESIDUAL_BOX, _RESIDUAL_BOX), borderType=cv.BORDER_REFLECT)
    return float(np.abs(local).max()) <= GAIN_TOLERANCE


def gain_views(base: Any, gain: Any) -> list[Any]:
    """The gain map as a BGR picture, and the HDR rendering: base x 2 ** (RENDER_STOPS x gain), in sRGB, both
    at most FRAME_SIDE px."""
    import numpy as np

    cv = _cv.cv2()
    b = _cv.fit(base, _cv.FRAME_SIDE)
    h, w = b.shape[:2]
    shown = gain if gain.ndim == 3 else cv.cvtColor(gain, cv.COLOR_GRAY2BGR)
    g = cv.resize(gain, (w, h), interpolation=cv.INTER_LINEAR).astype(np.float32) / 255
    if g.ndim == 2:
        g = g[..., None]
    v = b.astype(np.float32) / 255
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    out = np.maximum((lin + _OFFSET) * np.exp2(RENDER_STOPS * g) - _OFFSET, 0)
    out /= max(float(out.max()), 1e-6)  # the brightest pixel at SDR white: a global scale, no local change
    srgb = np.where(out <= 0.0031308, out * 12.92, 1.055 * out ** (1 / 2.4) - 0.055)
    rendered = np.clip(srgb * 255 + 0.5, 0, 255).astype(np.uint8)
    return [_cv.fit(np.ascontiguousarray(shown), _cv.FRAME_SIDE), rendered]
