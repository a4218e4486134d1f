"""``xmp.has_location``: each location word the verifier's pattern names is found on its own (its keyword
pre-check must not skip any), in element and attribute form, any case; words that only look alike are not."""

from __future__ import annotations

import pytest

from tutela.scrub import xmp

WORDS = [
    "GPSVersionID",
    "geoTag",
    "Latitude",
    "SubjectLongitude",
    "LocationShown",
    "City",
    "State",
    "CountryCode",
    "ProvinceName",
    "Sublocation",
    "WorldRegion",
    "coverage",
    "locality",
    "verbatimLocality",
    "municipality",
    "county",
    "stateProvince",
    "island",
    "islandGroup",
    "continent",
    "waterBody",
    "higherGeography",
    "verbatimCoordinates",
    "coordinateUncertaintyInMeters",
    "footprintWKT",
]


@pytest.mark.parametrize("word", WORDS)
def test_the_filter_removes_each_location_word(word: str) -> None:
    """What the verifier looks for, the filter removes (else every such upload would be held)."""
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:a="urn:a"><a:{word}>v</a:{word}></rdf:Description>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    new, removed = xmp.sanitize(packet)
    assert new is not None and "xmp.location" in removed
    assert not xmp.has_location(new)


@pytest.mark.parametrize("word", WORDS)
def test_each_location_word_alone_is_found(word: str) -> None:
    pad = b" " * 300
    for packet in (
        f'<x:xmpmeta><rdf:Description a:{word}="v"/></x:xmpmeta>',
        f"<x:xmpmeta>\n  <a:{word.upper()}>v</a:{word.upper()}></x:xmpmeta>",
        f"<x:xmpmeta><{word.lower()}\n >v</{word.lower()}></x:xmpmeta>",
    ):
        assert xmp.has_location(packet.encode() + pad + b'<?xpacket end="w"?>'), packet


@pytest.mark.parametrize(
    "packet",
    [
        b"<x:xmpmeta><a:Citysize>1</a:Citysize><a:Statement>s</a:Statement></x:xmpmeta>",
        b"<x:xmpmeta>the city of London, a state of mind</x:xmpmeta>",
        b'<x:xmpmeta a:Title="City=1"/>',
        b"",
    ],
)
def test_words_that_only_look_alike_are_not(packet: bytes) -> None:
    assert not xmp.has_location(packet)
