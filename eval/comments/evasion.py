"""Evasion red team for the normalisation layer: does a mechanical re-spelling change the verdict?

    .venv/bin/python eval/comments/evasion.py                       # every burned sealed set, every transform
    .venv/bin/python eval/comments/evasion.py --only zalgo,cherokee  # some transforms
    .venv/bin/python eval/comments/evasion.py --json F               # also write the counts as JSON
    .venv/bin/python eval/comments/evasion.py --rules-only           # the rules stage alone

Each labelled comment (default: ``eval/comments/sealed-2026-12-r*/``, burned held-out sets that are
training data now; the format is ``evaluate.py``'s) is judged as written and after each transform
alone, applied to the whole comment, under the comment's own context. Per transform:

- ``changed``: comments the transform rewrote (the others keep their verdict by construction and are
  not judged again);
- harmful: ``caught`` plain (review or block), and of those ``lost`` (allowed once transformed);
- acceptable: ``allowed`` plain, and of those ``flipped`` (reviewed or blocked once transformed).

The transforms are the class-level typographic evasions people use (combining marks, look-alike
scripts, invisible characters, letter padding, Chinese variant forms), deterministic: a transform's
random choices are seeded by the comment's text. What a transform changes is printed only as counts,
never as text (``--show N`` prints N lost examples per transform for local debugging).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "layers" / "core"))
sys.path.insert(0, str(HERE))

from evaluate import judge, read_rows  # noqa: E402

from tutela.comments import load_lexicon  # noqa: E402

Transform = Callable[[str, random.Random], str]

_CJK_LO, _CJK_HI = 0x4E00, 0x9FFF


def _is_cjk(c: str) -> bool:
    return _CJK_LO <= ord(c) <= _CJK_HI


def _letters(table: dict[str, str]) -> Transform:
    """Replace ASCII letters (either case) by the table's look-alike of the lowercase letter."""

    def f(text: str, rng: random.Random) -> str:
        return "".join(table.get(c.lower(), c) for c in text)

    return f


def _combining(marks: str, lo: int = 1, hi: int = 1) -> Transform:
    def f(text: str, rng: random.Random) -> str:
        out = []
        for c in text:
            out.append(c)
            if c.isascii() and c.isalpha():
                out.extend(rng.choice(marks) for _ in range(rng.randint(lo, hi)))
        return "".join(out)

    return f


def _between_letters(sep: Callable[[random.Random], str], cjk: bool = False) -> Transform:
    """Insert a separator between two consecutive letters of a word (or two Chinese characters)."""

    def f(text: str, rng: random.Random) -> str:
        out = []
        for i, c in enumerate(text):
            out.append(c)
            n = text[i + 1] if i + 1 < len(text) else ""
            if cjk:
                if _is_cjk(c) and n and _is_cjk(n):
                    out.append(sep(rng))
            elif c.isascii() and c.isalpha() and n.isascii() and n.isalpha():
                out.append(sep(rng))
        return "".join(out)

    return f


def _const(s: str) -> Callable[[random.Random], str]:
    return lambda rng: s


_ALPHA = "abcdefghijklmnopqrstuvwxyz"

