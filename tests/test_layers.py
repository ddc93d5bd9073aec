"""Imports run one way: each top-level folder imports only the layers below it, and no
module of ours imports itself back through others.

Read from the source with ``ast`` (imports anywhere in a module, inside functions and
``imports_passed_through`` blocks too; ``if TYPE_CHECKING:`` blocks are not imports at
run time and are skipped), so a violation fails here before it can turn into a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGE = "durable_agents"
# Layer -> the layers of ours it may import (its own is always allowed).
ALLOWED: dict[str, set[str]] = {
    "contracts": set(),
    "rules": {"contracts"},
    "workflows": {"contracts", "rules"},
    "activities": {"contracts", "rules"},
    "runtime": {"contracts", "rules", "workflows", "activities", "examples"},
    "examples": {"contracts"},
    "cli": {"contracts", "rules", "workflows", "activities", "runtime", "examples"},
}
# The example API is a threaded HTTP server like the codec server; it shares the server
# shell, a module that imports nothing of ours (checked below), so no cycle can pass.
ALLOWED_MODULES: dict[str, set[str]] = {"examples": {f"{PACKAGE}.runtime.http_server"}}
OPTIONAL_LAYERS = {"cli"}  # not every checkout has it yet
ENTRY_POINTS = ("starter.py", "worker.py")  # top-level scripts: the cli layer


def module_files() -> dict[str, Path]:
    """Every production module by its import name."""
    found: dict[str, Path] = {}
    for layer in ALLOWED:
        folder = ROOT / layer
        if not folder.is_dir():
            assert layer in OPTIONAL_LAYERS, f"{layer}/ is missing"
            continue
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((PACKAGE, *parts))] = path
    for script in ENTRY_POINTS:
        if (ROOT / script).exists():
            found[Path(script).stem] = ROOT / script
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children: list[ast.AST] = list(node.orelse)
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _import_nodes(child)


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours that ``name`` imports (a package's ``__init__`` by its name)."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's package, up level - 1 more
            package = name.split(".") if is_package else name.split(".")[:-1]
            anchor = package[: len(package) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    ours = set()
    for target in targets:
        # ``import a.b.c`` runs a, a.b and a.b.c: the deepest module of ours stands for it
        parts = target.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in known:
                ours.add(".".join(parts[:end]))
                break
    return ours - {name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files) | {PACKAGE}
    return {name: imported_modules(name, path, known) for name, path in files.items()}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return "cli"  # the entry-point scripts
    return parts[1] if len(parts) > 1 else None


def test_each_layer_imports_only_the_layers_below_it() -> None:
    graph = import_graph()
    violations = []
    for module, targets in sorted(graph.items()):
        layer = layer_of(module)
        assert layer is not None
        for target in sorted(targets):
            target_layer = layer_of(target)
            if target_layer == layer:
                continue
            if target_layer in ALLOWED[layer] or target in ALLOWED_MODULES.get(layer, set()):
                continue
            violations.append(f"{module} ({layer}) imports {target} ({target_layer})")
    assert not violations, "imports against the layering:\n" + "\n".join(violations)


def test_a_module_other_layers_may_reach_into_imports_nothing_of_ours() -> None:
    graph = import_graph()
    for modules in ALLOWED_MODULES.values():
        for module in modules:
            assert module in graph, f"{module} does not exist"
            assert not graph[module], f"{module} imports {sorted(graph[module])}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as its modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_our_modules_import_each_other_without_a_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_see_what_they_should(tmp_path: Path) -> None:
    source = tmp_path / "agent.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from temporalio import workflow\n"
        "with workflow.unsafe.imports_passed_through():\n"
        "    from durable_agents.rules import policy\n"
        "if TYPE_CHECKING:\n"
        "    from durable_agents.runtime.settings import Settings\n"
        "def later() -> None:\n"
        "    from .dag import find_cycle\n"
        "    import durable_agents.contracts.plan\n"
    )
    known = {f"{PACKAGE}.contracts", f"{PACKAGE}.contracts.plan", f"{PACKAGE}.rules.policy"}
    known |= {f"{PACKAGE}.runtime.settings", f"{PACKAGE}.workflows.dag"}
    assert imported_modules(f"{PACKAGE}.workflows.agent", source, known) == {
        f"{PACKAGE}.rules.policy",
        f"{PACKAGE}.workflows.dag",
        f"{PACKAGE}.contracts.plan",
    }
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert f"{PACKAGE}.contracts.actions" in import_graph()[f"{PACKAGE}.contracts.policy"]
