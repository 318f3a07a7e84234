"""The shape of the code, checked: layers point one way, no import cycles (function-local imports
included), and no private name is imported from another module."""

from __future__ import annotations

import ast
from itertools import pairwise
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "parity"

# Lowest first; a module may import from its own layer or any lower one, never a higher one. A
# dotted name places one module apart from its package (the longest match wins): the model-spec
# grammar and the retry settings are leaves that the workspace config reads.
LAYERS: list[set[str]] = [
    {"errors", "statuses", "io", "progress", "examples", "models.spec", "models.resilience", "models.secrets"},
    {"json_shape", "questions_shape", "task", "cases", "leak"},
    {"models", "store"},
    {"agent", "judge"},
    {"ruler"},  # its fingerprint covers the judge's identity
    {"metrics", "labels"},
    {"experiment"},
    {"loop", "train"},  # the loop asks for training; training never runs the loop
    {"analysis", "teach"},  # the teacher's gold_alt is checked for copies as `ruler check` checks it
    {"present", "web", "report"},
    {"cli"},
    {"__init__", "__main__"},
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_only(tree: ast.AST) -> set[ast.AST]:
    """Imports under `if TYPE_CHECKING:`: annotations only, never run."""
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded |= {inner for stmt in node.body for inner in ast.walk(stmt)}
    return guarded


def _imports(path: Path, runtime_only: bool = False) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every parity import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_only(tree) if runtime_only else set()
    found = []
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("parity") and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name.startswith("parity")]
    return found


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _layer(module: str) -> int:
    parts = module.split(".")[1:] or ["__init__"]
    for length in range(len(parts), 0, -1):
        name = ".".join(parts[:length])
        for index, names in enumerate(LAYERS):
            if name in names:
                return index
    raise AssertionError(f"{module}: its package '{parts[0]}' is in no layer of tests/unit/test_architecture.py")


def _target(module: str, name: str) -> str:
    """`from parity.a import b` names a module when parity/a/b.py exists."""
    return f"{module}.{name}" if f"{module}.{name}" in MODULES else module


def test_layers_point_one_way() -> None:
    upward = [
        f"{importer} imports {imported} (line {line})"
        for importer, path in sorted(MODULES.items())
        for imported, _, line in _imports(path)
        if _layer(imported) > _layer(importer)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    """At run time: a type-only import (under TYPE_CHECKING) may point back."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for importer, path in MODULES.items():
        for imported, names, _ in _imports(path, runtime_only=True):
            targets = {_target(imported, n) for n in names} or {imported}
            graph[importer] |= {t for t in targets if t in MODULES and t != importer}
    cycles = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                # a package importing its own submodules is not a cycle through its parent
                loop = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                if not all(a.startswith(b + ".") or b.startswith(a + ".") for a, b in pairwise(loop)):
                    cycles.append(" -> ".join(loop))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_private_name_is_imported_from_another_module() -> None:
    private = [
        f"{importer} takes {name} from {imported} (line {line})"
        for importer, path in sorted(MODULES.items())
        for imported, names, line in _imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert private == []


@pytest.mark.parametrize("package", ["parity"])
def test_the_public_api_is_declared(package: str) -> None:
    import parity

    assert parity.__all__ and all(hasattr(parity, name) for name in parity.__all__)
