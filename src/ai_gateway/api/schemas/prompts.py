"""Request and response bodies of the prompt endpoints, and the mapping from the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    UrlConstraints,
    computed_field,
)
from pydantic.alias_generators import to_camel

from ai_gateway.application.ports.prompts import Page
from ai_gateway.domain.history import ActionName
from ai_gateway.domain.item_review import ITEM_FIELDS, ItemReview, ReviewFlag
from ai_gateway.domain.limits import Priority
from ai_gateway.domain.prompt import DEFAULT_KIND, Prompt, PromptStatus
from ai_gateway.domain.values import KIND_PATTERN, DeliveryState

HttpUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048, allowed_schemes=["http", "https"])]
ShortText = Annotated[str, Field(max_length=256)]
Kind = Annotated[str, Field(pattern=KIND_PATTERN, examples=[DEFAULT_KIND])]
RequestId = Annotated[str, Field(min_length=1, max_length=128)]
Content = Annotated[str, Field(max_length=200_000)]
PromptPriority = Annotated[
    Priority | None,
    Field(
        description="`interactive` prompts of a caller go to the provider before its `batch` "
        "ones; unset, the caller's default (CALLER_LIMITS `priority`)."
    ),
]


class CreatePromptBody(BaseModel):
    """A generic prompt."""

    model_config = ConfigDict(extra="forbid")

    content: Annotated[Content, Field(min_length=1)]
    kind: Kind = DEFAULT_KIND
    context: dict[str, JsonValue] = Field(default_factory=dict)
    callback_url: HttpUrl | None = None
    data_url: HttpUrl | None = None
    request_id: RequestId | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    priority: PromptPriority = None


class CreateItemPromptBody(BaseModel):
    """The seed's item prompt: an exam item to review. Keys in snake_case or camelCase; unknown
    keys are ignored, as the original sample did."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    content: Content = ""
    callback_url: HttpUrl | None = None
    item_url: HttpUrl | None = Field(default=None, description="The item's supporting data (zip).")
    request_id: RequestId | None = None
    priority: PromptPriority = None
    user_id: ShortText | None = None
    form_qualified_name: ShortText | None = Field(
        default=None, examples=["Exam CCIE TEST v1 DES 1.1"]
    )
    form_id: ShortText | None = None
    module_id: ShortText | None = None
    item_id: ShortText | None = None
    item_bp: ShortText | None = Field(default=None, examples=["1.0 Blueprint Domain"])
    improve_stem: bool = True
    review_bp_mapping: bool = True
    review_technical_accuracy: bool = True
    improve_options: bool = True
    suggest_alternate_options: bool = True
    review_grammar: bool = True
    additional_context_input: Annotated[str, Field(max_length=20_000)] | None = None

    def item_review(self) -> ItemReview:
        """The domain's item review; its fields and flags name the ones declared here."""
        return ItemReview(
            **self.model_dump(include=set(ITEM_FIELDS)),
            reviews=frozenset(flag for flag in ReviewFlag if getattr(self, flag.value)),
        )


class CreatedPromptBody(BaseModel):
    id: str
    status: PromptStatus
    created_at: datetime
    request_id: str | None = None


class CreatedItemPromptBody(CreatedPromptBody):
    prompt_id: str = Field(description="The same as `id`, under the original sample's name.")


class FaultBody(BaseModel):
    code: str
    detail: str


class ResponseBody(BaseModel):
    content: str
    metadata: dict[str, JsonValue]
    sha256: str
    created_at: datetime | None


class UsageBody(BaseModel):
    """Provider tokens, as the provider reported them."""

    input_tokens: Annotated[int, Field(ge=0)]
    output_tokens: Annotated[int, Field(ge=0)]
    total_tokens: Annotated[int, Field(ge=0)]


class ObjectRefBody(BaseModel):
    role: str
    key: str
    size: int
    content_type: str


