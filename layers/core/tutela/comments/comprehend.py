"""Optional production signal: Amazon Comprehend ``DetectToxicContent`` for English comments.

Off by default. The adapter takes an optional boto3 ``comprehend`` client and creates one
lazily on first use (no client creation or environment reads at import time). Its labels are
mapped to our categories and fused into the lexicon score as extra contributions; a failing
call raises :class:`ComprehendCallFailed` and the caller fails closed (``review``).
"""

from __future__ import annotations

from typing import Any

from tutela.errors import TutelaError
from tutela.record import Record

# Comprehend label -> our category. Only SEXUAL maps cleanly; the others are not this issue's
# categories (profanity, insults...) and are reported for provenance only.
LABEL_CATEGORIES: dict[str, str] = {"SEXUAL": "sexual_innuendo"}
MAX_SEGMENT_BYTES = 1000  # DetectToxicContent: each text segment is at most 1 KB (UTF-8)
MAX_SEGMENTS = 10


class ComprehendCallFailed(TutelaError):
    """DetectToxicContent could not be called or answered wrongly (throttling, network, permissions).

    Never retried and never raised out of the classifier: the comment is judged without Comprehend and
    held for review, marked ``degraded`` with this code. (It was ``ComprehendUnavailable``, a
    ``TransientError``: a name and base that promised a retry nothing ever made.)"""

    code = "comprehend_unavailable"  # the stored ``degraded`` value: unchanged


class ComprehendToxicity(Record):
    """Score English text with DetectToxicContent; ``threshold`` is the minimum label score used."""

    __slots__ = ("_client", "client", "language_code", "threshold")

    def __init__(self, client: Any = None, threshold: float = 0.5, language_code: str = "en") -> None:
        self.client = client
        self.threshold = threshold
        self.language_code = language_code
        self._client: Any = None

    def _get_client(self) -> Any:
        if self.client is not None:
            return self.client
        if self._client is None:
            from tutela.aws import clients

            self._client = clients.client("comprehend")  # the process's shared client (aws/clients.py)
        return self._client

    def labels(self, texts: list[str]) -> list[dict[str, float]]:
        """Label scores per text (one DetectToxicContent call per 10 texts)."""
        from botocore.exceptions import BotoCoreError, ClientError

        out: list[dict[str, float]] = []
        for i in range(0, len(texts), MAX_SEGMENTS):
            chunk = texts[i : i + MAX_SEGMENTS]
            segments = [
                {"Text": t.encode("utf-8")[:MAX_SEGMENT_BYTES].decode("utf-8", "ignore") or " "}
                for t in chunk
            ]
            try:
                resp = self._get_client().detect_toxic_content(
                    TextSegments=segments, LanguageCode=self.language_code
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "ClientError")
                raise ComprehendCallFailed(f"DetectToxicContent failed: {code}") from None
            except BotoCoreError as exc:
                raise ComprehendCallFailed(f"DetectToxicContent failed: {type(exc).__name__}") from None
            results = resp.get("ResultList", [])
            if len(results) != len(chunk):
                raise ComprehendCallFailed("DetectToxicContent returned a result list of the wrong length")
            for r in results:
                scores = {str(lab["Name"]): float(lab["Score"]) for lab in r.get("Labels", [])}
                out.append(scores)
        return out

    def contributions(self, labels: dict[str, float]) -> list[tuple[str, float, str]]:
        """``(category, weight, rule)`` for labels at or above the threshold."""
        return [
            (cat, round(labels[name], 4), f"comprehend.{name}")
            for name, cat in LABEL_CATEGORIES.items()
            if labels.get(name, 0.0) >= self.threshold
        ]
