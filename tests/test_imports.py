"""The package's structure: no import cycle among its modules, and the compiled
kernels' sources use no private CPython API nor another object's private cache."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import fastsession

PACKAGE = Path(fastsession.__file__).resolve().parent
SRC_C = PACKAGE.parent / "src_c"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports, at module level or in a function
    (``if TYPE_CHECKING:`` blocks aside: they never run)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> None:
        # "a.b.c" imports a, a.b and a.b.c: each package's __init__ runs. The
        # packages this module is inside ran before it, whatever it imports:
        # only an import of one of them by name (``from . import x``) counts.
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate != target and name.startswith(candidate + "."):
                continue
            if candidate in modules and candidate != name:
                found.add(candidate)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            resolve(source)
            for alias in node.names:  # "from . import x": x may be a module
                resolve(f"{source}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 20 and "fastsession._kernel_py" in graph
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    # relative, from a subpackage, and in a function body
    assert "fastsession._model_py" in graph["fastsession._request_py"]
    assert "fastsession._speedups" in graph["fastsession.stores.memory"]
    assert "fastsession.demo" in graph["fastsession.__main__"]
    # a branch that also runs ("if TYPE_CHECKING or not EXTENSIONS"): kept
    assert "fastsession._kernel_py" in graph["fastsession._speedups"]
    # imported only for type checking (the package's lazy names): left out
    assert "fastsession.asgi" not in graph["fastsession"]
    # importing a submodule runs its package's __init__
    assert "fastsession.stores" in graph["fastsession.engine"]


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


PRIVATE_API = re.compile(r"_PyType_Lookup|_Py[A-Z]|\._cache")


def test_compiled_sources_use_no_private_api() -> None:
    if not SRC_C.is_dir():
        pytest.skip("no source tree next to the package (an installed wheel)")
    sources = sorted([*SRC_C.glob("*.pyx"), *SRC_C.glob("*.pxi"), *SRC_C.glob("*.h")])
    assert {p.suffix for p in sources} == {".pyx", ".pxi", ".h"}
    hits = [
        f"{p.name}:{n}: {line.strip()}"
        for p in sources
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE_API.search(line)
    ]
    assert hits == []
    assert PRIVATE_API.search("x = _PyDict_GetItem(d)") and PRIVATE_API.search("o._cache[k]")
