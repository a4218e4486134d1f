"""Which of two writes of a key came later (S3's event ``sequencer``): what keeps Act from putting an older
upload's copy over a newer one's when their events arrive out of order."""

from __future__ import annotations

from tutela.objects import ObjectRef, later


def test_the_greater_sequencer_is_the_later_write_padded_to_the_same_length() -> None:
    assert later("0062B9E5C1A7E7E1F3", "0062B9E5C1A7E7E1F2")
    assert not later("0062B9E5C1A7E7E1F2", "0062B9E5C1A7E7E1F3")
    assert later("1F3", "0000000000000001F2") and not later("0000000000000001F2", "1F3")
    assert later("ab", "AA") and not later("AA", "aa")


def test_unknown_is_never_later() -> None:
    assert not later(None, "01") and not later("01", None) and not later("", "")


def test_the_event_names_its_sequencer_and_only_a_hex_one() -> None:
    detail = {"bucket": {"name": "b"}, "object": {"key": "media/p/a.jpg", "sequencer": "0062B9E5C1A7E7E1F3"}}
    ref = ObjectRef.from_detail(detail)
    assert ref.sequencer == "0062B9E5C1A7E7E1F3"
    assert ref == ObjectRef("b", "media/p/a.jpg")  # not part of the identity
    for bad in ("", "zz", 7, None, "1" * 65):
        detail["object"]["sequencer"] = bad
        assert ObjectRef.from_detail(detail).sequencer is None
