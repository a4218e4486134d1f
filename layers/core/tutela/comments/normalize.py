"""Evasion-resistant normalisation with an offset map back to the original text.

The normalised form is what the lexicon is matched against. It is built in two layers:

1. a per-code-point table (``str.translate``) that applies NFKC (full-width, circled and
   "fancy" letters), accent stripping for Latin, case folding, Cyrillic/Greek homoglyphs,
   traditional -> simplified Chinese (OpenCC's character dictionary, 1:1 entries), Latin letters
   with hooks/strokes/turns by their Unicode name, Cherokee/Lisu look-alikes, letter-shaped symbols
   (regional indicators, enclosed letters) and rare 火星文 characters, and deletes zero-width
   characters, variation selectors and skin-tone modifiers; every other punctuation mark, symbol or
   emoji becomes a space (a separator). Upside-down runs ("ʎxǝs") are turned back before it;
2. a fixed sequence of regex stages: spelled-out Chinese digits, a space between Chinese and
   Latin runs, leetspeak and symbol swaps inside words, letters spelled out one by one
   ("s.e.x", "s e x") and runs of a repeated letter, repeated Chinese characters, separators
   between Chinese characters, spaced-out digits, and collapsed whitespace. The result is padded
   with one space on each side so that whole-word patterns can be written as `` word ``.

Two functions run the same stages: :func:`normalize` (C-speed string ops, no offsets; used for
every comment) and :func:`normalize_mapped` (also returns an :class:`OffsetMap` from every
normalised character back to the span of original text it came from; used only for comments that
are reviewed or blocked, for evidence). Both use the *same* table and the *same* stage
replacements, so their strings are identical; the tests hold a plain staged reference and an eager
offset oracle (``tests/unit/comments/offsets_oracle.py``) that both must equal.

Lexicon patterns go through :func:`normalize` too, so a pattern and the text it should match
always agree, whatever the stages do.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from functools import cache
from itertools import accumulate
from pathlib import Path

from tutela.comments import regexes

Span = tuple[int, int]

# --- per-character table -------------------------------------------------------------------

_ZERO_WIDTH = frozenset(
    [
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0),
        *range(0x200B, 0x2010),  # ZWSP, ZWNJ, ZWJ, LRM, RLM
        *range(0x202A, 0x202F),  # bidi embeddings
        *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0x1F3FB, 0x1F400),  # emoji skin-tone modifiers
        *range(0xE0000, 0xE0080),  # tag characters
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
)
# Punctuation, symbols and emoji become SEP, whitespace a space; stage 4 needs the difference
# ("d.m m.e" is two words, "s.e.n.d f.e.e.t" is not one), then SEP becomes a space (stage 9).
SEP = "\x01"
# Apostrophes are deleted rather than made separators: "don't" -> "dont", "i'm" -> "im".
_DELETE = frozenset("'’‘`´ʼ")

# Look-alikes that NFKC leaves alone (after case folding).
HOMOGLYPHS: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ӿ": "x", "ӽ": "x", "ҳ": "x",
    "ɡ": "g", "һ": "h", "ԛ": "q", "ԝ": "w", "ү": "y", "ӏ": "l", "ы": "bi", "п": "n", "г": "r",
    "ь": "b",
    # Chinese variant characters OpenCC keeps
    "妳": "你", "祢": "你",
    # 火星文 ("Martian script"): rare characters written for common ones. Only characters with no
    # everyday use of their own (茬 找茬, 伽 瑜伽, 囡 囡囡, 扪 扪心 are words: not listed)
    "莪": "我", "硪": "我", "涐": "我", "伱": "你", "沵": "你", "旳": "的", "昰": "是", "恏": "好",
    "庅": "么", "唻": "来", "芣": "不", "婹": "要", "啝": "和", "莈": "没", "洧": "有", "僦": "就",
    "嶶": "微", "凢": "几", "嵗": "岁", "镓": "家", "炷": "住", "敩": "学", "挍": "校", "裑": "身",
    "蹆": "腿", "挩": "脱", "妺": "妹", "炤": "照", "尛": "小", "孒": "了", "亾": "人", "媄": "美",
    "扆": "衣", "躶": "裸", "菿": "到", "鈊": "心", "蒊": "为",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "ζ": "z", "η": "n", "θ": "o", "ι": "i",
    "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "σ": "o", "ς": "s", "τ": "t", "υ": "u", "φ": "o",
    "χ": "x", "ω": "w", "μ": "u",
    # Latin/IPA oddities
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ℓ": "l", "ƽ": "s", "ʀ": "r", "ᴀ": "a",
    "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v",
    "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "×": "x",
    # Armenian
    "ս": "u", "օ": "o", "ո": "n", "հ": "h", "ց": "g", "ք": "f", "ա": "w", "ե": "t",
    # currency and other symbols used as letters
    "€": "e", "£": "l", "¢": "c", "¥": "y", "ß": "b",
    # upside-down text: the turned letters whose Unicode name does not say which letter they turn
    # (ǝ, ɐ, ɹ, ʇ, ʎ ... are "LATIN SMALL LETTER TURNED X", folded by _latin_base)
    "ɔ": "c", "ɟ": "f", "ƃ": "g", "ɾ": "j", "ɒ": "a", "ʃ": "s",
    # Cherokee capitals that read as Latin (case folding maps Cherokee small letters to these)
    "Ꭺ": "a", "Ᏼ": "b", "Ꮯ": "c", "Ꭰ": "d", "Ꭼ": "e", "Ꮐ": "g", "Ꮋ": "h", "Ꮒ": "h", "Ꮖ": "i",
    "Ꭻ": "j", "Ꮶ": "k", "Ꮮ": "l", "Ꮇ": "m", "Ꮎ": "o", "Ꮻ": "o", "Ꮲ": "p", "Ꭱ": "r", "Ꮢ": "r",
    "Ꮪ": "s", "Ꮥ": "s", "Ꭲ": "t", "Ꮩ": "v", "Ꮃ": "w", "Ꮤ": "w", "Ꭹ": "y", "Ꮓ": "z",
    # Lisu capitals (and their turned forms, used for upside-down text)
    "ꓮ": "a", "ꓯ": "a", "ꓐ": "b", "ꓚ": "c", "ꓛ": "c", "ꓓ": "d", "ꓷ": "d", "ꓰ": "e", "ꓱ": "e",
    "ꓝ": "f", "ꓞ": "f", "ꓖ": "g", "ꓧ": "h", "ꓲ": "i", "ꓙ": "j", "ꓗ": "k", "ꓘ": "k", "ꓡ": "l",
    "ꓶ": "l", "ꓟ": "m", "ꓠ": "n", "ꓳ": "o", "ꓑ": "p", "ꓒ": "p", "ꓣ": "r", "ꓤ": "r", "ꓢ": "s",
    "ꓔ": "t", "ꓕ": "t", "ꓴ": "u", "ꓵ": "u", "ꓦ": "v", "ꓥ": "v", "ꓪ": "w", "ꓫ": "x", "ꓬ": "y",
    "ꓜ": "z",
}  # fmt: skip

# Letter-shaped symbols NFKC leaves alone (or spells as "(a)"): negative circled 🅐, negative squared 🅰,
# regional indicators 🇦 (flags are pairs of them, so a flag reads as two letters, "🇺🇸" -> "us"),
# parenthesized 🄐 and ⒜ (NFKC's "(a)" would make every letter a word of its own).
_LETTER_SYMBOLS: dict[int, str] = {
    base + i: chr(0x61 + i) for base in (0x1F150, 0x1F170, 0x1F1E6, 0x1F110, 0x249C) for i in range(26)
}
_LATIN_NAME = regexes.compile(
    r"LATIN (?:SMALL |CAPITAL )?LETTER (?:(?:SMALL CAPITAL|TURNED|REVERSED|INVERTED|SCRIPT|DOTLESS|BARRED"
    r"|SIDEWAYS|CLOSED|OPEN) )*([A-Z])(?: WITH .*| BAR| .*)?"
)


def _latin_base(c: str) -> str | None:
    """The ASCII letter a Latin letter with a hook, stroke, bar or turn stands for (``ɗ`` d, ``ʂ`` s,
    ``ǝ`` e, ``ł`` l, ``ꜰ`` f): these have no decomposition, so NFKD does not strip them. Called once
    per code point (the table is cached), never per comment."""
    m = _LATIN_NAME.fullmatch(unicodedata.name(c, ""))
    return m.group(1).lower() if m else None


# Symbols kept by the table because the leet stage may read them as letters.
_LEET_SYMBOLS = "@$"  # "!" and "|" are far more often punctuation than letters
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})

# Textspeak equivalences. Comments are not rewritten (that would cost a pass over every comment);
# instead every lexicon pattern is expanded to all spellings of its words (see match.py).
TEXTSPEAK: tuple[tuple[str, ...], ...] = (
    ("you", "u", "ya", "yu"),
    ("your", "ur", "yr"),
    ("are", "r"),
    ("you are", "youre", "you r", "u are", "u r"),
    ("yourself", "urself"),
    ("please", "pls", "plz"),
    ("pics", "pic", "pix", "pictures", "photos"),
    ("want to", "wanna"),
    ("going to", "gonna"),
    ("i am", "im"),
    ("can not", "cant", "cannot"),
    ("do not", "dont"),
    ("what is", "whats"),
    ("where is", "wheres"),
    ("that is", "thats"),
    ("she is", "shes"),
    ("it is", "its"),
    # digit-only leet: a number alone is a number ("she is 15"), so digits are never rewritten in
    # comments; patterns get the digit spellings instead ("she 15 hot", "talk 2 me", "pics 4 u")
    ("is", "15"),
    ("to", "2"),
    ("for", "4"),
)

_CN_DIGITS = str.maketrans(
    {"零": "0", "〇": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
     "六": "6", "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3", "肆": "4",
     "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9"}
)  # fmt: skip


@cache
def _ts_chars() -> dict[str, str]:
    """Traditional -> simplified, one character to one character (OpenCC TSCharacters)."""
    import opencc  # only for its data directory; its converter is pure Python and slow

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simps = line.partition("\t")
        simp = simps.split(" ")[0] if simps else ""
        if len(trad) == 1 and len(simp) == 1 and trad != simp:
            table[trad] = simp
    return table


def _map_char(ch: str) -> str:
    cp = ord(ch)
    if cp in _ZERO_WIDTH or ch in _DELETE:
        return ""
    if cp in _LETTER_SYMBOLS:
        return _LETTER_SYMBOLS[cp]
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Me", "Cf"):
        return ""
    s = unicodedata.normalize("NFKC", ch)
    stripped = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    if stripped.isascii():
        s = stripped
    s = s.casefold()
    out: list[str] = []
    for c in s:
        if c in HOMOGLYPHS:
            c = HOMOGLYPHS[c]
        elif not c.isascii() and c.isalpha():
            c = _latin_base(c) or c
        for c2 in c:
            if not c2.isascii():  # OpenCC maps no ASCII character: ASCII text never reads its file
                c2 = _ts_chars().get(c2, c2)
            if c2.isdigit() and not c2.isascii():
                d = unicodedata.digit(c2, None)
                c2 = str(d) if d is not None else " "
            if c2.isalnum() or c2 in _LEET_SYMBOLS:
                out.append(c2)
            elif c2 in _DELETE:
                continue
            elif c2.isspace():
                out.append(" ")
            else:  # punctuation, symbols, emoji: a separator *inside* a word gap, see stage 4
                out.append(SEP)
    return "".join(out)


class _CharTable(dict[int, str]):
    """``str.translate`` table computed lazily per code point and cached for the process."""

    def __missing__(self, cp: int) -> str:
        r = _map_char(chr(cp))
        self[cp] = r
        if len(r) != 1:
            _NOT_ONE_TO_ONE.add(cp)
        return r


_NOT_ONE_TO_ONE: set[int] = set()  # code points the table deletes or expands (filled as it grows)


TABLE = _CharTable()

# --- regex stages ----------------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_AGE_TOKEN = regexes.compile(r"\d{1,2}(?:yo|y|yrs?|f|m)")
_DIGIT_RUN = regexes.compile(r"\d{3,}")
_SYM_EDGE = regexes.compile(r"[@$]+$")  # a leading $ or @ is a letter ($ex, @ss), a trailing one is not


def _cn_digits(m: re.Match[str]) -> str:
    return m.group().translate(_CN_DIGITS)


def _leet(m: re.Match[str]) -> str:
    tok = m.group()
    if _AGE_TOKEN.fullmatch(tok):
        return tok
    # Symbols at the edges of a word are punctuation ("hi!"), not letters.
    tok = _SYM_EDGE.sub(lambda e: " " * len(e.group()), tok)
    # Long digit runs are numbers (phone, QQ id), kept and split off the letters.
    parts: list[str] = []
    pos = 0
    for d in _DIGIT_RUN.finditer(tok):
        parts.append(tok[pos : d.start()].translate(LEET))
        parts.append(" " + d.group() + " ")
        pos = d.end()
    parts.append(tok[pos:].translate(LEET))
    return "".join(parts)


def _letters_only(m: re.Match[str]) -> str:
    return "".join(c for c in m.group() if c != " ")


_REPEAT = regexes.compile(r"([a-z])\1\1+")


_GAPS = regexes.compile(r"([ \x01]+)")


def _letters_word(letters: list[str]) -> str:
    """Letters spelled out one by one, as a word. A word whose every letter is doubled is halved
    ("s-s-e-e-x-x" -> "sex", "r.r.e.e.a.a.l.l.l.l.y.y" -> "really"; two pairs or more: no word is spelled
    that way), then runs of three or more collapse ("sexxxy")."""
    word = "".join(letters)
    n = len(word)
    if n >= 4 and n % 2 == 0 and word[::2] == word[1::2]:
        word = word[::2]
    return _REPEAT.sub(r"\1", word)


def _words(letters: list[str], gaps: list[str], breaks: Callable[[str], bool]) -> str:
    """The letters as words, split at the gaps ``breaks`` picks (a lone letter stays a word)."""
    words: list[list[str]] = [[letters[0]]]
    for gap, letter in zip(gaps, letters[1:], strict=True):
        if breaks(gap):
            words.append([letter])
        else:
            words[-1].append(letter)
    return " ".join(_letters_word(w) if len(w) >= 2 else w[0] for w in words)


def _join_or_collapse(m: re.Match[str]) -> str:
    """Letters spelled out one by one: the narrowest kind of gap in the run is the one between the
    letters of a word, a wider kind separates words."""
    run = m.group("join")
    if run is None:
        return m.group("rep")
    parts = _GAPS.split(run)  # letter, gap, letter, ...
    letters, gaps = parts[0::2], parts[1::2]
    if SEP not in run:
        if " " in gaps and any(g != " " for g in gaps):  # "h o w   o l d": every character spaced
            return _words(letters, gaps, lambda g: g != " ")
        # "s e x y": whitespace only, join three or more ("u r" stays two words)
        return _letters_word(letters) if len(letters) >= 3 else run
    if not all(" " in g for g in gaps):
        # punctuation alone joins letters, a gap with whitespace separates words: "d.m m.e" -> "dm me",
        # "s.e.n.d f.e.e.t" -> "send feet", "h.e.y, s.e.x.y" -> "hey sexy"
        return _words(letters, gaps, lambda g: " " in g)
    if " " in gaps:  # "d m   m e 🙂 s e n d": every character spaced, punctuation between words
        return _words(letters, gaps, lambda g: g != " ")
    return _letters_word(letters)  # "s. e. x": every gap punctuation and whitespace


def _double(m: re.Match[str]) -> str:
    return m.group(1) * 2


# A stage: (pattern, replacement, gate). A stage only runs when its gate holds, and every gate is
# a necessary condition for its pattern to match, so gates change the speed, never the result.
# Gates: "cjk" = some non-ASCII character; "latin" = an ASCII letter; "digsym" = a digit or leet
# symbol; "mixed" = CJK and (latin or digsym); a str = that substring is present.
Stage = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str], str | None]
_DIGSYM = regexes.compile(r"[0-9@$]")
_LATIN = regexes.compile(r"[a-z]")

STAGES: tuple[Stage, ...] = (
    # 0. 一三八零零一三八零零零 -> 13800138000 (only long runs: 一起/三五 stay words)
    (regexes.compile(r"[零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖]{6,}"), _cn_digits, "cjk"),
    # 1. 加vx -> 加 vx (Latin words get a space before and after, also next to Chinese)
    (regexes.compile(rf"(?<=[{_CJK}])(?=[a-z0-9])|(?<=[a-z0-9])(?=[{_CJK}])"), " ", "mixed"),
    # 2. s3x, p0rn, b@by, $exy -> sex, porn, baby, sexy: words that mix letters and digits/symbols
    (
        regexes.compile(r"(?<![a-z0-9@$])[a-z0-9@$]*(?:[a-z][0-9@$]|[0-9@$][a-z])[a-z0-9@$]*"),
        _leet,
        "digsym",
    ),
    # 3. any remaining symbol is a separator
    (regexes.compile(r"[@$]"), " ", "digsym"),
    # 4. one pass for two things: letters spelled out one by one are joined -- s.e.x, s_e_x, s🍆e🍆x
    #    and d.m (two or more, joined by punctuation; whitespace still separates words: "d.m m.e" ->
    #    "dm me", "s.e.n.d f.e.e.t" -> "send feet"), s e x (three or more, whitespace only) -- and
    #    sexxxy -> sexy (three or more of the same Latin letter -> one; digits never collapse)
    (
        regexes.compile(
            r"(?P<join>(?<![a-z0-9])[a-z](?:[ \x01]+[a-z](?![a-z0-9]))+)|(?P<rep>[a-z])(?P=rep)(?P=rep)+"
        ),
        _join_or_collapse,
        "latin",
    ),
    # 5. 啪啪啪啪 -> 啪啪 (three or more of the same Chinese character -> two)
    (regexes.compile(rf"([{_CJK}])\1\1+"), _double, "cjk"),
    # 6. 加 微 信 -> 加微信
    (regexes.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])"), "", "cjk"),
    # 7. 1 3 8 0 0 1 3 8 0 0 0 -> 13800138000 (seven or more digits)
    (regexes.compile(r"(?<![0-9])[0-9](?: *[0-9]){6,}(?![0-9])"), _letters_only, "digsym"),
    # 8. collapse spaces
    (regexes.compile(r" {2,}"), " ", "  "),
    # 9. (runs right after stage 4) every remaining separator is a space
    (regexes.compile(SEP), " ", SEP),
)


_S0, _S1 = STAGES[0], STAGES[1]


def _ascii_tables() -> tuple[bytes, bytes]:
    table = bytearray(range(256))
    delete = bytearray()
    for cp in range(128):
        r = TABLE[cp]
        if r == "":
            delete.append(cp)
        else:
            assert len(r) == 1 and r.isascii()
            table[cp] = ord(r)
    return bytes(table), bytes(delete)


_ASCII_TABLE, _ASCII_DELETE = _ascii_tables()


# Upside-down text ("ʎpoq ɹnoʎ ǝǝs" for "see your body"): turned letters written in reverse order. The table
# reads each turned letter as its letter; the order and the letters that turn into other ASCII letters
# (b/q, d/p, n/u) need the run put back the right way round first. A run is a sequence of words made only
# of what upside-down generators write (turned letters, the ASCII letters that read the same or as their
# partner, digits, punctuation) holding two or more turned letters. A plain word of those letters next to
# it ("so", "lol") is turned too: generators turn whole comments, so that is the common case. Every
# character of a run maps to one character (no apostrophe, emoji or invisible character), so the table's
# lengths are the same in either order.
_TURNED = "ɐǝɹʇʎɯɥᴉʞʌʍɔɟƃɾ"
_TURNED_GATE = regexes.compile(f"[{_TURNED}]")
_FLIP_RUN = regexes.compile(
    rf"(?<!\S)[{_TURNED}bdlnopqsuxz0-9¿¡˙.,!?]+(?: +[{_TURNED}bdlnopqsuxz0-9¿¡˙.,!?]+)*(?!\S)"
)
_UNFLIP = str.maketrans("bdnpqu¿¡˙", "qpudbn?!.")


def flip_spans(text: str) -> list[Span]:
    """The ``[start, end)`` runs of upside-down text in ``text`` (see :data:`_TURNED`), in order."""
    return [m.span() for m in _FLIP_RUN.finditer(text) if len(_TURNED_GATE.findall(m.group())) >= 2]


def unflip(text: str, spans: list[Span]) -> str:
    """``text`` with each upside-down run reversed and its swapped letters put back (same length)."""
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(text[pos:a])
        out.append(text[a:b][::-1].translate(_UNFLIP))
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _unflipped(text: str) -> str:
    """Non-ASCII ``text`` with its upside-down runs turned back (``text`` itself when it has none)."""
    if _TURNED_GATE.search(text) is None:
        return text
    spans = flip_spans(text)
    return unflip(text, spans) if spans else text


def translate(text: str) -> str:
    """The per-character table; ASCII text takes a bytes fast path with the same result. Upside-down
    runs are turned back first (they hold non-ASCII letters, so ASCII text never has one)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE, _ASCII_DELETE).decode("ascii")
    return _unflipped(text).translate(TABLE)


