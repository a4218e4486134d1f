"""Promise: every numeric setting is read with its default and refused outside its range, at its exact
boundaries (a batch limit of 0 comments, or of more than the ceiling, is a deployment fault)."""

from __future__ import annotations

from typing import Any

import pytest

from tutela.aws.settings import ClassifySettings, RecordSettings, ReevaluateSettings
from tutela.errors import ConfigurationError
from tutela.limits import MAX_COMMENT_BATCH_BYTES, MAX_COMMENTS_PER_BATCH

BASE = {
    "STAGING_BUCKET": "s",
    "DECISIONS_TABLE": "t",
    "EVENT_BUS_NAME": "bus",
    "PUBLISHED_BUCKET": "p",
    "QUARANTINE_BUCKET": "q",
}


@pytest.mark.parametrize(
    ("cls", "var", "attr", "low", "high", "default"),
    [
        (
            ClassifySettings,
            "MAX_COMMENTS_PER_BATCH",
            "max_comments",
            1,
            MAX_COMMENTS_PER_BATCH,
            MAX_COMMENTS_PER_BATCH,
        ),
        (
            ClassifySettings,
            "MAX_COMMENT_BATCH_BYTES",
            "max_batch_bytes",
            1,
            MAX_COMMENT_BATCH_BYTES * 8,
            MAX_COMMENT_BATCH_BYTES,
        ),
        (RecordSettings, "DECISION_RETENTION_DAYS", "retention_days", 1, None, 400),
        (ReevaluateSettings, "DECISION_RETENTION_DAYS", "retention_days", 1, None, 400),
    ],
)
def test_numeric_settings_hold_their_range_exactly(
    cls: Any, var: str, attr: str, low: int, high: int | None, default: int
) -> None:
    assert getattr(cls.from_env(BASE), attr) == default
    assert getattr(cls.from_env({**BASE, var: ""}), attr) == default
    assert getattr(cls.from_env({**BASE, var: str(low)}), attr) == low
    with pytest.raises(ConfigurationError, match=var):
        cls.from_env({**BASE, var: str(low - 1)})
    if high is not None:
        assert getattr(cls.from_env({**BASE, var: str(high)}), attr) == high
        with pytest.raises(ConfigurationError, match=var):
            cls.from_env({**BASE, var: str(high + 1)})
    with pytest.raises(ConfigurationError, match=f"{var} must be an integer"):
        cls.from_env({**BASE, var: "ten"})


def test_a_flag_is_true_or_false_and_off_by_default() -> None:
    assert ClassifySettings.from_env(BASE).comprehend is False
    assert ClassifySettings.from_env({**BASE, "COMMENTS_COMPREHEND": "TRUE"}).comprehend is True
    assert ClassifySettings.from_env({**BASE, "COMMENTS_COMPREHEND": "false"}).comprehend is False
    with pytest.raises(ConfigurationError, match="COMMENTS_COMPREHEND"):
        ClassifySettings.from_env({**BASE, "COMMENTS_COMPREHEND": "1"})


def test_post_context_carries_acts_settings() -> None:
    s = ReevaluateSettings.from_env(BASE)
    assert (s.act.published_bucket, s.act.quarantine_bucket, s.act.event_bus_name) == ("p", "q", "bus")
