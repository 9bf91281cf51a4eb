"""ingest/ is laid out by concern, in layers: a module imports only from its own layer or the
ones below, and no two modules, nor two subpackages, import each other, even through others.

Imports inside functions count too: they couple modules just the same, only later.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "ingest"

# Top to bottom. A concern is a subpackage of ingest/ or a module directly in it.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__main__", "cli"}),  # the command line
    frozenset({"access", "api", "kafka", "load", "sample", "warehouse"}),  # what the commands do
    frozenset({"contract", "files", "zone"}),  # the event contract, raw files, the raw zone
    frozenset({"__init__", "errors", "locks", "output", "settings", "signals"}),  # what every module may use
)

Graph = dict[str, set[str]]


def module_name(path: Path, package_dir: Path) -> str:
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package_dir: Path) -> Graph:
    """module -> the package's modules it imports (`from a import b` names module a.b when there is one)."""
    files = {module_name(path, package_dir): path for path in package_dir.rglob("*.py")}
    graph: Graph = {}
    for module, path in files.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in files else node.module
                            for alias in node.names}
        graph[module] = {target for target in targets if target in files and target != module}
    return graph


def concern(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer(module: str) -> int:
    return next(index for index, concerns in enumerate(LAYERS) if concern(module) in concerns)


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle through each back edge a depth-first search meets; none when the graph is acyclic."""
    found: list[list[str]] = []
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for child in sorted(graph.get(node, ())):
            if state.get(child) == "open":
                found.append(path[path.index(child):] + [node, child] if child in path else [node, child])
            elif child not in state:
                visit(child, [*path, node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def concern_graph(graph: Graph) -> Graph:
    concerns: Graph = {}
    for module, targets in graph.items():
        concerns.setdefault(concern(module), set()).update(
            concern(target) for target in targets if concern(target) != concern(module))
    return concerns


def arrows(edges: Iterable[Iterable[str]]) -> str:
    return "\n".join(" -> ".join(edge) for edge in edges)


GRAPH = import_graph(PACKAGE_DIR)


def test_every_concern_has_a_layer() -> None:
    placed = set().union(*LAYERS)
    assert {concern(module) for module in GRAPH} <= placed, "add the new subpackage or module to LAYERS"


def test_imports_only_point_down_or_sideways() -> None:
    upward = sorted((module, target) for module, targets in GRAPH.items() for target in targets
                    if layer(target) < layer(module))
    assert not upward, f"imports of a higher layer:\n{arrows(upward)}"


def test_no_module_imports_itself_through_others() -> None:
    assert not cycles(GRAPH), f"import cycles:\n{arrows(cycles(GRAPH))}"


def test_no_two_concerns_import_each_other() -> None:
    found = cycles(concern_graph(GRAPH))
    assert not found, f"cycles between subpackages:\n{arrows(found)}"


@pytest.mark.parametrize("graph,expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c", "a"]]),
])
def test_the_cycle_finder_finds_cycles(graph: Graph, expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_no_source_file_is_ignored_by_git() -> None:
    """A pattern meant for generated data (`warehouse/`) once matched ingest/warehouse/ too: its new
    modules existed only on the machine that wrote them, and a fresh clone failed to import them."""
    import subprocess

    sources = [str(path.relative_to(PACKAGE_DIR.parent)) for path in PACKAGE_DIR.rglob("*") if path.is_file()
               and "__pycache__" not in path.parts]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *sources], cwd=PACKAGE_DIR.parent,
                             capture_output=True, text=True).stdout.split()
    assert ignored == []


ORCHESTRATION_DIR = PACKAGE_DIR.parent / "orchestration"


def test_ingest_never_imports_the_orchestrator() -> None:
    """orchestration/ (Dagster) sits above ingest/: it calls the loader, dbt and the warehouse; ingest
    runs without Dagster installed or imported."""
    modules = ((module_name(path, PACKAGE_DIR), path) for path in PACKAGE_DIR.rglob("*.py"))
    upward = sorted(module for module, path in modules
                    if any(isinstance(node, ast.Import | ast.ImportFrom) and any(
                        name.split(".")[0] in {"orchestration", "dagster", "dagster_dbt", "dagster_dlt"}
                        for name in ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                                     else [node.module or ""]))
                        for node in ast.walk(ast.parse(path.read_text(), str(path)))))
    assert upward == []


def test_the_orchestrator_has_no_import_cycles() -> None:
    graph = import_graph(ORCHESTRATION_DIR)
    assert graph and not cycles(graph), f"import cycles:\n{arrows(cycles(graph))}"


def test_no_orchestration_file_is_ignored_by_git() -> None:
    import subprocess

    sources = [str(path.relative_to(ORCHESTRATION_DIR.parent)) for path in ORCHESTRATION_DIR.rglob("*")
               if path.is_file() and "__pycache__" not in path.parts]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *sources], cwd=ORCHESTRATION_DIR.parent,
                             capture_output=True, text=True).stdout.split()
    assert ignored == []


READAPI_DIR = PACKAGE_DIR.parent / "readapi"


def test_the_read_api_sits_above_ingest_and_ingest_never_imports_it() -> None:
    """readapi/ (the read API, its own package) uses ingest's lower layers; nothing in ingest/ uses readapi."""
    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not any(name.split(".")[0] == "readapi" for name in names), path
    allowed = {"access", "errors", "settings", "warehouse"}
    for path in READAPI_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        used = {node.module.split(".")[1] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module and node.module.startswith("ingest.")}
        assert used <= allowed, f"{path} imports ingest.{sorted(used - allowed)}"


# Superset's side (dashboards/, tests/dashboards/) runs in .venv-superset, which has DuckDB and
# PyYAML but not dbt, dlt or the API's packages: the ingest modules it imports, and theirs in
# turn, may import only these (and the standard library).
SUPERSET_SIDE = (PACKAGE_DIR.parent / "dashboards", PACKAGE_DIR.parent / "tests" / "dashboards")
SUPERSET_VENV_IMPORTS = {"duckdb", "yaml"}


def ingest_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_superset_side_imports_only_what_its_venv_has() -> None:
    import sys

    reached: set[str] = set()
    todo = [name for folder in SUPERSET_SIDE for path in folder.glob("*.py") for name in ingest_imports(path)
            if name.startswith("ingest")]
    while todo:
        module = todo.pop()
        if module in reached or module not in GRAPH:
            continue
        reached.add(module)
        todo += sorted(GRAPH[module])
    assert reached, "dashboards/ imports ingest.settings and ingest.warehouse.lake"
    def source(module: str) -> Path:
        path = PACKAGE_DIR.parent / module.replace(".", "/")
        return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")

    foreign = sorted((module, name) for module in reached for name in ingest_imports(source(module))
                     if name.split(".")[0] not in sys.stdlib_module_names | SUPERSET_VENV_IMPORTS | {"ingest"})
    assert not foreign, f"modules .venv-superset cannot import (add them to dashboards/requirements.in):\n" \
                        f"{arrows(foreign)}"
