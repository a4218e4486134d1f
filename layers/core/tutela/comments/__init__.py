"""Comment moderation: sexual innuendo, sexualising minors, grooming, solicitation and
locating minors, in Chinese (Simplified and Traditional) and English, robust to evasion.

Public API (the ClassifyComments Lambda and ``tutela comments`` use exactly this)::

    from tutela.comments import classify_lines, classify_text, LEXICON_VERSION

The lexicon and rules are data (``data/*.toml``); the automaton is built once per process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutela.comments.classify import classify_lines, classify_text, context_key, default_matcher
    from tutela.comments.comprehend import ComprehendCallFailed, ComprehendToxicity
    from tutela.comments.lexicon import CATEGORIES, Lexicon, LexiconError, default_lexicon, load_lexicon

# Loaded on first use: Act imports ``tutela.comments.lines`` (which runs this file) and must not pay for
# the lexicon, normaliser and matcher modules at its cold start.
_LAZY = {
    "classify_lines": "classify",
    "classify_text": "classify",
    "context_key": "classify",
    "default_matcher": "classify",
    "ComprehendToxicity": "comprehend",
    "ComprehendCallFailed": "comprehend",
    "CATEGORIES": "lexicon",
    "Lexicon": "lexicon",
    "LexiconError": "lexicon",
    "default_lexicon": "lexicon",
    "load_lexicon": "lexicon",
}

__all__ = [
    "CATEGORIES",
    "LEXICON_VERSION",
    "ComprehendCallFailed",
    "ComprehendToxicity",
    "Lexicon",
    "LexiconError",
    "classify_lines",
    "classify_text",
    "context_key",
    "default_lexicon",
    "default_matcher",
    "load_lexicon",
]


def __getattr__(name: str) -> Any:
    # Lazy, so importing the package reads no files; the value is the packaged data's version.
    if name == "LEXICON_VERSION":
        return __getattr__("default_lexicon")().version
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    value = getattr(importlib.import_module(f"tutela.comments.{module}"), name)
    globals()[name] = value
    return value