class DeliveryBody(BaseModel):
    webhook_id: str = Field(description="The same on every attempt: de-duplicate on it.")
    state: DeliveryState
    attempts: int
    last_status: str | None = Field(
        description="HTTP status of the last attempt, or why it failed."
    )
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None


class CallbackAttemptBody(BaseModel):
    at: datetime
    status: str = Field(description="The receiver's HTTP status, or why none came back.")
    status_code: int | None
    error: str | None = Field(description="Why the attempt got no HTTP status (e.g. `timeout`).")
    next_attempt_at: datetime | None = Field(description="When the next attempt was planned.")


class StepBody(BaseModel):
    status: PromptStatus
    at: datetime
    seconds: float | None = Field(description="How long the step lasted; null for the last.")


class ActionBody(BaseModel):
    name: ActionName
    actor: str = Field(description="Who acted: the caller's owner id (e.g. `jwt:operator`).")
    at: datetime


class PromptBody(BaseModel):
    id: str
    kind: str
    status: PromptStatus
    owner: str
    content: str
    context: dict[str, JsonValue]
    callback_url: str | None
    data_url: str | None
    request_id: str | None
    metadata: dict[str, JsonValue]
    priority: Priority
    caller: str | None = Field(description="The name the creator's limits go by.")
    timestamps: dict[PromptStatus, datetime] = Field(
        description="When the prompt entered each status."
    )
    fault: FaultBody | None
    response: ResponseBody | None
    usage: UsageBody | None = Field(description="The tokens the answer cost, once known.")
    objects: list[ObjectRefBody]
    delivery: DeliveryBody | None = Field(description="The callback's state, once one is due.")
    provider: str | None = Field(
        description="The GenAI provider the prompt went to (or goes to, after a fallback)."
    )
    waiting_for: str | None = Field(
        description="Why a prepared prompt is not submitted yet: `provider_quota` while it waits "
        "its turn at a paced provider."
    )
    waiting_until: datetime | None = Field(
        description="When a waiting prompt is expected to be submitted (an estimate)."
    )
    callback_attempts: list[CallbackAttemptBody] = Field(
        description="Every call to the callback URL, oldest first, across redeliveries."
    )
    timeline: list[StepBody] = Field(description="Every step, with its time and duration.")
    history: list[ActionBody] = Field(
        description="Actions taken on the prompt (cancel, redeliver, retry, requeue): who, when."
    )
    traceparent: str | None = Field(
        description="The W3C trace context of the request that created the prompt, when traced: "
        "its trace holds all of the prompt's work."
    )
    tracestate: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def estimated_wait_seconds(self) -> float | None:
        """Seconds until ``waiting_until``, as of this response."""
        if self.waiting_until is None:
            return None
        return max(0.0, round((self.waiting_until - datetime.now(UTC)).total_seconds(), 1))


class PromptSummaryBody(BaseModel):
    id: str
    kind: str
    owner: str
    status: PromptStatus
    request_id: str | None
    fault_code: str | None
    created_at: datetime
    updated_at: datetime


class PromptPageBody(BaseModel):
    items: list[PromptSummaryBody]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def prompt_page_body(page: Page[Prompt]) -> PromptPageBody:
    return PromptPageBody(
        items=[prompt_summary(p) for p in page.items], next_cursor=page.next_cursor
    )


def prompt_body(prompt: Prompt) -> PromptBody:
    """Read from the entity's attributes: every field, nested ones too, keeps the domain's name."""
    return PromptBody.model_validate(prompt, from_attributes=True)


def prompt_summary(prompt: Prompt) -> PromptSummaryBody:
    return PromptSummaryBody(
        id=prompt.id,
        kind=prompt.kind,
        owner=prompt.owner,
        status=prompt.status,
        request_id=prompt.request_id,
        fault_code=None if prompt.fault is None else prompt.fault.code,
        created_at=prompt.created_at,
        updated_at=prompt.updated_at,
    )
