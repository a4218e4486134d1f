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


_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_X = "adobe:ns:meta/"
_XML = "http://www.w3.org/XML/1998/namespace"

LOCATION_NAME = re.compile(
    r"(?i)^(gps|geo)|latitude|longitude|location|^city$|^state$|^country|^province|sublocation|"
    r"worldregion|contactinfo|^address|iso6709|altitude|^ciadr"
)
IDENTITY_NAME = re.compile(
    r"(?i)serialnumber|ownername|^owner$|imageuniqueid|^creator$|^artist$|^author$|documentid|instanceid"
    r"|^by-?line|^credit$|^history$|^derivedfrom$|^ingredients$"
)
# Used by the verifier on raw text (attribute or element form, any prefix).
LOCATION_TEXT = re.compile(
    rb"(?i)[:<\s](gps[a-z]*|geo[a-z]*|[a-z]*latitude|[a-z]*longitude|location[a-z]*|city|state|country[a-z]*|"
    rb"province[a-z]*|sublocation|worldregion)\s*[=>]"
)

EMPTY_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
)
_END_PI = b'<?xpacket end="w"?>'
_MAX_DEPTH = 64


def _classify(name: str) -> str | None:
    """The code removing a property of this expat name (``uri}local``, or ``local`` outside a namespace)."""
    try:
        return _CODES[name]
    except KeyError:
        pass
    uri, sep, local = name.partition("}")
    if not sep:
        uri, local = "", name
    code = None
    if uri in (_RDF, _X, _XML):
        pass
    elif LOCATION_NAME.search(local):
        code = "xmp.location"
    elif IDENTITY_NAME.search(local):
        code = "xmp.identity"
    if len(_CODES) < _CODES_MAX:
        _CODES[name] = code
    return code


# name -> its code: a function of the name alone, and packets repeat their names (rdf:li,
# rdf:Description...): two regex searches per element and attribute were a fifth of a packet's filter
# (callgrind). Bounded: a hostile packet with endless distinct names stops filling it.
_CODES: dict[str, str | None] = {}
_CODES_MAX = 4096


class _Bad(Exception):
    pass


def _filter(xml: bytes) -> tuple[str | None, set[str]]:
    """Parse, prune and re-serialise the root element in one pass of expat's events.

    Returns (the new text or None if nothing is removed, the removed codes); raises ``_Bad`` for anything
    it will not filter. The output is the one the ElementTree version of this filter gave (a tree built,
    pruned, then written out; ``test_xmp_golden.py`` pins its bytes), produced as the events arrive:

    - the tree's text and tails are its character data in document order, comments and PIs dropped;
      a removed element goes with its whole subtree and its tail (the text up to the next tag);
    - an element is written ``<q .../>`` when nothing (text or kept child) follows its start tag;
    - a name is written with the first prefix the document declares for its namespace; that declaration
      precedes every use of the namespace (expat reports it before the element's start, and rejects an
      unbound prefix and a '}' in a URI, so the name splits at its one '}'), so the prefix is final when
      the name is first written (``prefix_of`` only grows by ``setdefault``);
    - the root's start tag gets every declaration of the document, filled in once they are all known;
    - an element deeper than ``_MAX_DEPTH`` outside a removed subtree fails the packet (at any point of
      the parse, as failing later would: a bad packet gives the same result whatever else it holds).
    """
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise _Bad
    from pyexpat import ExpatError, ParserCreate

    out: list[str] = []
    append = out.append
    removed: set[str] = set()
    ns: list[tuple[str, str]] = []
    prefix_of: dict[str, str] = {_XML: "xml"}
    names: dict[str, tuple[str | None, str, str]] = {}  # name -> (code, qualified name, its end tag)
    stack: list[tuple[int, str]] = []  # open kept elements: (index of the start tag in out, its text)
    skip = 0  # > 0: inside a removed element, this many levels deep
    mute = False  # the text after a removed element is its tail, removed with it

    def name_info(name: str) -> tuple[str | None, str, str]:
        uri, sep, local = name.partition("}")
        q = (f"{p}:{local}" if (p := prefix_of[uri]) else local) if sep else name
        info = names[name] = (_classify(name), q, f"</{q}>")
        return info

    def start_ns(prefix: str | None, uri: str | None) -> None:
        ns.append((prefix or "", uri or ""))
        prefix_of.setdefault(uri or "", prefix or "")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal skip, mute
        if skip:
            skip += 1
            return
        mute = False
        code, q, _ = names.get(name) or name_info(name)
        if stack:  # the root is kept whatever its name
            if code:
                removed.add(code)
                skip = 1
                return
            if len(stack) > _MAX_DEPTH:
                raise _Bad
        tag = "<" + q
        for k, v in attrs.items():
            code, qk, _ = names.get(k) or name_info(k)
            if code:
                removed.add(code)
                continue
            if "&" in v or "<" in v or ">" in v:
                v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if '"' in v or "\n" in v or "\r" in v or "\t" in v:
                v = (
                    v.replace('"', "&quot;")
                    .replace("\n", "&#10;")
                    .replace("\r", "&#13;")
                    .replace("\t", "&#9;")
                )
            tag += f' {qk}="{v}"'
        stack.append((len(out), tag))
        append(tag + ">")

    def end(name: str) -> None:
        nonlocal skip, mute
        if skip:
            skip -= 1
            mute = not skip
            return
        mute = False
        at, tag = stack.pop()
        if len(out) == at + 1:
            out[at] = tag + "/>"
        else:
            append(names[name][2])

    def text(s: str) -> None:
        if skip or mute:
            return
        # Most text is whitespace between elements, most values plain words: kept as they are.
        if not s.isspace() and ("&" in s or "<" in s or ">" in s):
            s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        append(s)

    parser = ParserCreate(None, "}")
    parser.buffer_text = True  # one call per run of text, as the tree's text joins its pieces
    parser.StartNamespaceDeclHandler = start_ns
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(xml, True)
    except (ExpatError, ValueError, UnicodeError) as exc:
        raise _Bad from exc
    if not removed:
        return None, removed
    # The root's start tag, as written at its end (out[0] ends with ">" or "/>"), takes the declarations.
    decls = []
    seen: set[str] = set()
    for prefix, uri in ns:
        if prefix in seen:
            continue
        seen.add(prefix)
        decls.append(f' xmlns:{prefix}="{_esc_attr(uri)}"' if prefix else f' xmlns="{_esc_attr(uri)}"')
    root = out[0]
    cut = len(root) - (2 if root.endswith("/>") else 1)
    out[0] = root[:cut] + "".join(decls) + root[cut:]
    return "".join(out), removed


def _esc_attr(s: str) -> str:
    if "&" in s or "<" in s or ">" in s:
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if '"' in s or "\n" in s or "\r" in s or "\t" in s:
        s = s.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return s


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
        body, removed = _filter(data[a:b])
    except _Bad:
        return EMPTY_PACKET, {"xmp.unparseable"}
    if body is None:
        return None, set()
    return data[:a] + body.encode("utf-8") + data[b:], removed


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
    ):
        return False
    return bool(LOCATION_TEXT.search(data))
