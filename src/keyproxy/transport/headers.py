"""Response headers as a case-insensitive mapping, built once from the parser's raw pairs."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping


class Headers(Mapping[str, str]):
    """Names lowercased; a header sent several times is one value joined with ", " (RFC 9110 5.3)."""

    __slots__ = ("_map",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        found: dict[str, str] = {}
        for name, value in raw:
            # latin-1 never fails and is what HTTP/1.1 header bytes were historically; values are relayed as read.
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            found[key] = f"{found[key]}, {text}" if key in found else text
        self._map = found

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._map.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    # The dict's own views: Mapping's would look every name up again, in Python, for each answer's headers.
    def items(self) -> ItemsView[str, str]:
        return self._map.items()

    def keys(self) -> KeysView[str]:
        return self._map.keys()

    def __len__(self) -> int:
        return len(self._map)

    def __repr__(self) -> str:
        return f"Headers({self._map!r})"
