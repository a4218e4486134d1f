"""Public entry points: ``scrub_file``, ``scrub_bytes``, ``find_location``, ``plan_file``."""

from __future__ import annotations

import os
import struct
import time
import zlib
from collections.abc import Callable

from tutela.errors import (
    CorruptMediaError,
    InvalidInputError,
    LimitExceededError,
    TutelaError,
    UnsupportedMediaError,
    VerificationError,
)
from tutela.scrub.core import (
    LOCATION_CODES,
    BytesReader,
    Copy,
    Ctx,
    Data,
    FileReader,
    Plan,
    Reader,
    ScrubLimits,
    ScrubReport,
    Zero,
)
from tutela.scrub.layout import Layout, WalkedScans, image_layout
from tutela.scrub.spliced import render_pieces, splice
from tutela.scrub.verify import carve_location, find_location_reader
from tutela.sniff import SNIFF_BYTES, sniff

_COPY_CHUNK = 8 * 1024 * 1024
_DEFAULT_LIMITS = ScrubLimits()  # frozen: one shared instance
perf_counter = time.perf_counter
IMAGE_LAYOUTS = frozenset({"jpeg", "png", "webp", "tiff"})
HEIF_TYPES = frozenset({"heif", "avif"})


def _scrubber(media_type: str) -> Callable[[Ctx], Plan]:
    """The format's scrubber, its module imported on first use (a command scrubbing JPEGs loads no video
    code)."""
    cached = _SCRUBBERS.get(media_type)
    if cached is not None:
        return cached
    if media_type == "jpeg":
        from tutela.scrub.jpeg import scrub as fn
    elif media_type == "png":
        from tutela.scrub.png import scrub as fn
    elif media_type == "webp":
        from tutela.scrub.webp import scrub as fn
    elif media_type == "tiff":
        from tutela.scrub.tiff import scrub as fn
    else:
        from tutela.scrub.isobmff import scrub as fn
    _SCRUBBERS[media_type] = fn
    return fn


_SCRUBBERS: dict[str, Callable[[Ctx], Plan]] = {}


def _media_type(reader: Reader) -> str:
    if reader.size == 0:
        raise CorruptMediaError("empty file")
    mt = sniff(reader.read_upto(0, SNIFF_BYTES))
    if mt is None:
        raise UnsupportedMediaError("unsupported media type (not JPEG/PNG/WebP/TIFF/HEIF/AVIF/MP4/MOV/3GP)")
    return mt.name


def _plan(reader: Reader, limits: ScrubLimits) -> tuple[Plan, ScrubReport]:
    plan, report, _ = _plan_layout(reader, limits)
    return plan, report


def _plan_layout(reader: Reader, limits: ScrubLimits) -> tuple[Plan, ScrubReport, Layout | None]:
    """The plan, its report and the input's image layout (None for ISOBMFF)."""
    if reader.size > limits.max_file_bytes:
        raise LimitExceededError("file is larger than the scrub limit")
    media_type = _media_type(reader)
    ctx = Ctx(reader, limits, media_type)
    fn = _scrubber(media_type)
    try:
        plan = fn(ctx)
        lay: Layout | None = None
        frames: int | None = None
        if media_type in IMAGE_LAYOUTS:
            lay = ctx.layout or image_layout(reader, media_type, ctx=ctx)
            frames = lay.frames
        elif media_type in HEIF_TYPES:
            frames = ctx.frames
    except TutelaError:
        raise
    except (struct.error, IndexError, ValueError, zlib.error, OverflowError) as exc:
        raise CorruptMediaError(f"malformed {media_type} structure") from exc
    except RecursionError as exc:
        raise LimitExceededError(f"{media_type} structure nested too deeply") from exc
    report = ScrubReport(media_type=media_type, removed=list(ctx.removed), kept=list(ctx.kept), frames=frames)
    report.location_found = not LOCATION_CODES.isdisjoint(ctx.removed)
    report.bytes_in = reader.size
    report.bytes_out = plan.size
    return plan, report, lay


