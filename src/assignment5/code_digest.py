"""A digest of the code a rule runs, so that editing it reruns the rule (Snakemake reruns a job
when its params change, and sees no edit to a module the rule's script imports).

The digest covers the rule's script and every module of this package it imports, directly or
through another, and the C++ sources those modules name; it is computed from each module's syntax
tree without docstrings, so a comment, a docstring or a reformatting reruns nothing.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
from functools import cache
from pathlib import Path

PACKAGE = "assignment5"


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _imported_modules(tree: ast.AST) -> set[str]:
    """This package's modules a syntax tree imports (from a.b import c: a.b.c when it is a module)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {n for n in names if n.split(".")[0] == PACKAGE and _path(n) is not None}


@cache
def _imports_of(path: Path) -> frozenset[str]:
    return frozenset(_imported_modules(ast.parse(path.read_text())))


@cache
def _path(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _closure(tree: ast.AST) -> list[Path]:
    """The package's source files reachable from a syntax tree's imports, and C++ files they name."""
    seen: dict[str, Path] = {}
    todo = sorted(_imported_modules(tree))
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen[module] = path = _path(module)
        todo += sorted(_imports_of(path) - seen.keys())
        parent = _path(module.rsplit(".", 1)[0])  # a package's __init__ runs too
        if parent is not None and module.rsplit(".", 1)[0] not in seen:
            todo.append(module.rsplit(".", 1)[0])
    files = set(seen.values())
    for path in list(files):
        for name in re.findall(r"[\w/]+\.cpp", path.read_text()):
            if (path.parent / name).is_file():
                files.add(path.parent / name)
    return sorted(files)


def _normalised(path: Path) -> str:
    if path.suffix == ".py":
        return ast.dump(_without_docstrings(ast.parse(path.read_text())))
    return path.read_text()


_package_file = cache(_normalised)  # package modules: read once per workflow load, shared by all rules


@cache
def of_script(script: str) -> str:
    """The digest of a rule's script and all the package code it runs (hex, 16 characters)."""
    tree = ast.parse(Path(script).read_text())
    digest = hashlib.sha256(_normalised(Path(script)).encode())
    root = _path(PACKAGE).parent
    for path in _closure(tree):
        digest.update(f"\0{path.relative_to(root)}\0{_package_file(path)}".encode())
    return digest.hexdigest()[:16]


def files_of_script(script: str) -> list[Path]:
    """The files of_script reads, for tests and for curiosity."""
    return [Path(script), *_closure(ast.parse(Path(script).read_text()))]
