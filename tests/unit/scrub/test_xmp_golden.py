"""The XMP filter's output bytes, pinned: every packet below (and deterministic edits of each) gives the
sanitised packet, the same-size packet, their codes and ``has_location``'s answer that the version
before the speed work gave (``xmp_golden.json``: a hash per packet, recorded from main at 97bc695). The
corpus golden test (``test_golden_outputs.py``) holds few packets whose escaping, namespaces or depth the
serialiser must get right; these do."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tutela.scrub import xmp

_RDF = b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'


def _wrap(inner: bytes, pad: int = 0) -> bytes:
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b"<rdf:RDF " + _RDF + b">" + inner + b"</rdf:RDF></x:xmpmeta>\n" + b" " * pad + b'<?xpacket end="w"?>'
    )


BASE = {
    "attrs": _wrap(
        b'<rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'photoshop:City="London" exif:GPSLatitude="51,30.04N" dc:format="image/jpeg" '
        b'photoshop:Headline="a &amp; b &lt;c&gt; &quot;q&quot;&#10;&#9;&#13;x" '
        b'photoshop:Instructions="  "/>',
        200,
    ),
    "elements": _wrap(
        b'\n <rdf:Description rdf:about=""\n  xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        b'  xmlns:dc="http://purl.org/dc/elements/1.1/">\n  <Iptc4xmpExt:LocationCreated>\n   <rdf:Bag>\n'
        b'    <rdf:li rdf:parseType="Resource"><Iptc4xmpExt:City>Paris</Iptc4xmpExt:City></rdf:li>\n'
        b"   </rdf:Bag>\n  </Iptc4xmpExt:LocationCreated>\n  <dc:creator><rdf:Seq><rdf:li>Alice</rdf:li>"
        b"</rdf:Seq></dc:creator>\n  <dc:title><rdf:Alt>"
        b'<rdf:li xml:lang="x-default">a &amp; b &lt; c</rdf:li>'
        b"</rdf:Alt></dc:title>\n </rdf:Description>\n",
        300,
    ),
    "default_ns_comments_pis": _wrap(
        b'<rdf:Description rdf:about="" xmlns="urn:d" xmlns:a="urn:a"><Owner>o</Owner><a:keep>t<!-- c -->'
        b'u<?pi x?>v<b xmlns="urn:e" c="1">w</b>tail</a:keep><a:GPSAltitude>1</a:GPSAltitude>'
        b"<a:Keep2 a:State='s' a:kept='k'/></rdf:Description>"
    ),
    "unprefixed_and_undeclared_reuse": _wrap(
        b'<rdf:Description xmlns:p="urn:p" xmlns:q="urn:p"><p:City/><q:x q:y="1">z</q:x><rdf:li/>'
        b"</rdf:Description>"
    ),
    "nothing_to_remove": _wrap(
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="x"/>'
    ),
    "deep_65": _wrap(b"<a>" * 65 + b"<City/>" + b"</a>" * 65),
    "deep_64_leaf": _wrap(b"<a>" * 63 + b"<b/>" + b"</a>" * 63 + b"<Creator/>"),
    "deep_64_removed": _wrap(b"<a>" * 63 + b"<City><c/></City>" + b"</a>" * 63),
    "doctype": b'<!DOCTYPE x [<!ENTITY e "v">]>' + _wrap(b"<City>&e;</City>"),
    "broken": _wrap(b"<rdf:Description><City>x</rdf:Description>"),
    "no_root": b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><foo/><?xpacket end='w'?>",
    "self_closing_root": b'<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:a="urn:a" a:City="c"/>',
    "longer_after": _wrap(
        b'<rdf:Description xmlns:veryveryverylongprefixname="urn:a" '
        b'veryveryverylongprefixname:k="&#10;&#10;&#10;&#10;" x="1" City="2"/>'
    ),
}


def cases() -> dict[str, bytes]:
    """The packets above and deterministic edits of each (a small LCG, not ``random``: stable across
    Python versions): bytes replaced, dropped or inserted in the first 600 bytes."""
    out = dict(BASE)
    inserts = (b"City", b"x", b"Gps", b"Owner", b"&amp;", b"\n", b"\t", b" ", b"<a/>", b"&#10;", b"<")
    x = 12345
    for name, data in BASE.items():
        for k in range(24):
            b = bytearray(data)
            for _ in range(1 + k % 2):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                i = x % min(len(b), 600)
                op = (x >> 16) % 3
                if op == 0:
                    b[i] = b"abxyz \n\"'&<>"[(x >> 8) % 12]
                elif op == 1:
                    del b[i]
                else:
                    b[i:i] = inserts[(x >> 12) % len(inserts)]
            out[f"{name}~{k}"] = bytes(b)
    return out


def _outcome(data: bytes) -> str:
    new, codes = xmp.sanitize(data)
    same, same_codes = xmp.sanitize_same_size(data)
    found = xmp.has_location(data)
    return hashlib.sha256(repr((new, sorted(codes), same, sorted(same_codes), found)).encode()).hexdigest()[
        :16
    ]


def test_xmp_outputs_are_unchanged() -> None:
    golden = json.loads((Path(__file__).parent / "xmp_golden.json").read_text())
    got = {name: _outcome(data) for name, data in cases().items()}
    assert sorted(got) == sorted(golden)
    assert [n for n in got if got[n] != golden[n]] == []