def _verify(
    reader: Reader, report: ScrubReport, limits: ScrubLimits, walked: WalkedScans | None = None
) -> None:
    """``walked``: the input's scan walk, reused where the output holds the same bytes (layout.py)."""
    if reader.size != report.bytes_out:
        raise VerificationError("scrubbed output has an unexpected size")
    mt = sniff(reader.read_upto(0, SNIFF_BYTES))
    if mt is None or mt.name != report.media_type:
        raise VerificationError("scrubbed output no longer parses as the input's media type")
    carve: list[tuple[int, int]] | None = None  # whole file
    if report.frames is not None and report.media_type in IMAGE_LAYOUTS:
        # The whole output is the image: nothing after its end, and exactly the frames that were planned.
        try:
            lay = image_layout(reader, report.media_type, limits, walked=walked)
        except TutelaError as exc:
            raise VerificationError(f"scrubbed output does not parse: {exc}") from exc
        if lay.end != reader.size:
            raise VerificationError("scrubbed output has bytes after the end of the image")
        if lay.frames != report.frames:
            raise VerificationError("scrubbed output has a different number of frames than planned")
        carve = lay.metadata_ranges()
    elif report.media_type not in IMAGE_LAYOUTS:
        from tutela.scrub.isobmff import metadata_ranges

        carve = metadata_ranges(reader, report.media_type)
        lay = None
        if report.media_type in HEIF_TYPES:
            _verify_heif_images(reader, report, limits)
    clean_exif: dict[int, int] = {}  # EXIF blocks the format walk found clean: the carve skips them
    clean_xmp: list[tuple[int, int]] = []  # and the XMP payloads
    clean_iptc: set[tuple[int, int]] = set()  # and the APP13 resource blocks
    found = find_location_reader(reader, report.media_type, limits, lay, clean_exif, clean_xmp, clean_iptc)
    found += carve_location(reader, limits, carve, clean_exif, clean_xmp, clean_iptc)
    if found:
        raise VerificationError(f"location still present after scrubbing: {', '.join(found)}")
    report.verified = True


def _verify_heif_images(reader: Reader, report: ScrubReport, limits: ScrubLimits) -> None:
    """Published = scanned: the output lists the top-level images that were planned (and scanned), and every
    other image (thumbnails, orphan hidden images) is zeros."""
    from tutela.scrub.isobmff import heif_gain_maps, heif_images, top_level

    ctx = Ctx(reader, limits, report.media_type)
    try:
        metas = [(off, hdr, end) for t, off, hdr, end in top_level(ctx) if t == b"meta"]
        if len(metas) != 1:
            raise VerificationError("scrubbed HEIF output does not have exactly one meta box")
        off, hdr, end = metas[0]
        meta = reader.read_at(off, end - off)
        imgs = heif_images(ctx, meta, off, hdr)
        try:  # every gain map kept is one the scan paired with its base and judged
            heif_gain_maps(ctx, meta, off, hdr)
        except UnsupportedMediaError as exc:
            raise VerificationError(f"scrubbed output has a gain map the scan did not judge: {exc}") from exc
        leftover = [
            iid
            for iid in imgs.drop
            for a, n in imgs.locs.get(iid, [])
            if a < 0 or reader.read_at(a, n).strip(b"\x00")
        ]
    except TutelaError as exc:
        raise VerificationError(f"scrubbed output does not parse: {exc}") from exc
    if len(imgs.top) != report.frames:
        raise VerificationError("scrubbed output has a different number of images than planned")
    if leftover:
        raise VerificationError("scrubbed output still holds an image that was not scanned")


def plan_reader(reader: Reader, *, limits: ScrubLimits | None = None) -> tuple[Plan, ScrubReport]:
    """The scrub of any ``Reader`` (file, bytes, ranged S3 reads) as a plan; not verified."""
    return _plan(reader, limits or ScrubLimits())


def verify_reader(reader: Reader, report: ScrubReport, *, limits: ScrubLimits | None = None) -> None:
    """Verify a written result against its report; raises ``VerificationError``; sets ``report.verified``."""
    _verify(reader, report, limits or ScrubLimits())