# turned letters (the "upside-down" alphabet without reversing the text)
TURNED = dict(zip(_ALPHA, "ɐqɔpǝɟƃɥᴉɾʞlɯuodbɹsʇnʌʍxʎz", strict=True))
SMALL_CAPS = dict(zip(_ALPHA, "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ", strict=True))
SUPERSCRIPT = dict(zip(_ALPHA, "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖqʳˢᵗᵘᵛʷˣʸᶻ", strict=True))
REGIONAL = {c: chr(0x1F1E6 + i) for i, c in enumerate(_ALPHA)}
NEG_CIRCLED = {c: chr(0x1F150 + i) for i, c in enumerate(_ALPHA)}  # 🅐..🅩
NEG_SQUARED = {c: chr(0x1F170 + i) for i, c in enumerate(_ALPHA)}  # 🅰..🆉
SQUARED = {c: chr(0x1F130 + i) for i, c in enumerate(_ALPHA)}  # 🄰..🅉
PARENTHESIZED = {c: chr(0x1F110 + i) for i, c in enumerate(_ALPHA)}  # 🄐..🄩
# Cherokee capitals that read as Latin letters (the letters with no look-alike stay Latin)
CHEROKEE = {
    "a": "Ꭺ", "b": "Ᏼ", "c": "Ꮯ", "d": "Ꭰ", "e": "Ꭼ", "g": "Ꮐ", "h": "Ꮋ", "i": "Ꮖ", "j": "Ꭻ",
    "k": "Ꮶ", "l": "Ꮮ", "m": "Ꮇ", "o": "Ꮎ", "p": "Ꮲ", "r": "Ꭱ", "s": "Ꮪ", "t": "Ꭲ", "v": "Ꮩ",
    "w": "Ꮃ", "z": "Ꮓ",
}  # fmt: skip
LISU = {
    "a": "ꓮ", "b": "ꓐ", "c": "ꓚ", "d": "ꓓ", "e": "ꓰ", "f": "ꓝ", "g": "ꓖ", "h": "ꓧ", "i": "ꓲ",
    "j": "ꓙ", "k": "ꓗ", "l": "ꓡ", "m": "ꓟ", "n": "ꓠ", "o": "ꓳ", "p": "ꓑ", "r": "ꓣ", "s": "ꓢ",
    "t": "ꓔ", "u": "ꓴ", "v": "ꓦ", "w": "ꓪ", "x": "ꓫ", "y": "ꓬ", "z": "ꓜ",
}  # fmt: skip
# Latin letters with hooks, strokes and tails (no decomposition, so NFKD does not strip them)
LATIN_HOOKS = {
    "a": "ɑ", "b": "ƀ", "c": "ƈ", "d": "ɗ", "e": "ɇ", "f": "ƒ", "g": "ɠ", "h": "ɦ", "i": "ɨ",
    "j": "ʝ", "k": "ƙ", "l": "ɭ", "m": "ɱ", "n": "ɲ", "o": "ɵ", "p": "ƥ", "q": "ʠ", "r": "ɍ",
    "s": "ʂ", "t": "ƭ", "u": "ʉ", "v": "ʋ", "w": "ⱳ", "x": "ӿ", "y": "ƴ", "z": "ȥ",
}  # fmt: skip
CYRILLIC = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "s": "ѕ", "i": "і"}
GREEK = {"a": "α", "o": "ο", "n": "η", "v": "ν", "t": "τ", "k": "κ", "i": "ι", "u": "υ"}
ARMENIAN = {"u": "ս", "o": "օ", "n": "ո", "h": "հ", "g": "ց"}


def _mixed_scripts(text: str, rng: random.Random) -> str:
    """Each word in one look-alike script (Cyrillic, Greek, Armenian, Cherokee, Lisu) where it has one."""
    scripts = (CYRILLIC, GREEK, ARMENIAN, CHEROKEE, LISU)
    out = []
    for word in text.split(" "):
        table = rng.choice(scripts)
        out.append("".join(table.get(c.lower(), c) if rng.random() < 0.6 else c for c in word))
    return " ".join(out)


def _upside_down(text: str, rng: random.Random) -> str:
    """What "upside-down text" generators produce: turned letters, in reverse order."""
    return "".join(TURNED.get(c.lower(), c) for c in reversed(text))


def _rtl_override(text: str, rng: random.Random) -> str:
    """Stored reversed, displayed right: RIGHT-TO-LEFT OVERRIDE + the reversed text + POP."""
    return "\u202e" + text[::-1] + "\u202c"


def _reverse_words(text: str, rng: random.Random) -> str:
    return " ".join(reversed(text.split(" ")))


def _double(n: int, sep: str) -> Transform:
    """Every letter of a word written n times, with ``sep`` between all the letters ("s.s.e.e.x.x")."""

    def word(m: re.Match[str]) -> str:
        return sep.join(c for c in m.group() for _ in range(n))

    def f(text: str, rng: random.Random) -> str:
        return _ASCII_WORD.sub(word, text)

    return f


_ASCII_WORD = re.compile(r"[A-Za-z]+")


def _every_char_spaced(text: str, rng: random.Random) -> str:
    return " ".join(text)


def _dotless_long_s(text: str, rng: random.Random) -> str:
    return text.replace("i", "ı").replace("s", "ſ").replace("j", "ȷ")


# --- Chinese -------------------------------------------------------------------------------------

