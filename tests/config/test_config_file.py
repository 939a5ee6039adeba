"""The YAML config file: where it is found, its variables at the lowest precedence, its aliases and their errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from keyproxy.config import (
    Alias,
    CliOptions,
    ConfigReport,
    build_settings,
    inspect_config,
    load_settings,
    parse_config,
)
from keyproxy.config.prices import Price
from keyproxy.errors import InvalidConfiguration

KEY_A = "sk-aaaaaaaaaaaaaaaaaaaa0001"
KEY_B = "gsk-bbbbbbbbbbbbbbbbbbbb0002"
PROVIDERS = {"OPENAI_API_KEY": KEY_A, "GROQ_API_KEY": KEY_B}

_CONFIG_VARIABLE = re.compile(
    r"_API_KEY|_API_BASE|^KEYPROXY_|TIMEOUT|^ROTATION_|CONCURREN|^QUOTA_GROUPS_|_MODELS_|^OVERRIDE_TEMPERATURE|OAUTH"
)


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if _CONFIG_VARIABLE.search(name) or name == "PROXY_API_KEY":
            monkeypatch.delenv(name)
    return monkeypatch


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def build(
    text: str, values: Mapping[str, str] | None = None, options: CliOptions | None = None, label: str = "keyproxy.yaml"
) -> ConfigReport:
    config = parse_config(yaml(text), label)
    return build_settings(PROVIDERS if values is None else values, options or CliOptions(), config=config)


def errors(text: str, values: Mapping[str, str] | None = None) -> list[str]:
    return [str(error) for error in build(text, values).errors]


def aliases(text: str, values: Mapping[str, str] | None = None) -> dict[str, Alias]:
    report = build(text, values)
    assert report.errors == ()
    return dict(report.settings.aliases)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml(text), encoding="utf-8")
    return path


# Finding and reading the file


def test_config_flag_names_the_file_to_read(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "keyproxy.yaml", "variables:\n  OPENAI_API_KEY: sk-from-the-config-file-01\n")

    found = load_settings(CliOptions(config_file=path), cwd=tmp_path)

    assert list(found.providers) == ["openai"]


def test_keyproxy_config_in_the_environment_names_the_file(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "keyproxy.yaml", "variables:\n  OPENAI_API_KEY: sk-from-the-config-file-01\n")
    environ.setenv("KEYPROXY_CONFIG", str(path))

    assert load_settings(CliOptions(), cwd=tmp_path).config_file == path


def test_keyproxy_config_in_the_env_file_names_the_file(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    write(tmp_path / "conf.yaml", "variables:\n  OPENAI_API_KEY: sk-from-the-config-file-01\n")
    write(tmp_path / ".env", "KEYPROXY_CONFIG=conf.yaml\n")

    assert load_settings(CliOptions(), cwd=tmp_path).config_file == tmp_path / "conf.yaml"


def test_config_flag_wins_over_keyproxy_config(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    flagged = write(tmp_path / "flag.yaml", "variables: {}\n")
    environ.setenv("KEYPROXY_CONFIG", str(write(tmp_path / "env.yaml", "variables: {}\n")))

    assert load_settings(CliOptions(config_file=flagged), cwd=tmp_path).config_file == flagged


def test_relative_config_path_resolves_against_cwd(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    write(tmp_path / "conf" / "keyproxy.yaml", "variables: {}\n")

    found = load_settings(CliOptions(config_file=Path("conf/keyproxy.yaml")), cwd=tmp_path)

    assert found.config_file == tmp_path / "conf" / "keyproxy.yaml"


def test_without_a_config_file_there_are_no_aliases(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    found = load_settings(CliOptions(), cwd=tmp_path)

    assert (found.config_file, dict(found.aliases)) == (None, {})


def test_missing_config_file_is_an_error_naming_the_flag(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    report = inspect_config(CliOptions(config_file=Path("absent.yaml")), cwd=tmp_path)

    assert [str(error) for error in report.errors] == [f"--config: no such file: {tmp_path / 'absent.yaml'}"]


def test_missing_file_named_by_keyproxy_config_is_an_error_naming_it(
    tmp_path: Path, environ: pytest.MonkeyPatch
) -> None:
    environ.setenv("KEYPROXY_CONFIG", "absent.yaml")

    report = inspect_config(CliOptions(), cwd=tmp_path)

    assert [error.variable for error in report.errors] == ["KEYPROXY_CONFIG"]


def test_unreadable_config_file_is_an_error_naming_the_flag(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    (tmp_path / "keyproxy.yaml").mkdir()

    report = inspect_config(CliOptions(config_file=Path("keyproxy.yaml")), cwd=tmp_path)

    assert [error.variable for error in report.errors] == ["--config"]
    assert "cannot read" in report.errors[0].problem


def test_config_file_that_is_not_utf8_is_an_error_naming_file_and_line(
    tmp_path: Path, environ: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keyproxy.yaml").write_bytes(b"variables:\n  A: \xff\n")

    report = inspect_config(CliOptions(config_file=Path("keyproxy.yaml")), cwd=tmp_path)

    assert [error.variable for error in report.errors] == ["keyproxy.yaml line 2"]


def test_config_file_errors_are_collected_with_the_other_errors(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "keyproxy.yaml", "colour: blue\n")
    environ.setenv("GLOBAL_TIMEOUT", "0")

    with pytest.raises(InvalidConfiguration) as caught:
        load_settings(CliOptions(config_file=path), cwd=tmp_path)

    assert [error.variable for error in caught.value.errors] == [f"{path}: colour", "GLOBAL_TIMEOUT"]


def test_yaml_is_imported_only_when_a_config_file_is_read() -> None:
    code = (
        "import sys\n"
        "from keyproxy.config import CliOptions, build_settings\n"
        "build_settings({'OPENAI_API_KEY': 'sk-x'}, CliOptions())\n"
        "print('yaml' in sys.modules)\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)

    assert result.stdout.strip() == "False"


# The document


def test_empty_file_is_an_empty_configuration() -> None:
    config = parse_config("# nothing yet\n", "keyproxy.yaml")

    assert (dict(config.variables), config.aliases, config.errors) == ({}, None, ())


def test_file_that_is_not_a_mapping_is_an_error_naming_the_file() -> None:
    assert errors("- variables\n- aliases\n") == [
        "keyproxy.yaml: expected a mapping with the keys aliases, variables, prices, got a list"
    ]


def test_unknown_top_level_key_is_an_error_naming_it() -> None:
    assert errors("variables: {}\nalias: {}\n") == [
        "keyproxy.yaml: alias: unknown key; expected one of aliases, variables, prices"
    ]


def test_yaml_syntax_error_names_the_file_and_line() -> None:
    report = build("variables:\n  A: 1\naliases:\n  coding: [openai/gpt-4o\n  fast: x\n")

    assert [error.variable for error in report.errors] == ["keyproxy.yaml line 5"]
    assert report.errors[0].problem.startswith("invalid YAML: ")


def test_duplicate_key_is_an_error_naming_the_line() -> None:
    text = "aliases:\n  coding: [openai/gpt-4o]\n  coding: [groq/llama-3.3-70b-versatile]\n"

    assert errors(text) == ["keyproxy.yaml line 3: duplicate key 'coding'"]


def test_recursive_anchor_does_not_hang_the_duplicate_check() -> None:
    assert "keyproxy.yaml: aliases.coding: missing targets" in errors("aliases: &loop\n  coding: *loop\n")


# Variables


def test_numbers_and_booleans_become_strings() -> None:
    config = parse_config(yaml("variables:\n  A: 60\n  B: 0.5\n  C: true\n  D: off\n  E: text\n"))

    assert dict(config.variables) == {"A": "60", "B": "0.5", "C": "true", "D": "false", "E": "text"}


def test_variable_without_a_value_is_empty() -> None:
    assert dict(parse_config("variables:\n  OPENAI_API_KEY_1:\n").variables) == {"OPENAI_API_KEY_1": ""}


def test_file_variable_applies_when_nothing_else_sets_it() -> None:
    assert build("variables:\n  GLOBAL_TIMEOUT: 60\n").settings.timeouts.total == 60.0


def test_environment_wins_over_file_variables(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "keyproxy.yaml", "variables:\n  GLOBAL_TIMEOUT: 60\n")
    environ.setenv("GLOBAL_TIMEOUT", "45")

    assert load_settings(CliOptions(config_file=path), cwd=tmp_path).timeouts.total == 45.0


def test_env_file_wins_over_file_variables(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "keyproxy.yaml", "variables:\n  GLOBAL_TIMEOUT: 60\n")
    write(tmp_path / ".env", "GLOBAL_TIMEOUT=45\n")

    assert load_settings(CliOptions(config_file=path), cwd=tmp_path).timeouts.total == 45.0


def test_cli_flag_wins_over_file_variables() -> None:
    assert build("variables:\n  KEYPROXY_PORT: 9100\n", options=CliOptions(port=9200)).settings.port == 9200


def test_invalid_file_variable_is_an_error_naming_the_variable() -> None:
    assert [error.variable for error in build("variables:\n  GLOBAL_TIMEOUT: soon\n").errors] == ["GLOBAL_TIMEOUT"]


def test_file_variables_that_are_not_a_mapping_are_an_error() -> None:
    assert errors("variables: [A, B]\n") == ["keyproxy.yaml: variables: expected a mapping of NAME: value, got a list"]


def test_list_valued_variable_is_an_error_naming_it() -> None:
    assert errors("variables:\n  IGNORE_MODELS_OPENAI: [a, b]\n") == [
        "keyproxy.yaml: variables.IGNORE_MODELS_OPENAI: expected a string, number or boolean, got a list"
    ]


@pytest.mark.parametrize("name", ["1ST_KEY", "OPENAI-API-KEY", "42"])
def test_invalid_variable_name_is_an_error_naming_it(name: str) -> None:
    assert [error.variable for error in build(f"variables:\n  {name}: x\n").errors] == [
        f"keyproxy.yaml: variables.{name}"
    ]


def test_config_file_cannot_name_another_config_file() -> None:
    assert [error.variable for error in build("variables:\n  KEYPROXY_CONFIG: other.yaml\n").errors] == [
        "keyproxy.yaml: variables.KEYPROXY_CONFIG"
    ]


# Aliases


def test_alias_as_a_list_tries_its_targets_in_order() -> None:
    found = aliases("aliases:\n  coding:\n    - openai/gpt-4o\n    - groq/llama-3.3-70b-versatile\n")

    assert found == {"coding": Alias("coding", ("openai/gpt-4o", "groq/llama-3.3-70b-versatile"))}


def test_alias_as_a_mapping_can_fall_back_on_context_length() -> None:
    found = aliases("aliases:\n  fast:\n    targets: [groq/llama-3.3-70b-versatile]\n    on_context_length: true\n")

    assert found["fast"].on_context_length is True


def test_alias_does_not_fall_back_on_context_length_by_default() -> None:
    assert aliases("aliases:\n  fast:\n    targets: [openai/gpt-4o-mini]\n")["fast"].on_context_length is False


def test_target_model_may_contain_slashes() -> None:
    found = aliases("aliases:\n  llama: [openrouter/meta-llama/llama-3.3-70b]\n", {"OPENROUTER_API_KEY": KEY_A})

    assert found["llama"].targets == ("openrouter/meta-llama/llama-3.3-70b",)


def test_target_may_use_a_provider_defined_in_the_file_variables() -> None:
    text = "variables:\n  LOCAL_API_BASE: http://127.0.0.1:11434/v1\naliases:\n  small: [local/llama3]\n"

    assert aliases(text, {})["small"].targets == ("local/llama3",)


def test_target_may_use_the_demo_provider() -> None:
    report = build("aliases:\n  echo: [demo/fake-chat]\n", {}, CliOptions(demo=True))

    assert (report.errors, report.settings.aliases["echo"].targets) == ((), ("demo/fake-chat",))


def test_target_without_a_provider_is_an_error_naming_file_and_key_path() -> None:
    assert errors("aliases:\n  coding:\n    - openai/gpt-4o\n    - gpt-4\n") == [
        'keyproxy.yaml: aliases.coding[1]: expected "provider/model", got "gpt-4"'
    ]


@pytest.mark.parametrize(("target", "shown"), [("openai/", '"openai/"'), ("/gpt-4o", '"/gpt-4o"'), ("42", "42")])
def test_target_missing_a_part_or_not_text_is_an_error(target: str, shown: str) -> None:
    assert errors(f"aliases:\n  coding: [{target}]\n") == [
        f'keyproxy.yaml: aliases.coding[0]: expected "provider/model", got {shown}'
    ]


def test_target_of_a_provider_that_is_not_configured_is_an_error_listing_the_configured_ones() -> None:
    assert errors("aliases:\n  coding: [mistral/mistral-large]\n") == [
        'keyproxy.yaml: aliases.coding[0]: provider "mistral" is not configured (configured: groq, openai)'
    ]


def test_target_spelled_with_a_provider_alias_suggests_its_own_name() -> None:
    problems = errors("aliases:\n  nim: [nvidia/llama]\n", {"NVIDIA_API_KEY": KEY_A})

    assert problems == [
        'keyproxy.yaml: aliases.nim[0]: provider "nvidia" is not configured; did you mean "nvidia_nim/llama"?'
    ]


def test_mapping_targets_errors_name_the_targets_path() -> None:
    assert [error.variable for error in build("aliases:\n  fast:\n    targets: [gpt-4]\n").errors] == [
        "keyproxy.yaml: aliases.fast.targets[0]"
    ]


def test_alias_without_targets_is_an_error() -> None:
    assert errors("aliases:\n  coding: []\n") == ["keyproxy.yaml: aliases.coding: needs at least one target"]


def test_mapping_alias_without_targets_key_is_an_error() -> None:
    assert errors("aliases:\n  fast:\n    on_context_length: true\n") == [
        "keyproxy.yaml: aliases.fast: missing targets"
    ]


def test_repeated_target_is_an_error_naming_the_repeat() -> None:
    assert errors("aliases:\n  coding: [openai/gpt-4o, groq/x, openai/gpt-4o]\n") == [
        'keyproxy.yaml: aliases.coding[2]: repeats "openai/gpt-4o"'
    ]


def test_alias_name_with_a_slash_is_an_error() -> None:
    assert [error.variable for error in build("aliases:\n  team/coding: [openai/gpt-4o]\n").errors] == [
        "keyproxy.yaml: aliases.team/coding"
    ]


def test_empty_alias_name_is_an_error() -> None:
    assert errors('aliases:\n  "": [openai/gpt-4o]\n') == ["keyproxy.yaml: aliases.: an alias name must not be empty"]


def test_alias_name_that_is_not_text_is_an_error() -> None:
    assert [error.variable for error in build("aliases:\n  2025: [openai/gpt-4o]\n").errors] == [
        "keyproxy.yaml: aliases.2025"
    ]


def test_alias_named_like_a_configured_provider_is_an_error() -> None:
    assert errors("aliases:\n  groq: [openai/gpt-4o]\n") == [
        "keyproxy.yaml: aliases.groq: groq is also the name of a configured provider; choose another alias name"
    ]


def test_unknown_key_in_an_alias_is_an_error_naming_it() -> None:
    assert errors("aliases:\n  fast:\n    targets: [openai/gpt-4o]\n    retries: 3\n") == [
        "keyproxy.yaml: aliases.fast.retries: unknown key; expected on_context_length or targets"
    ]


def test_on_context_length_that_is_not_a_boolean_is_an_error() -> None:
    assert errors("aliases:\n  fast:\n    targets: [openai/gpt-4o]\n    on_context_length: sometimes\n") == [
        'keyproxy.yaml: aliases.fast.on_context_length: expected true or false, got "sometimes"'
    ]


def test_alias_given_one_string_instead_of_a_list_is_an_error() -> None:
    assert errors("aliases:\n  coding: openai/gpt-4o\n") == [
        'keyproxy.yaml: aliases.coding: expected a list of "provider/model" targets, got "openai/gpt-4o"'
    ]


def test_aliases_that_are_not_a_mapping_are_an_error() -> None:
    assert errors("aliases: [openai/gpt-4o]\n") == [
        "keyproxy.yaml: aliases: expected a mapping of alias name to targets, got a list"
    ]


def test_invalid_alias_is_left_out_and_the_valid_ones_kept() -> None:
    report = build("aliases:\n  good: [openai/gpt-4o]\n  bad: [gpt-4]\n")

    assert (len(report.errors), list(report.settings.aliases)) == (1, ["good"])


def test_every_invalid_target_is_reported() -> None:
    assert len(errors("aliases:\n  coding: [gpt-4, mistral/x, openai/]\n  fast: [y]\n")) == 4


def test_target_hidden_by_the_model_filters_is_a_warning() -> None:
    report = build("aliases:\n  coding: [openai/gpt-4o]\n", {**PROVIDERS, "IGNORE_MODELS_OPENAI": "gpt-4o*"})

    assert report.errors == ()
    assert report.settings.warnings == (
        "keyproxy.yaml: aliases.coding[0]: openai/gpt-4o is hidden by the model filters of openai; never tried",
    )


def test_prices_are_read_and_validated() -> None:
    good = parse_config('prices:\n  "openai/gpt-4o": {input: 2.5, output: 10}\n', "keyproxy.yaml")
    assert good.prices == {"openai/gpt-4o": Price(2.5, 10.0)}
    bad = parse_config('prices:\n  "openai/gpt-4o": {input: cheap}\n', "keyproxy.yaml")
    assert bad.errors and "openai/gpt-4o" in str(bad.errors[0])
