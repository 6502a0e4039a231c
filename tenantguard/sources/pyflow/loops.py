"""How loops and branches change what names hold: `_straight` bodies, the items a loop
appends (`_loop_items`, `_pass_sequences`), the merge of what two branches leave (`_merge`,
`_merge_envs`) and a loop's state (`_Loop`). Relies on `model` and `stores`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.model import _YIELDED, Grown, MethodCaller
from tenantguard.sources.pyflow.stores import _concatenated_name
from tenantguard.sources.pyvalues import MAX_ALTERNATIVES, Hole, hole, union

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tenantguard.sources.pyflow.model import Binding
    from tenantguard.sources.pyvalues import Origin, Value


# an `enumerate` index (from 0) on a pass after the first: past 0
_PAST_FIRST = "a number `enumerate` counts, past its first"

_PASS_SEQUENCES = 24  # lists a loop's appends are read as, pass by pass, at most

_LOOP_ROUNDS = 3  # rounds of a loop body before its changing names count as unknown

_UNROLLED = 16  # passes of a branchless loop over constants read one by one


def _yielded(binding: object) -> bool:
    """What a call of project generators yields (read once their bodies have run)."""
    return (
        isinstance(binding, tuple)
        and len(binding) == 1
        and len(binding[0]) == 1
        and type(binding[0][0]) is Hole
        and binding[0][0].position == _YIELDED
    )


def _unknown(binding: object) -> bool:
    """A value wholly computed at run time: one alternative of one hole."""
    return (
        isinstance(binding, tuple)
        and len(binding) == 1
        and isinstance(binding[0], tuple)
        and len(binding[0]) == 1
        and type(binding[0][0]) is Hole
    )


def _appended_to(before: Grown, after: object) -> bool:
    """Whether each list `after` may hold is one of `before`'s with items appended."""
    return isinstance(after, Grown) and all(
        any(items[: len(old)] == old for old in before.lists) for items in after.lists
    )


def _straight(body: list[ast.stmt]) -> bool:
    """Whether a loop body runs each of its statements on every pass: no branch, loop,
    `try`, `break`, `continue` or `return` (a `with` of such statements is one too)."""
    for statement in body:
        if isinstance(statement, ast.With | ast.AsyncWith):
            if not _straight(statement.body):
                return False
        elif not isinstance(
            statement, ast.Expr | ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Pass
        ):
            return False
    return True


def _may_leave(statement: ast.stmt) -> bool:
    """Whether a statement of a loop body may end the pass early (a `continue`, `break`,
    `return` or `raise` in it, outside the loops and functions it defines)."""
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Continue | ast.Break | ast.Return | ast.Raise):
            return True
        if node is not statement and isinstance(
            node, ast.For | ast.AsyncFor | ast.While | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            continue
        if node is not statement and isinstance(node, ast.Lambda | ast.ClassDef):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return False


def _tested_for_items(test: ast.expr, builtin_len: bool) -> tuple[str, bool] | None:
    """The name a test reads for holding items (`rows`, `not rows`, `len(rows)`, `not
    len(rows)`, `len` read as the built-in when `builtin_len`), and whether the test is true
    when it holds some."""
    holds = True
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, holds = test.operand, not holds
    if (
        builtin_len
        and isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "len"
        and len(test.args) == 1
        and not test.keywords
    ):
        test = test.args[0]
    return (test.id, holds) if isinstance(test, ast.Name) else None


def _iterated_name(iterable: ast.expr) -> str | None:
    """The name a `for` goes over, alone or numbered (`rows`, `enumerate(rows)`)."""
    if (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Name)
        and iterable.func.id == "enumerate"
        and iterable.args
    ):
        iterable = iterable.args[0]
    return iterable.id if isinstance(iterable, ast.Name) else None


def _appended_every_time(body: list[ast.stmt]) -> set[str]:
    """The names of lists a loop body grows on every pass (`name.append(…)` among its
    statements, or in the body of a `with` or `try` there): those lists hold all the items
    the passes give, not any one of them (`for col in ("guild_id", "id"):
    keys.append(f"{col} = ${n}")` holds both)."""
    names: set[str] = set()
    for statement in body:
        if _may_leave(statement):
            break  # `if key not in allowed: continue` before it: not every pass appends
        if isinstance(statement, ast.With | ast.AsyncWith | ast.Try | ast.TryStar):
            names |= _appended_every_time(statement.body)
        elif (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and statement.value.func.attr in ("append", "extend")
            and isinstance(statement.value.func.value, ast.Name)
        ):
            names.add(statement.value.func.value.id)
        elif (concatenated := _concatenated_name(statement)) is not None:
            names.add(concatenated)
    return names


def _loop_items(before: Grown, after: object, node: ast.AST, origin: Origin) -> Value | None:
    """Any one of the items a loop appends to a list (`after` holds the lists its rounds
    left), when each is text of constants — numbers counted at run time (`${i}`) included:
    `updates.append(f"{field} = ${i}")` for `field` over constant names. Items joined into a
    statement (`", ".join(updates)`, `" AND ".join(conditions)`) are then checked one by one:
    an item that drops the pin or moves a row (`org_id = $2` in a SET) does it alone. None
    when an item holds text known only at run time (a key of a request's dict)."""
    if not isinstance(after, Grown) or _unknown_item(before, after) is not None:
        return None
    found = dict.fromkeys(_new_items(before, after))
    if not found:
        return None
    value = union(list(found), node, origin)
    if len(value) == 1 and len(value[0]) == 1 and type(value[0][0]) is Hole:
        return None  # over the cap
    return value