_S2, _S3, _S4, _S5, _S6, _S7 = STAGES[2:8]
# Stage 4 runs only when one of its two alternatives can match: two cheap searches (the first has a
# literal prefix) are faster than the combined pattern, which has none.
_JOIN_GATE = regexes.compile(r"(?<![a-z0-9])[a-z][ \x01]+[a-z](?![a-z0-9])")
_TRIPLE_GATE = regexes.compile(r"([a-z])\1\1")
_LATIN_OR_DIGSYM = regexes.compile(r"[a-z0-9@$]")
# The join gate for text without CJK: there every character is one of [a-z0-9 \x01] at this point (the table
# gives lowercase ASCII letters, digits, spaces, SEP and @$, which stages 2-3 remove), so "not after [a-z0-9]"
# is "after a space or SEP" (position 0 is the pad), a prefix the engine can use. Searched apart from the
# triple gate: one alternation of the two tried both branches at every letter (measured ~35% slower).
_ASCII_JOIN_GATE = regexes.compile(r"[ \x01][a-z][ \x01]+[a-z](?![a-z0-9])")


def _script_gates(s: str, cjk: bool) -> tuple[bool, bool]:
    """(latin, digit-or-symbol) present: which later stages can match at all, shared by both normalisers."""
    if not cjk:
        return True, _DIGSYM.search(s) is not None
    if _LATIN_OR_DIGSYM.search(s) is None:  # most Chinese comments: one search, not two
        return False, False
    return _LATIN.search(s) is not None, _DIGSYM.search(s) is not None


