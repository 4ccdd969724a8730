"""Layers that import one way (issue 20), held by the import graph the code really has.

Every project module is parsed with `ast`; every import statement counts, at module level, inside functions (a
function-level import hides a cycle without removing it) and under `if TYPE_CHECKING:`. An import of `a.b` is an
edge to `a.b`, not to the package `a` that Python also runs first. The graph builder and the checks are pure
functions over source text, so the checks are also shown to fail on a small synthetic graph.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_PROJECT = {"tests"}  # top-level directories holding Python that is not the project's code

Graph = dict[str, set[str]]

# The edges no module may have: (importer, imported), each a module or a package prefix.
FORBIDDEN = (
    ("webhook", "workers"),  # intake writes the inbox and asks the service layer to queue: it runs no job
    ("workers", "webhook"),  # jobs write synthetic events through the service layer's inbox, not the intake
)
# rules/ is pure: it imports nothing of the project outside itself, and none of these libraries (I/O, the web,
# the database, Redis, the queue), so every decision it holds can be read and tested without any of them.
RULES = "rules"
IMPURE_LIBRARIES = frozenset({"flask", "sqlalchemy", "redis", "requests", "rq"})
# What workers/queues.py may import of the project: jobs are enqueued by dotted path, so it imports no job.
QUEUES_MAY_IMPORT = {"workers.job_safety"}

# Cycles left after the first increment of issue 20, each with why: each must still exist (the list only shrinks).
ALLOWED_CYCLES: dict[frozenset[str], str] = {
    frozenset({"zoomsim.events", "zoomsim.presence", "zoomsim.world"}): (
        "type-only (TYPE_CHECKING): events and presence name World's dataclasses; goes with World's split"
    ),
    frozenset({"zoomsim.app", "zoomsim.control", "zoomsim.links", "zoomsim.oauth", "zoomsim.rest"}): (
        "create_app imports the blueprints in a function and they import `simulator` back from zoomsim.app"
    ),
}


# --- the graph: pure functions over {relative path: source} ---------------------------------------------------


def module_of(path: str) -> tuple[str, bool]:
    """The dotted name of the module at a relative path, and whether it is a package (its `__init__`)."""
    parts = PurePosixPath(path).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imported_names(module: str, is_package: bool, source: str) -> list[tuple[str, str]]:
    """What each import statement anywhere in `source` loads (module level and in functions), as (name, fallback).

    `from a import b` loads the module `a.b` if there is one, else takes the attribute `b` of `a`: the fallback.
    Relative imports are made absolute.
    """
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend((alias.name, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            names.extend((f"{base}.{alias.name}" if base else alias.name, base) for alias in node.names)
    return names


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, name] if name else base)


def build_graph(sources: Mapping[str, str]) -> Graph:
    """Module → the project modules it imports, from {relative path: source}; names outside the project drop out.

    A name resolves to the longest project module it starts with (`import a.b.c` of a module `a.b` is `a.b`).
    """
    modules = {path: module_of(path) for path in sources}
    known = {name for name, _ in modules.values()}
    graph: Graph = {}
    for path, (module, is_package) in modules.items():
        loaded = imported_names(module, is_package, sources[path])
        targets = {name if name in known else _resolve(fallback, known) for name, fallback in loaded}
        graph[module] = {target for target in targets if target is not None and target != module}
    return graph


def _resolve(name: str, known: set[str]) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


# --- the checks --------------------------------------------------------------------------------------------------


def cycles(graph: Graph) -> set[frozenset[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def forbidden_edges(graph: Graph, rules: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges (importer, imported) that a rule (importer prefix, imported prefix) forbids."""
    rules = list(rules)
    return sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        for importer, imported in rules
        if _within(source, importer) and _within(target, imported)
    )


def unexpected_imports(graph: Graph, module: str, allowed: set[str]) -> list[str]:
    """The project modules `module` imports beyond `allowed`."""
    return sorted(graph[module] - allowed)


def imports_leaving(graph: Graph, package: str) -> list[tuple[str, str]]:
    """The edges (importer, imported) from a module of `package` to a project module outside it."""
    return sorted(
        (source, target)
        for source, targets in graph.items()
        if _within(source, package)
        for target in targets
        if not _within(target, package)
    )


def library_imports(sources: Mapping[str, str], package: str, libraries: Iterable[str]) -> list[tuple[str, str]]:
    """(module, library) for each module of `package` importing one of `libraries` or a submodule of it."""
    libraries = set(libraries)
    found = set()
    for path, source in sources.items():
        module, is_package = module_of(path)
        if _within(module, package):
            for name, _ in imported_names(module, is_package, source):
                if name.split(".")[0] in libraries:
                    found.add((module, name.split(".")[0]))
    return sorted(found)


def cycle_changes(found: set[frozenset[str]], allowed: Iterable[frozenset[str]]) -> tuple[list, list]:
    """(new cycles, allowed cycles gone): both must be empty, so the allow-list only ever shrinks."""
    allowed = set(allowed)
    return sorted(map(sorted, found - allowed)), sorted(map(sorted, allowed - found))


# --- the project -----------------------------------------------------------------------------------------------


def project_sources(root: Path = ROOT) -> dict[str, str]:
    """{relative path: source} of every project module: the top-level directories' Python files, tests aside."""
    sources = {}
    for top in sorted(root.iterdir()):
        if not top.is_dir() or top.name.startswith(".") or top.name in NOT_PROJECT:
            continue
        for path in sorted(top.rglob("*.py")):
            sources[path.relative_to(root).as_posix()] = path.read_text()
    return sources


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return project_sources()


