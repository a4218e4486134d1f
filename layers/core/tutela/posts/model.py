"""A post's own text: ``posts/{post_id}.json`` (or ``posts/{post_id}/{name}.json``), parsed and validated.

Format (unknown fields are ignored and never published)::

    {"post_id": "p1", "caption": "...", "title": "...", "hashtags": ["..."],
     "location": {"name": "...", "lat": 48.8584, "lon": 2.2945}, "uploader": "..."}

Only ``caption`` is required (it may be empty). Each text field is cleaned by the comment line parser's rules
(invisible characters removed; bidirectional controls hold the post). What can be published is only what is
judged: post id, caption, title, hashtags, location name and coordinates rounded to the policy's decimals.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tutela.comments.lines import BOM, SURROGATE, DuplicateKeyError, parse_line, reject_duplicate_keys
from tutela.errors import InvalidInputError, LimitExceededError
from tutela.record import FrozenRecord

MAX_POST_ID_CHARS = 256


class Location(FrozenRecord):
    __slots__ = ("lat", "lon", "name")

    def __init__(self, name: str | None, lat: float | None, lon: float | None) -> None:
        self.name = name
        self.lat = lat
        self.lon = lon


class Post(FrozenRecord):
    __slots__ = ("caption", "hashtags", "location", "post_id", "title")

    def __init__(
        self,
        post_id: str,
        caption: str,
        title: str | None,
        hashtags: tuple[str, ...],
        location: Location | None,
    ) -> None:
        self.post_id = post_id
        self.caption = caption
        self.title = title
        self.hashtags = hashtags
        self.location = location

    def fields(self) -> list[tuple[str, str]]:
        """The judged texts, by field name (hashtags as one text, each with its ``#``)."""
        out = [("caption", self.caption)]
        if self.title is not None:
            out.append(("title", self.title))
        if self.hashtags:
            out.append(("hashtags", " ".join(f"#{h}" for h in self.hashtags)))
        if self.location is not None and self.location.name is not None:
            out.append(("location", self.location.name))
        return out

    def published(self, decimals: int) -> dict[str, Any]:
        """The post as published: the judged fields only, coordinates rounded to ``decimals``."""
        body: dict[str, Any] = {"post_id": self.post_id, "caption": self.caption}
        if self.title is not None:
            body["title"] = self.title
        if self.hashtags:
            body["hashtags"] = list(self.hashtags)
        loc = self.location
        if loc is not None:
            out: dict[str, Any] = {}
            if loc.name is not None:
                out["name"] = loc.name
            if loc.lat is not None and loc.lon is not None:
                out["lat"], out["lon"] = coarsen(loc.lat, decimals), coarsen(loc.lon, decimals)
            if out:
                body["location"] = out
        return body

    def precise_location(self, decimals: int) -> bool:
        """Coordinates finer than the policy publishes (what a stalker would need)."""
        loc = self.location
        if loc is None or loc.lat is None or loc.lon is None:
            return False
        return coarsen(loc.lat, decimals) != loc.lat or coarsen(loc.lon, decimals) != loc.lon


def coarsen(value: float, decimals: int) -> float:
    """Round to ``decimals`` (1 = ~11 km: city level). -0.0 is written as 0.0."""
    return round(value, decimals) + 0.0


def _text(obj: dict[str, Any], name: str, *, required: bool = False, max_chars: int) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise InvalidInputError(f"post has no {name}")
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"post {name} must be a string")
    return _clean(value, name, max_chars)


def _clean(value: str, name: str, max_chars: int) -> str:
    """The comment parser's cleaning: one parser decides what a text is, whoever wrote it."""
    if len(value) > max_chars:
        raise LimitExceededError(f"post {name} is longer than {max_chars} characters")
    if SURROGATE.search(value):  # what is published is UTF-8: a lone surrogate cannot be written
        raise InvalidInputError(f"post {name} is not valid Unicode (a lone surrogate)")
    parsed = parse_line(1, json.dumps({"text": value}), None)
    if parsed is None or parsed.text is None:
        code = parsed.code if parsed is not None else "invalid_comment"
        raise InvalidInputError(f"post {name} cannot be judged ({code})")
    return parsed.text


def _coordinate(value: Any, name: str, bound: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"post location {name} must be a number")
    if not -bound <= value <= bound:
        raise InvalidInputError(f"post location {name} is out of range")
    return float(value)


def parse_post(
    data: bytes, *, key_post: str | None, max_bytes: int, max_chars: int, max_hashtags: int
) -> Post:
    """Validate an uploaded post file. Raises InvalidInputError/LimitExceededError (held, with the reason)."""
    if len(data) > max_bytes:
        raise LimitExceededError(f"post file is {len(data)} bytes; the limit is {max_bytes}")
    try:
        # a leading UTF-8 byte order mark is not content (RFC 8259; as comment batches: split_batch)
        obj = json.loads(data.removeprefix(BOM).decode("utf-8"), object_pairs_hook=reject_duplicate_keys)
    except DuplicateKeyError:
        raise InvalidInputError("a key appears twice in the post") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInputError("post file is not valid UTF-8 JSON") from None
    if not isinstance(obj, dict):
        raise InvalidInputError("post file is not a JSON object")
    post_id = obj.get("post_id", key_post)
    if (
        not isinstance(post_id, str)
        or not post_id
        or len(post_id) > MAX_POST_ID_CHARS
        or SURROGATE.search(post_id)
    ):
        raise InvalidInputError("post_id must be a non-empty string")
    if key_post is not None and post_id != key_post:
        raise InvalidInputError("post_id does not match the object key")
    caption = _text(obj, "caption", required=True, max_chars=max_chars) or ""
    title = _text(obj, "title", max_chars=max_chars)
    raw_tags = obj.get("hashtags")
    tags: list[str] = []
    if raw_tags is not None:
        if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
            raise InvalidInputError("post hashtags must be a list of strings")
        if len(raw_tags) > max_hashtags:
            raise LimitExceededError(f"post has {len(raw_tags)} hashtags; the limit is {max_hashtags}")
        tags = [_clean(t.removeprefix("#"), "hashtag", max_chars) for t in raw_tags]
    location = None
    raw_loc = obj.get("location")
    if raw_loc is not None:
        if not isinstance(raw_loc, dict):
            raise InvalidInputError("post location must be an object")
        name = _text(raw_loc, "name", max_chars=max_chars)
        has_lat, has_lon = raw_loc.get("lat") is not None, raw_loc.get("lon") is not None
        if has_lat != has_lon:
            raise InvalidInputError("post location needs both lat and lon")
        lat = _coordinate(raw_loc["lat"], "lat", 90.0) if has_lat else None
        lon = _coordinate(raw_loc["lon"], "lon", 180.0) if has_lon else None
        location = Location(name, lat, lon)
    return Post(post_id, caption, title, tuple(tags), location)
