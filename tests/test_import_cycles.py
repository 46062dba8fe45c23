"""No import cycles between genstudio's modules, read from the source (nothing is imported).

Every import counts, function-level ones included, the same as ../shared/tools/import-cycles: a cycle hidden
inside a function still ties the two modules together. A module importing its own parent package is not counted
(a package's __init__ names its submodules; a submodule reaching for the package is fine).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def package_modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """{dotted module name: (file, is a package __init__)} for every .py file under the package folder `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def imported_modules(name: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """The modules of `known` that module `name` imports anywhere in its source (its parent packages left out)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: level 1 is this package, 2 its parent, ...
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            candidates = [module] + [f"{module}.{alias.name}" for alias in node.names]  # `from pkg import mod`
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:  # pkg.mod.attr -> pkg.mod
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and not name.startswith(candidate + "."):
                found.add(candidate)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = package_modules(root)
    return {name: imported_modules(name, path, is_package, set(modules)) for name, (path, is_package) in
            modules.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
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
                    cycles.append(sorted(component))
    return sorted(cycles)


def test_genstudio_has_no_import_cycles():
    graph = import_graph(REPO / "genstudio")
    assert len(graph) > 20 and "genstudio.generation" in graph  # the walk found the package
    cycles = import_cycles(graph)
    assert not cycles, "import cycles in genstudio (break them; don't hide the import in a function):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles)


def test_checker_finds_a_cycle(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg import a\n")  # pkg -> pkg.a; pkg.a -> pkg is not counted
    (package / "a.py").write_text("import pkg\nfrom . import b\n")  # relative: pkg.a -> pkg.b
    (package / "b.py").write_text("def f():\n    from pkg.a import thing\n")  # function level: pkg.b -> pkg.a
    (package / "c.py").write_text("from .sub.d import x\n")  # pkg.c -> pkg.sub.d, not part of a cycle
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "d.py").write_text("from .. import b\nfrom pkg import sub\n")  # -> pkg.b; parent ignored

    graph = import_graph(package)
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.a"},
        "pkg.c": {"pkg.sub.d"},
        "pkg.sub": set(),
        "pkg.sub.d": {"pkg.b"},
    }
    assert import_cycles(graph) == [["pkg.a", "pkg.b"]]

    (package / "b.py").write_text("from .sub import d\n")  # break it: pkg.b -> pkg.sub.d -> pkg.b instead
    assert import_cycles(import_graph(package)) == [["pkg.b", "pkg.sub.d"]]
    (package / "sub" / "d.py").write_text("")
    assert import_cycles(import_graph(package)) == []