@pytest.fixture(scope="module")
def graph(sources) -> Graph:
    return build_graph(sources)


def test_every_top_level_package_is_read(graph):
    for package in ("admin", "bench", "chaos", "config", "models", "rules", "service", "webhook", "workers", "zoomapi"):
        assert any(_within(module, package) for module in graph), package
    assert "zoomsim.world" in graph and "workers.reconcile" in graph


def test_no_import_cycle_but_the_allowed_ones(graph):
    new, gone = cycle_changes(cycles(graph), ALLOWED_CYCLES)
    assert new == [], "new import cycles"
    assert gone == [], "these cycles are gone: remove them from ALLOWED_CYCLES"


def test_webhook_and_workers_do_not_import_each_other(graph):
    assert forbidden_edges(graph, FORBIDDEN) == []


def test_queues_imports_no_job(graph):
    assert unexpected_imports(graph, "workers.queues", QUEUES_MAY_IMPORT) == []


def test_rules_import_nothing_of_the_project_outside_rules(graph):
    assert "rules.time_formats" in graph
    assert imports_leaving(graph, RULES) == []


def test_rules_import_no_flask_sqlalchemy_redis_requests_or_rq(sources):
    assert library_imports(sources, RULES, IMPURE_LIBRARIES) == []


# --- the checker fails when it should ------------------------------------------------------------------------------


SYNTHETIC = {
    "shop/__init__.py": "",
    "shop/queues.py": "import os\n\ndef enqueue():\n    from shop.jobs import run  # hidden in a function\n",
    "shop/jobs.py": "from . import queues\nfrom .. import elsewhere\n",
    "shop/intake/__init__.py": "from ..jobs import run\n",
    "shop/intake/views.py": "from . import helpers\nimport shop.jobs.run\n",
    "shop/intake/helpers.py": "from shop import models\n",
    "shop/models.py": "from shop import VERSION  # an attribute of the package, not a module\n",
}


def test_the_synthetic_graph_resolves_absolute_relative_and_function_level_imports():
    assert build_graph(SYNTHETIC) == {
        "shop": set(),
        "shop.queues": {"shop.jobs"},
        "shop.jobs": {"shop.queues"},
        "shop.intake": {"shop.jobs"},
        "shop.intake.views": {"shop.intake.helpers", "shop.jobs"},
        "shop.intake.helpers": {"shop.models"},
        "shop.models": {"shop"},
    }


def test_a_cycle_through_a_function_level_import_is_reported():
    assert cycles(build_graph(SYNTHETIC)) == {frozenset({"shop.queues", "shop.jobs"})}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset({"a", "b", "c"})}
    assert cycles({"a": {"b"}, "b": set()}) == set()


def test_a_cycle_allowed_or_gone_is_reported():
    found = cycles(build_graph(SYNTHETIC))
    assert cycle_changes(found, []) == ([["shop.jobs", "shop.queues"]], [])
    assert cycle_changes(found, [frozenset({"shop.jobs", "shop.queues"})]) == ([], [])
    assert cycle_changes(set(), [frozenset({"shop.jobs", "shop.queues"})]) == ([], [["shop.jobs", "shop.queues"]])


def test_an_unexpected_import_is_reported():
    assert unexpected_imports(build_graph(SYNTHETIC), "shop.queues", {"shop.models"}) == ["shop.jobs"]


def test_a_forbidden_edge_is_reported():
    rules = [("shop.intake", "shop.jobs"), ("shop.models", "shop.intake")]
    assert forbidden_edges(build_graph(SYNTHETIC), rules) == [
        ("shop.intake", "shop.jobs"),
        ("shop.intake.views", "shop.jobs"),
    ]


# A rules package with one impure module of each kind, and the same package made pure.
IMPURE_RULES = {
    "shop/__init__.py": "",
    "shop/models.py": "import sqlalchemy  # outside the rules: no concern of theirs\n",
    "shop/rulesets.py": "import flask  # a sibling whose name starts like the package's: not in it\n",
    "shop/rules/__init__.py": "from . import prices\n",
    "shop/rules/prices.py": "import re\nfrom decimal import Decimal\nfrom .taxes import rate\n",
    "shop/rules/taxes.py": "def rate():\n    from shop.models import Row\n    import sqlalchemy.orm\n",  # in a function
    "shop/rules/clean.py": "from flask import request\nfrom .. import rulesets\n",
}
PURE_RULES = {
    **IMPURE_RULES,
    "shop/rules/taxes.py": "def rate():\n    return 0.2\n",
    "shop/rules/clean.py": "import unicodedata\n",
}


def test_an_import_leaving_the_rules_is_reported():
    assert imports_leaving(build_graph(IMPURE_RULES), "shop.rules") == [
        ("shop.rules.clean", "shop.rulesets"),
        ("shop.rules.taxes", "shop.models"),
    ]
    assert imports_leaving(build_graph(PURE_RULES), "shop.rules") == []


def test_an_impure_library_in_the_rules_is_reported():
    assert library_imports(IMPURE_RULES, "shop.rules", IMPURE_LIBRARIES) == [
        ("shop.rules.clean", "flask"),
        ("shop.rules.taxes", "sqlalchemy"),
    ]
    assert library_imports(PURE_RULES, "shop.rules", IMPURE_LIBRARIES) == []
