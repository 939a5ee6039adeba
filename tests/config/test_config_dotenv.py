"""The `.env` reader: what python-dotenv accepts in the old proxy's files, and errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyproxy.config.dotenv import parse_dotenv, read_dotenv
from keyproxy.errors import ConfigError


def test_comments_and_blank_lines_are_skipped() -> None:
    text = "# a comment\n\n   \n  # indented comment\nA=1\n"

    assert parse_dotenv(text) == {"A": "1"}


def test_export_prefix_is_accepted() -> None:
    assert parse_dotenv("export GEMINI_API_KEY_1=abc\n") == {"GEMINI_API_KEY_1": "abc"}


def test_spaces_around_name_equals_and_value_are_trimmed() -> None:
    assert parse_dotenv("  A =  value  \n") == {"A": "value"}


def test_empty_value_is_an_empty_string() -> None:
    assert parse_dotenv("A=\nB=''\nC=\"\"\n") == {"A": "", "B": "", "C": ""}


def test_single_quoted_value_is_taken_literally() -> None:
    assert parse_dotenv("A='x\\ny # not a comment'\n") == {"A": "x\\ny # not a comment"}


def test_double_quoted_value_unescapes_newline_quote_and_backslash() -> None:
    assert parse_dotenv('A="line1\\nsay \\"hi\\" \\\\ end"\n') == {"A": 'line1\nsay "hi" \\ end'}


def test_double_quoted_value_keeps_unknown_escapes() -> None:
    assert parse_dotenv('A="C:\\dir"\n') == {"A": "C:\\dir"}


def test_inline_comment_after_unquoted_value_is_dropped() -> None:
    text = "OAUTH_REFRESH_INTERVAL=600 # Default is 600 seconds (10 minutes)\n"

    assert parse_dotenv(text) == {"OAUTH_REFRESH_INTERVAL": "600"}


def test_inline_comment_after_tab_is_dropped() -> None:
    assert parse_dotenv("A=1\t# note\n") == {"A": "1"}


def test_hash_without_preceding_space_is_kept() -> None:
    assert parse_dotenv("A=abc#def\n") == {"A": "abc#def"}


def test_comment_after_quoted_value_is_dropped_and_hash_inside_kept() -> None:
    assert parse_dotenv('A="x # y" # note\n') == {"A": "x # y"}


def test_quoted_value_spans_lines() -> None:
    text = 'KEY="-----BEGIN-----\nabc\n-----END-----"\nNEXT=1\n'

    assert parse_dotenv(text) == {"KEY": "-----BEGIN-----\nabc\n-----END-----", "NEXT": "1"}


def test_crlf_line_endings_are_accepted() -> None:
    assert parse_dotenv("A=1\r\nB='two'\r\n") == {"A": "1", "B": "two"}


def test_later_assignment_wins() -> None:
    assert parse_dotenv("A=1\nA=2\n") == {"A": "2"}


def test_utf8_bom_at_start_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes("\ufeffPROXY_API_KEY=abc\n".encode())

    assert read_dotenv(path) == {"PROXY_API_KEY": "abc"}


def test_malformed_line_is_an_error_naming_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dotenv("A=1\n\nthis is not an assignment\n", source="/srv/.env")

    assert caught.value.variable == "/srv/.env line 3"
    assert "NAME=value" in caught.value.problem


def test_unterminated_quote_is_reported_at_the_line_it_opens() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dotenv('A=1\nB="never closed\nC=3\nD=4\n', source=".env")

    assert caught.value.variable == ".env line 2"
    assert "B" in caught.value.problem
    assert "unterminated" in caught.value.problem


def test_file_that_is_not_utf8_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"A=1\nB=caf\xe9\n")

    with pytest.raises(ConfigError) as caught:
        read_dotenv(path)

    assert caught.value.variable == f"{path} line 2"
    assert "UTF-8" in caught.value.problem


def test_unreadable_file_is_an_error_naming_env_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_dotenv(tmp_path)

    assert caught.value.variable == "--env-file"


@pytest.mark.parametrize(
    "text",
    [
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123\n",
        "OPENAI_API_KEY sk-proj-abcdefghijklmnopqrstuvwxyz0123\n",
        'OPENAI_API_KEY="sk-proj-abcdefghijklmnopqrstuvwxyz0123\n',
    ],
)
def test_parse_error_does_not_echo_the_secret(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dotenv(text)

    assert "sk-proj-abcdefghijklmnopqrstuvwxyz0123" not in str(caught.value)
