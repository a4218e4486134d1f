"""Pipeline-wide size limits (one home; the media analyzers' own limits live in ``vision/limits.py`` and
``scrub``). Functions may lower the comment batch limits through their settings, never raise them above
these ceilings."""

from __future__ import annotations

MAX_COMMENT_BATCH_BYTES = 8 * 1024**2  # default for one comments/{post}/{batch}.jsonl upload
MAX_COMMENT_BATCH_CEILING = 64 * 1024**2  # what Act will ever read back of a batch
MAX_COMMENTS_PER_BATCH = 20_000
MAX_COMMENT_RESULTS_BYTES = 64 * 1024**2  # the staged per-comment results of one batch
MAX_KEY_BYTES = 1024  # S3's own limit on a key
# Step Functions carries at most 256 KiB of state; a state over it fails the execution with
# States.DataLimitExceeded, which no States.ALL catcher matches: no decision, no dead letter. ScanMedia's
# report is the one step output that grows with the content (faces, frames, labels): over its share it is
# refused (a held decision) instead; the scrub report, the event and the record take the rest.
STATE_MAX_BYTES = 256 * 1024
SCAN_REPORT_MAX_BYTES = 160 * 1024
# A post decision's evidence and signal spans (per field: caption, title, hashtags, location name) travel in
# the state twice (ClassifyPost's output and RecordDecision's item): past this, each field keeps its first
# spans only. One term repeated through a 5,000-character caption is ~1,000 spans (~100 KB) per field.
POST_SPANS_MAX_BYTES = 48 * 1024
