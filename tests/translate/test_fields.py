from __future__ import annotations

from typing import Any

import pytest

from keyproxy.errors import InvalidRequest
from keyproxy.translate.fields import asks, refuse_unhandled


@pytest.mark.parametrize("value", [None, False, 0, 0.0, "", [], {}])
def test_null_false_zero_and_empty_values_ask_for_nothing(value: Any) -> None:
    assert not asks("logit_bias", value)


@pytest.mark.parametrize("value", [True, 1, 0.5, "low", [1], {"1": 2}])
def test_other_values_ask_for_something(value: Any) -> None:
    assert asks("logit_bias", value)


def test_an_empty_web_search_options_still_asks_for_a_search() -> None:
    assert asks("web_search_options", {})


def test_an_unhandled_field_is_refused_naming_it_the_target_and_why() -> None:
    with pytest.raises(InvalidRequest, match=r"'seed' cannot be sent to Nowhere: it has no seeded sampling"):
        refuse_unhandled({"model": "m", "seed": 7}, {"model"}, "Nowhere")


def test_an_unknown_field_is_refused_as_having_no_equivalent() -> None:
    with pytest.raises(InvalidRequest, match="'min_p' cannot be sent to Nowhere: it has no equivalent"):
        refuse_unhandled({"min_p": 0.1}, set(), "Nowhere")
