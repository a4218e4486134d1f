"""Amazon Bedrock Runtime ``Converse`` for the comments' LLM stage (``tutela.comments.llm``).

The client has bounded timeouts and one retry, so the worst case of one call (``WORST_CALL_SECONDS``) is
known and the stage can refuse to start a call that would not finish inside the function's timeout. Every
failure becomes :class:`~tutela.comments.llm.LLMUnavailable` with a kind (``throttled``, ``timeout``,
``denied``, ``error:<code>``); messages never carry the request (it holds the comments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from tutela.comments.llm import LLMUnavailable, Reply

if TYPE_CHECKING:
    from botocore.config import Config

CONNECT_TIMEOUT_S = 2
# Non-streaming: the whole answer must arrive within it (25 comments' answer of at most 2,064 tokens at the
# ~150 tokens/s of a small model is ~14 s).
READ_TIMEOUT_S = 20
MAX_ATTEMPTS = 2  # the first call and one retry (botocore's standard mode: throttles and 5xx, with backoff)
# Two attempts of connect + read, plus standard mode's backoff between them (at most a few seconds here).
WORST_CALL_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + 4


@cache
def client_config() -> Config:
    """The client's bounds; one object per process (``tutela.aws.clients`` keys its cache on it). Made on
    first use: importing botocore.config loads most of botocore (~100 ms of ClassifyComments' INIT, which
    otherwise imports boto3 only with its first client)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    )


_THROTTLED = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
_TIMEOUT = {"ModelTimeoutException", "RequestTimeout"}
_DENIED = {"AccessDeniedException", "UnrecognizedClientException", "ResourceNotFoundException"}


@dataclass
class BedrockConverse:
    """``ask(system, user, max_tokens)`` -> :class:`Reply`, with temperature 0 (the same comment should get
    the same answer on a retry of the step)."""

    model_id: str
    client: Any = None
    _client: Any = field(default=None, init=False, repr=False)

    def _get_client(self) -> Any:
        if self.client is not None:
            return self.client
        if self._client is None:
            from tutela.aws import clients

            self._client = clients.client("bedrock-runtime", client_config())
        return self._client

    def ask(self, system: str, user: str, max_tokens: int) -> Reply:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            ReadTimeoutError,
        )

        try:
            resp = self._get_client().converse(
                modelId=self.model_id,
                system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": user}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": 0.0},
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            if code in _THROTTLED:
                raise LLMUnavailable("throttled") from None
            if code in _TIMEOUT:
                raise LLMUnavailable("timeout") from None
            if code in _DENIED:
                raise LLMUnavailable("denied") from None
            raise LLMUnavailable(f"error:{code}"[:60]) from None
        except (ReadTimeoutError, ConnectTimeoutError):
            raise LLMUnavailable("timeout") from None
        except BotoCoreError as exc:
            raise LLMUnavailable(f"error:{type(exc).__name__}"[:60]) from None
        return parse_reply(resp)


def parse_reply(resp: Any) -> Reply:
    """The text blocks of the assistant message, the stop reason and the billed usage. A response without
    them is a stop reason of its own (``no_text``), which the stage treats as an incomplete answer."""
    message = ((resp or {}).get("output") or {}).get("message") or {}
    parts = [b["text"] for b in message.get("content") or [] if isinstance(b, dict) and "text" in b]
    usage = (resp or {}).get("usage") or {}
    stop = str((resp or {}).get("stopReason") or "")
    return Reply(
        "".join(parts),
        stop if parts else "no_text",
        int(usage.get("inputTokens") or 0),
        int(usage.get("outputTokens") or 0),
    )
