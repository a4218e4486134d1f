"""The learned stage: a pruned character n-gram + word linear model over normalised text.

Trained by ``eval/comments/train.py`` (``make train-comments``, numpy logistic regression);
shipped as ``data/model.comments.json.gz`` and read with the lexicon, so its bytes are part of
``LEXICON_VERSION``. Inference is pure Python at C speed: the features of a comment are slices of
its normalised text (character 1-4-grams) and its words and word pairs, and a score is
``sum(map(weights.get, features))`` — exact string keys in a dict, no hashing trick, so nothing
depends on Python's per-process ``hash()`` seed.

Features are counted and scaled by ``1/sqrt(number of features)`` (a cheap L2-style length
normalisation: a long comment is not bad because it has many n-grams). One output, ``any``, is
computed for every comment; the per-category outputs only when ``any`` reaches the model's gate
(most comments never pay for them).
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from itertools import pairwise, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from tutela.comments.lexicon import LexiconError

if TYPE_CHECKING:
    from tutela.comments.hashed import HashedModel

FORMAT = "tutela.comments.linear/1"
HASHED_FORMAT = "tutela.comments.hashed/1"
WIDEDEEP_FORMAT = "tutela.comments.widedeep/1"
KINDS = ("word", "pair", "head", "char", "bigram", "rule")
TEXT_KINDS = 5  # the first five are counted and length-normalised; rule features are 0/1
_MAX = 6000  # slices are precomputed up to this length; longer texts are truncated for the model
_BIGRAMS = [slice(i, i + 2) for i in range(_MAX)]
_HEAD4 = itemgetter(slice(0, 4))
CONTEXT_KEYS = {True: "minor", None: "unknown", False: "adult"}

Feature = str | tuple[str, str]


def feature_groups(norm: str, text: str) -> tuple[list[Any], ...]:
    """The features of a comment, one list per kind of :data:`KINDS` (with repeats: counted).

    Words, word pairs and the first four letters of each word of the normalised text; for text
    with non-ASCII characters also every character of the original (Chinese characters, emoji)
    and every character pair of the normalised text (Chinese has no word boundaries). Each kind
    has its own weight dict, so no feature string is built by concatenation (measured: a
    character 1-4-gram version cost ~40 us per ten-word comment, this one ~3 us).
    """
    s = norm if len(norm) <= _MAX else norm[:_MAX]
    words = s.split()
    heads = [*map(_HEAD4, words)]
    pairs = [*pairwise(words)]
    if text.isascii():
        return words, pairs, heads, [], []
    return words, pairs, heads, [*text[:_MAX]], [*map(s.__getitem__, _BIGRAMS[: len(s) - 1])]


def feature_names(norm: str, text: str, rule_features: tuple[str, ...] = ()) -> list[str]:
    """The same features as flat strings ``kind:feature`` (training and the weights file)."""
    out: list[str] = []
    groups: list[list[Any]] = [*feature_groups(norm, text), list(rule_features)]
    for kind, group in zip(KINDS, groups, strict=True):
        out.extend(f"{kind}:{' '.join(f) if isinstance(f, tuple) else f}" for f in group)
    return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True, eq=False)
class LinearModel:
    """Weights per output (``any`` + categories), biases per output and post context."""

    model_id: str
    outputs: tuple[str, ...]  # outputs[0] == "any"
    weights: tuple[tuple[dict[Feature, float], ...], ...]  # per output: one dict per kind of KINDS
    bias: dict[str, tuple[float, ...]]  # context -> bias per output
    gate: float  # probability of "any" below which the category outputs are not computed

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
        """``{"any": p}``, plus a probability per category when ``p`` reaches the gate (the model's,
        or a higher one given by the caller: categories are only needed where a verdict can use them)."""
        groups = feature_groups(norm, text)
        n = sum(map(len, groups))
        scale = 1.0 / math.sqrt(n) if n else 0.0
        bias = self.bias[CONTEXT_KEYS[minor_context]]
        p_any = _sigmoid(bias[0] + self._z(0, groups, scale, rule_features))
        if p_any < (self.gate if gate is None else max(gate, self.gate)) and not force:
            return {"any": p_any}
        out = {"any": p_any}
        for j in range(1, len(self.outputs)):
            out[self.outputs[j]] = _sigmoid(bias[j] + self._z(j, groups, scale, rule_features))
        return out

    def _z(
        self, j: int, groups: tuple[list[Feature], ...], scale: float, rule_features: tuple[str, ...]
    ) -> float:
        ds = self.weights[j]
        rep = repeat(0.0)
        z = 0.0
        for d, g in zip(ds, groups, strict=False):  # ds also holds the rule features' dict
            if g:
                z += sum(map(d.get, g, rep))
        z *= scale
        if rule_features:
            z += sum(map(ds[TEXT_KINDS].get, rule_features, rep))
        return z


def load_model(raw: bytes, where: str) -> LinearModel | HashedModel:
    """Parse a gzip'd JSON weights file; ``LexiconError`` when it is malformed."""
    try:
        doc = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError) as exc:
        raise LexiconError(f"{where}: not a gzip'd JSON model ({exc.__class__.__name__})") from None
    if isinstance(doc, dict) and doc.get("format") == HASHED_FORMAT:
        from tutela.comments.hashed import parse_model  # the version-2 model (numpy, scored per batch)

        return parse_model(doc, where)
    if isinstance(doc, dict) and doc.get("format") == WIDEDEEP_FORMAT:
        from tutela.comments.widedeep import parse_widedeep  # version 3: version 2 + a nonlinear head

        return parse_widedeep(doc, where)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LexiconError(f"{where}: format must be {FORMAT!r}, {HASHED_FORMAT!r} or {WIDEDEEP_FORMAT!r}")
    try:
        outputs = tuple(str(o) for o in doc["outputs"])
        scale = float(doc["scale"])  # weights are stored as integers: weight = int * scale
        feats = doc["features"]  # {feature: [int per output]}
        if not outputs or outputs[0] != "any" or not isinstance(feats, dict):
            raise ValueError("outputs must start with 'any'")
        kind_index = {k: i for i, k in enumerate(KINDS)}
        weights: list[tuple[dict[Feature, float], ...]] = [tuple({} for _ in KINDS) for _ in outputs]
        for name, ws in feats.items():
            kind, _, f = name.partition(":")
            if kind not in kind_index or len(ws) != len(outputs):
                raise ValueError(f"feature {kind!r}: a known kind and one weight per output")
            key: Feature = tuple(f.split(" ", 1)) if kind == "pair" else f
            for j, q in enumerate(ws):
                if q:
                    weights[j][kind_index[kind]][key] = q * scale
        bias = {ctx: tuple(float(b) for b in doc["bias"][ctx]) for ctx in CONTEXT_KEYS.values()}
        if any(len(b) != len(outputs) for b in bias.values()):
            raise ValueError("a bias per output and context")
        gate = float(doc["gate"])
        model_id = str(doc["model_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LexiconError(f"{where}: {exc}") from None
    return LinearModel(model_id, outputs, tuple(weights), bias, gate)
