"""The rules of docs/architecture.md, checked on the source: layers, no import circle, sizes.

Imports are read with ``ast`` (nothing is imported), including imports inside functions;
imports under ``if TYPE_CHECKING:`` are exempt (type hints only).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "optimizer"

LAYERS = {
    "options": 0, "files": 0, "_version": 0,
    "instance": 1,
    "model": 2,
    "solver": 3,
    "results": 4,
    "plan": 5, "diagnose": 5,
    "analysis": 6,
    "cli": 7, "__main__": 7, "__init__": 7,
}
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
LONG_REASON = "is long because"  # the phrase a long function's docstring must contain


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Package modules that ``path`` imports (outside TYPE_CHECKING blocks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "optimizer" or a.name.startswith("optimizer."):
                    out.add(_longest_known(a.name, known))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "optimizer" or target.startswith("optimizer."):
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    out.add(sub if sub in known else _longest_known(target, known))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out.discard(name)
    return out


def _longest_known(dotted: str, known: set[str]) -> str:
    parts = dotted.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    return LAYERS[key]


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(path, name, known) for name, path in mods.items()}


def test_every_module_has_a_layer():
    unknown = sorted(m for m in _modules() if m != "optimizer" and m.split(".")[1] not in LAYERS)
    assert not unknown, f"add these to the layers of docs/architecture.md and LAYERS: {unknown}"


def test_no_import_goes_up_a_layer():
    bad = []
    for mod, targets in _graph().items():
        for t in targets:
            if t == "optimizer":  # the package itself: its __init__ is the top layer
                if _layer(mod) < 7:
                    bad.append(f"{mod} imports the package root 'optimizer'")
            elif _layer(t) > _layer(mod):
                bad.append(f"{mod} (layer {_layer(mod)}) imports {t} (layer {_layer(t)})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_circle():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w == "optimizer" or w not in graph:
                continue
            if w not in index:
                strong(w)
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
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    # a package importing its own submodules (re-exports) is not a circle
    real = [c for c in cycles if not all(any(o.startswith(x + ".") or x.startswith(o + ".") for o in c if o != x) for x in c)]
    assert not real, f"import circles: {real}"


def test_the_verifier_is_independent_of_the_model():
    graph = _graph()
    bad = [(m, t) for m, ts in graph.items() if m.startswith("optimizer.results.verify")
           for t in ts if t.startswith(("optimizer.model", "optimizer.instance.derive", "optimizer.solver"))]
    assert not bad, bad


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_sizes(path: Path):
    text = path.read_text(encoding="utf-8")
    n = text.count("\n")
    assert n <= MAX_FILE_LINES, f"{path.relative_to(ROOT)} has {n} lines (at most {MAX_FILE_LINES})"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if length > MAX_FUNCTION_LINES and LONG_REASON not in doc:
                long.append(f"{node.name} ({length} lines)")
    assert not long, (f"{path.relative_to(ROOT)}: functions over {MAX_FUNCTION_LINES} lines whose docstring does not "
                      f"say why ('{LONG_REASON} ...'): {long}")
