"""Download links to a prompt's data objects: for whoever may read the prompt, none for others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ai_gateway.application.errors import NotFound
from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.application.queries.prompt_downloads import (
    GetPromptDownloads,
    GetPromptDownloadsHandler,
)
from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import ObjectRef
from tests.fakes import InMemoryPromptRepository, MemoryObjectStore

OWNER = Principal("mosaic", AuthMethod.API_KEY, frozenset({"api"}))
OPERATOR = Principal("ops", AuthMethod.API_KEY, frozenset({"api", "admin"}), is_admin=True)
STRANGER = Principal("other", AuthMethod.API_KEY, frozenset({"api"}))


async def test_each_data_object_comes_with_a_link_that_expires() -> None:
    prompts = InMemoryPromptRepository()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    prompt = Prompt.create(owner=OWNER.owner, content="x", at=at)
    prompt.start_preparing(at)
    ref = ObjectRef("original", f"prompts/{prompt.id}/data/original", 3, "application/zip")
    prompt.mark_prepared(at, (ref,))
    await prompts.add(prompt)
    handler = GetPromptDownloadsHandler(prompts, MemoryObjectStore(), timedelta(minutes=5))

    for reader in (OWNER, OPERATOR):
        shown = await handler.handle(GetPromptDownloads(principal=reader, prompt_id=prompt.id))
        assert shown.prompt.id == prompt.id
        (download,) = shown.downloads
        assert download.ref == ref
        assert download.url == f"https://objects.test/{ref.key}?expires=300"
    with pytest.raises(NotFound):
        await handler.handle(GetPromptDownloads(principal=STRANGER, prompt_id=prompt.id))
