"""The learned stage, version 3: the hashed linear model plus a small nonlinear head ("wide & deep").

The head reads the same features as the linear model (:func:`tutela.comments.hashed.text_features`
and the rules stage's keys), each through a ``dim``-vector embedding instead of one weight: a comment's
text embeddings are summed with the linear model's counts and ``1/sqrt(n)`` scale, its rule keys'
embeddings added, then one hidden ReLU layer (bias per post context) gives one logit (bias per post
context) that is averaged with the linear ``any`` logit. Embeddings are what lets writers' different words
for the same thing share weight; the hidden layer lets cues combine (a location cue and an age cue
together weigh more than their sum). The category outputs are the linear model's, unchanged.

Leave-one-writer-out numbers and the training recipe: ``docs/comments.md`` and ``eval/comments/deep.py``.

Determinism: embeddings are int8 with one scale, summed per comment as exact integers (``bincount`` of
small integers in float64 is exact in any order), then the dense layers are computed per comment with
elementwise operations in a fixed order (no BLAS call whose blocking could depend on the batch size),
so a comment scores the same alone or in any batch, on any machine.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np

from tutela.comments.hashed import BucketRows, HashedModel, b64, compact_rows, parse_model, rule_keys
from tutela.comments.lexicon import LexiconError

FORMAT = "tutela.comments.widedeep/1"
_MAX_DIM = 64
_MAX_HIDDEN = 256
_RADIX_ROWS = 1 << 15  # batches below this many comments group features by a radix sort of int16 rows


@dataclass(frozen=True, eq=False, kw_only=True)
class WideDeepModel(HashedModel):
    """A :class:`HashedModel` whose ``any`` logit also gets the deep head's."""

    # (len(emb_index.ids) + 1, dim) int8: one contiguous embedding per listed bucket, then a row of zeros
    emb: np.ndarray
    emb_index: BucketRows  # bucket -> row of ``emb``
    emb_scale: float
    emb_rules: dict[str, np.ndarray]  # rule key -> float embedding (already scaled)
    w1: np.ndarray  # (dim, hidden)
    b1: np.ndarray  # (3 contexts, hidden)
    w2: np.ndarray  # (hidden,)
    b2: np.ndarray  # (3 contexts,)

    def _rule_emb(self, rule_features: Sequence[str], minor_context: bool | None) -> np.ndarray:
        """The rule keys' embeddings of one comment, summed in key order from zero."""
        h = np.zeros(self.emb.shape[1])
        get = self.emb_rules.get
        for key in rule_keys(rule_features, minor_context):
            v = get(key)
            if v is not None:
                h += v
        return h

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
        """The mean of the linear and the head's logits: two separately fitted models each about as
        confident as the other, so their sum would be about twice as confident as either (the policy's
        thresholds on a 0.01 grid crowded at 0.96-1.00); the mean ranks comments the same way."""
        z0 += self._any_head(rows, buckets, scale, cidx, rule_features, ctxs)
        z0 *= 0.5
        return z0

    def _any_head(
        self,
        rows: np.ndarray,
        buckets: np.ndarray,
        scale: np.ndarray,
        cidx: list[int],
        rule_features: Sequence[Sequence[str]],
        ctxs: Sequence[bool | None],
    ) -> np.ndarray:
        """The head's logit per comment."""
        n = len(cidx)
        dim = self.w1.shape[0]
        # one gather of each feature's dim bytes (rows of emb are contiguous), the features grouped by
        # comment (stable: text_features' rows are a few sorted runs), then exact integer sums per comment
        h = np.zeros((dim, n))
        if len(rows):
            # Integer sums are exact in any order, so any grouping by comment gives the same numbers: a
            # stable (radix) sort of the rows as int16 is linear where the int64 rows' timsort merged runs
            # (~10k instructions a comment). take: ~8x faster than fancy indexing for these gathers.
            order = np.argsort(rows.astype(np.int16), kind="stable") if n <= _RADIX_ROWS else np.argsort(rows)
            g = self.emb.take(self.emb_index.row.take(buckets.take(order)), axis=0)
            starts = np.searchsorted(rows.take(order), np.arange(n))
            # a comment without features gets some neighbour's row here, times its scale of 0. Summed along
            # the contiguous axis of the transposed gather (the int8 -> int32 cast of a reduction down the
            # columns cost more than the copy)
            h[:] = np.add.reduceat(g.T.copy(), np.minimum(starts, len(g) - 1), axis=1, dtype=np.int32)
        h *= self.emb_scale
        h *= scale
        if self.emb_rules:
            for i, feats in enumerate(rule_features):
                if feats:
                    h[:, i] += (
                        _rule_emb(self, feats, ctxs[i])
                        if type(feats) is tuple
                        else self._rule_emb(feats, ctxs[i])
                    )
        a = self.b1.take(cidx, axis=0)  # (n, hidden), a fresh copy
        for j in range(dim):  # elementwise, in a fixed order: the same numbers in any batch
            a += h[j][:, None] * self.w1[j]
        np.maximum(a, 0.0, out=a)
        a *= self.w2
        z = a.sum(axis=1)  # each row reduced on its own
        z += self.b2.take(cidx)
        return z