def normalize(text: str) -> str:
    """The normalised form of ``text``, padded with a space on each side.

    The stages of :data:`STAGES` in order, each behind a gate that is a necessary condition for it to
    match, inlined: this runs for every comment. Stage 8 (collapse spaces) is ``split``/``join``:
    every whitespace character of the translated text is a plain space, so the two agree.
    """
    if text.isascii():
        s = " " + text.encode("ascii").translate(_ASCII_TABLE, _ASCII_DELETE).decode("ascii") + " "
        cjk = False
        latin = True
        digsym = _DIGSYM.search(s) is not None
    else:
        s = " " + _unflipped(text).translate(TABLE) + " "
        cjk = not s.isascii()
        if cjk:
            s = _S0[0].sub(_S0[1], s)
        latin, digsym = _script_gates(s, cjk)
    if cjk and (latin or digsym):
        s = _S1[0].sub(_S1[1], s)
    if digsym:
        s = _S2[0].sub(_S2[1], s)
        s = _S3[0].sub(_S3[1], s)
    if latin:
        if (_JOIN_GATE if cjk else _ASCII_JOIN_GATE).search(s) is not None:
            s = _S4[0].sub(_S4[1], s)
        elif _TRIPLE_GATE.search(s) is not None:
            # the join gate is the first step of the join alternative, so no join matches: stage 4 is its
            # other alternative alone (the same matches, each replaced by its letter), without a callback
            s = _REPEAT.sub(r"\1", s)
    if SEP in s:
        s = s.replace(SEP, " ")
    if cjk:
        if _S5[0].search(s) is not None:  # a search is cheaper than a sub that finds nothing
            s = _S5[0].sub(_S5[1], s)
        if s.find(" ", 1, -1) >= 0:  # stage 6 needs a space between characters, not just the padding
            s = _S6[0].sub(_S6[1], s)
    if digsym:
        s = _S7[0].sub(_S7[1], s)
    if "  " in s:
        parts = s.split()
        return " " + " ".join(parts) + " " if parts else " "
    return s


