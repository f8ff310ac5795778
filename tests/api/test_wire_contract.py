"""The published schema says what the domain says: a change in one is a change in the other."""

from __future__ import annotations

import inspect
from dataclasses import fields
from typing import Any

import httpx
import pytest
from pydantic.alias_generators import to_camel

from ai_gateway.api.schemas.limits import LimitsBody
from ai_gateway.api.schemas.prompts import (
    ActionBody,
    CallbackAttemptBody,
    CreatePromptBody,
    DeliveryBody,
    FaultBody,
    ObjectRefBody,
    PromptBody,
    ResponseBody,
    StepBody,
    UsageBody,
)
from ai_gateway.application.commands.create_prompt import CreatePrompt
from ai_gateway.domain.history import Action, TimedStep
from ai_gateway.domain.item_review import ITEM_FIELDS, ReviewFlag
from ai_gateway.domain.limits import CallerLimits
from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import (
    KIND_MAX_LENGTH,
    KIND_PATTERN,
    Delivery,
    DeliveryAttempt,
    Fault,
    ObjectRef,
    PromptResponse,
    TokenUsage,
)


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


def test_the_item_body_offers_every_review_flag_and_no_other(spec: dict[str, Any]) -> None:
    properties = schema(spec, "CreateItemPromptBody")["properties"]
    switches = {name: p for name, p in properties.items() if p.get("type") == "boolean"}
    assert set(switches) == {to_camel(flag.value) for flag in ReviewFlag}
    assert all(p["default"] is True for p in switches.values())


def test_the_item_body_carries_every_item_field(spec: dict[str, Any]) -> None:
    properties = schema(spec, "CreateItemPromptBody")["properties"]
    assert {to_camel(name) for name in ITEM_FIELDS} <= set(properties)


def test_a_kind_is_checked_at_the_door_as_the_domain_checks_it(spec: dict[str, Any]) -> None:
    assert schema(spec, "CreatePromptBody")["properties"]["kind"]["pattern"] == KIND_PATTERN
    listing = spec["paths"]["/api/prompts"]["get"]["parameters"]
    (kind,) = (p for p in listing if p["name"] == "kind")
    assert kind["schema"]["anyOf"][0]["maxLength"] == KIND_MAX_LENGTH


async def test_item_flags_left_out_ask_for_every_review(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/prompts/item", json={"itemId": "I-1", "reviewGrammar": False})
    flags = (await client.get(created.headers["location"])).json()["context"]["flags"]
    assert flags == {flag.value: flag is not ReviewFlag.REVIEW_GRAMMAR for flag in ReviewFlag}


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (FaultBody, Fault),
        (ResponseBody, PromptResponse),
        (ObjectRefBody, ObjectRef),
        (DeliveryBody, Delivery),
        (UsageBody, TokenUsage),
        (LimitsBody, CallerLimits),
    ],
)
def test_each_published_value_has_the_domains_fields(body: Any, value: Any) -> None:
    # A delivery's log is published on the prompt, as its callback_attempts.
    assert set(body.model_fields) == {f.name for f in fields(value)} - {"log"}


@pytest.mark.parametrize(
    ("body", "value", "derived"),
    [
        (CallbackAttemptBody, DeliveryAttempt, {"status_code", "error"}),
        (StepBody, TimedStep, set()),
        (ActionBody, Action, set()),
    ],
)
def test_each_published_record_has_the_domains_fields(
    body: Any, value: Any, derived: set[str]
) -> None:
    assert set(body.model_fields) == {f.name for f in fields(value)} | derived


def test_a_published_prompt_has_every_public_field_of_the_entity() -> None:
    public = {f.name for f in fields(Prompt) if not f.name.startswith("_")}
    # Its steps are published as a timeline, with durations; its delivery's log as attempts.
    published = public - {"steps"} | {"created_at", "updated_at", "timeline", "callback_attempts"}
    assert set(PromptBody.model_fields) == published


def test_a_new_prompt_takes_the_same_inputs_at_every_layer() -> None:
    derived = {"owner", "caller", "at", "prompt_id", "traceparent", "tracestate"}  # not its body
    entity = set(inspect.signature(Prompt.create).parameters) - derived
    command = {f.name for f in fields(CreatePrompt)} - {"principal", "idempotency_key"}
    assert set(CreatePromptBody.model_fields) == command == entity
