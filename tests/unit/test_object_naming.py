"""The zip check and the object stores share one naming rule (table-driven)."""

from __future__ import annotations

import pytest

from ai_gateway.application.errors import PermanentFailure
from ai_gateway.integration.object_keys import InvalidObjectKey, checked_key
from ai_gateway.integration.zip_archive import ZipLimits, extract_zip
from tests.object_names import CLASHES, KEPT, REFUSED, zip_named

LIMITS = ZipLimits(max_entries=1000, max_total_bytes=200 * 1024 * 1024, max_ratio=100)
PREFIX = "prompts/" + "0" * 32 + "/data/files/"


@pytest.mark.parametrize("name", KEPT)
def test_a_name_the_zip_check_accepts_is_a_key_every_store_takes(name: str) -> None:
    (extracted,) = extract_zip(zip_named(name), LIMITS)
    assert extracted.path == name
    assert checked_key(PREFIX + extracted.path) == PREFIX + name


@pytest.mark.parametrize(("name", "code"), REFUSED)
def test_a_name_no_store_can_keep_is_refused_by_the_zip_check(name: str, code: str) -> None:
    with pytest.raises(PermanentFailure) as refused:
        extract_zip(zip_named("fine.txt", name), LIMITS)
    assert refused.value.code == code


@pytest.mark.parametrize("name", [name for name, _ in REFUSED])
def test_the_same_name_is_refused_by_the_stores_rule(name: str) -> None:
    with pytest.raises(InvalidObjectKey) as refused:
        checked_key(PREFIX + name)
    assert refused.value.code == "object_key_invalid"


@pytest.mark.parametrize("names", CLASHES)
def test_a_file_and_a_folder_of_one_name_are_refused(names: tuple[str, ...]) -> None:
    with pytest.raises(PermanentFailure) as refused:
        extract_zip(zip_named(*names), LIMITS)
    assert refused.value.code == "zip_name_clash"


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "a/./b", "a\\b", "x" * 901])
def test_the_stores_rule_refuses_keys_that_are_not_relative_paths_of_safe_segments(
    key: str,
) -> None:
    with pytest.raises(InvalidObjectKey):
        checked_key(key)