class OffsetMap:
    """The original ``(start, end)`` span of any character of a normalised text, on demand.

    Built by :func:`normalize_mapped`: it keeps, for every stage that changed the text, the
    stage's input and its replacements, and walks a position back through them only when asked
    (evidence needs two positions per hit, not a span for every character). The tests check it
    gives exactly the spans of an eager oracle.
    """

    __slots__ = ("_cum", "_flips", "_last", "_layers", "_n", "_plain")

    def __init__(self, text: str, translated: str, layers: list[_Layer]) -> None:
        self._n = len(text)
        # upside-down runs were reversed before the table (every character in them maps to one)
        self._flips = flip_spans(text) if not text.isascii() and _TURNED_GATE.search(text) else []
        self._last = len(translated) + 1  # position of the closing pad before any stage
        # identity: the translated text maps one to one onto the original
        one_to_one = len(translated) == len(text) and (
            text.isascii() or _NOT_ONE_TO_ONE.isdisjoint(map(ord, text))
        )
        self._cum: list[int] | None = (
            None if one_to_one else list(accumulate(map(len, map(TABLE.__getitem__, map(ord, text)))))
        )
        self._layers = layers
        # every position is its own, past the opening pad
        self._plain = not layers and self._cum is None and not self._flips

    def _coord(self, p: int, which: int) -> int:
        """``span(p)[which]``, walked back through the layers without building spans."""
        layers = self._layers
        k = len(layers)
        while k:
            k -= 1
            s, starts, edits = layers[k]
            i = bisect_right(starts, p) - 1
            if i < 0:
                continue
            o = starts[i]
            a, b, r = edits[i]
            lr = len(r)
            if p >= o + lr:  # after the replacement: shifted
                p = b + (p - o - lr)
            elif lr == b - a:  # same length: character for character
                p = a + (p - o)
            else:
                idx = _align_index(s, a, b, r)
                if idx is not None:  # characters kept in order keep their own spans
                    p = idx[p - o]
                elif b > a:  # otherwise the whole match: (start of its first, end of its last)
                    p = a if which == 0 else b - 1
                else:  # an insertion: the empty span at the start of what follows
                    p = a
                    which = 0
        if p == 0:
            return 0
        if p == self._last:
            return self._n
        j = p - 1
        if self._cum is not None:
            j = bisect_right(self._cum, j)
        return j + which

    def _unmirror(self, lo: int, hi: int) -> Span:
        """A ``[lo, hi)`` range of the turned-back text as the smallest range of the original holding it."""
        if not self._flips:
            return lo, hi
        if hi <= lo:  # an empty range: a point between two characters
            for a, b in self._flips:
                if a < lo < b:
                    return a + b - lo, a + b - lo
            return lo, hi
        pts = [lo, hi - 1]
        for a, b in self._flips:
            if a < hi and lo < b:
                pts += [max(lo, a), min(hi, b) - 1]
        mapped = []
        for q in pts:
            for a, b in self._flips:
                if a <= q < b:
                    q = a + b - 1 - q
                    break
            mapped.append(q)
        return min(mapped), max(mapped) + 1

    def span(self, p: int) -> Span:
        """The original span of normalised character ``p``."""
        return self._unmirror(self._coord(p, 0), self._coord(p, 1))

    def original(self, start: int, end: int) -> Span:
        """Map a ``[start, end)`` range of normalised text to a range of the original text."""
        if self._plain:  # _coord without layers or expansions, inlined (evidence maps every hit)
            n, last = self._n, self._last
            e = end - 1
            return (
                0 if start == 0 else n if start == last else start - 1,
                0 if e == 0 else n if e == last else e,
            )
        return self._unmirror(self._coord(start, 0), self._coord(end - 1, 1))


