"""A prompt's files in object storage: its data package, the files unpacked from it, its answer.

Every key a prompt's files are kept under is named here, below ``prompts/<id>/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from ai_gateway.application.ports.data import ArchiveFile, FetchedData
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import ObjectRef, PromptResponse

UNTYPED = "application/octet-stream"


def _folder(prompt_id: str) -> str:
    return f"prompts/{prompt_id}"


class PromptFiles:
    """Keeps a prompt's files and links a downstream service to them."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def keep_data(
        self, prompt_id: str, data: FetchedData, files: Sequence[ArchiveFile]
    ) -> tuple[ObjectRef, ...]:
        """The data package as downloaded, then each file unpacked from it."""
        prefix = _folder(prompt_id)
        original = ObjectRef("original", f"{prefix}/data/original", len(data.content),
                             data.content_type or UNTYPED)  # fmt: skip
        await self._store.put(original.key, data.content, original.content_type)
        refs = [original]
        for file in files:
            ref = ObjectRef("file", f"{prefix}/data/files/{file.path}", len(file.data), UNTYPED)
            await self._store.put(ref.key, file.data, ref.content_type)
            refs.append(ref)
        return tuple(refs)

    async def keep_answer(self, prompt_id: str, response: PromptResponse) -> None:
        """The answer as a JSON object next to the prompt's data."""
        body = {"prompt_id": prompt_id, **response.to_json()}
        key = f"{_folder(prompt_id)}/response.json"
        await self._store.put(key, json.dumps(body).encode(), "application/json")

    async def links(self, prompt: Prompt, lifetime: timedelta) -> tuple[str, ...]:
        """Time-limited URLs to the prompt's files, for a store that can give them."""
        links = []
        for ref in prompt.objects:
            link = await self._store.link(ref.key, lifetime)
            if link is not None:
                links.append(link)
        return tuple(links)
