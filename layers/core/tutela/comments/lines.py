"""One comment batch, split and parsed one way for ClassifyComments, Act and the CLI.

A batch is JSON Lines: ``{"id", "text", ...}``. What goes out is only what was judged, so every line is
reduced here to a :class:`CommentLine` - its number, id and the exact text the classifier will judge - and a
published line is re-serialised from those fields (``{"id", "text"}``), never copied from the upload.

Rules (each a trust promise, see DESIGN.md "Only judged content is published"):
- extra fields (``title``, ``author``...) are neither judged nor published;
- a duplicate key anywhere in the line holds it (``duplicate_key``): a reader could take either value;
- bidirectional controls (U+202A-U+202E, U+2066-U+2069) hold the line (``bidi_control``): the order a reader
  sees is not the order the classifier reads;
- invisible format characters (zero-width spaces, word joiners, soft hyphens, BOMs, tag characters...) are
  removed before judging; the published text is that cleaned text (ZWJ is kept: emoji sequences need it);
- a line's own ``"minor_context": true`` makes its context stricter; anything else cannot lower the post's;
- ids: strings (or integers) up to :data:`MAX_ID_CHARS` without control/format characters; any other id
  holds that line only. Records are keyed by line number, so duplicate ids never share a record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, NamedTuple

from tutela.comments import regexes

MAX_LINE_CHARS = 64 * 1024  # a raw JSON line longer than this is refused before parsing
MAX_ID_CHARS = 256  # longer ids are stored as a hash and the line is held
# Made from the build's recorded programs (tutela.comments.regexes): compiling them costs ~13 M
# instructions at every cold start that parses or writes comment lines (Act, RecordDecision, ...).
_BIDI = regexes.compile("[\u202a-\u202e\u2066-\u2069]")
# Format (Cf) characters that render as nothing, plus the Hangul fillers and the Braille blank that render
# as blanks; ZWJ (U+200D) stays, emoji sequences need it.
_INVISIBLE = regexes.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f\u2060-\u2064"
    "\u206a-\u206f\u2800\u3164\ufeff\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e007f]"
)
_UNSAFE_ID = regexes.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A lone surrogate (JSON "\\ud800") is no character: UTF-8 cannot encode it, so no record or file can hold it.
SURROGATE = regexes.compile("[\ud800-\udfff]")
# Either of the two above (every character of both is non-ASCII): one search for the common, clean text.
_BIDI_OR_INVISIBLE = regexes.compile(f"{_BIDI.pattern}|{_INVISIBLE.pattern}")


class DuplicateKeyError(ValueError):
    """A JSON object names a key twice: parsers disagree on which value wins, so it is never trusted."""


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for every JSON an uploader writes (comment lines, post files)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise DuplicateKeyError
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=reject_duplicate_keys)
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_WS: Callable[[str, int], re.Match[str]] = json.decoder.WHITESPACE.match  # type: ignore[attr-defined]


class CommentLine(NamedTuple):
    """One non-blank line of a batch. ``text`` is what is judged and published; ``error`` holds the line.

    Immutable; a named tuple rather than a frozen dataclass because one is made per comment and a frozen
    dataclass's ``__init__`` (one ``object.__setattr__`` per field) cost a quarter of the line parser."""

    line: int
    id: str | None
    text: str | None = None
    minor_context: bool | None = None
    error: str | None = None
    code: str | None = None  # reason code when held: invalid_comment, duplicate_key, bidi_control, unsafe_id

    @property
    def record_id(self) -> str:
        return record_id(self.id, self.line)

    def published(self) -> bytes:
        """The line as published: only the judged fields, re-serialised (never the uploaded bytes)."""
        if self.error is not None or self.text is None:
            raise ValueError("a held comment line is never published")
        fields = {"id": self.id, "text": self.text}
        try:
            return json.dumps(fields, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON "\\ud800"): keep it escaped, still valid JSON
            return json.dumps(fields).encode("ascii")


_new_line = tuple.__new__  # the same CommentLine as its constructor, without its Python-level __new__


def record_id(ident: Any, line: Any) -> str:
    """The id shown in records: the id, a hash of an over-long id, or ``line-N`` when there is none.
    Records are keyed by line number, so this is a label, never a key."""
    if ident is None or ident == "":
        return f"line-{line}"
    ident = str(ident)
    return _hashed(ident) if len(ident) > MAX_ID_CHARS or SURROGATE.search(ident) else ident


def _hashed(ident: str) -> str:
    return "sha256:" + hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()


BOM = b"\xef\xbb\xbf"


