"""Normalisation: every evasion kind, hard negatives, offsets back to the original text."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.unit.comments.offsets_oracle import normalize_with_offsets, staged
from tutela.comments.normalize import STAGES, normalize, normalize_mapped

EVAL = Path(__file__).resolve().parents[3] / "eval" / "comments"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ｓｅｘｙ ＧＩＲＬ", " sexy girl "),  # full-width + case
        ("𝓼𝓮𝔁𝔂 ⓢⓔⓧⓨ", " sexy sexy "),  # mathematical and circled letters (NFKC)
        ("SeXy", " sexy "),  # case
        ("ѕеху", " sexy "),  # Cyrillic homoglyphs
        ("ηυδεѕ", " nudes "),  # Greek/Cyrillic mix
        ("nսdes", " nudes "),  # Armenian
        ("s3xy p0rn h0rny $exy", " sexy porn horny sexy "),  # leetspeak and symbol swaps
        ("s€xy", " sexy "),  # currency symbol as a letter
        ("s.e.x.y", " sexy "),  # separators between letters
        ("s e x y", " sexy "),
        ("s_e_x_y", " sexy "),
        ("s\u200be\u200bx\u200by", " sexy "),  # zero-width characters
        ("n\u2060u\u200dd\ufeffe\u00ads", " nudes "),
        ("s🍑e🍑x🍑y", " sexy "),  # emoji padding
        ("sexxxxy", " sexy "),  # repeated characters
        ("seeeexy", " sexy "),
        ("啪啪啪啪啪", " 啪啪 "),  # Chinese repeats keep two
        ("妳幾歲了", " 你几岁了 "),  # traditional -> simplified
        ("別告訴你爸媽", " 别告诉你爸妈 "),
        ("加 微 信", " 加微信 "),  # separators between Chinese characters
        ("加vx", " 加 vx "),  # word boundary between Chinese and Latin
        ("一三八零零一三八零零零", " 13800138000 "),  # spelled-out Chinese digits
        ("1 3 8 0 0 1 3 8 0 0 0", " 13800138000 "),  # spaced digits
        ("ＶＸ：ａｂｃ１２３４５", " vx abc 12345 "),  # long digit runs are kept, split off
        ("how old r u", " how old r u "),  # textspeak is expanded on the pattern side (test below)
        ("don't tell ur mom", " dont tell ur mom "),  # apostrophes dropped
        ("I'm 12yo", " im 12yo "),  # age tokens are not leetspeak
        ("hi!!! omg", " hi omg "),  # trailing ! is punctuation, not i
        ("d.m m.e", " dm me "),  # punctuation joins letters, whitespace still separates words
        ("s.e.n.d f.e.e.t", " send feet "),
        ("s.e.n.d n.u.d.e.s pls", " send nudes pls "),
        ("s. e. x", " sex "),
        ("u r cute", " u r cute "),  # two single letters with only whitespace stay words
        ("p i c s", " pics "),  # three or more, whitespace only: joined as before
    ],
)
def test_evasions_normalise(text: str, expected: str) -> None:
    assert normalize(text) == expected


# Class-level evasions found by eval/comments/evasion.py (each line failed before its fix).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ɗɱ ɱɇ", " dm me "),  # Latin letters with hooks/strokes (no decomposition): by Unicode name
        ("ʂɇӿƴ ɲʉɗɇʂ", " sexy nudes "),
        ("łodz ø", " lodz o "),
        ("sǝxy ɟ", " sexy f "),  # a lone turned letter (by its Unicode name, or listed) is its letter
        ("ʎpoq ɹnoʎ ǝǝs oʇ ʇuɐʍ ᴉ", " i want to see your body "),  # upside-down text: reversed, b/q d/p n/u
        ("hey ¿noʎ ǝɹɐ plo ʍoɥ 😀 cute", " hey how old are you cute "),  # only the upside-down run is turned
        ("?n ɹ plo ʍoɥ ǝƃɐ ɹn ɹoɟ", " for ur age how old r u "),  # a plain word at the edge of a run too
        ("ɯɐɔ ɐ ʇoƃ", " got a cam "),
        ("\u13da\u13ac\u00d7\u13a9", " sexy "),  # Cherokee look-alikes (Ꮪ Ꭼ × Ꭹ)
        ("\uab7a\u13da", " as "),  # a Cherokee small letter folds to its capital first
        ("ꓢꓰꓫꓬ ꓑꓲꓚꓢ", " sexy pics "),  # Lisu
        ("🇸🇪🇽🇾", " sexy "),  # regional indicators
        ("🅢🅔🅧🅨", " sexy "),  # negative circled
        ("🅽🆄🅳🅴🆂", " nudes "),  # negative squared
        ("⒣⒤ ⒮⒠⒳⒴ ⒟⒨ ⒨⒠", " hi sexy dm me "),  # parenthesized: NFKC's "(h)" ran the words together
        ("伱恏，莪想看伱旳照片", " 你好我想看你的照片 "),  # 火星文
        ("h o w   o l d   r   u ?", " how old r u "),  # every character spaced: wider gaps are word breaks
        ("d m   m e 🙂 s e n d", " dm me send "),
        ("s-s-e-e-x-x-y-y", " sexy "),  # every letter doubled between separators
        ("r.r.e.e.a.a.l.l.l.l.y.y", " really "),
        ("s.e.x.y, g.i.r.l", " sexy girl "),  # punctuation + whitespace between spelled words: a break
        ("s.s.s.e.e.e.x.x.x", " sex "),  # (already collapsed before: the doubled case is the new one)
    ],
)
def test_class_level_evasions_normalise(text: str, expected: str) -> None:
    assert normalize(text) == expected
    assert normalize_mapped(text)[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("瑜伽 找茬 囡囡", " 瑜伽找茬囡囡 "),  # 火星文 look-alikes that are everyday words are not folded
        ("🇺🇸 🇨🇳", " us cn "),  # a flag is two regional indicators: it reads as two letters
        ("good book", " good book "),  # doubled letters inside ordinary words stay
        ("a  b c", " a bc "),
        ("h.e.y s.e.x.y", " hey sexy "),  # punctuation between letters joins them, whitespace separates
        ("h🌸e🌸y, b🌸a🌸b🌸e", " hey babe "),  # ... also next to punctuation (was "heybabe")
    ],
)
def test_class_level_fixes_keep_ordinary_text(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("text", ["Scunthorpe", "cocktail", "assassin", "Sussex", "预约", "黄色的", "炸鸡"])
def test_hard_negatives_keep_their_words(text: str) -> None:
    # The innocent word stays whole; whole-word matching is what keeps it clean.
    n = normalize(text)
    assert n.strip() and " " not in n.strip()


def test_empty_and_blank() -> None:
    assert normalize("") == " "
    assert normalize("   \u200b  ") == " "
    assert normalize_with_offsets("") == (" ", [(0, 0)])


def _corpus() -> list[str]:
    texts = []
    for name in ("dev.jsonl", "heldout.jsonl"):
        for line in (EVAL / name).read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    rng = random.Random(5)
    alphabet = "aeiosx013 .-_!$@|\u200b🍑加微信約炮ｓＸ啪\tǝʎpq"  # ǝ ʎ: upside-down runs
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(400)]
    return texts


def test_fast_and_offset_paths_agree() -> None:
    for text in _corpus():
        norm, spans = normalize_with_offsets(text)
        assert norm == normalize(text), text
        assert len(spans) == len(norm)
        for a, b in spans:
            assert 0 <= a <= b <= len(text)


def test_inlined_fast_path_matches_the_staged_reference() -> None:
    # normalize() inlines the stages with extra gates and a split/join collapse; staged() is the reference
    extra = ["a  b   c", "s e x y", "sexxxy", "a b", "  ", "\t\n x", "中 文", "中  文 a", "啪啪啪啪", "１ ２"]
    for text in [*_corpus(), *extra]:
        assert normalize(text) == staged(text), text
    assert len(STAGES) == 10


def test_word_gaps_survive_in_offsets() -> None:
    norm, spans = normalize_with_offsets("ok d.m m.e now")
    assert norm == " ok dm me now "
    i = norm.index("dm")
    assert spans[i] == (3, 4) and spans[i + 1] == (5, 6)  # d and m of "d.m"


def test_lazy_offset_map_gives_the_eager_spans() -> None:
    for text in _corpus():
        norm, spans = normalize_with_offsets(text)
        norm2, omap = normalize_mapped(text)
        assert norm2 == norm, text
        assert [omap.span(p) for p in range(len(norm))] == spans, text
        for i in range(len(norm)):  # (min/max: in upside-down text the spans run backwards)
            want = (min(a for a, _ in spans[i:]), max(b for _, b in spans[i:]))
            assert omap.original(i, len(norm)) == want, text


@pytest.mark.parametrize(
    ("text", "needle", "original"),
    [
        ("hey s.e.x.y girl", "sexy", "s.e.x.y"),
        ("ｈｅｙ ｓｅｘｙ", "sexy", "ｓｅｘｙ"),
        ("ok s\u200be\u200bx\u200by!", "sexy", "s\u200be\u200bx\u200by"),
        ("lol sexxxxy", "sexy", "sexxxxy"),
        ("你好，加 薇 信", "加薇信", "加 薇 信"),
        ("妳幾歲", "你几岁", "妳幾歲"),
        ("call 1 3 8 0 0 1 3 8 0 0 0 now", "13800138000", "1 3 8 0 0 1 3 8 0 0 0"),
        ("hey h0rny", "horny", "h0rny"),
        ("hey ¿noʎ ǝɹɐ plo ʍoɥ 😀 cute", "how old are you", "noʎ ǝɹɐ plo ʍoɥ"),  # upside-down: whole run
        ("hey ¿noʎ ǝɹɐ plo ʍoɥ 😀 cute", "old", "plo"),
    ],
)
def test_offsets_map_back_to_the_original(text: str, needle: str, original: str) -> None:
    norm, spans = normalize_with_offsets(text)
    i = norm.index(needle)
    hit = spans[i : i + len(needle)]
    a, b = min(x for x, _ in hit), max(y for _, y in hit)  # (upside-down text runs backwards)
    assert text[a:b] == original
    assert normalize_mapped(text)[1].original(i, i + len(needle)) == (a, b)


def test_textspeak_is_expanded_on_the_pattern_side() -> None:
    from tutela.comments.match import textspeak_variants

    v = textspeak_variants("how old are you")
    assert {"how old are you", "how old r u", "how old are u", "how old r ya"} <= v
    assert {"dont tell your mom", "do not tell ur mom"} <= textspeak_variants("do not tell your mom")
    assert textspeak_variants("so cute") == {"so cute"}
