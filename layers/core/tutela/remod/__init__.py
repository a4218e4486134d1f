"""Re-moderation: judge stored uploads again after a policy, lexicon, bank or model change (``tutela
backfill``, the RemoderationStateMachine's backfill mode), and match earlier uploads' stored PDQ hashes
against hashes newly added to a bank (its retro mode).

Every re-moderation is a new decision item appended next to the ones it re-judges (``sk = {decision
sk}#remod#{ruleset}``, a conditional put: once per object version and ruleset), carried out in the stricter
direction only; a verdict that became looser is recorded as ``review`` for a human, never published.
"""
