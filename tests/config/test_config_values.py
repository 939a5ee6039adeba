"""ValueReader: typed reads that collect a ConfigError naming the variable for every bad value."""

from __future__ import annotations

import pytest

from keyproxy.config.values import ValueReader, split_list


def test_missing_variable_gives_the_default() -> None:
    assert ValueReader({}).number("X", 2.5) == 2.5


def test_blank_variable_gives_the_default() -> None:
    reader = ValueReader({"X": "   "})

    assert reader.number("X", 2.5) == 2.5
    assert reader.errors == []


def test_number_is_parsed() -> None:
    assert ValueReader({"X": " 12.5 "}).number("X", 1.0) == 12.5


def test_non_number_is_an_error_naming_the_variable() -> None:
    reader = ValueReader({"X": "ten"})

    assert reader.number("X", 1.0) == 1.0
    assert [(error.variable, error.problem) for error in reader.errors] == [("X", "expected a number, got 'ten'")]


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf"])
def test_non_finite_number_is_an_error(raw: str) -> None:
    reader = ValueReader({"X": raw})

    reader.number("X", 1.0)

    assert [error.variable for error in reader.errors] == ["X"]


def test_number_below_minimum_is_an_error_saying_the_bound() -> None:
    reader = ValueReader({"X": "-1"})

    reader.number("X", 1.0, minimum=0.0)

    assert "at least 0" in reader.errors[0].problem


def test_number_at_strict_minimum_is_an_error() -> None:
    reader = ValueReader({"X": "0"})

    reader.number("X", 1.0, minimum=0.0, strict_min=True)

    assert "greater than 0" in reader.errors[0].problem


def test_number_at_inclusive_minimum_is_accepted() -> None:
    reader = ValueReader({"X": "0"})

    assert reader.number("X", 1.0, minimum=0.0) == 0.0
    assert reader.errors == []


def test_integer_is_parsed() -> None:
    assert ValueReader({"X": "42"}).integer("X", None) == 42


def test_fractional_integer_is_an_error_naming_the_variable() -> None:
    reader = ValueReader({"X": "1.5"})

    assert reader.integer("X", 7) == 7
    assert [(error.variable, error.problem) for error in reader.errors] == [("X", "expected a whole number, got '1.5'")]


def test_integer_below_minimum_is_an_error() -> None:
    reader = ValueReader({"X": "0"})

    assert reader.integer("X", 5, minimum=1) == 5
    assert "at least 1" in reader.errors[0].problem


def test_integer_above_maximum_is_an_error() -> None:
    reader = ValueReader({"X": "70000"})

    assert reader.integer("X", 5, maximum=65535) == 5
    assert "at most 65535" in reader.errors[0].problem


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " True "])
def test_true_words_read_as_true(raw: str) -> None:
    assert ValueReader({"X": raw}).flag("X", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off", ""])
def test_false_words_and_empty_read_as_false(raw: str) -> None:
    assert ValueReader({"X": raw}).flag("X", True) is False


def test_other_flag_value_is_an_error_naming_the_variable() -> None:
    reader = ValueReader({"X": "maybe"})

    assert reader.flag("X", False) is False
    assert [str(error) for error in reader.errors] == ["X: expected true or false, got 'maybe'"]


def test_choice_ignores_case() -> None:
    assert ValueReader({"X": "Sequential"}).choice("X", "a", {"sequential": "s"}) == "s"


def test_unknown_choice_is_an_error_listing_the_allowed_values() -> None:
    reader = ValueReader({"X": "random"})

    assert reader.choice("X", "b", {"balanced": "b", "sequential": "s"}) == "b"
    assert reader.errors[0].problem == "expected one of balanced, sequential, got 'random'"


def test_every_failure_is_collected() -> None:
    reader = ValueReader({"A": "x", "B": "y", "C": "z"})

    reader.number("A", 1.0)
    reader.integer("B", 1)
    reader.flag("C", False)

    assert [error.variable for error in reader.errors] == ["A", "B", "C"]


def test_split_list_trims_items_and_drops_empty_ones() -> None:
    assert split_list(" a , b*,, ,c ") == ("a", "b*", "c")


@pytest.mark.parametrize("raw", [None, "", " , "])
def test_split_list_of_nothing_is_empty(raw: str | None) -> None:
    assert split_list(raw) == ()
