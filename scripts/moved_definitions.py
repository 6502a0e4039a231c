"""Tell that a module split moved its definitions verbatim: every top-level definition of the
old module (a function, a class, an assignment) is found exactly once in the new modules, its
AST (`ast.dump`, no positions) identical to the old one's but for the names made public (a
leading underscore dropped, where another module now imports the name: in identifiers, and
where a docstring names it); the new modules hold no other definition, and each keeps the old
relative order. Imports and comments are not compared.

    python scripts/moved_definitions.py REV:OLD_PATH NEW_PATH...
    python scripts/moved_definitions.py HEAD~1:tenantguard/engine/rules/tg013_side_effect_on_unfiltered_rows.py \\
        tenantguard/engine/rules/tg013_side_effect_on_unfiltered_rows.py tenantguard/engine/costs.py …

Exits 1 on any difference.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path


def _name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _definitions(text: str) -> list[tuple[str, ast.stmt]]:
    found = []
    for node in ast.parse(text).body:
        name = _name(node)
        if name is not None:
            found.append((name, node))
    return found


class _Public(ast.NodeTransformer):
    """The old definition with the names made public renamed (identifiers and docstrings)."""

    def __init__(self, renamed: dict[str, str]) -> None:
        self.renamed = renamed
        alternatives = "|".join(re.escape(n) for n in sorted(renamed, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<![\w])({alternatives})\b") if renamed else None

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.renamed.get(node.id, node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.renamed.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = self.renamed.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if self.pattern is not None and isinstance(node.value, str):
            node.value = self.pattern.sub(lambda m: self.renamed[m.group(1)], node.value)
        return node


def main(argv: list[str]) -> int:
    revision, _, old_path = argv[0].partition(":")
    old_text = subprocess.run(
        ["git", "show", f"{revision}:{old_path}"], capture_output=True, text=True, check=True
    ).stdout
    old = _definitions(old_text)
    new: dict[str, tuple[str, int, ast.stmt]] = {}
    problems = 0
    for path in argv[1:]:
        for index, (name, node) in enumerate(_definitions(Path(path).read_text("utf-8"))):
            if name in new:
                print(f"defined twice: {name} ({new[name][0]}, {path})")
                problems += 1
            new[name] = (path, index, node)
    old_names = {name for name, _ in old}
    renamed = {
        name: name[1:]
        for name in old_names
        if name not in new and name.startswith("_") and name[1:] in new
    }
    public = _Public(renamed)
    placed: dict[str, list[tuple[int, int]]] = {}
    for position, (name, node) in enumerate(old):
        target = renamed.get(name, name)
        if target not in new:
            print(f"missing: {name}")
            problems += 1
            continue
        path, index, moved = new[target]
        placed.setdefault(path, []).append((index, position))
        if ast.dump(public.visit(node)) != ast.dump(moved):
            print(f"differs: {name} ({path})")
            problems += 1
    for name in set(new) - {renamed.get(n, n) for n in old_names}:
        print(f"not in the old module: {name} ({new[name][0]})")
        problems += 1
    for path, pairs in placed.items():
        if [p for _, p in sorted(pairs)] != sorted(p for _, p in pairs):
            print(f"order changed: {path}")
            problems += 1
    print(
        f"{len(old)} definitions, {sum(len(p) for p in placed.values())} found in "
        f"{len(argv) - 1} modules, {len(renamed)} made public, {problems} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