# 火星文: rare variant or look-alike characters written for common ones (each one-to-one)
HUOXING = {
    "我": "莪", "你": "伱", "的": "旳", "是": "昰", "好": "恏", "么": "庅", "爱": "嬡", "们": "扪",
    "在": "茬", "这": "適", "来": "唻", "吗": "嬤", "不": "芣", "要": "婹", "和": "啝", "没": "莈",
    "有": "洧", "就": "僦", "微": "嶶", "私": "俬", "约": "葯", "几": "凢", "岁": "嵗", "家": "镓",
    "住": "炷", "学": "敩", "校": "挍", "身": "裑", "腿": "蹆", "脱": "挩", "妹": "妺", "聊": "聊",
    "照": "炤", "片": "爿", "小": "尛", "哪": "哪", "去": "厾", "看": "看", "了": "孒", "加": "伽",
    "女": "囡", "人": "亾", "大": "夶", "美": "媄", "想": "想", "胸": "洶", "衣": "扆", "裸": "躶",
}  # fmt: skip
# characters written as their components (女子 for 好 is also the word "woman": a trap for a fixer)
COMPONENTS = {
    "好": "女子", "你": "亻尔", "妈": "女马", "她": "女也", "们": "亻门", "他": "亻也", "约": "纟勺",
    "信": "亻言", "娃": "女圭", "胸": "月匈", "妹": "女未", "炮": "火包", "奶": "女乃", "私": "禾厶",
}  # fmt: skip
HOMOPHONE_DIGITS = {"我": "5", "爱": "2", "你": "0", "一": "1", "死": "4", "久": "9", "起": "7"}


def _chars(table: dict[str, str]) -> Transform:
    def f(text: str, rng: random.Random) -> str:
        return "".join(table.get(c, c) for c in text)

    return f


@__import__("functools").cache
def _s2t() -> dict[str, str]:
    """Simplified -> traditional, one character for one (the training augmentation's table)."""
    import learn

    return {s: t for s, t in learn.s2t_table().items() if len(t) == 1}


def _traditional(text: str, rng: random.Random) -> str:
    t = _s2t()
    return "".join(t.get(c, c) for c in text)


@__import__("functools").cache
def _pinyin_table() -> dict[str, str]:
    from pypinyin import Style, pinyin

    return {chr(cp): pinyin(chr(cp), style=Style.NORMAL)[0][0] for cp in range(_CJK_LO, _CJK_HI + 1)}


def _pinyin_initials(text: str, rng: random.Random) -> str:
    t = _pinyin_table()
    return "".join(t[c][0] if _is_cjk(c) and t.get(c) else c for c in text)


# neutral emoji only: sexual ones (🍑💦) are read from the raw text on purpose
_EMOJI = "✨⭐🌸🎀💫🌈🌟🍀"
_FW_PUNCT = "，。、・！？：；～"


def _latin_between_cjk(text: str, rng: random.Random) -> str:
    return _between_letters(lambda r: r.choice("xzq"), cjk=True)(text, rng)


TRANSFORMS: dict[str, Transform] = {
    # combining marks
    "diacritics": _combining("\u0307\u0308\u0301\u0300\u0302\u030c\u0303"),  # ṡëẍÿ
    "strikethrough": _combining("\u0336"),  # s̶e̶x̶y̶
    "underline": _combining("\u0332"),
    "zalgo": _combining("".join(chr(c) for c in range(0x0300, 0x0370)), 2, 6),
    # look-alike letters
    "turned": _letters(TURNED),  # ǝsxǝ (not reversed)
    "upside_down": _upside_down,  # ʎxǝs (reversed, as generators write it)
    "small_caps": _letters(SMALL_CAPS),
    "superscript": _letters(SUPERSCRIPT),
    "regional_indicator": _letters(REGIONAL),
    "negative_circled": _letters(NEG_CIRCLED),
    "negative_squared": _letters(NEG_SQUARED),
    "squared": _letters(SQUARED),
    "parenthesized": _letters(PARENTHESIZED),
    "cherokee": _letters(CHEROKEE),
    "lisu": _letters(LISU),
    "latin_hooks": _letters(LATIN_HOOKS),
    "mixed_scripts": _mixed_scripts,
    "dotless_i_long_s": _dotless_long_s,
    # padding and invisible characters
    "doubled": _double(2, ""),
    "tripled_dots": _double(3, "."),
    "doubled_dashes": _double(2, "-"),
    "zwj": _between_letters(_const("\u200d")),
    "word_joiner": _between_letters(_const("\u2060")),
    "invisible_separator": _between_letters(_const("\u2063")),
    "hangul_filler": _between_letters(_const("\u3164")),
    "braille_blank": _between_letters(_const("\u2800")),
    "combining_grapheme_joiner": _between_letters(_const("\u034f")),
    "emoji_between_letters": _between_letters(lambda r: r.choice(_EMOJI)),
    "fullwidth_punct_between_letters": _between_letters(lambda r: r.choice(_FW_PUNCT)),
    "every_char_spaced": _every_char_spaced,
    # order
    "reversed_words": _reverse_words,
    "rtl_override": _rtl_override,
    # Chinese
    "zh_traditional": _traditional,
    "zh_huoxing": _chars(HUOXING),
    "zh_components": _chars(COMPONENTS),
    "zh_pinyin_initials": _pinyin_initials,
    "zh_homophone_digits": _chars(HOMOPHONE_DIGITS),
    "zh_fullwidth_punct": _between_letters(lambda r: r.choice(_FW_PUNCT), cjk=True),
    "zh_emoji": _between_letters(lambda r: r.choice(_EMOJI), cjk=True),
    "zh_latin": _latin_between_cjk,
    "zh_spaces": _between_letters(_const(" "), cjk=True),
    "zh_zwj": _between_letters(_const("\u200d"), cjk=True),
}


