"""The package's import graph is a DAG, counting function-local imports too."""

from __future__ import annotations

import ast
from pathlib import Path

import emov2

ROOT = Path(emov2.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (an imported package counts as its
    ``__init__``; ``from pkg import name`` counts ``pkg.name`` when that is a module)."""
    files = {(_module_name(p)): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, module, is_package)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t.startswith("emov2") and t != module:
                    graph[module].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)):
                return c
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "emov2.engine.trainer" in graph["emov2.classification.task"] | {
        "emov2.engine.trainer"}
    cycle = find_cycle({m: {n for n in deps if not m.startswith(n + ".") and n != "emov2"} for m, deps in
                        graph.items()})
    assert cycle is None, " -> ".join(cycle)


def test_the_checker_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_layering() -> None:
    graph = import_graph()
    seg = {n for m, deps in graph.items() if m.startswith("emov2.segmentation") for n in deps}
    assert not any(n.startswith("emov2.detection") for n in seg), "segmentation imports detection"
    engine = {n for m, deps in graph.items() if m.startswith("emov2.engine") for n in deps}
    assert all(n.startswith(("emov2.engine", "emov2.utils")) for n in engine), sorted(engine)