def plan_file(src: str | os.PathLike[str], *, limits: ScrubLimits | None = None) -> tuple[Plan, ScrubReport]:
    """The scrub as a list of pieces over ``src`` (for server-side splicing); not verified."""
    limits = limits or ScrubLimits()
    fd = os.open(src, os.O_RDONLY)
    try:
        reader = FileReader(fd, os.fstat(fd).st_size)
        try:
            return _plan(reader, limits)
        finally:
            reader.close()
    finally:
        os.close(fd)


def _write(plan: Plan, src_fd: int, out_fd: int) -> None:
    for piece in plan.pieces:
        if isinstance(piece, Copy):
            off, left = piece.offset, piece.length
            while left:
                try:
                    n = os.copy_file_range(src_fd, out_fd, min(left, 1 << 30), off)
                except OSError:
                    n = 0
                if n <= 0:  # fallback (cross-device on old kernels, unsupported fs)
                    buf = os.pread(src_fd, min(left, _COPY_CHUNK), off)
                    if not buf:
                        raise CorruptMediaError("source changed while scrubbing")
                    n = os.write(out_fd, buf)
                off += n
                left -= n
        elif isinstance(piece, Data):
            view = memoryview(piece.data)
            while view:
                view = view[os.write(out_fd, view) :]
        elif isinstance(piece, Zero):
            left = piece.length
            block = bytes(min(left, _COPY_CHUNK))
            while left:
                left -= os.write(out_fd, block[: min(left, len(block))])


def scrub_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, limits: ScrubLimits | None = None
) -> ScrubReport:
    """Scrub ``src`` into ``dst`` (streaming, bounded memory), verify ``dst`` by re-parsing it.

    The result is written to a temporary file next to ``dst`` and renamed over it only once verified: on
    any error a pre-existing ``dst`` is left exactly as it was (never deleted, never half-written).
    """
    limits = limits or _DEFAULT_LIMITS
    dst_path = os.fspath(dst)
    # The temporary file's name: ".<name>.tutela-<random>.tmp" in dst's directory. A str path is cut at its
    # last "/" (what os.path.split + join give, up to repeated slashes, which name the same directory).
    head, sep, name = dst_path.rpartition("/") if type(dst_path) is str else ("", "", "")
    if not name:  # "dir/x.jpg/": as pathlib names it (and any other path os.path handles)
        from pathlib import Path

        head, name = os.path.split(os.fspath(Path(dst)))
        sep = "/" if head else ""
    tmp = f"{head}{sep}.{name}.tutela-{os.urandom(6).hex()}.tmp"
    t0 = perf_counter()
    try:
        src_fd = os.open(src, os.O_RDONLY)
    except OSError as exc:
        raise UnsupportedMediaError(f"cannot open input: {exc.strerror}") from exc
    try:
        st = os.fstat(src_fd)
        try:
            dst_st = os.stat(dst_path)
        except OSError:
            dst_st = None
        if dst_st is not None and (dst_st.st_dev, dst_st.st_ino) == (st.st_dev, st.st_ino):
            raise InvalidInputError("output path must differ from the input path")
        size = st.st_size
        if size <= IN_MEMORY_MAX:
            # Photos: one read, parse and render in memory, verify the exact bytes that are then written
            # (cheaper than range copies plus a second read of the output; bounded by IN_MEMORY_MAX).
            data = os.pread(src_fd, size, 0)
            if len(data) < size:
                data = _read_all(src_fd, size)
            plan, report, lay = _plan_layout(BytesReader(data), limits)
            walked = WalkedScans.of(data, lay) if lay is not None and lay.media_type == "jpeg" else None
            # A JPEG whose scans are copied as they are: verified and written as header + the input's scan
            # bytes (spliced.py), without rendering the pixels into a second buffer. Below SPLICE_MIN the
            # rendered buffer is as cheap (measured: an 80 KB photo took 2-3% more CPU spliced).
            spliced = None
            if size >= SPLICE_MIN and walked is not None and walked.ecs and lay and not lay.jpeg_mpf:
                spliced = splice(plan, data, walked.sos, walked.end, walked.ecs[0][0])
            out = _render(plan, data) if spliced is None else b""
            t1 = perf_counter()
            _verify(BytesReader(out) if spliced is None else spliced, report, limits, walked)
            t2 = perf_counter()
            out_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                if spliced is not None:
                    spliced.write(out_fd)
                else:
                    view = memoryview(out)
                    while view:
                        view = view[os.write(out_fd, view) :]
            finally:
                os.close(out_fd)
        else:
            t1, t2, report = _scrub_stream(src_fd, size, tmp, limits)
        # Atomic: dst is either its old self or the verified result, never missing or partial.
        os.replace(tmp, dst_path)
    except BaseException:
        _unlink(tmp)
        raise
    finally:
        os.close(src_fd)
    report.timings_ms = {"scrub": round((t1 - t0) * 1000, 3), "verify": round((t2 - t1) * 1000, 3)}
    return report