def default_files() -> list[Path]:
    return sorted(p for d in sorted(HERE.glob("sealed-2026-12-r*")) for p in d.rglob("*.jsonl"))


def flagged(res: dict[str, Any]) -> bool:
    return bool(res["verdict"] != "allow")


def run(rows: list[dict[str, Any]], names: list[str], lex: Any, show: int = 0) -> dict[str, dict[str, int]]:
    plain = judge(rows, lex)
    out: dict[str, dict[str, int]] = {}
    for name in names:
        fn = TRANSFORMS[name]
        idx, evaded = [], []
        for i, r in enumerate(rows):
            t = fn(r["text"], random.Random(zlib.crc32(r["text"].encode("utf-8"))))
            if t != r["text"]:
                idx.append(i)
                evaded.append({**r, "text": t})
        res = judge(evaded, lex) if evaded else []
        c = {"changed": len(idx), "caught": 0, "lost": 0, "allowed": 0, "flipped": 0}
        c["caught"] = sum(flagged(plain[i]) for i, r in enumerate(rows) if r["labels"])
        c["allowed"] = sum(not flagged(plain[i]) for i, r in enumerate(rows) if not r["labels"])
        shown = 0
        for i, e, rr in zip(idx, evaded, res, strict=True):
            if rows[i]["labels"] and flagged(plain[i]) and not flagged(rr):
                c["lost"] += 1
                if shown < show:
                    shown += 1
                    print(f"  [{name}] lost: {e['text']!r}", file=sys.stderr)
            elif not rows[i]["labels"] and not flagged(plain[i]) and flagged(rr):
                c["flipped"] += 1
        out[name] = c
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--only", help="comma-separated transform names")
    p.add_argument("--rules-only", action="store_true")
    p.add_argument("--json", type=Path, help="write the counts here too")
    p.add_argument("--show", type=int, default=0, help="print N lost examples per transform (stderr)")
    args = p.parse_args()
    names = args.only.split(",") if args.only else list(TRANSFORMS)
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        p.error(f"unknown transforms: {', '.join(unknown)}")
    rows = read_rows(args.files or default_files())
    lex = load_lexicon(with_model=not args.rules_only)
    counts = run(rows, names, lex, args.show)
    harmful = sum(1 for r in rows if r["labels"])
    print(f"{len(rows)} comments ({harmful} harmful), lexicon {lex.version}")
    row = "{:34} {:>8} {:>7} {:>6} {:>6} {:>8} {:>8}"
    print(row.format("transform", "changed", "caught", "lost", "kept%", "allowed", "flipped"))
    for name, c in counts.items():
        kept = 100.0 * (c["caught"] - c["lost"]) / c["caught"] if c["caught"] else 0.0
        print(
            row.format(name, c["changed"], c["caught"], c["lost"], f"{kept:.1f}", c["allowed"], c["flipped"])
        )
    if args.json:
        args.json.write_text(json.dumps({"lexicon": lex.version, "counts": counts}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
