"""The XMP filter's output bytes, pinned: every packet below (and deterministic edits of each) gives the
sanitised packet, the same-size packet, their codes and ``has_location``'s answer that the version
before the speed work gave (``xmp_golden.json``: a hash per packet, recorded from main at 97bc695). The
corpus golden test (``test_golden_outputs.py``) holds few packets whose escaping, namespaces or depth the
serialiser must get right; these do."""

from __future__ import annotations

import hashlib
import json
import re
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
    # A '}' in a namespace URI: ElementTree's "{uri}name" splits at the first one.
    "brace_in_uri": _wrap(
        b'<rdf:Description xmlns:a="urn:x}y" xmlns:b="urn:x}City" a:k="1" b:z="2"><a:v>t</a:v>'
        b'<b:w/></rdf:Description><rdf:Description xmlns:c="urn:x" c:GPSx="3"/>'
    ),
    "duplicate_expanded_attr": _wrap(b'<rdf:Description xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"/>'),
    "default_ns_undeclared": _wrap(
        b'<rdf:Description xmlns="urn:d"><a xmlns="">x</a><b xmlns:z="urn:d"><z:c/></b><City/>'
        b"</rdf:Description>"
    ),
    "tails_comments_cdata": _wrap(
        b"<rdf:Description>a<!--c-->b<City>x</City>c<!--d-->e<k><![CDATA[<&>]]>&#x26;&#233;\xc3\xa9</k>f"
        b"<Owner/>   <?p q?>  <m>\r\n&#13;</m>&#10;</rdf:Description>"
    ),
    "deep_inside_removed": _wrap(b"<City>" + b"<a>" * 80 + b"</a>" * 80 + b"</City><k>v</k>"),
    "many_attrs": _wrap(
        b"<rdf:Description xmlns:a='urn:a' "
        + b" ".join(b"a:k%d='%d'" % (i, i) for i in range(3000))
        + b" a:City='c'/>"
    ),
    "location_on_root": b'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:GPSx="1" xmlns:g="urn:g" g:State="s"><g:k/>'
    b"</x:xmpmeta>",
    "rdf_root": b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="urn:e">'
    b'<rdf:Description rdf:about="" e:SerialNumber="1" e:Model="m"/></rdf:RDF>',
    "xml_ns_attrs": _wrap(
        b'<rdf:Description xml:lang="en" xml:space="preserve" xmlns:d="urn:d" d:Location="l">'
        b'<d:t xml:lang="fr" d:x="&quot;\t&lt;"/></rdf:Description>'
    ),
    "undefined_entity": _wrap(b"<rdf:Description><City>&e;</City></rdf:Description>"),
    "billion_laughs_no_doctype_keyword": _wrap(b'<rdf:Description><!ENTITY a "b"></rdf:Description>'),
    "nul_and_bad_utf8": _wrap(b"<rdf:Description><k>\xff\xfe</k><City/></rdf:Description>"),
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
                x = _edit(b, x, min(len(b), 600), inserts)
            out[f"{name}~{k}"] = bytes(b)
    # Packets as cameras, phones, editors and exiftool write them (``make_xmp_packets.py``), each also with
    # its padding dropped and edited anywhere in it (the edits above reach only the first 600 bytes).
    for p in sorted((Path(__file__).parent / "xmp_packets").glob("*.xmp")):
        data = p.read_bytes()
        out[p.name] = data
        out[f"{p.name}/unpadded"] = re.sub(rb"\s+(<\?xpacket end)", rb"\1", data)
        for k in range(24):
            b = bytearray(data)
            x = _edit(b, x, len(b), inserts)
            out[f"{p.name}~{k}"] = bytes(b)
    return out


def _edit(b: bytearray, x: int, span: int, inserts: tuple[bytes, ...]) -> int:
    """One pseudo-random edit of ``b`` within its first ``span`` bytes (a byte replaced, dropped or text
    inserted); returns the generator's next state."""
    x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    i = x % span
    op = (x >> 16) % 3
    if op == 0:
        b[i] = b"abxyz \n\"'&<>"[(x >> 8) % 12]
    elif op == 1:
        del b[i]
    else:
        b[i:i] = inserts[(x >> 12) % len(inserts)]
    return x


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
