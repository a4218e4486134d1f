"""XMP: remove location and identifying properties from an XMP packet, never anything else.

The packet is parsed with the standard library (expat; DTDs/entities are refused outright) and
re-serialised with the document's own prefixes. ``sanitize_same_size`` pads with spaces (XMP's own
padding convention) so the packet can be overwritten in place where offsets must not move (TIFF, HEIC
items, MP4 ``uuid`` boxes). If anything is odd the whole packet is blanked: fail closed.
"""

from __future__ import annotations

import re

XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
JPEG_XMP_SIG = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_XMP_EXT_SIG = b"http://ns.adobe.com/xmp/extension/\x00"

TYPE_CHECKING = False  # ElementTree is imported on the first XMP parse: most photos carry no XMP
if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_X = "adobe:ns:meta/"
_XML = "http://www.w3.org/XML/1998/namespace"

# Place names by another name too: Dublin Core's coverage ("a named place or a location specified by its
# geographic coordinates", DCMI terms) and Darwin Core's location terms (http://rs.tdwg.org/dwc/terms/:
# locality, municipality, county, stateProvince, island(Group), continent, waterBody, higherGeography,
# verbatimCoordinates, footprintWKT, coordinateUncertaintyInMeters...), written by nature-photo tools.
LOCATION_NAME = re.compile(
    r"(?i)^(gps|geo)|latitude|longitude|location|^city$|^state$|^country|^province|sublocation|"
    r"worldregion|contactinfo|^address|iso6709|altitude|^ciadr|"
    r"^coverage$|locality|municipality|^county$|stateprovince|^island|^continent$|^waterbody$|geography|"
    r"coordinate|^footprint"
)
IDENTITY_NAME = re.compile(
    r"(?i)serialnumber|ownername|^owner$|imageuniqueid|^creator$|^artist$|^author$|documentid|instanceid"
    r"|^by-?line|^credit$|^history$|^derivedfrom$|^ingredients$"
)
# Used by the verifier on raw text (attribute or element form, any prefix).
LOCATION_TEXT = re.compile(
    rb"(?i)[:<\s](gps[a-z]*|geo[a-z]*|[a-z]*latitude|[a-z]*longitude|location[a-z]*|city|state|country[a-z]*|"
    rb"province[a-z]*|sublocation|worldregion|coverage|[a-z]*locality|municipality|county|stateprovince|"
    rb"island[a-z]*|continent|waterbody|[a-z]*geography|[a-z]*coordinates?[a-z]*|footprint[a-z]*)\s*[=>]"
)

EMPTY_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
)
_END_PI = b'<?xpacket end="w"?>'
_MAX_DEPTH = 64