@lru_cache(maxsize=16384)
def _rule_emb(model: WideDeepModel, rule_features: tuple[str, ...], minor_context: bool | None) -> np.ndarray:
    """:meth:`WideDeepModel._rule_emb`, memoised (read-only)."""
    h = model._rule_emb(rule_features, minor_context)
    h.flags.writeable = False
    return h


def dump_widedeep(
    linear: bytes,
    emb_idx: np.ndarray,
    emb_q: np.ndarray,
    emb_scale: float,
    emb_rules: dict[str, list[int]],
    w1: np.ndarray,
    b1: np.ndarray,
    w2: np.ndarray,
    b2: np.ndarray,
) -> bytes:
    """The weights file: the linear model's file (``hashed.dump_model`` output) plus a ``deep`` table;
    ``emb_q``: (len(emb_idx), dim) int8, rule embeddings as integers with the same scale."""
    doc = json.loads(gzip.decompress(linear))
    del doc["model_id"]
    doc["format"] = FORMAT
    doc["deep"] = {
        "dim": int(w1.shape[0]),
        "hidden": int(w1.shape[1]),
        "scale": emb_scale,
        "buckets": b64(emb_idx.astype("<u4")),
        "emb": b64(emb_q.astype(np.int8)),
        "rules": emb_rules,
        "w1": [[float(v) for v in row] for row in w1.astype(np.float32)],
        "b1": [[float(v) for v in row] for row in b1.astype(np.float32)],
        "w2": [float(v) for v in w2.astype(np.float32)],
        "b2": [float(v) for v in b2.astype(np.float32)],
    }
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    doc["model_id"] = "hwd1-" + hashlib.sha256(body).hexdigest()[:10]
    raw = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(raw, mtime=0)


def parse_widedeep(doc: dict[str, Any], where: str) -> WideDeepModel:
    """A :class:`WideDeepModel` from a parsed weights file; ``LexiconError`` when it is malformed."""
    base = parse_model(doc, where)
    try:
        d = doc["deep"]
        dim, hidden = int(d["dim"]), int(d["hidden"])
        if not (1 <= dim <= _MAX_DIM and 1 <= hidden <= _MAX_HIDDEN):
            raise ValueError(f"dim in [1, {_MAX_DIM}], hidden in [1, {_MAX_HIDDEN}]")
        scale = float(d["scale"])
        idx = np.frombuffer(base64.b64decode(d["buckets"]), dtype="<u4").astype(np.int64)
        q = np.frombuffer(base64.b64decode(d["emb"]), dtype=np.int8)
        if len(q) != len(idx) * dim or (len(idx) and int(idx.max()) >= 1 << base.bits):
            raise ValueError("one embedding per bucket, buckets below 2**bits")
        emb_index, emb = compact_rows(idx, q.reshape(len(idx), dim), base.bits)
        rules = {}
        for key, ws in d["rules"].items():
            if len(ws) != dim:
                raise ValueError(f"deep rule feature {key!r}: one number per dimension")
            rules[str(key)] = np.asarray(ws, dtype=np.float64) * scale
        w1 = np.asarray(d["w1"], dtype=np.float64)
        b1 = np.asarray(d["b1"], dtype=np.float64)
        w2 = np.asarray(d["w2"], dtype=np.float64)
        b2 = np.asarray(d["b2"], dtype=np.float64)
        if w1.shape != (dim, hidden) or b1.shape != (3, hidden) or w2.shape != (hidden,) or b2.shape != (3,):
            raise ValueError("w1 (dim, hidden), b1 (3, hidden), w2 (hidden,), b2 (3,)")
    except (KeyError, TypeError, ValueError, AttributeError, base64.binascii.Error) as exc:  # type: ignore[attr-defined]
        raise LexiconError(f"{where}: deep: {exc}") from None
    if not all(np.isfinite(a).all() for a in (w1, b1, w2, b2)) or not math.isfinite(scale):
        raise LexiconError(f"{where}: deep: weights must be finite")
    return WideDeepModel(
        **{f.name: getattr(base, f.name) for f in fields(HashedModel)},
        emb=emb,
        emb_index=emb_index,
        emb_scale=scale,
        emb_rules=rules,
        w1=w1,
        b1=b1,
        w2=w2,
        b2=b2,
    )
