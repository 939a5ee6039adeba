"""Imports only go down: a module may import from its own package or from a lower layer, never from a
higher one or from a peer on its own layer. docs/architecture.md draws the same staircase."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "keyproxy"

# Top to bottom. Each name is a package or a module directly under keyproxy/.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__main__"}),
    frozenset({"cli"}),
    frozenset({"wiring"}),
    frozenset({"api"}),
    frozenset({"engine"}),
    frozenset({"providers", "state"}),
    frozenset({"usage", "testing"}),
    frozenset({"translate", "transport"}),
    frozenset({"capture"}),
    frozenset({"config"}),
    frozenset({"events", "logs"}),
    frozenset({"__init__", "errors", "clock", "redact", "net"}),
)
RANK = {part: len(LAYERS) - depth for depth, layer in enumerate(LAYERS) for part in layer}


def part_of(module: str) -> str:
    """`keyproxy.engine.router` -> "engine"; `keyproxy` itself (its __version__) -> "__init__"."""
    names = module.split(".")
    return names[1] if len(names) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, str]]:
    """Every keyproxy module `path` imports, at module level or inside a function, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names if name == "keyproxy" or name.startswith("keyproxy.")]
    return sorted(found)


def module_part(package: Path, path: Path) -> str:
    relative = path.relative_to(package)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def upward_imports(package: Path) -> list[str]:
    wrong = []
    for path in sorted(package.rglob("*.py")):
        source = module_part(package, path)
        for line, module in imports(path):
            target = part_of(module)
            if target != source and RANK[target] >= RANK[source]:
                wrong.append(f"{path.relative_to(package.parent)}:{line} ({source}) imports {module} ({target})")
    return wrong


def test_every_package_and_top_module_has_a_layer() -> None:
    parts = {module_part(PACKAGE, path) for path in PACKAGE.rglob("*.py")}
    assert parts - RANK.keys() == set(), "add the new package to LAYERS (and to docs/architecture.md)"


def test_no_module_imports_from_a_higher_layer_or_a_peer() -> None:
    assert upward_imports(PACKAGE) == []


def test_an_import_up_or_sideways_is_found_even_inside_a_function(tmp_path: Path) -> None:
    package = tmp_path / "keyproxy"
    (package / "state").mkdir(parents=True)
    (package / "state" / "store.py").write_text(
        "from keyproxy.errors import KeyproxyError\n"
        "def later():\n    from keyproxy.engine.router import Router\n"
        "import keyproxy.providers.base\n"
    )
    assert upward_imports(package) == [
        "keyproxy/state/store.py:3 (state) imports keyproxy.engine.router (engine)",
        "keyproxy/state/store.py:4 (state) imports keyproxy.providers.base (providers)",
    ]
