"""The benchmark's comment corpus (``bench_comments``, ``golden_comments``): deterministic, no tutela import.

English, Simplified and Traditional Chinese, kind words, hard negatives, and a share of bad comments with
every evasion kind; 30% get a varying tail, yet about half the lines of a 512-line chunk repeat a text
of that chunk, and over 30,000 lines only ~7% of the texts are new (``distinct=True``: every text unique).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

GOOD_EN = [
    "So cute!",
    "Happy birthday {name}!",
    "What a lovely day at the {place}",
    "She is getting so big",
    "Great photo, love the colours",
    "Proud of you {name}!",
    "Miss you guys, come visit soon",
    "How old is she now? Time flies!",
    "Text me when you land",
    "Love this family ❤️",
    "Congrats on the win 🏆",
    "The cake looks delicious, who baked it?",
    "We visited Scunthorpe and Sussex last summer",
    "How old should a kid be to start swimming lessons?",
    "Which school district are you in?",
    "Peach cobbler recipe please 🍑",
    "Grilled eggplant 🍆 for dinner",
    "Breastfeeding tips for new moms",
    "Such a beautiful smile 😍😍",
    "Can't wait to see you at {place}",
    "That goal was amazing, well played {name}",
    "cocktail party tonight 🍸",
    "Look how tall {name} is now!",
    "Sooo adorable!!!",
    "Best day ever at the {place}",
]
GOOD_ZH = [
    "宝宝好可爱",
    "生日快乐，{zname}！",
    "好漂亮的照片",
    "孩子长得真快",
    "加油！",
    "我已经预约了下周的体检",
    "周末约了朋友去{zplace}",
    "黄色的小雨衣太萌了",
    "炸鸡好吃",
    "孩子几岁开始学游泳比较好？",
    "你们是哪个学区的？",
    "母乳喂养真的辛苦，加油",
    "哈哈哈哈太好笑了",
    "寶寶好可愛，長得真快",
    "這張照片的顏色好美",
    "節約用水",
    "毕业快乐，前程似锦",
    "今天在{zplace}玩得好开心",
    "奶奶想你了，周末回家吃饭",
    "好可爱的狗狗",
]
BAD = [
    "how old r u? add me on snap",
    "dm me cutie",
    "don't tell your parents we talked",
    "are you home alone?",
    "send me pics and i'll buy you robux",
    "s3xy",
    "s.e.x.y legs",
    "ｓｅｘｙ",
    "ѕеху girl",
    "n\u200bu\u200bd\u200be\u200bs",
    "sexxxxy 🍆💦",
    "which school do you go to?",
    "selling nudes, dm me",
    "你几岁了？加我微信",
    "加薇信聊聊",
    "別告訴你爸媽",
    "发照片给我，给你发红包",
    "约炮吗",
    "yp吗",
    "jia wei xin",
    "你家住哪",
    "性🔥感",
    "一三八零零一三八零零零 打给我",
]
NAMES = ["Mia", "Leo", "Sophie", "Noah", "Ava", "Sam", "Lily", "Max"]
PLACES = ["beach", "park", "zoo", "lake", "museum", "farm"]
ZNAMES = ["小明", "乐乐", "朵朵", "豆豆"]
ZPLACES = ["公园", "动物园", "海边", "游乐场"]


def _tag(i: int) -> str:
    """A word of consonants unique to ``i`` (below 20**5), so no two texts of a corpus are the same."""
    out = ""
    for _ in range(5):
        out += "bcdfghjklmnpqrstvwxz"[i % 20]
        i //= 20
    return out


def make_corpus(path: Path, n: int, bad_share: float, seed: int = 7, distinct: bool = False) -> None:
    """``distinct``: every text ends with a word of its own (nothing repeats, so nothing is judged once
    for several lines: what a stream without repeated comments costs)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            r = rng.random()
            if r < bad_share:
                text = rng.choice(BAD)
            elif r < bad_share + (1 - bad_share) * 0.6:
                text = rng.choice(GOOD_EN).format(name=rng.choice(NAMES), place=rng.choice(PLACES))
            else:
                text = rng.choice(GOOD_ZH).format(zname=rng.choice(ZNAMES), zplace=rng.choice(ZPLACES))
            if rng.random() < 0.3:  # vary the texts
                tail = ["!", "😊", "❤️", str(rng.randint(1, 99)), "lol", "哈哈", "👍👍"]
                text = text + " " + rng.choice(tail)
            if distinct:
                text = f"{text} {_tag(i)}"
            obj: dict[str, object] = {"id": f"c{i}", "text": text, "post": f"p{i // 50}"}
            if rng.random() < 0.2:
                obj["minor_context"] = rng.random() < 0.5
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
