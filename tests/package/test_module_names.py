"""No module of the package binds one name twice at its top level: a later constant of the same
name silently replaces an earlier one, and the code written against the first reads the second
(round 23: a new `_FORMAT_CALL` took the DO-block reader's pattern; a new `_SQL_MODULES` was
replaced by an older one further down)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import tenantguard

PACKAGE = Path(tenantguard.__file__).parent


def _top_level_names(tree: ast.Module) -> Counter[str]:
    names: Counter[str] = Counter()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] += 1
        for target in targets:
            if isinstance(target, ast.Name):
                names[target.id] += 1
    return names


def test_no_module_binds_a_top_level_name_twice() -> None:
    twice = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        names = _top_level_names(ast.parse(path.read_text(encoding="utf-8")))
        repeated = sorted(n for n, count in names.items() if count > 1 and n != "__all__")
        if repeated:
            twice[str(path.relative_to(PACKAGE))] = repeated
    assert twice == {}
