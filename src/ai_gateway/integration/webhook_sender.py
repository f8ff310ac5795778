"""Calling clients back: a structured-mode CloudEvent, signed per Standard Webhooks.

The body is ``application/cloudevents+json``; its ``id`` is the ``webhook-id``, the same on every
attempt, so a receiver de-duplicates on either. ``webhook-signature`` is HMAC-SHA256 (``v1``) over
``{webhook-id}.{webhook-timestamp}.{body}`` with the secret of the prompt's owner, or the default.
The request goes through the egress guard, follows no redirect, and waits at most ``timeout``.
Only a URL on a configured Mosaic callback path carries the Mosaic API's token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from standardwebhooks import Webhook

from ai_gateway import __version__
from ai_gateway.application.errors import PermanentFailure, TransientFailure
from ai_gateway.application.ports.callbacks import CallbackOutcome
from ai_gateway.domain.events import prompt_event_type
from ai_gateway.domain.prompt import Prompt, PromptStatus
from ai_gateway.integration.mosaic_access import MosaicAccess
from ai_gateway.integration.prompt_codec import prompt_json
from ai_gateway.integration.retry_after import retry_after
from ai_gateway.integration.safe_http import SafeHttp

_FORMAT = JSONFormat()


_CALLBACK_FIELDS: Final = ("kind", "status", "request_id", "response", "fault")


def callback_payload(prompt: Prompt) -> dict[str, Any]:
    return {
        "prompt_id": prompt.id,
        **prompt_json(prompt, _CALLBACK_FIELDS),
        # A redelivery finds the prompt RESPONDED; the receiver is told the outcome it receives.
        "status": PromptStatus.FAULTED.value if prompt.fault else PromptStatus.COMPLETED.value,
        "links": {"self": f"/api/prompts/{prompt.id}"},
    }


class SignedWebhookSender:
    def __init__(
        self,
        http: SafeHttp,
        *,
        default_secret: str,
        secrets: Mapping[str, str],
        source: str,
        type_prefix: str,
        timeout_seconds: float,
        mosaic: MosaicAccess | None = None,
    ) -> None:
        self._http = http
        self._default = Webhook(default_secret)
        self._by_owner = {owner: Webhook(secret) for owner, secret in secrets.items()}
        self._source = source
        self._prefix = type_prefix
        self._timeout = timeout_seconds
        self._mosaic = mosaic

    def __repr__(self) -> str:
        return f"SignedWebhookSender(source={self._source!r}, own secrets={len(self._by_owner)})"

    def body(self, prompt: Prompt, webhook_id: str) -> bytes:
        step = "faulted" if prompt.fault else "response"
        event = CloudEvent(
            attributes={
                "type": prompt_event_type(self._prefix, step),
                "source": self._source,
                "id": webhook_id,
                "subject": prompt.id,
                "time": prompt.updated_at,
                "datacontenttype": "application/json",
            },
            data=callback_payload(prompt),
        )
        message: bytes = ce_http.to_structured(event, _FORMAT).body
        return message

    async def send(self, prompt: Prompt, webhook_id: str) -> CallbackOutcome:
        assert prompt.callback_url is not None  # noqa: S101 - the deliver step checked it
        body = self.body(prompt, webhook_id)
        now = datetime.now(UTC)  # standardwebhooks needs UTC (it replaces tzinfo, not converts)
        signer = self._by_owner.get(prompt.owner, self._default)
        headers = {
            "Content-Type": "application/cloudevents+json",
            "User-Agent": f"ai-gateway/{__version__}",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(webhook_id, now, body.decode()),
        }
        try:
            response = await self._http.post(
                prompt.callback_url,
                content=body,
                headers=headers,
                timeout_seconds=self._timeout,
                credentials=self._mosaic.callback_headers if self._mosaic else None,
            )
        except PermanentFailure as refused:  # the URL itself is refused: retrying cannot help
            return CallbackOutcome(delivered=False, status=refused.code, final=True)
        except TransientFailure as failed:
            return CallbackOutcome(delivered=False, status=failed.code)
        status = response.status_code
        return CallbackOutcome(
            delivered=200 <= status < 300,
            status=str(status),
            final=status == 410,
            retry_after=retry_after(response) if status in {429, 503} else None,
        )