_Layer = tuple[str, list[int], list[tuple[int, int, str]]]


def _align_index(s: str, a: int, b: int, r: str) -> list[int] | None:
    """:func:`_align` on indices: the input index kept by each character of ``r``, or ``None`` when
    ``r`` does not keep characters of the match in order (then every character gets the whole)."""
    out: list[int] = []
    j = a
    for c in r:
        while j < b and s[j] != c:
            j += 1
        if j == b:
            return None
        out.append(j)
        j += 1
    return out


def _record(stage: Stage, s: str, layers: list[_Layer]) -> str:
    """Apply a stage with ``finditer`` and keep its replacements (only if it changed something)."""
    rx, fn, _ = stage
    if rx.search(s) is None:  # most gated stages still find nothing: skip the recording set-up
        return s
    out: list[str] = []
    starts: list[int] = []
    edits: list[tuple[int, int, str]] = []
    pos = 0
    opos = 0
    fixed = fn if isinstance(fn, str) else None
    same_lengths = True
    for m in rx.finditer(s):
        a, b = m.span()
        out.append(s[pos:a])
        opos += a - pos
        r = fixed if fixed is not None else fn(m)  # type: ignore[operator]
        out.append(r)
        starts.append(opos)
        edits.append((a, b, r))
        opos += len(r)
        pos = b
        same_lengths = same_lengths and len(r) == b - a
    if pos == 0:
        return s
    out.append(s[pos:])
    if not same_lengths:  # a layer of same-length edits maps every position to itself: not kept
        layers.append((s, starts, edits))
    return "".join(out)


