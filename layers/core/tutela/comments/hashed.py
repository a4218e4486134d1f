"""The learned stage, version 2: a hashed n-gram linear model scored with numpy over a whole batch.

Features of a comment (all hashed into ``2**bits`` buckets, one weight row per bucket):

- character 1-5-grams of the normalised text (space-padded, so word edges are n-gram characters);
- words and word pairs of the normalised text;
- character 2-5-grams of its *folded* form: every Chinese character replaced by its toneless pinyin
  (written together), n-grams within space-separated tokens, so ``私聊``, ``si聊``, ``私liao``,
  ``siliao`` and the homophone ``思聊`` give the same folded n-grams;
- words and word pairs conjoined with the post context (a child's, an unknown or an adult's post), so
  the same words can weigh differently under each;
- emoji and other pictographs of the *raw* text (normalisation drops them, and the rules stage's
  offsets depend on that, so they are read here): each pictograph, each pair of consecutive ones, and
  each conjoined with the context; skin-tone modifiers, variation selectors, ZWJ, keycap and tag
  characters are dropped, so ``👍🏽`` is ``👍`` and ``👨‍👩‍👧`` is ``👨 👩 👧`` (models whose file says
  ``"emoji": true``; older files score as they were trained);
- the rules stage's output (matched term ids, fired rules, category levels), plain and conjoined
  with the context, as exact strings in a small dict (these are 0/1, not length-normalised).

Hashes are polynomial hashes over code points in wrapping ``uint64`` arithmetic: deterministic
across processes and machines (Python's ``hash()`` is salted per process and is not used). Text
feature counts are scaled by ``1/sqrt(number of text features)``. The batch is one numpy pass:
texts are joined, their n-gram hashes computed with array arithmetic, weights gathered and summed
per comment with ``bincount`` (a comment's sum is accumulated in the same order whatever else is
in the batch, so a comment scores the same alone or in any batch).
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Any

import numpy as np

from tutela.comments.lexicon import LexiconError

FORMAT = "tutela.comments.hashed/1"
CONTEXT_KEYS = {True: "minor", None: "unknown", False: "adult"}
CONTEXT_INDEX = {True: 0, None: 1, False: 2}
MIN_CHARS = 3  # below this many (non-space) normalised characters + pictographs the model abstains
_MAX = 2000  # characters of a comment the model reads (longer texts: the first _MAX)
_B = np.uint64(0x100000001B3)  # odd multiplier of the polynomial hash
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SEP = 0  # code point joining texts in a batch (never in a normalised text)
_SPACE = 32
# one salt per feature kind: char n-grams 1-5, word, word pair, folded n-grams 2-5, context words/pairs
_KINDS = (
    "c1", "c2", "c3", "c4", "c5", "w", "wp", "f2", "f3", "f4", "f5",
    "xw0", "xw1", "xw2", "xp0", "xp1", "xp2",
    "e1", "e2", "ex0", "ex1", "ex2",  # pictographs, their pairs, context-conjoined (appended: salts kept)
)  # fmt: skip
_SALT = {k: np.uint64((0x51ED270B27A3F1D3 * (i + 1)) & 0xFFFFFFFFFFFFFFFF) for i, k in enumerate(_KINDS)}


def _codes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts joined by ``_SEP`` (as uint64) and the text (row) of every position."""
    clipped = [t if len(t) <= _MAX else t[:_MAX] for t in texts]
    joined = "\x00".join(clipped)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    lens = np.fromiter(map(len, clipped), dtype=np.int64, count=len(clipped))
    rows = np.repeat(np.arange(len(clipped), dtype=np.int64), lens + 1)[: len(codes)]
    return codes, rows


