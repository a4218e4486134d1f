"""XMP properties that name a place under names the location filter does not know.

Dublin Core's ``dc:coverage`` is by definition "the spatial topic ... a named place or a location specified by
its geographic coordinates" (DCMI terms), and geotagging/DAM tools write coordinates into it; Darwin Core
(``http://rs.tdwg.org/dwc/terms/``, written by biodiversity and nature-photo tools, read by exiftool as
XMP-dwc) has flat terms ``locality``, ``municipality``, ``county``, ``stateProvince``, ``island``,
``verbatimCoordinates`` and ``footprintWKT``. The scrubber (``LOCATION_NAME``) and the verifier
(``LOCATION_TEXT``) match ``location``/``latitude``/``^city$``/``^state$``/``^province``... so these stay in
the published copy, and the report says nothing was found."""

from __future__ import annotations

import io

import pytest

from tutela.scrub import scrub_bytes
from tutela.scrub.xmp import JPEG_XMP_SIG

PLACE = b"Acacia Avenue 12"
TERMS = [
    (b"dc", b"http://purl.org/dc/elements/1.1/", b"coverage"),
    (b"dwc", b"http://rs.tdwg.org/dwc/terms/", b"locality"),
    (b"dwc", b"http://rs.tdwg.org/dwc/terms/", b"municipality"),
    (b"dwc", b"http://rs.tdwg.org/dwc/terms/", b"county"),
    (b"dwc", b"http://rs.tdwg.org/dwc/terms/", b"stateProvince"),
    (b"dwc", b"http://rs.tdwg.org/dwc/terms/", b"island"),
    (b"dwc", b"http://rs.tdwg.org/dwc/terms/", b"verbatimCoordinates"),
    (b"dwc", b"http://rs.tdwg.org/dwc/terms/", b"footprintWKT"),
]


def _jpeg_with_xmp(prefix: bytes, uri: bytes, name: bytes) -> bytes:
    from PIL import Image

    packet = (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:' + prefix + b'="' + uri + b'">'
        b"<" + prefix + b":" + name + b">" + PLACE + b"</" + prefix + b":" + name + b">"
        b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(buf, "JPEG", xmp=packet)
    data = buf.getvalue()
    assert JPEG_XMP_SIG in data and PLACE in data
    return data


@pytest.mark.parametrize(("prefix", "uri", "name"), TERMS, ids=[t[2].decode() for t in TERMS])
def test_a_place_named_in_xmp_is_not_published(prefix: bytes, uri: bytes, name: bytes) -> None:
    published, report = scrub_bytes(_jpeg_with_xmp(prefix, uri, name))
    assert PLACE not in published
    assert report.location_found