def _split_qname(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, name = tag[1:].partition("}")
        return uri, name
    return "", tag


def _classify(tag: str) -> str | None:
    try:
        return _CODES[tag]
    except KeyError:
        pass
    uri, name = _split_qname(tag)
    code = None
    if uri in (_RDF, _X, _XML):
        pass
    elif LOCATION_NAME.search(name):
        code = "xmp.location"
    elif IDENTITY_NAME.search(name):
        code = "xmp.identity"
    elif name.lower() in _PICTURE_NAMES:
        # A picture as base64 text (xmp:Thumbnails, xmpGImg:image: exiftool extracts it as ThumbnailImage,
        # file browsers show it): an image nobody scanned, dropped as EXIF's IFD1 and JFIF thumbnails are.
        # Any prefix: the verifier refuses the name in every namespace.
        code = "xmp.thumbnail"
    if len(_CODES) < _CODES_MAX:
        _CODES[tag] = code
    return code


_PICTURE_NAMES = ("thumbnails", "image")
# Base64 of a JPEG, PNG, GIF or RIFF (WebP) file: a picture under any property name (Google's GImage:Data,
# the photo before a portrait blur; GDepth:Data, a depth map), dropped wherever a value starts with one.
_PICTURE_B64 = ("/9j/", "iVBORw0KGgo", "R0lGOD", "UklGR")
_PICTURE_B64_BYTES = tuple(s.encode() for s in _PICTURE_B64)


def _picture(value: str | None) -> bool:
    return value is not None and value.lstrip().startswith(_PICTURE_B64)


# {namespace}name -> its code: a function of the name alone, and packets repeat their names (rdf:li,
# rdf:Description...): two regex searches per element and attribute were a fifth of a packet's filter
# (callgrind). Bounded: a hostile packet with endless distinct names stops filling it.
_CODES: dict[str, str | None] = {}
_CODES_MAX = 4096


class _Bad(Exception):
    pass


def _parse(xml: bytes) -> tuple[ET.Element, list[tuple[str, str]]]:
    import xml.etree.ElementTree as ET

    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise _Bad
    # ``iterparse`` defines a class (an ABC) on every call, and reports an "end" event per element only for
    # the last to be the root: the parser, given the list to report namespace declarations to (what
    # ``XMLPullParser`` does), gives the same tree and declarations at ~60% of the instructions (callgrind).
    # A whole buffer fed at once parses as in ``iterparse``'s 16 KiB reads: expat's result does not depend
    # on how its input is cut, and its first error ends the parse either way.
    events: list[tuple[str, tuple[str, str]]] = []
    parser = ET.XMLParser(target=ET.TreeBuilder())
    parser._setevents(events, ("start-ns",))  # type: ignore[attr-defined]
    try:
        parser.feed(xml)
        root: ET.Element | None = parser.close()
    except (ET.ParseError, ValueError, UnicodeError) as exc:
        raise _Bad from exc
    if root is None:
        raise _Bad
    return root, [item for _, item in events]


def _prune(el: ET.Element, removed: set[str], depth: int = 0, pictures: bool = False) -> None:
    """``pictures``: the packet holds base64 that may start a picture, so values are looked at too."""
    if depth > _MAX_DEPTH:
        raise _Bad
    for key in el.keys():  # noqa: SIM118  (Element.keys(): a copy of the attribute names, no dict made)
        code = _classify(key) or ("xmp.thumbnail" if pictures and _picture(el.get(key)) else None)
        if code:
            del el.attrib[key]
            removed.add(code)
    for child in list(el):
        code = _classify(child.tag) if isinstance(child.tag, str) else None
        if not code and pictures and not len(child) and _picture(child.text):
            code = "xmp.thumbnail"
        if code:
            el.remove(child)
            removed.add(code)
        elif len(child) or child.keys():
            _prune(child, removed, depth + 1, pictures)
        elif depth + 1 > _MAX_DEPTH:  # a leaf (nothing to filter in it) takes the same depth check
            raise _Bad


def _esc(s: str, attr: bool = False) -> str:
    # Most text is whitespace between elements, most values plain words: returned as they are when there is
    # nothing to escape (the replacements would each copy nothing). Whitespace alone is escaped only in an
    # attribute value.
    if not attr and s.isspace():
        return s
    if "&" in s or "<" in s or ">" in s:
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attr and ('"' in s or "\n" in s or "\r" in s or "\t" in s):
        s = s.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return s


def _serialize(root: ET.Element, ns: list[tuple[str, str]]) -> str:
    prefix_of: dict[str, str] = {}
    for prefix, uri in ns:
        prefix_of.setdefault(uri, prefix)
    prefix_of[_XML] = "xml"
    extra: dict[str, str] = {}
    names: dict[str, str] = {}  # tag -> its qualified name, computed once per distinct tag

    def qname(tag: str) -> str:
        q = names.get(tag)
        if q is not None:
            return q
        uri, name = _split_qname(tag)
        if not uri:
            q = name
        else:
            if uri not in prefix_of:
                p = f"ns{len(prefix_of) + len(extra)}"
                extra[uri] = p
                prefix_of[uri] = p
            p = prefix_of[uri]
            q = f"{p}:{name}" if p else name
        names[tag] = q
        return q

    out: list[str] = []
    append = out.append

    def emit(el: ET.Element, is_root: bool) -> None:
        if not isinstance(el.tag, str):  # comments / PIs are dropped
            if el.tail:
                append(_esc(el.tail))
            return
        items = el.items()
        attrs = "".join([f' {qname(k)}="{_esc(v, True)}"' for k, v in items]) if items else ""
        tag = qname(el.tag)
        decl_at = len(out)
        append("")  # placeholder for the start tag (namespaces known after children)
        if el.text:
            append(_esc(el.text))
        for child in el:
            emit(child, False)
        start = f"<{tag}{attrs}"
        if is_root:
            decls = []
            seen: set[str] = set()
            for prefix, uri in [*ns, *((p, u) for u, p in extra.items())]:
                if prefix in seen:
                    continue
                seen.add(prefix)
                decls.append(
                    f' xmlns:{prefix}="{_esc(uri, True)}"' if prefix else f' xmlns="{_esc(uri, True)}"'
                )
            start += "".join(decls)
        if len(out) == decl_at + 1:
            out[decl_at] = start + "/>"
        else:
            out[decl_at] = start + ">"
            append(f"</{tag}>")
        if el.tail and not is_root:
            append(_esc(el.tail))

    emit(root, True)
    return "".join(out)


def _find_body(data: bytes) -> tuple[int, int] | None:
    """Byte span of the root element (x:xmpmeta / x:xapmeta / rdf:RDF), excluding xpacket PIs."""
    m = re.search(rb"<([A-Za-z_][\w.-]*:)?(xmpmeta|xapmeta|RDF)[\s>/]", data)
    if not m:
        return None
    name = data[m.start() + 1 : m.end() - 1]
    close = b"</" + name + b">"
    end = data.rfind(close)
    if end < 0:
        # self-closing root
        end2 = data.find(b"/>", m.start())
        if end2 < 0:
            return None
        return m.start(), end2 + 2
    return m.start(), end + len(close)


def sanitize(data: bytes) -> tuple[bytes | None, set[str]]:
    """Return (new packet or None if nothing changed, removed codes). May return a shorter or longer packet.

    A packet that cannot be parsed safely is replaced by an empty packet (code ``xmp.unparseable``).
    """
    span = _find_body(data)
    if span is None:
        return EMPTY_PACKET, {"xmp.unparseable"}
    a, b = span
    try:
        root, ns = _parse(data[a:b])
        removed: set[str] = set()
        _prune(root, removed, pictures=any(sig in data for sig in _PICTURE_B64_BYTES))
    except (_Bad, RecursionError):
        return EMPTY_PACKET, {"xmp.unparseable"}
    if not removed:
        return None, set()
    body = _serialize(root, ns).encode("utf-8")
    return data[:a] + body + data[b:], removed


def sanitize_same_size(data: bytes) -> tuple[bytes | None, set[str]]:
    """Like ``sanitize`` but the result has exactly ``len(data)`` bytes (space padded)."""
    new, removed = sanitize(data)
    if new is None:
        return None, removed
    n = len(data)
    if len(new) <= n:
        # Pad inside the packet (before the trailing xpacket PI if present), XMP's padding convention.
        idx = new.rfind(b"<?xpacket end")
        pad = b" " * (n - len(new))
        if idx >= 0:
            return new[:idx] + pad + new[idx:], removed
        return new + pad, removed
    # Longer after re-serialisation: blank the packet instead.
    blank = EMPTY_PACKET + _END_PI
    if len(blank) <= n:
        return EMPTY_PACKET + b" " * (n - len(blank)) + _END_PI, removed | {"xmp.blanked"}
    return b" " * n, removed | {"xmp.blanked"}


_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")  # as bytes.lower


def has_location(data: bytes) -> bool:
    """Verifier: a location-looking property anywhere in the packet text."""
    # Fast path: no keyword in the text lower-cased (ASCII, as bytes.lower and the pattern's (?i)) means no
    # match (every alternative of the pattern holds a keyword), and the regex would scan every padding byte.
    # The keywords are looked for with the whitespace (XMP's padding) dropped: no keyword holds any, so
    # dropping it can make an occurrence (then the regex decides, on the text as it is), never hide one.
    # Written out rather than ``any()`` over a tuple: a generator's resumption per keyword cost as much as
    # the searches themselves on a clean packet (callgrind).
    low = data.translate(_LOWER, b" \t\r\n")
    if not (
        b"gps" in low
        or b"geo" in low
        or b"itude" in low  # latitude, longitude
        or b"location" in low
        or b"city" in low
        or b"state" in low
        or b"country" in low
        or b"province" in low
        or b"worldregion" in low
        or b"coverage" in low
        or b"locality" in low
        or b"municipality" in low
        or b"county" in low
        or b"island" in low
        or b"continent" in low
        or b"waterbody" in low
        or b"coordinate" in low
        or b"footprint" in low
    ):
        return False
    return bool(LOCATION_TEXT.search(data))
