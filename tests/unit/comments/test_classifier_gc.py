"""Promise: once the classifier is ready (INIT calls ``default_matcher()``), the process-long lexicon,
automaton and model are out of the cyclic collector's generations, so a full collection between two
batches does not walk them (it cost ~10% of judging on the bench corpus)."""

from __future__ import annotations

import gc

from tutela.comments import default_lexicon, default_matcher
from tutela.comments.classify import _matcher_for


def test_the_ready_classifier_is_not_walked_by_the_collector() -> None:
    gc.unfreeze()
    _matcher_for.cache_clear()
    lexicon = default_lexicon()
    assert any(o is lexicon for o in gc.get_objects())  # before: a full collection would walk it
    default_matcher()
    assert gc.get_freeze_count() > 0
    assert not any(o is lexicon for o in gc.get_objects())
    assert not any(o is lexicon.terms for o in gc.get_objects())