def split_batch(data: bytes) -> list[bytes]:
    """The batch's lines as bytes: an invalid UTF-8 line stays that comment's error, and a raw U+2028 inside
    a JSON string is not a line break (``str.splitlines`` would split there). Line numbers are 1-based
    positions in this list; blank lines keep their number. A UTF-8 byte order mark at the very start (what
    "UTF-8 with BOM" editors write) is not part of line 1: RFC 8259 lets a parser ignore it, and treating it
    as line 1's content would hold a well-formed batch's first comment as invalid JSON."""
    return data.removeprefix(BOM).splitlines()


def iter_batch(stream: IO[bytes]) -> Iterator[bytes]:
    """:func:`split_batch` over a binary stream, without holding it whole: the same lines, in the same
    order (a binary readline ends at ``\\n``, so a ``\\r\\n`` is never cut in two)."""
    first = True
    for chunk in stream:
        if first:
            chunk, first = chunk.removeprefix(BOM), False
        yield from chunk.splitlines()


def _unsafe_id(s: str) -> bool:
    """``_UNSAFE_ID`` occurs in ``s``; for ASCII that is a character outside 0x20-0x7e, i.e. not printable."""
    if s.isascii():
        return not s.isprintable()
    return _UNSAFE_ID.search(s) is not None


def _hidden(s: str) -> bool:
    return not s.isascii() and _BIDI_OR_INVISIBLE.search(s) is not None


def _held(n: int, ident: str | None, ctx: bool | None, error: str, code: str) -> CommentLine:
    return CommentLine(n, ident, None, ctx, error, code)


def parse_line(n: int, raw: str | bytes, minor_context: bool | None) -> CommentLine | None:
    """Parse line ``n``; ``None`` for a blank line. Never raises for hostile content."""
    ctx = minor_context
    if type(raw) is str:
        line = raw
    else:
        try:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError:
            return _held(n, None, ctx, "line is not valid UTF-8", "invalid_comment")
    if not line or line.isspace():
        return None
    if len(line) > MAX_LINE_CHARS:
        return _held(n, None, ctx, f"line longer than {MAX_LINE_CHARS} characters", "invalid_comment")
    try:
        # the whitespace matches are skipped where they cannot match (a line starts with "{", ends after
        # "}" or "}\n"): the same offsets without two regex calls per line
        obj, end = _SCAN(line, 0 if line[0] == "{" else _WS(line, 0).end())
        rest = len(line) - end
        if rest and not (rest == 1 and line[-1] == "\n") and _WS(line, end).end() != len(line):
            raise ValueError("extra data")
    except DuplicateKeyError:
        return _held(n, None, ctx, "a key appears twice in the line", "duplicate_key")
    except (ValueError, RecursionError, StopIteration):
        return _held(n, None, ctx, "invalid JSON", "invalid_comment")
    if type(obj) is not dict:
        return _held(n, None, ctx, "line is not a JSON object", "invalid_comment")
    if obj.get("minor_context") is True:  # stricter only: false/null cannot lower the post's context
        ctx = True
    ident = obj.get("id")
    if ident is not None and type(ident) is not str:
        if not isinstance(ident, int) or isinstance(ident, bool):
            return _held(n, None, ctx, "id must be a string", "invalid_comment")
        ident = str(ident)
    if ident is not None:  # _unsafe_id and _hidden, inlined: this runs for every line
        if ident.isascii():
            unsafe = len(ident) > MAX_ID_CHARS or not ident.isprintable()
        elif SURROGATE.search(ident):  # held under its hash: the id itself cannot be stored
            return _held(n, _hashed(ident), ctx, "id is not valid Unicode", "unsafe_id")
        else:
            unsafe = (
                len(ident) > MAX_ID_CHARS
                or _UNSAFE_ID.search(ident) is not None
                or _BIDI_OR_INVISIBLE.search(ident) is not None
            )
        if unsafe:
            return _held(n, ident, ctx, "id is too long or has control characters", "unsafe_id")
    text = obj.get("text")
    if type(text) is not str:
        reason = "missing text" if text is None else "text must be a string"
        return _held(n, ident, ctx, reason, "invalid_comment")
    if not text.isascii() and _BIDI_OR_INVISIBLE.search(text) is not None:  # _hidden(text)
        if _BIDI.search(text):
            return _held(n, ident, ctx, "text has bidirectional control characters", "bidi_control")
        text = _INVISIBLE.sub("", text)
    return _new_line(CommentLine, (n, ident, text, ctx, None, None))  # CommentLine(n, ident, text, ctx)


def parse_batch(lines: Iterable[str | bytes], minor_context: bool | None) -> Iterator[CommentLine]:
    """Every non-blank line of a batch, parsed (see :func:`parse_line`)."""
    for n, raw in enumerate(lines, 1):
        parsed = parse_line(n, raw, minor_context)
        if parsed is not None:
            yield parsed