# Pictographic code points (inclusive ranges): arrows, misc technical, geometric shapes, misc symbols and
# dingbats (♡ ❤ ✨ ☺), supplemental arrows, misc symbols and arrows (⭐ ⬆), CJK enclosed ideographic
# supplement and the emoji planes (U+1F000-1FAFF: mahjong to symbols-and-pictographs extended-A).
_PICTO = np.array(
    [
        (0x2190, 0x21FF), (0x2300, 0x23FF), (0x25A0, 0x25FF), (0x2600, 0x27BF), (0x2900, 0x297F),
        (0x2B00, 0x2BFF), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3299), (0x1F000, 0x1FAFF),
    ],
    dtype=np.uint64,
)  # fmt: skip
# Parts of an emoji sequence that are not pictographs of their own: skin tones, then dropped
_MODIFIERS = np.array([(0x1F3FB, 0x1F3FF)], dtype=np.uint64)


def _pictographs(raws: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The pictographs of every raw text in order (uint64 code points) and their rows. Only texts with
    a non-ASCII character are encoded (ASCII has none); each text clipped to ``_MAX`` like the rest."""
    idx = [i for i, t in enumerate(raws) if not t.isascii()]
    if not idx:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    codes, sub = _codes([raws[i] for i in idx])
    keep = np.zeros(len(codes), dtype=bool)
    for lo, hi in _PICTO:
        keep |= (codes >= lo) & (codes <= hi)
    for lo, hi in _MODIFIERS:
        keep &= (codes < lo) | (codes > hi)
    # (variation selectors U+FE0E/F, ZWJ U+200D, keycap U+20E3, tags U+E0020-7F lie outside _PICTO)
    return codes[keep], np.asarray(idx, dtype=np.int64)[sub[keep]]


Pictographs = tuple[np.ndarray, np.ndarray]  # what _pictographs returns (computed once per batch)


def pictograph_counts(raws: Sequence[str], picto: Pictographs | None = None) -> np.ndarray:
    """Pictographs per raw text (what counts toward :data:`MIN_CHARS` besides normalised characters).
    ``picto``: ``_pictographs(raws)`` when the caller has it already."""
    _, rows = _pictographs(raws) if picto is None else picto
    return np.bincount(rows, minlength=len(raws))


def readable(
    norms: Sequence[str], raws: Sequence[str] | None, picto: Pictographs | None = None
) -> np.ndarray:
    """What the model reads per comment: non-space normalised characters, plus pictographs when ``raws``
    are given; nothing when those characters are all digits and there is no pictograph. Below
    :data:`MIN_CHARS` the model abstains."""
    n = len(norms)
    chars = np.fromiter(map(len, norms), dtype=np.int64, count=n)
    chars -= np.fromiter(map(str.count, norms, repeat(" ")), dtype=np.int64, count=n)
    # Digits alone ("100", "10/10", "0:47", "1234567") are not read: 20 of 124,605 cross-validation
    # comments are letter- and pictograph-free, so the model has not learned them, and it scored the
    # ratings "100" and "10/10" 0.95 and 0.89 under a child's post. The rules stage still judges them.
    digits = np.fromiter((x.replace(" ", "").isdigit() for x in norms), dtype=bool, count=n)
    if raws is not None:
        picts = pictograph_counts(raws, picto)
        digits &= picts == 0
        chars += picts
    chars[digits] = 0
    return chars


def _emoji(
    raws: Sequence[str], ctx: np.ndarray, shift: np.uint64, picto: Pictographs | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Buckets and rows of pictographs, pairs of consecutive pictographs and their context conjunctions."""
    e, erow = _pictographs(raws) if picto is None else picto
    if not len(e):
        return [], []
    same = erow[1:] == erow[:-1]
    ph = e[:-1][same] * _MIX + e[1:][same]
    buckets = [_bucket(e, "e1", shift), _bucket(ph, "e2", shift)]
    rows = [erow, erow[:-1][same]]
    ectx = ctx[erow]
    for k in range(3):
        m = ectx == k
        buckets.append(_bucket(e[m], f"ex{k}", shift))
        rows.append(erow[m])
    return buckets, rows


@dataclass(frozen=True, eq=False)
class FoldTable:
    """The pinyin fold as arrays: code point ``lo + i`` expands to ``letters[start[i]:start[i] + n[i]]``."""

    lo: int
    n: np.ndarray  # expansion length per code point in [lo, lo + len(n)) (1 = itself)
    start: np.ndarray
    letters: np.ndarray  # uint64 code points

    @classmethod
    def build(cls, fold: dict[int, str]) -> FoldTable:
        cps = [c for c in fold if fold[c]]
        if not cps:
            return cls(
                0, np.ones(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
            )
        lo, hi = min(cps), max(cps) + 1
        get = fold.get
        exps = [get(c) or chr(c) for c in range(lo, hi)]
        n = np.fromiter(map(len, exps), dtype=np.int64, count=hi - lo)
        start = np.cumsum(n) - n
        # every expansion's code points at once (cold start: ~10x faster than a loop per code point)
        joined = "".join(exps).encode("utf-32-le", "surrogatepass")
        letters = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
        return cls(lo, n, start, letters)

    def apply(self, codes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The folded codes and their rows: each text's ``translate`` with this table, clipped to ``_MAX``
        (a folded text only needs its first ``_MAX`` characters: no expansion is empty)."""
        idx = codes.astype(np.int64) - self.lo
        inside = (idx >= 0) & (idx < len(self.n))
        if not inside.any():
            return codes, rows
        safe = np.where(inside, idx, 0)
        length = np.where(inside, self.n.take(safe), 1)
        src = np.repeat(np.arange(len(codes)), length)
        first = np.cumsum(length) - length
        offset = np.arange(len(src)) - first.take(src)
        out = np.where(
            inside.take(src), self.letters.take(self.start.take(safe.take(src)) + offset), codes.take(src)
        )
        out_rows = rows.take(src)
        if np.bincount(out_rows).max() <= _MAX:  # no text folds to more than _MAX characters: nothing to clip
            return out, out_rows
        # clip every text to _MAX folded characters (the separator after a text is kept)
        text_first = np.flatnonzero(np.concatenate(([True], out_rows[1:] != out_rows[:-1])))
        pos = np.arange(len(out)) - np.repeat(text_first, np.diff(np.append(text_first, len(out))))
        keep = (pos < _MAX) | (out == _SEP)
        if keep.all():
            return out, out_rows
        return out[keep], out_rows[keep]


def _bucket(h: np.ndarray, kind: str, shift: np.uint64) -> np.ndarray:
    # ((h + salt) * MIX) >> shift, in place on one copy; the result is below 2**bits, so its int64 view is
    # the same numbers as an astype copy
    out = h + _SALT[kind]
    out *= _MIX
    out >>= shift
    return out.view(np.int64)


def _char_grams(
    codes: np.ndarray,
    row0: np.ndarray,
    orders: Sequence[int],
    prefix: str,
    shift: np.uint64,
    skip_space: bool,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Buckets and rows of the character n-grams (no n-gram crosses a text boundary)."""
    buckets: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    n_all = len(codes)
    if not n_all:
        return buckets, rows
    good = codes != _SEP
    if skip_space:
        good &= codes != _SPACE
    h = codes.copy()
    valid = good.copy()  # an n-gram is valid when it contains no separator
    for n in range(1, max(orders) + 1):
        if n > 1:
            if n_all < n:
                break
            # in place on a view of the previous order's arrays (no longer needed): same numbers
            h = h[:-1]
            h *= _B
            h += codes[n - 1 :]
            valid = valid[:-1]
            valid &= good[n - 1 :]
        if n in orders:
            keep = np.flatnonzero(valid)  # (take: cheaper than fancy or boolean indexing, same numbers)
            buckets.append(_bucket(h.take(keep), f"{prefix}{n}", shift))
            rows.append(row0.take(keep))
    return buckets, rows


def _words(
    codes: np.ndarray, row0: np.ndarray, ctx: np.ndarray, shift: np.uint64
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Buckets and rows of words, word pairs and their context conjunctions."""
    if not len(codes):
        return [], []
    sp = (codes == _SPACE) | (codes == _SEP)
    edge = np.diff(np.concatenate(([True], sp, [True])).astype(np.int8))
    ws = np.flatnonzero(edge == -1)  # word starts
    we = np.flatnonzero(edge == 1)  # word ends (exclusive)
    if not len(ws):
        return [], []
    # polynomial hash of codes[a:b] = sum c_i * B^(i-a): prefix sums scaled by B^-a (B is odd: invertible)
    n_all = len(codes)
    powers = np.empty(n_all + 1, dtype=np.uint64)
    powers[0] = 1
    powers[1:] = _B
    np.cumprod(powers, out=powers)
    inv = np.empty(n_all + 1, dtype=np.uint64)
    inv[0] = 1
    inv[1:] = np.uint64(pow(int(_B), -1, 1 << 64))
    np.cumprod(inv, out=inv)
    prefix = np.zeros(n_all + 1, dtype=np.uint64)
    np.cumsum(codes * powers[:-1], out=prefix[1:])
    wh = (prefix.take(we) - prefix.take(ws)) * inv.take(ws)
    wrow = row0.take(ws)
    same = wrow[1:] == wrow[:-1]
    ph = wh[:-1][same] * _MIX + wh[1:][same]
    prow = wrow[:-1][same]
    wctx = ctx.take(wrow)
    pctx = ctx.take(prow)
    buckets = [_bucket(wh, "w", shift), _bucket(ph, "wp", shift)]
    rows = [wrow, prow]
    for k in range(3):
        mw = wctx == k
        mp = pctx == k
        buckets += [_bucket(wh[mw], f"xw{k}", shift), _bucket(ph[mp], f"xp{k}", shift)]
        rows += [wrow[mw], prow[mp]]
    return buckets, rows


def text_features(
    norms: Sequence[str],
    folds: Sequence[str] | FoldTable,
    ctxs: Sequence[bool | None],
    bits: int,
    raws: Sequence[str] | None = None,
    picto: Pictographs | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, buckets, scale)``: every hashed text feature of a batch (repeats = counts) and each
    comment's length normalisation ``1/sqrt(n)``. Shared by training and inference. ``folds``: the
    folded texts, or the :class:`FoldTable` that folds the normalised texts here (the same codes).
    ``raws``: the comments as written, for the pictograph features (None: no pictograph features);
    ``picto``: their ``_pictographs`` when the caller has them already (the model's batch reuses them)."""
    shift = np.uint64(64 - bits)
    ctx = np.fromiter((CONTEXT_INDEX[c] for c in ctxs), dtype=np.int64, count=len(ctxs))
    codes, row0 = _codes(norms)
    b1, r1 = _char_grams(codes, row0, (1, 2, 3, 4, 5), "c", shift, skip_space=False)
    b2, r2 = _words(codes, row0, ctx, shift)
    fcodes, frow0 = folds.apply(codes, row0) if isinstance(folds, FoldTable) else _codes(folds)
    b3, r3 = _char_grams(fcodes, frow0, (2, 3, 4, 5), "f", shift, skip_space=True)
    b4, r4 = _emoji(raws, ctx, shift, picto) if raws is not None else ([], [])
    rs, bs = r1 + r2 + r3 + r4, b1 + b2 + b3 + b4
    rows = np.concatenate(rs) if rs else np.zeros(0, dtype=np.int64)
    buckets = np.concatenate(bs) if bs else np.zeros(0, dtype=np.int64)
    n = np.bincount(rows, minlength=len(norms)).astype(np.float64)
    scale = np.divide(1.0, np.sqrt(n), out=np.zeros_like(n), where=n > 0)
    return rows, buckets, scale


def rule_keys(rule_features: Sequence[str], minor_context: bool | None) -> list[str]:
    """The rules stage's features, plain and conjoined with the context (exact strings)."""
    c = CONTEXT_KEYS[minor_context]
    return [*rule_features, *(f"{c}|{f}" for f in rule_features)]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


class BucketRows:
    """Where each of the ``2**bits`` hash buckets is in a compact table, one that keeps a row only for the
    buckets the weights file lists (pruning leaves a fraction of them) plus one last row of zeros that every
    other bucket reads: ``row[bucket]``. A gather through ``row`` reads the same numbers the dense table
    held, so every sum is the same; loading builds a ``2**bits`` int32 map instead of scattering every row
    into a dense table (16 MB of embeddings), and the compact rows travel as they are.

    Pickled as the gaps between the listed buckets (one byte each when they fit); the map is rebuilt."""

    __slots__ = ("ids", "row")  # a plain class: a dataclass costs ~3M instructions at import (cold start)

    def __init__(self, ids: np.ndarray, row: np.ndarray) -> None:
        self.ids = ids  # the listed buckets, increasing (int64)
        self.row = row  # (2**bits,) int32: bucket -> its row; len(ids) (the zero row) for the others

    @classmethod
    def of(cls, ids: np.ndarray, bits: int) -> BucketRows:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and (int(ids[0]) < 0 or int(ids[-1]) >= 1 << bits or bool((ids[1:] <= ids[:-1]).any())):
            raise ValueError("buckets must be increasing and below 2**bits")
        row = np.full(1 << bits, len(ids), dtype=np.int32)
        row[ids] = np.arange(len(ids), dtype=np.int32)
        return cls(ids, row)

    def __reduce__(self) -> tuple[Any, ...]:
        gaps = np.diff(self.ids, prepend=-1)  # >= 1 each: bucket = cumulative sum - 1
        narrow = np.min_scalar_type(int(gaps.max()) if len(gaps) else 0)
        return (_bucket_rows, (gaps.astype(narrow).tobytes(), narrow.str, len(self.row)))


def _bucket_rows(gaps: bytes, gap_type: str, buckets: int) -> BucketRows:
    """:class:`BucketRows` from its pickle (the prebuilt matcher, ``tutela.comments.prebuilt``)."""
    ids = np.cumsum(np.frombuffer(gaps, dtype=gap_type), dtype=np.int64)
    ids -= 1
    return BucketRows.of(ids, buckets.bit_length() - 1)


def compact_rows(idx: np.ndarray, q: np.ndarray, bits: int) -> tuple[BucketRows, np.ndarray]:
    """The weights file's bucket list ``idx`` and their rows ``q`` (``(len(idx), width)``) as a
    :class:`BucketRows` and the compact ``(len(ids) + 1, width)`` int8 table (last row zeros). A bucket
    listed twice keeps its last row, as a dense table filled in file order would."""
    idx = np.asarray(idx, dtype=np.int64)
    order = np.argsort(idx, kind="stable")
    ids = idx[order]
    last = np.ones(len(ids), dtype=bool)
    last[:-1] = ids[1:] != ids[:-1]
    ids, order = ids[last], order[last]
    table = np.zeros((len(ids) + 1, q.shape[1]), dtype=np.int8)
    table[: len(ids)] = q[order]
    return BucketRows.of(ids, bits), table


@dataclass(frozen=True, eq=False)
class HashedModel:
    """Weights per bucket and output (``any`` + categories), rule-feature weights, biases per context."""

    model_id: str
    outputs: tuple[str, ...]  # outputs[0] == "any"
    bits: int
    # (len(outputs), len(index.ids) + 1) int8: one contiguous row of quantised weights per output, one
    # column per listed bucket and a last column of zeros (:class:`BucketRows`)
    table: np.ndarray
    scale: float  # weight = int8 * scale (sums of int8 are exact, then scaled once)
    rules: dict[str, np.ndarray]  # rule key -> weights per output
    bias: np.ndarray  # (3 contexts, len(outputs)): minor, unknown, adult
    fold: dict[int, str]  # str.translate table: Chinese character -> toneless pinyin
    gate: float
    fold_table: FoldTable  # the same fold as arrays (applied to a whole batch at once)
    index: BucketRows  # bucket -> column of ``table``
    emoji: bool = False  # trained with the raw text's pictograph features (weights file "emoji": true)

    def fold_text(self, norm: str) -> str:
        return norm.translate(self.fold) if not norm.isascii() else norm

    def _rule_sum(self, rule_features: Sequence[str], minor_context: bool | None) -> np.ndarray:
        """The rule-feature weights of one comment, summed in key order from zero."""
        z = np.zeros(len(self.outputs))
        get = self.rules.get
        for key in rule_keys(rule_features, minor_context):
            v = get(key)
            if v is not None:
                z += v
        return z

    def batch(
        self,
        norms: Sequence[str],
        ctxs: Sequence[bool | None],
        rule_features: Sequence[Sequence[str]],
        gate: float = 0.0,
        raws: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Probabilities ``(n, len(outputs))`` for a batch of normalised comments (``any`` is NaN when
        the comment has fewer than :data:`MIN_CHARS` readable characters: the model abstains).
        ``raws``: the comments as written (their pictographs are features of an ``emoji`` model and
        count as readable; without them an ``emoji`` model reads the normalised texts only).

        The category outputs are computed only for comments whose ``any`` reaches ``gate`` (0.0 for the
        others); each computed number is the same as without a gate (same terms, same order)."""
        n = len(norms)
        raws = raws if self.emoji else None
        picto = _pictographs(raws) if raws is not None else None  # features and abstain rule: once
        rows, buckets, scale = text_features(norms, self.fold_table, ctxs, self.bits, raws, picto)
        k = len(self.outputs)
        cidx = [CONTEXT_INDEX[c] for c in ctxs]
        rule_z = np.zeros((n, k))
        for i, feats in enumerate(rule_features):
            if feats:
                # the rules stage's features are one memoised tuple per plan (rules._plan): their weights
                # are summed once per (features, context), in the same order, to the same numbers
                rule_z[i] = (
                    _rule_sum(self, feats, ctxs[i])
                    if type(feats) is tuple
                    else self._rule_sum(feats, ctxs[i])
                )
        cols = self.index.row.take(buckets)  # (take: faster than indexing for these gathers)
        z0 = np.bincount(rows, weights=self.table[0].take(cols), minlength=n)
        z0 *= self.scale
        z0 *= scale
        z0 += self.bias[:, 0].take(cidx)
        z0 += rule_z[:, 0]
        z0 = self._any_logit(z0, rows, buckets, scale, cidx, rule_features, ctxs)
        out = np.zeros((n, k))
        out[:, 0] = _sigmoid(z0)
        # too little to read ("😏", punctuation, "x", "ok": fewer than MIN_CHARS non-space normalised
        # characters + pictographs): the model abstains (NaN: it neither flags nor vetoes; the rules stage
        # decides, with its single-cue policy: "dm", 私我 are still reviewed under a child's post). On so
        # few features its bias and one or two weights decide ("x" scored 0.93 under a child's post).
        blank = readable(norms, raws, picto) < MIN_CHARS
        out[blank, 0] = np.nan
        sel = out[:, 0] >= gate
        if k > 1 and sel.any():
            keep = sel.take(rows)
            r, b = rows[keep], cols[keep]
            z = np.empty((n, k - 1))
            for j in range(1, k):
                z[:, j - 1] = np.bincount(r, weights=self.table[j].take(b), minlength=n)
            z *= self.scale
            z *= scale[:, None]
            z += self.bias[:, 1:].take(cidx, axis=0)
            z += rule_z[:, 1:]
            out[:, 1:] = np.where(sel[:, None], _sigmoid(z), 0.0)
        return out

    def _any_logit(
        self,
        z0: np.ndarray,
        rows: np.ndarray,
        buckets: np.ndarray,
        scale: np.ndarray,
        cidx: list[int],
        rule_features: Sequence[Sequence[str]],
        ctxs: Sequence[bool | None],
    ) -> np.ndarray:
        """The ``any`` logit per comment from the linear one ``z0`` (the wide & deep model combines it
        with its head's, :mod:`tutela.comments.widedeep`); here it is ``z0``."""
        return z0

    def scores(
        self,
        norm: str,
        text: str,
        minor_context: bool | None,
        rule_features: tuple[str, ...] = (),
        *,
        force: bool = False,
        gate: float | None = None,
    ) -> dict[str, float]:
        """One comment: ``{"any": p, <category>: p, ...}`` (a batch of one: the same numbers)."""
        p = self.batch([norm], [minor_context], [rule_features], raws=[text])[0]
        return {o: float(v) for o, v in zip(self.outputs, p, strict=True)}


@lru_cache(maxsize=16384)
def _rule_sum(model: HashedModel, rule_features: tuple[str, ...], minor_context: bool | None) -> np.ndarray:
    """:meth:`HashedModel._rule_sum`, memoised (read-only: callers copy it into their batch)."""
    z = model._rule_sum(rule_features, minor_context)
    z.flags.writeable = False
    return z


def b64(a: np.ndarray) -> str:
    return base64.b64encode(a.tobytes()).decode("ascii")


def dump_model(
    table_idx: np.ndarray,
    table_q: np.ndarray,
    scale: float,
    rules: dict[str, list[int]],
    bias: np.ndarray,
    bits: int,
    outputs: Sequence[str],
    fold: dict[str, str],
    gate: float,
    meta: dict[str, Any],
    emoji: bool = False,
) -> bytes:
    """The weights file: gzip'd JSON; the bucket table is sparse (indices + int8 weights, base64)."""
    import hashlib

    doc: dict[str, Any] = {
        "format": FORMAT,
        "outputs": list(outputs),
        "bits": bits,
        "scale": scale,
        "buckets": b64(table_idx.astype("<u4")),
        "weights": b64(table_q.astype(np.int8)),
        "rules": rules,
        "bias": [[round(float(b), 5) for b in row] for row in bias],
        "fold": fold,
        "gate": gate,
        "meta": meta,
    }
    if emoji:  # absent in older files (trained without pictograph features)
        doc["emoji"] = True
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    doc["model_id"] = "hng2-" + hashlib.sha256(body).hexdigest()[:10]
    raw = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(raw, mtime=0)


def parse_model(doc: dict[str, Any], where: str) -> HashedModel:
    """A :class:`HashedModel` from a parsed weights file; ``LexiconError`` when it is malformed."""
    try:
        outputs = tuple(str(o) for o in doc["outputs"])
        k = len(outputs)
        bits = int(doc["bits"])
        if not 8 <= bits <= 24 or not outputs or outputs[0] != "any":
            raise ValueError("bits in [8, 24] and outputs starting with 'any'")
        scale = float(doc["scale"])
        idx = np.frombuffer(base64.b64decode(doc["buckets"]), dtype="<u4").astype(np.int64)
        q = np.frombuffer(base64.b64decode(doc["weights"]), dtype=np.int8)
        if len(q) != len(idx) * k or (len(idx) and int(idx.max()) >= 1 << bits):
            raise ValueError("one weight per bucket and output, buckets below 2**bits")
        index, rows_q = compact_rows(idx, q.reshape(len(idx), k), bits)
        table = np.ascontiguousarray(rows_q.T)
        rules = {}
        for key, ws in doc["rules"].items():
            if len(ws) != k:
                raise ValueError(f"rule feature {key!r}: one weight per output")
            rules[str(key)] = np.asarray(ws, dtype=np.float64) * scale
        bias = np.asarray(doc["bias"], dtype=np.float64)
        if bias.shape != (3, k):
            raise ValueError("a bias per context (minor, unknown, adult) and output")
        fold = {ord(c): str(p) for c, p in doc["fold"].items() if len(c) == 1}
        gate = float(doc["gate"])
        emoji = doc.get("emoji", False)
        if not isinstance(emoji, bool):
            raise ValueError("emoji must be true or false")
        model_id = str(doc["model_id"])
    except (KeyError, TypeError, ValueError, AttributeError, base64.binascii.Error) as exc:  # type: ignore[attr-defined]
        raise LexiconError(f"{where}: {exc}") from None
    if not math.isfinite(scale):
        raise LexiconError(f"{where}: scale must be finite")
    return HashedModel(
        model_id, outputs, bits, table, scale, rules, bias, fold, gate, FoldTable.build(fold), index, emoji
    )
