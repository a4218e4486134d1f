"""The learned stage's decision at its exact thresholds, and which table a comment's context reads: the
operating points in model_policy are chosen as inclusive flag bounds and strict veto bounds, so an off-by-
one comparison moves a comment across a verdict (``eval/comments/thresholds.py`` simulates this same
``decide``)."""

from __future__ import annotations

import pytest

from tutela.comments.classify import decide, model_thresholds
from tutela.comments.lexicon import ModelPolicy, ModelThreshold

TH = ModelThreshold(review=0.5, block=0.9, veto=0.1, veto_block=0.05)


@pytest.mark.parametrize(
    ("rules", "p", "expected"),
    [
        ("allow", 0.5, ("allow", "review", False)),  # the model flags from its review threshold, inclusive
        ("allow", 0.4999, ("allow", "allow", False)),
        ("allow", 0.9, ("allow", "block", False)),  # and blocks from its block threshold, inclusive
        ("review", 0.1, ("review", "allow", False)),  # a veto needs p strictly below the veto threshold
        ("review", 0.0999, ("allow", "allow", True)),
        ("block", 0.05, ("block", "allow", False)),
        ("block", 0.0499, ("allow", "allow", True)),
    ],
)
def test_flag_bounds_are_inclusive_and_veto_bounds_strict(rules: str, p: float, expected: tuple) -> None:
    assert decide(rules, p, TH, vetoable=True) == expected  # type: ignore[arg-type]


def test_a_rules_block_stands_without_a_block_veto_and_nothing_is_vetoed_unless_vetoable() -> None:
    no_block_veto = ModelThreshold(review=0.5, block=None, veto=0.1, veto_block=None)
    assert decide("block", 0.0, no_block_veto, vetoable=True) == ("block", "allow", False)
    assert decide("block", 0.95, no_block_veto, vetoable=True) == ("block", "review", False)  # no model block
    assert decide("review", 0.0, TH, vetoable=False) == ("review", "allow", False)


def test_each_context_reads_its_own_table_and_unknown_falls_back_to_a_childs() -> None:
    """Promise: a comment under a post of unknown age is judged with the unknown table when there is one,
    else a child's - never an adult's; Chinese text reads the zh. tables first."""
    adult, minor, unknown, zh_minor = (ModelThreshold(r, None, 0.0, None) for r in (0.9, 0.3, 0.4, 0.2))
    both = ModelPolicy({"adult": adult, "minor": minor, "unknown": unknown, "zh.minor": zh_minor}, 0.5)
    assert model_thresholds(both, "hi", False) is adult
    assert model_thresholds(both, "hi", True) is minor
    assert model_thresholds(both, "hi", None) is unknown
    assert model_thresholds(both, "你好", None) is zh_minor  # no zh.unknown: a child's Chinese table
    no_unknown = ModelPolicy({"adult": adult, "minor": minor}, 0.5)
    assert model_thresholds(no_unknown, "hi", None) is minor
