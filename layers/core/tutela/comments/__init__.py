"""Comment moderation: sexual innuendo, sexualising minors, grooming, solicitation and
locating minors, in Chinese (Simplified and Traditional) and English, robust to evasion.

Public API (the ClassifyComments Lambda and ``tutela comments`` use exactly this)::

    from tutela.comments import classify_lines, classify_text, LEXICON_VERSION

The lexicon and rules are data (``data/*.toml``); the automaton is built once per process.
"""

from __future__ import annotations

from typing import Any

from tutela.comments.classify import classify_lines, classify_text, context_key, default_matcher
from tutela.comments.comprehend import ComprehendToxicity, ComprehendUnavailable
from tutela.comments.lexicon import CATEGORIES, Lexicon, LexiconError, default_lexicon, load_lexicon

__all__ = [
    "CATEGORIES",
    "LEXICON_VERSION",
    "ComprehendToxicity",
    "ComprehendUnavailable",
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
        return default_lexicon().version
    raise AttributeError(name)
