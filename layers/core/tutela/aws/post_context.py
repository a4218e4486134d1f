"""A post's context in the decisions table: monotone flags and the post's members (boto3 side).

Items, all under ``pk = post#{post_id}`` (no ``post_id``/``queue`` attribute, so no index sees them):

- ``sk = flag#{name}`` (a post's text: one per flag, so PostContext knows which it raised first) or
  ``sk = flag#{name}+{name}...`` (a media decision: every flag it implies in one item, one write unit
  instead of up to three). Conditional puts: the first writer's source is kept. A flag item is never updated
  or deleted - the table is append-only - so the context can only become stricter. Reading the context is
  one strongly consistent Query of a handful of small items (the union of their names): O(1) per post.
- ``sk = member#{obj pk}#{version}`` (a long pk by its hash: ``tutela.decision.key_part``): each media
  object / comment batch whose decision a later caption may have to re-evaluate. A member is written
  *before* its writer reads the flags, and a caption raises its flag *before* it lists the members, so of
  two concurrent writers at least one sees the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tutela.aws.store import TableAdapter
from tutela.decision import decided_at, key_part, object_keys, to_dynamo
from tutela.objects import ObjectRef
from tutela.posts.context import FLAGS, comment_context, floor_media, raised_by

if TYPE_CHECKING:
    pass


def post_pk(post_id: str) -> str:
    return f"post#{post_id}"


def member_sk(ref: ObjectRef) -> str:
    keys = object_keys(ref)
    return f"member#{key_part(keys['pk'])}#{keys['sk']}"


class PostContextStore(TableAdapter):
    def _put_new(self, item: dict[str, Any]) -> bool:
        """Conditional put; False when the key exists (its first content is kept)."""
        try:
            self.table.put_item(Item=to_dynamo(item), ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False

    def flags(self, post_id: str) -> frozenset[str]:
        from boto3.dynamodb.conditions import Key  # boto3 on first use, not at INIT (cold start)

        resp = self.table.query(
            KeyConditionExpression=Key("pk").eq(post_pk(post_id)) & Key("sk").begins_with("flag#"),
            ConsistentRead=True,
            ProjectionExpression="sk",
        )
        names = {n for i in resp.get("Items", []) for n in str(i["sk"]).removeprefix("flag#").split("+")}
        return frozenset(names & set(FLAGS))

    def raise_together(
        self, post_id: str, names: Iterable[str], *, source: ObjectRef, expires_at: int | None = None
    ) -> bool:
        """Set several flags with one conditional put (idempotent: the same set again writes nothing new).
        True when this call wrote the item."""
        wanted = sorted(set(names))
        if any(name not in FLAGS for name in wanted):
            raise ValueError(f"unknown post flag in {wanted!r}")
        item = {
            "pk": post_pk(post_id),
            "sk": "flag#" + "+".join(wanted),
            "kind": "post_flag",
            "source": object_keys(source),
            "raised_at": decided_at(),
            "expires_at": expires_at,
        }
        return self._put_new({k: v for k, v in item.items() if v is not None})

    def raise_flags(
        self, post_id: str, names: Iterable[str], *, source: ObjectRef, expires_at: int | None = None
    ) -> list[str]:
        """Set each flag (idempotent); returns the ones this call set first."""
        first: list[str] = []
        keys = object_keys(source)
        for name in sorted(set(names)):
            if name not in FLAGS:
                raise ValueError(f"unknown post flag {name!r}")
            item = {
                "pk": post_pk(post_id),
                "sk": f"flag#{name}",
                "kind": "post_flag",
                "source": keys,
                "raised_at": decided_at(),
                "expires_at": expires_at,
            }
            if self._put_new({k: v for k, v in item.items() if v is not None}):
                first.append(name)
        return first

    def register(self, post_id: str, ref: ObjectRef, kind: str, *, expires_at: int | None = None) -> None:
        keys = object_keys(ref)
        item = {
            "pk": post_pk(post_id),
            "sk": member_sk(ref),
            "kind": "post_member",
            "member_kind": kind,
            "bucket": ref.bucket,
            "key": ref.key,
            "version_id": ref.version_label,
            "decision": keys,
            "expires_at": expires_at,
        }
        self._put_new({k: v for k, v in item.items() if v is not None})

    def members(self, post_id: str) -> Iterator[dict[str, Any]]:
        yield from self.query(post_pk(post_id), "member#")


# ---------------------------------------------------------------------- what the handlers call
def media_context(store: PostContextStore, ref: ObjectRef, decision: dict[str, Any]) -> dict[str, Any]:
    """Before a media decision is recorded: register it as a member of its post, then read the flags; if the
    post's text declares a child, the decision is recorded with the minor floor (never lowered)."""
    if decision.get("kind") != "media" or not ref.post_id or ref.route != "media":
        return decision
    store.register(ref.post_id, ref, "media")
    if "text_minor" in store.flags(ref.post_id):
        return floor_media(decision)
    return decision


def batch_context(store: PostContextStore, ref: ObjectRef) -> bool | None:
    """A comment batch's minor context: register it as a member first, then read the flags."""
    if not ref.post_id:
        return None
    store.register(ref.post_id, ref, "comments")
    return comment_context(store.flags(ref.post_id))


def raise_for(
    store: PostContextStore, ref: ObjectRef, decision: dict[str, Any], *, expires_at: int | None = None
) -> list[str]:
    """After a decision is recorded: raise the flags it implies on its post. A post's text raises each flag
    on its own item and returns the ones it raised first; a media decision raises all of its flags in one
    item (returned when this call wrote it)."""
    if not ref.post_id:
        return []
    names = raised_by(decision, ref.route)
    if not names:
        return []
    if decision.get("kind") == "post":
        return store.raise_flags(ref.post_id, names, source=ref, expires_at=expires_at)
    written = store.raise_together(ref.post_id, names, source=ref, expires_at=expires_at)
    return sorted(names) if written else []