IN_MEMORY_MAX = 64 * 1024 * 1024
SPLICE_MIN = 256 * 1024  # bench/bench_scrub.py: at 1.6 MB and 12 MP splicing halved scrub_file's CPU time


def _walked(data: bytes, lay: Layout | None) -> WalkedScans | None:
    return WalkedScans.of(data, lay) if lay is not None and lay.media_type == "jpeg" else None


def _read_all(fd: int, size: int) -> bytes:
    data = os.pread(fd, size, 0)
    while len(data) < size:
        more = os.pread(fd, size - len(data), len(data))
        if not more:
            break
        data += more
    return data


def _render(plan: Plan, data: bytes) -> bytes:
    return render_pieces(plan.pieces, data)


def _scrub_stream(src_fd: int, size: int, tmp: str, limits: ScrubLimits) -> tuple[float, float, ScrubReport]:
    """Big files (videos): metadata read on demand, unchanged ranges copied in the kernel, the written
    output re-read for verification through the same descriptor. Memory stays bounded."""
    reader = FileReader(src_fd, size)
    try:
        plan, report = _plan(reader, limits)
        out_fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write(plan, src_fd, out_fd)
            t1 = time.perf_counter()
            out_reader = FileReader(out_fd, os.fstat(out_fd).st_size)
            try:
                _verify(out_reader, report, limits)
            finally:
                out_reader.close()
            t2 = time.perf_counter()
        finally:
            os.close(out_fd)
    finally:
        reader.close()
    return t1, t2, report


def _unlink(p: str) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        pass


def render(plan: Plan, reader: Reader) -> bytes:
    parts: list[bytes] = []
    for piece in plan.pieces:
        if isinstance(piece, Copy):
            parts.append(reader.read_at(piece.offset, piece.length))
        elif isinstance(piece, Data):
            parts.append(piece.data)
        else:
            parts.append(bytes(piece.length))
    return b"".join(parts)


def scrub_bytes(data: bytes, *, limits: ScrubLimits | None = None) -> tuple[bytes, ScrubReport]:
    """In-memory variant for small objects. Same report, same verification."""
    limits = limits or ScrubLimits()
    t0 = time.perf_counter()
    data = bytes(data)
    plan, report, lay = _plan_layout(BytesReader(data), limits)
    out = _render(plan, data)
    t1 = time.perf_counter()
    _verify(BytesReader(out), report, limits, _walked(data, lay))
    t2 = time.perf_counter()
    report.timings_ms = {"scrub": round((t1 - t0) * 1000, 3), "verify": round((t2 - t1) * 1000, 3)}
    return out, report


def find_location(path: str | os.PathLike[str], *, limits: ScrubLimits | None = None) -> list[str]:
    """Independent re-parse: codes of the location traces found in ``path`` (empty means clean)."""
    limits = limits or ScrubLimits()
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = FileReader(fd, os.fstat(fd).st_size)
        try:
            return find_location_reader(reader, _media_type(reader), limits)
        finally:
            reader.close()
    finally:
        os.close(fd)
