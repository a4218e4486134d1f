"""Promise: a comment batch's verdict is its worst comment's, its severity the highest, and its reasons
count each matched category and each kind of held line by code — never a comment's text."""

from __future__ import annotations

from tutela.policy.comments import BatchVerdict, summarize


def test_the_worst_comment_decides_and_reasons_count_categories_and_held_lines() -> None:
    results = [
        {"verdict": "allow", "severity": 0, "categories": []},
        {"verdict": "block", "severity": 3, "categories": ["grooming", "solicitation"], "text": "secret"},
        {"verdict": "review", "severity": 1, "categories": ["grooming"]},
        {"verdict": "review", "severity": 1, "error": "line is not valid UTF-8", "code": "invalid_comment"},
        {"verdict": "review", "severity": 1, "error": "missing text"},  # no code: an unreadable line
        {"verdict": "review", "severity": None, "error": "bidi", "code": "bidi_control"},
        {"verdict": "allow"},  # no categories, no severity
    ]
    assert summarize(results) == BatchVerdict(
        "block",
        3,
        [
            {"code": "comment_grooming", "message": "2 comment(s) matched grooming", "count": 2},
            {"code": "comment_solicitation", "message": "1 comment(s) matched solicitation", "count": 1},
            {"code": "bidi_control", "message": "1 line(s) held: bidi_control", "count": 1},
            {"code": "invalid_comment", "message": "2 line(s) could not be read", "count": 2},
        ],
        {"allow": 2, "block": 1, "review": 4},
    )
    assert "secret" not in repr(summarize(results))


def test_an_empty_batch_is_allowed_with_no_reasons() -> None:
    assert summarize([]) == BatchVerdict("allow", 0, [], {})
