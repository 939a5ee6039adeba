"""A `.env` reader that accepts what python-dotenv accepts in practice: quotes, `export`, inline comments."""

from __future__ import annotations

import re
from pathlib import Path

from keyproxy.errors import ConfigError

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def parse_dotenv(text: str, *, source: str = ".env") -> dict[str, str]:
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConfigError(f"{source} line {index}", "expected NAME=value")
        name, rest = match.group(1), match.group(2)
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            start = index
            # A quoted value may span lines (PEM keys, JSON); read until the closing quote.
            while _closing_quote(body, quote) < 0 and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            end = _closing_quote(body, quote)
            if end < 0:
                raise ConfigError(f"{source} line {start}", f"{name}: unterminated {quote} quote")
            raw = body[:end]
            values[name] = _unescape(raw) if quote == '"' else raw
        else:
            values[name] = _strip_inline_comment(rest).strip()
    return values


def read_dotenv(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError("--env-file", f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path} line {line}", "not valid UTF-8 text") from exc
    return parse_dotenv(text, source=str(path))


def _closing_quote(body: str, quote: str) -> int:
    position = 0
    while position < len(body):
        char = body[position]
        if char == "\\" and quote == '"':
            position += 2
            continue
        if char == quote:
            return position
        position += 1
    return -1


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), raw)


def _strip_inline_comment(value: str) -> str:
    # Like dotenv: " #" starts a comment in an unquoted value, a bare "#" inside a token does not.
    match = re.search(r"\s#", value)
    return value[: match.start()] if match else value
