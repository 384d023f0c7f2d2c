"""The house rules, checked: imports at the top and without cycles, a public face per
module, one definition of the dominant-neuron rule, the page registry behind _toc.yml."""

import ast
import importlib
import re
from pathlib import Path

import pytest

from prelu_robust import pages, paths
from prelu_robust.run_notebook import parse_value

SRC = Path(__file__).resolve().parents[1] / "src" / "prelu_robust"
MODULES = sorted(SRC.rglob("*.py"))
#: Imported inside the functions that use them: the book's tools, which only the
#: driver's commands need (the library and its tests run without starting them), and
#: Dask, which only a sweep on a Dask cluster needs.
LAZY = {"jupytext", "papermill", "distributed"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def internal_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports at module level."""
    name, tree = module_name(path), ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("prelu_robust"):
                for alias in node.names:  # `from . import x` names a module
                    sub = f"{base}.{alias.name}"
                    found.add(sub if (SRC.parent / (sub.replace(".", "/") + ".py")).is_file()
                              or (SRC.parent / sub.replace(".", "/")).is_dir() else base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("prelu_robust")}
    return found - {name}


def test_the_import_graph_of_the_package_has_no_cycle():
    graph = {module_name(p): internal_imports(p) for p in MODULES}
    state: dict[str, int] = {}

    def visit(node, trail):
        if state.get(node) == 1:
            pytest.fail("import cycle: " + " -> ".join(trail[trail.index(node):] + [node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in graph.get(node, ()):
            # a module's import of its own package's __init__ is how Python loads it: not an edge back
            if not node.startswith(nxt + "."):
                visit(nxt, trail + [node])
        state[node] = 2

    for node in graph:
        visit(node, [])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_every_import_is_at_the_top_of_its_module(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in inner.names] if isinstance(inner, ast.Import) else [inner.module]
                    assert set(names) <= LAZY, f"{path.name}:{inner.lineno} imports {names} inside {node.name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_every_module_declares_its_public_names(path):
    module = importlib.import_module(module_name(path))
    assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names {missing}, which it lacks"


def test_the_dominant_neuron_rule_is_defined_once():
    rule = re.compile(r">=\s*\w+\s*\*\s*\w+\.max\(\)|\*\s*contributions?\.max\(\)")
    where = [f"{p.relative_to(SRC)}:{i}" for p in MODULES for i, line in enumerate(p.read_text().splitlines(), 1)
             if rule.search(line)]
    assert len(where) == 1 and where[0].startswith("neurons.py:"), where


def test_toc_is_written_from_the_page_registry():
    assert paths.TOC.read_text() == pages.toc_text(pages.load()), "run: python -m prelu_robust.pages"


def test_every_registered_page_has_its_source():
    book = pages.load()
    for page in book.notebook_pages().values():
        assert (paths.CHECKOUT / page.notebook).is_file(), page.notebook
    for file in book.files:
        if not file.startswith(pages.EXECUTED_DIR + "/"):
            assert (paths.CHECKOUT / f"{file}.md").is_file() or (paths.CHECKOUT / f"{file}.py").is_file(), file


@pytest.mark.parametrize("text, value", [("false", False), ("False", False), ("TRUE", True), ("none", None),
                                         ("[1, 3]", [1, 3]), ("0.5", 0.5), ("bfloat16", "bfloat16")])
def test_command_line_values_are_parsed_as_a_user_means_them(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)
