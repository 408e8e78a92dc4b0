"""The layers go one way. Every import statement of every module (function-level ones included) is read
from the source, each module is placed in its layer, and an import of a higher layer, an import cycle
between packages, or a module loaded by name through importlib fails the test, naming file and line.

Layers, bottom to top (docs/architecture.md):
    core -> ontology, datasets -> labeler -> pretrain -> evaluate -> app (cxr, cxr.cli, cxr.demo)
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: repository folder -> the package it installs as (setup.py maps the same folders)
FOLDERS = {"cxr": "cxr", "labeler": "cxr.labeler", "ontology": "cxr.ontology", "pretrain": "cxr.pretrain",
           "evaluate": "cxr.evaluate"}
#: package prefix -> (layer name, layer); the longest matching prefix wins
LAYERS = {"cxr.core": ("core", 0), "cxr.ontology": ("ontology", 1), "cxr.datasets": ("datasets", 1),
          "cxr.labeler": ("labeler", 2), "cxr.pretrain": ("pretrain", 3), "cxr.evaluate": ("evaluate", 4),
          "cxr.cli": ("app", 5), "cxr.demo": ("app", 5), "cxr": ("app", 5)}
#: the only modules of pretrain that evaluate may import: the export contract
CONTRACT = ("cxr.pretrain.export",)


def layer_of(module: str) -> tuple[str, int]:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imports(path: Path, module: str) -> list[tuple[str, int]]:
    """(imported cxr module, line) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found += [(f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base, node.lineno)
                      for a in node.names]
    return sorted({(name, line) for name, line in found if name == "cxr" or name.startswith("cxr.")})


_ALL = None


def _is_module(name: str) -> bool:
    global _ALL
    if _ALL is None:
        _ALL = set(modules())
    return name in _ALL


def test_every_import_goes_down_a_layer_or_stays_in_its_own():
    upward = []
    for module, path in modules().items():
        own_pkg, own = layer_of(module)
        for target, line in imports(path, module):
            pkg, layer = layer_of(target)
            if layer > own:
                upward.append(f"{path.relative_to(REPO)}:{line}: {module} ({own_pkg}, layer {own}) imports "
                              f"{target} ({pkg}, layer {layer})")
            elif layer == own and pkg != own_pkg:
                upward.append(f"{path.relative_to(REPO)}:{line}: {module} imports its sibling {target}")
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_evaluate_meets_pretrain_only_through_the_export_contract():
    bad = [f"{path.relative_to(REPO)}:{line}: {target}"
           for module, path in modules().items() if module.startswith("cxr.evaluate")
           for target, line in imports(path, module)
           if target.startswith("cxr.pretrain") and not target.startswith(CONTRACT)]
    assert not bad, "evaluate imports pretrain internals instead of the export contract:\n" + "\n".join(bad)


def test_no_module_is_loaded_by_name():
    bad = []
    for module, path in modules().items():
        text = path.read_text(encoding="utf-8")
        for lineno, line in enumerate(text.splitlines(), 1):
            if "import_module(" in line or "__import__(" in line:
                bad.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()}")
    assert not bad, "modules loaded by name hide their dependency from the import graph:\n" + "\n".join(bad)


def test_no_import_cycles_between_modules():
    graph = {m: {t for t, _ in imports(p, m) if t in _all_modules()} for m, p in modules().items()}
    # Imports inside functions are deferred and cannot deadlock at import time, but a cycle is still two
    # modules that cannot be understood apart: every edge counts.
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _all_modules() -> set[str]:
    return set(modules())


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w == v or w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_layer_test_sees_an_upward_import(tmp_path):
    """The checker itself: a labeler module importing pretrain is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from cxr.pretrain.config import load_config\n")
    (target, line), = imports(bad, "cxr.labeler.bad")
    assert (target, line) == ("cxr.pretrain.config", 2)
    assert layer_of(target)[1] > layer_of("cxr.labeler.bad")[1]
