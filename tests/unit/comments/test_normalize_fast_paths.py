"""Promise: :func:`normalize`'s gates (cheaper searches that decide whether a stage can match at all) never
change its result: on any text it equals the staged reference (every stage applied behind only its plain
gate), and the offset path gives the same string."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.unit.comments.offsets_oracle import normalize_with_offsets, staged
from tutela.comments.normalize import normalize, normalize_mapped

# Characters that reach every gate: single letters and separators (joins), repeats, digits and leet
# symbols, punctuation and emoji (SEP), full-width and Cyrillic look-alikes, Chinese (CJK stages).
_ALPHABET = "aabsexy xx 01357@$.-_!,'\t\u200bｓＸех加微信啪一三八零零一三八零零零🍑😊"


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(alphabet=_ALPHABET, max_size=24), st.text(max_size=24)))
@example(text="d.m m.e")
@example(text="s e x y")
@example(text="sexxxy 🍑")
@example(text="a b")
@example(text="ab c d")
@example(text="加 a b")
@example(text="х x х")
def test_gated_normalize_is_the_staged_reference(text: str) -> None:
    want = staged(text)
    assert normalize(text) == want
    assert normalize_mapped(text)[0] == want


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(alphabet=_ALPHABET, max_size=24), st.text(max_size=24)))
@example(text="一三八零零一三八零零零 $ex@ d.m")
@example(text="b@by!! s3x")
def test_lazy_offsets_are_the_eager_ones(text: str) -> None:
    """Stages whose edits keep lengths (0, 3, 9) are applied without a recorded layer: same spans."""
    norm, spans = normalize_with_offsets(text)
    got, omap = normalize_mapped(text)
    assert got == norm
    assert [omap.span(p) for p in range(len(norm))] == spans


def test_ascii_characters_never_need_the_opencc_table() -> None:
    """The per-character table consults OpenCC's traditional -> simplified map only for non-ASCII characters
    (so a process judging ASCII text never reads its file): exact only while the map has no ASCII key."""
    from tutela.comments.normalize import _map_char, _ts_chars

    table = _ts_chars()
    assert table and not any(k.isascii() for k in table)
    assert _map_char("發") == table["發"]  # a traditional character is still simplified


def test_importing_the_normaliser_reads_no_opencc_data() -> None:
    """Cold start: the ASCII fast-path tables are built at import without OpenCC's dictionary."""
    import subprocess
    import sys

    code = "import sys, tutela.comments.normalize; print('opencc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
