"""The module-level import graph of ``cvlearned`` has no circles beyond the known ones.

A static check (``ast``; nothing is imported): an edge ``a -> b`` for every ``cvlearned``
module ``b`` that module ``a`` imports when it is imported itself. Imports inside function
bodies (deferred imports) and under ``if TYPE_CHECKING:`` do not run at import time, so
they are not edges; imports in module-level ``try``/``if`` blocks are.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# pyproject's package-dir: these subpackages live outside cvlearned/
PACKAGE_DIRS = {
    "cvlearned": ROOT / "cvlearned",
    "cvlearned.adapters": ROOT / "adapters",
    "cvlearned.weights": ROOT / "weights",
}

# Import circles present today, each as its sorted modules; they are to be removed by the
# refactor issue. Delete an entry when its circle goes (the test fails until you do). None is
# left (the models no longer import models.factories, which creates them from the manifest);
# training.patches.patch_pairs <-> training.patches.scene_patch_pairs and reconstruction <->
# reconstruction_database close a loop only through deferred imports.
KNOWN_CIRCLES: set[tuple[str, ...]] = set()


def module_files(package_dirs: dict[str, Path]) -> dict[str, Path]:
    """Module name -> source file; a package's ``__init__.py`` is the package's module."""
    modules: dict[str, Path] = {}
    for package, folder in package_dirs.items():
        for path in sorted(folder.rglob("*.py")):
            inner = path.relative_to(folder).parent.parts
            if not all((folder.joinpath(*inner[:i]) / "__init__.py").is_file() for i in range(len(inner) + 1)):
                continue  # not inside a package
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts)))
            modules.setdefault(name, path)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _blocks(node: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested in ``node`` (if/try/with/for/while/match/class bodies)."""
    for _, value in ast.iter_fields(node):
        if isinstance(value, list):
            for item in value:
                if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                    yield item.body
            if value and isinstance(value[0], ast.stmt):
                yield value


def _module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported: not in function bodies (deferred)
    nor under ``if TYPE_CHECKING:`` (its ``else`` does run)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _module_level_imports(node.orelse)
        else:
            for block in _blocks(node):
                yield from _module_level_imports(block)


def import_graph(package_dirs: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports at import time."""
    files = module_files(package_dirs)
    roots = {name.split(".")[0] for name in package_dirs}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"), str(path)).body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # ``from pkg import sub`` imports the submodule pkg.sub when there is one
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in files else source for a in node.names]
            for target in targets:
                if target.split(".")[0] not in roots:
                    continue
                while target not in files and "." in target:  # import a.b.c of a non-module: its package
                    target = target.rsplit(".", 1)[0]
                if target in files and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Strongly connected components of more than one module (iterative Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(tuple(sorted(component)))
    return found


def test_no_import_circles_beyond_the_known_ones():
    graph = import_graph(PACKAGE_DIRS)
    assert "cvlearned.adapters" in graph and "cvlearned.training.common.run_state" in graph
    found = circles(graph)
    assert found == KNOWN_CIRCLES, (
        f"new import circles: {sorted(found - KNOWN_CIRCLES)}; "
        f"known circles gone (remove them from KNOWN_CIRCLES): {sorted(KNOWN_CIRCLES - found)}"
    )


# cvlearned.training's families (subpackages) and the other families each may import, deferred
# imports included; every family may import training.common, which imports no family.
TRAINING_FAMILIES = {
    "common": set(),
    "matcher": set(),
    "patches": set(),
    "superpoint": set(),
    "ucn": set(),
    "xfeat": {"superpoint"},  # trains on the superpoint adapt stage's pseudo-labels
}


def test_training_families_import_only_common_and_their_allowed_families():
    training = ROOT / "cvlearned" / "training"
    found = {path.parent.name for path in training.glob("*/__init__.py")}
    assert found == set(TRAINING_FAMILIES), f"update TRAINING_FAMILIES: {sorted(found ^ set(TRAINING_FAMILIES))}"
    wrong = []
    for family, allowed in TRAINING_FAMILIES.items():
        allowed = allowed | {family} | ({"common"} if family != "common" else set())
        for path in sorted((training / family).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.ImportFrom) and node.level:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: relative import")
                    continue
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    parts = name.split(".")
                    if parts[:2] == ["cvlearned", "training"] and len(parts) > 2 and parts[2] in TRAINING_FAMILIES \
                            and parts[2] not in allowed:
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {family} imports {name}")
                if isinstance(node, ast.ImportFrom) and node.module == "cvlearned.training":
                    wrong += [f"{path.relative_to(ROOT)}:{node.lineno}: {family} imports {a.name}"
                              for a in node.names if a.name in TRAINING_FAMILIES and a.name not in allowed]
    assert not wrong, "imports across training families:\n" + "\n".join(wrong)


def test_checker_finds_a_circle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("try:\n    import pkg.a\nexcept ImportError:\n    pass\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n"
        "def f():\n    from pkg import d\n"
    )
    (pkg / "d.py").write_text("import pkg.c\n")
    graph = import_graph({"pkg": pkg})
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub"] == {"pkg.sub.b"}
    assert graph["pkg.c"] == set() and graph["pkg.d"] == {"pkg.c"}  # deferred/TYPE_CHECKING imports are no edges
    assert circles(graph) == {("pkg.a", "pkg.sub.b")}
