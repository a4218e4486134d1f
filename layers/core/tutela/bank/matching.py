"""Match an upload's hashes against the banks under the policy's threshold and quality floor."""

from __future__ import annotations

from collections.abc import Sequence

from tutela.bank.index import BankIndex
from tutela.bank.model import BankMatch, MatchPolicy
from tutela.bank.pdq import PdqHash
from tutela.bank.vpdq import merge_matches


def match_hashes(index: BankIndex, hashes: Sequence[PdqHash], policy: MatchPolicy) -> list[BankMatch]:
    """Closest match per bank over every reliable hash; a low-quality hash (near-uniform image) never
    matches, because at low quality unrelated images collide within the threshold."""
    usable = [h.hex for h in hashes if h.quality >= policy.min_quality]
    return index.match(usable, policy.max_distance) if usable else []


def match_media(
    index: BankIndex, queries: Sequence[PdqHash], frames: Sequence[PdqHash], policy: MatchPolicy
) -> list[BankMatch]:
    """An upload against every bank: each hash in ``queries`` (an image's 8 rotations/flips, or a
    video's frames) against banked images, and ``frames`` as a whole against banked videos (vPDQ)."""
    images = match_hashes(index, queries, policy)
    videos = index.videos.match(frames, policy) if index.videos is not None else []
    return merge_matches(images, videos) if videos else images