def normalize_mapped(text: str) -> tuple[str, OffsetMap]:
    """Like :func:`normalize`, plus an :class:`OffsetMap` back to the original text.

    The stages of :data:`STAGES` behind the same gates as :func:`normalize` (each a necessary
    condition for its stage to match, so a skipped stage is one that would record nothing).
    """
    t = translate(text)
    layers: list[_Layer] = []
    s = " " + t + " "
    cjk = not s.isascii()
    # Stages 0, 3 and 9 replace every match with as many characters (digit for digit, symbol or SEP by a
    # space): a layer of such edits maps every position to itself, so they are applied, not recorded.
    if cjk:
        s = _S0[0].sub(_S0[1], s)
    latin, digsym = _script_gates(s, cjk)
    if cjk and (latin or digsym):
        s = _record(_S1, s, layers)
    if digsym:
        s = _record(_S2, s, layers)
        s = _S3[0].sub(_S3[1], s)
    if latin and (
        (_JOIN_GATE if cjk else _ASCII_JOIN_GATE).search(s) is not None or _TRIPLE_GATE.search(s) is not None
    ):  # the same gates as normalize()
        s = _record(_S4, s, layers)
    if SEP in s:
        s = s.replace(SEP, " ")
    if cjk:
        s = _record(_S5, s, layers)
        if s.find(" ", 1, -1) >= 0:
            s = _record(_S6, s, layers)
    if digsym:
        s = _record(_S7, s, layers)
    if "  " in s:
        s = _record(STAGES[8], s, layers)
    return s, OffsetMap(text, t, layers)
