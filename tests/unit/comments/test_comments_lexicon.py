"""The data files: load, validate, version, and ops-edited lexicons."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutela.comments import LexiconError, classify_text, default_lexicon, load_lexicon
from tutela.comments.lexicon import CATEGORIES, DATA_DIR


def test_packaged_data_loads_and_covers_every_category() -> None:
    lex = default_lexicon()
    assert set(lex.policy) == set(CATEGORIES)
    assert {t.category for t in lex.terms if t.category} == set(CATEGORIES)
    assert {t.lang for t in lex.terms} >= {"en", "zh"}
    version, _, digest = lex.version.partition("+")
    assert version and len(digest) == 10


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst


def test_ops_can_add_a_term_without_touching_python(tmp_path: Path) -> None:
    data = _copy(tmp_path)
    (data / "lexicon.extra.toml").write_text(
        '[[term]]\nid = "ops.test"\nlang = "en"\nsignal = "sexual"\ncategory = "sexual_innuendo"\n'
        'weight = 0.9\npatterns = ["zorblax"]\nnote = "test"\n',
        encoding="utf-8",
    )
    lex = load_lexicon(data)
    assert lex.version != default_lexicon().version  # any data change changes the recorded version
    r = classify_text("Z0RBL4X!!", minor_context=False, lexicon=lex)
    assert r["categories"] == ["sexual_innuendo"] and r["lexicon_version"] == lex.version
    assert classify_text("Z0RBL4X", minor_context=False)["verdict"] == "allow"


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('[[term]]\nid = "x"\npatterns = ["a"]\ncategory = "nope"\nweight = 0.5\n', "unknown category"),
        ('[[term]]\nid = "x"\npatterns = ["a"]\ncategory = "grooming"\nweight = 2\n', "weight"),
        ('[[term]]\nid = "x"\npatterns = []\n', "no patterns"),
        ('[[term]]\nid = "en.grooming.contact"\npatterns = ["a"]\n', "duplicate id"),
        ('[[term]]\nid = "x"\npatterns = ["a"]\nmatch = "fuzzy"\n', "match must be"),
        ('[[rule]]\nid = "x"\ncategory = "grooming"\nweight = 0.5\n', "needs all, any"),
        ('[[regex]]\nid = "x"\npattern = "(?P<n>a)"\nsignal = "s"\n', "named groups"),
        ('[[regex]]\nid = "x"\npattern = "(a"\nsignal = "s"\n', "regex x"),
        ("not toml = = =", "lexicon.bad.toml"),
    ],
)
def test_malformed_data_is_rejected_at_load_time(tmp_path: Path, snippet: str, message: str) -> None:
    data = _copy(tmp_path)
    (data / "lexicon.bad.toml").write_text(snippet, encoding="utf-8")
    with pytest.raises(LexiconError, match=message):
        load_lexicon(data)


def test_missing_policy_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"policy\.toml"):
        load_lexicon(tmp_path)
