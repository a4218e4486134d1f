"""A report keeps at most MAX_FACES faces over several frames or pages, chosen so that the media policy's
reading of them (``classify_minor``: the youngest age, an unknown age) is the one it makes of them all."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tutela.policy.media import classify_minor
from tutela.vision.backend import MAX_FACES, youngest_faces


def face(high: int | None, confidence: float = 99.0) -> dict[str, Any]:
    out: dict[str, Any] = {"BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0, "Top": 0}}
    out["Confidence"] = confidence
    if high is not None:
        out["AgeRange"] = {"Low": max(0, high - 8), "High": high}
    return out


def test_the_youngest_and_the_unknown_come_first() -> None:
    faces = [face(40), face(12), face(None), face(30, 80.0), face(30, 95.0)]
    kept = youngest_faces(faces, 4)  # type: ignore[arg-type]
    assert [f.get("AgeRange", {}).get("High") for f in kept] == [None, 12, 30, 30]
    assert kept[2]["Confidence"] == 95.0


@pytest.mark.parametrize("floor", [0.0, 50.0, 80.0, 90.0, 99.5])
def test_a_crowd_is_read_as_all_of_it_is(floor: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """At any confidence floor, including crowds whose least confident faces are the youngest or have no
    age (which a plain "youngest n" cut would keep instead of the faces the policy counts)."""
    from tutela.policy import media

    monkeypatch.setitem(media.THRESHOLDS, "face_min_confidence", floor)
    rng = random.Random(3)
    for _ in range(300):
        n = rng.randint(MAX_FACES + 1, 400)
        crowd = []
        for _ in range(n):
            high = None if rng.random() < 0.2 else rng.randint(4, 70)
            crowd.append(face(high, round(rng.uniform(20, 100), 1)))
        kept = youngest_faces(crowd)  # type: ignore[arg-type]
        assert len(kept) <= MAX_FACES + 2 * 67 + 1  # the youngest n, one front per age bound, one unknown
        assert classify_minor(kept) == classify_minor(crowd)  # type: ignore[arg-type]


def test_fifty_faces_that_do_not_count_do_not_hide_the_one_that_does() -> None:
    crowd = [face(None, 30.0)] * 60 + [face(5, 30.0)] * 60 + [face(11, 99.0)]
    assert classify_minor(youngest_faces(crowd)) == classify_minor(crowd)  # type: ignore[arg-type]
    assert classify_minor(crowd)[0] == "likely"  # type: ignore[arg-type]