def _unknown_item(before: Grown, after: object) -> Hole | None:
    """The first part known only at run time of an item a loop appends to a list (`{key}` of
    `f"{key} = ${len(args)}"` for `key` over a request's dict), to say why its items are."""
    if not isinstance(after, Grown):
        return None
    for item in _new_items(before, after):
        for alternative in item:
            for part in alternative:
                if type(part) is Hole and part.string:
                    return part
    return None


def _new_items(before: Grown, after: Grown) -> Iterator[Value]:
    """The items of each list `after` holds past what it held `before` (a loop's appends)."""
    for items in after.lists:
        start = max((len(old) for old in before.lists if items[: len(old)] == old), default=0)
        yield from items[start:]


def _pass_sequences(
    before: Grown, first: object, after: object
) -> tuple[tuple[Value, ...], ...] | None:
    """What a loop that appends on every pass adds to a list, pass by pass: each sequence
    its first pass appends (`first` holds the lists it left), alone and followed by what
    later passes append (`after` holds the lists its rounds left), so that a pass appending
    `f"name = ${k}"` then `"OR"` is read `name = $2 OR name = $3 OR`, never `OR name = $2`.
    None when an item holds text known only at run time, or past a few sequences."""
    if not isinstance(first, Grown) or not isinstance(after, Grown):
        return None

    def suffixes(
        olds: tuple[tuple[Value, ...], ...], lists: tuple[tuple[Value, ...], ...]
    ) -> list[tuple[Value, ...]] | None:
        found: dict[tuple[Value, ...], None] = {}
        for items in lists:
            start = max((len(old) for old in olds if items[: len(old)] == old), default=-1)
            if start < 0:
                return None
            if len(items) > start:
                found[items[start:]] = None
        return list(found)

    firsts = suffixes(before.lists, first.lists)
    laters = suffixes(first.lists, after.lists)
    if not firsts or not laters or len(firsts) * (len(laters) + 1) > _PASS_SEQUENCES:
        return None
    for sequence in (*firsts, *laters):
        for item in sequence:
            for alternative in item:
                if any(type(part) is Hole and part.string for part in alternative):
                    return None
    return (*firsts, *(a + b for a in firsts for b in laters))


def _common_start(lists: Sequence[tuple[Value, ...]]) -> tuple[Value, ...]:
    """The items every list starts with, in order."""
    first = lists[0]
    length = 0
    while length < len(first) and all(
        len(other) > length and other[length] == first[length] for other in lists[1:]
    ):
        length += 1
    return first[:length]


def _merge(a: Binding | None, b: Binding | None, node: ast.AST, origin: Origin) -> Binding | None:
    if a is None:
        return b
    if b is None or a is b or a == b:
        return a
    if isinstance(a, tuple) and isinstance(b, tuple):
        return union((a, b), node, origin)
    if isinstance(a, MethodCaller) and isinstance(b, MethodCaller):
        return MethodCaller(tuple(dict.fromkeys((*a.makers, *b.makers))))
    if isinstance(a, Grown) and isinstance(b, Grown):
        lists = tuple(dict.fromkeys((*a.lists, *b.lists)))
        if len(lists) > MAX_ALTERNATIVES:
            reason = f"the list can hold more than {MAX_ALTERNATIVES} contents"
            # the items every list starts with stay (`["tenant_id = $1"]` before optional
            # filters: the pin), the rest is one unknown item (round 22, helper 106: a ninth
            # filter dropped the pin, and a safe search became four TG001 errors)
            common = _common_start(lists)
            if common:
                return Grown(((*common, hole(node, origin, reason)),))
            return hole(node, origin, reason)
        return Grown(lists)
    return hole(node, origin, "it holds different kinds of values on different paths")


def _merge_envs(
    envs: Sequence[dict[str, Binding] | None], node: ast.AST, origin: Origin
) -> dict[str, Binding] | None:
    live = [e for e in envs if e is not None]
    if not live:
        return None
    if len(live) == 1:
        return dict(live[0])
    merged = dict(live[0])
    for env in live[1:]:
        if env is merged:
            continue
        for name, binding in env.items():
            current = merged.get(name)
            if current is not binding:
                merged[name] = _merge(current, binding, node, origin)  # type: ignore[assignment]
    return merged


def _constant_number(value: Value) -> int | None:
    """The int a value surely is (one alternative, a constant number), else None."""
    if len(value) == 1 and len(value[0]) == 1 and type(value[0][0]) is Hole:
        number = value[0][0].number
        return number if type(number) is int else None
    return None


class _Loop:
    __slots__ = ("breaks", "continues")

    def __init__(self) -> None:
        self.breaks: list[dict[str, Binding]] = []
        self.continues: list[dict[str, Binding]] = []
