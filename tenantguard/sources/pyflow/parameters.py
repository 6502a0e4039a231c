"""How a function's parameters reach its SQL: the parameters a value passes unchanged
(`passed_parameters`, `sent_unchanged`, `completes_only`), the argument a call gives one
(`given_argument`) and the defaults that stand in. Relies on `names` and `syntax`.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern
from tenantguard.sources.pyflow.names import _SQL_KEYWORDS, _short
from tenantguard.sources.pyflow.syntax import (
    _ANY_SQL_KEY,
    _ITEMS,
    _JOINED,
    _KWARG,
    _VARARGS,
    _constant_text,
)
from tenantguard.sources.pyvalues import Hole, Lit, concat, hole, join_values, union

if TYPE_CHECKING:
    from collections.abc import Callable

    from tenantguard.sources.pyflow.model import Call, FunctionInfo
    from tenantguard.sources.pyvalues import Alternative, Origin, Value


def _constant_text_of(value: Value) -> str | None:
    """The text of a value that is one constant, else None."""
    return _constant_text(value[0]) if len(value) == 1 else None


def sent_unchanged(template: Value) -> bool:
    """Whether a wrapper's template sends its parameter as it is (not completed, not
    normalised)."""
    return (
        len(template) == 1
        and len(template[0]) == 1
        and type(template[0][0]) is Hole
        and template[0][0].transform is None
    )


def _carries_parameters(call: Call, owner: FunctionInfo) -> bool:
    """Whether an argument of the call holds text of a parameter of `owner` (what
    `passed_parameters` looks for): only then can the call make `owner` a wrapper, and the
    callees' own answers are not needed (working them out reads their modules, and theirs)."""
    values = [a[1] for a in call.positional if a is not None]
    values.extend(a[1] for a in call.keywords.values())
    values.extend(call.elements.values())
    return any(
        type(part) is Hole and part.owner is owner
        for value in values
        for alternative in value
        for part in alternative
    )


def passed_parameters(value: Value, owner: FunctionInfo) -> dict[str, Value]:
    """Parameters of `owner` whose text a value sends as SQL, each with the alternatives that
    send it (its template): held unchanged, or completed — the alternative starts with it,
    or with constant text ending in `(` before it (`f"{query} LIMIT 50"`, `f"SELECT
    count(*) FROM ({query}) AS q"`), and holds it once. A parameter inside the text (`FROM
    {table}`) is not one: the function builds its SQL from it."""
    out: dict[str, list[Alternative]] = {}
    for alternative in value:
        for index, part in enumerate(alternative):
            if type(part) is not Hole:
                continue
            if part.param is None or part.owner is not owner:
                break
            before = "".join(p.text for p in alternative[:index] if type(p) is Lit)
            if (
                before.strip()
                and not _SUBQUERY_OPEN.search(before)
                and not _CLAUSE_OPEN.search(before)
            ):
                break
            if any(
                type(p) is Hole and p.param == part.param and p.owner is owner
                for p in alternative[index + 1 :]
            ):
                break
            out.setdefault(part.param, []).append(alternative)
            break
    return {name: tuple(alternatives) for name, alternatives in out.items()}


# where a complete query stands inside another: `FROM (`, `JOIN (`, `LATERAL (`, `EXISTS (`, a
# CTE's `AS (` (not `IN (`: a list of values)
_SUBQUERY_OPEN = lazy_pattern(r"\b(?:FROM|JOIN|LATERAL|EXISTS|AS)\s*\(\s*$", re.IGNORECASE)

# where a caller's condition stands in a wrapper's statement (`"SELECT … WHERE " + clause`): the
# callers' SQL is checked with the wrapper's around it
_CLAUSE_OPEN = lazy_pattern(r"\b(?:WHERE|AND)\s*\(?\s*$", re.IGNORECASE)

# conditions the wrapper adds after the caller's, and the statement's tail
_MORE_CONDITIONS = lazy_pattern(
    r"\s*\)?\s*AND\b(?![\s\S]*\b(?:UNION|INTERSECT|EXCEPT|OR|JOIN|FROM|WHERE)\b)", re.IGNORECASE
)

# what may follow a complete statement without changing the rows it reads
# (after a subquery's `)` and its alias)
_STATEMENT_TAIL = lazy_pattern(
    r"(?:\s*\)\s*(?:AS\s+)?(?!LIMIT\b|OFFSET\b|ORDER\b|FETCH\b|FOR\b|UNION\b|JOIN\b)\w*)?"
    r"\s*(?:;\s*$|$|(?:LIMIT|OFFSET|ORDER\s+BY|FETCH\s+(?:FIRST|NEXT)|FOR\s+(?:UPDATE|SHARE|NO\s+KEY"
    r"\s+UPDATE|KEY\s+SHARE))\b(?![\s\S]*\b(?:UNION|INTERSECT|EXCEPT|OR|JOIN|FROM|WHERE)\b))",
    re.IGNORECASE,
)


def completes_only(alternative: Alternative, parameter: str, owner: object) -> bool:
    """Whether a wrapper's SQL keeps what its parameter reads: the parameter stands alone, or
    first with only a statement's tail after it (`LIMIT …`, `ORDER BY …`, `FOR UPDATE`), or
    inside a subquery (`FROM ({query}) AS q`). Then the wrapper itself has nothing to say:
    its callers' SQL is checked with what it adds. Otherwise (`{query} OR true`) the
    parameter stays TG009 in the wrapper too."""
    for index, part in enumerate(alternative):
        if type(part) is Hole and part.param == parameter and part.owner is owner:
            after = "".join(p.text if type(p) is Lit else " 0 " for p in alternative[index + 1 :])
            before = "".join(p.text for p in alternative[:index] if type(p) is Lit)
            if _CLAUSE_OPEN.search(before):  # `WHERE {clause}`: more conditions, or the tail
                return _STATEMENT_TAIL.match(after) is not None or (
                    _MORE_CONDITIONS.match(after) is not None
                )
            return _STATEMENT_TAIL.match(after) is not None
    return False


def _positional(call: Call, callee: FunctionInfo) -> list[str]:
    """The callee's parameters this call fills by position, in order."""
    if callee.method_kind == "staticmethod":
        return [a.arg for a in (*callee.node.args.posonlyargs, *callee.node.args.args)]
    if call.bound or callee.method_kind in ("function", "classmethod"):
        return callee.positional
    func = call.call.func
    if callee.name == "__init__" and not (
        isinstance(func, ast.Attribute) and func.attr == "__init__"
    ):
        return callee.positional  # `Pages(…)` (a class imported by name): no `self` passed
    return callee.parameters


def given_argument(call: Call, callee: FunctionInfo, parameter: str) -> ast.expr | None:
    """The expression a call surely gives for one of the callee's parameters, or None."""
    found = _argument_for(call, callee, _positional(call, callee), parameter)
    return None if found is None else found[0]


def _argument_for(
    call: Call,
    callee: FunctionInfo,
    positional: list[str],
    parameter: str,
    empty: bool | None = None,
) -> tuple[ast.expr, Value] | None:
    """The argument a call gives for one of the callee's parameters, if it surely gives one
    (for `*args`, named `_VARARGS + "args"`: the first it collects; for the items of a
    parameter a loop goes over, named `_ITEMS + "queries"`: the items the argument holds,
    or an unknown item when they are not known)."""
    if parameter.startswith(_ITEMS):
        name = parameter[len(_ITEMS) :]
        key: int | str = name
        if name not in call.keywords and name in positional:
            key = positional.index(name)
            if key >= len(call.positional) or any(a is None for a in call.positional[: key + 1]):
                return None
        given = _argument_for(call, callee, positional, name)
        if given is None:
            return None
        held = call.elements.get(key)
        if held is None:
            reason = f"the items of `{_short(given[0])}` are only known at run time"
            origin = given[1][0][0].origin if given[1] and given[1][0] else None
            if origin is None:
                return None
            held = hole(given[0], origin, reason)
        return given[0], held
    if parameter.startswith(_JOINED):
        return _joined_argument(call, callee, positional, parameter[len(_JOINED) :], empty)
    if parameter.startswith(_KWARG):
        # `kwargs.pop("sql")` in the callee: what the call gives as `sql=`, a key that is not
        # one of the callee's named parameters (then `**kwargs` does not collect it)
        key = parameter[len(_KWARG) :]
        args = callee.node.args
        named = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        if args.kwarg is not None and key == _ANY_SQL_KEY:
            # `**kw` passed on whole into the sink: the SQL keyword the call gives (h40D)
            sql_keys = [k for k in _SQL_KEYWORDS if k in call.keywords and k not in named]
            return call.keywords[sql_keys[0]] if len(sql_keys) == 1 else None
        return None if args.kwarg is None or key in named else call.keywords.get(key)
    if parameter.startswith(_VARARGS):
        vararg = callee.node.args.vararg
        if vararg is None or parameter != _VARARGS + vararg.arg:
            return None
        index = len(positional)
        if index >= len(call.positional) or any(a is None for a in call.positional[: index + 1]):
            return None  # none given there, or a starred argument before it
        return call.positional[index]
    argument = call.keywords.get(parameter)
    if argument is None and parameter in positional:
        index = positional.index(parameter)
        if index < len(call.positional):
            if any(a is None for a in call.positional[: index + 1]):
                return None  # a starred argument before it: its position is unknown
            argument = call.positional[index]
    return argument


# where a joined parameter's separator goes, until the hole's transform puts it there
# (`rejoined`): the items a call gives are read before the separator the callee joins them with
_JOIN_MARK = "\x00join\x00"


def _joined_argument(
    call: Call, callee: FunctionInfo, positional: list[str], name: str, empty: bool | None
) -> tuple[ast.expr, Value] | None:
    """The items a call surely gives a parameter the callee joins, one after the other with
    `_JOIN_MARK` between them (each list it may give; with `empty`, only the lists that are
    empty, or only those that are not: a return the function reaches only so); None when
    they are not all known."""
    given = joined_items(call, callee, positional, name)
    if given is None:
        return None
    node, lists = given
    if empty is not None:
        lists = tuple(items for items in lists if (len(items) == 0) is empty)
        if not lists:
            return None
    origin = callee.module.origin
    mark: Value = ((Lit(_JOIN_MARK, origin, None, 0, node),),)
    joined = [join_values(mark, list(items), node, origin) for items in lists]
    return node, union(joined, node, origin)


def joined_items(
    call: Call, callee: FunctionInfo, positional: list[str], name: str
) -> tuple[ast.expr, tuple[tuple[Value, ...], ...]] | None:
    """The items a call surely gives a parameter, in order, each list it may give (`*conds`:
    the arguments it collects, a last `*filters` each list `filters` may hold; a list
    parameter: the items of the list display, constant list or grown list given); None when
    they are not all known."""
    vararg = callee.node.args.vararg
    node: ast.expr = call.call
    if vararg is not None and vararg.arg == name:
        index = len(positional)
        given = call.positional
        if any(a is None for a in given[:-1]) or len(given) < index:
            return None  # a starred argument before the last: which items it adds is not known
        fixed = tuple(a[1] for a in given[index:] if a is not None)
        if not given or given[-1] is not None:
            return node, (fixed,)
        unpacked = call.sequences.get("*")
        if unpacked is None or len(given) - 1 < index:
            return None
        return node, tuple(fixed + items for items in unpacked)
    key: int | str = name
    if name not in call.keywords:
        if name not in positional:
            return None
        key = positional.index(name)
        if key >= len(call.positional) or any(a is None for a in call.positional[: key + 1]):
            return None
    argument = call.keywords.get(name) if isinstance(key, str) else call.positional[key]
    lists = call.sequences.get(key)
    if argument is None or lists is None:
        return None
    return argument[0], lists


def rejoined(separator: Value, node: ast.AST, origin: Origin) -> Callable[[Value], Value]:
    """The transform of a joined parameter's hole: the separator the function joins with, in
    place of each `_JOIN_MARK` between the items a call gives."""

    def put(value: Value) -> Value:
        out: list[Alternative] = []
        for alternative in value:
            pieces: list[Value] = [
                separator if type(p) is Lit and p.text == _JOIN_MARK else ((p,),)
                for p in alternative
            ]
            out.extend(concat(pieces, node, origin))
        return tuple(out)

    return put


def name_text(alternative: Alternative) -> Alternative:
    """The pieces of a name psycopg quotes (`sql.Identifier`): each `"` in it doubled, as
    psycopg writes it (`x"y` is `"x""y"`, one identifier); a piece known at run time a name."""
    return tuple(
        p._replace(kind="name")
        if type(p) is Hole
        else p._replace(text=p.text.replace('"', '""'), node=None, anchor=p.node or p.anchor)
        if type(p) is Lit and '"' in p.text
        else p
        for p in alternative
    )


def quoted_rejoined(separator: Value, node: ast.AST, origin: Origin) -> Callable[[Value], Value]:
    """`rejoined` of a parameter's names each made `sql.Identifier(name)`: every item a call
    gives in double quotes, as psycopg quotes a name (an item known at run time a name)."""
    quote: Value = ((Lit('"', origin, None, 0, node),),)
    between = concat([quote, separator, quote], node, origin)

    def put(value: Value) -> Value:
        out: list[Alternative] = []
        for alternative in value:
            pieces: list[Value] = [quote]
            for p in alternative:
                if type(p) is Lit and p.text == _JOIN_MARK:
                    pieces.append(between)
                else:
                    pieces.append((name_text((p,)),))
            pieces.append(quote)
            out.extend(concat(pieces, node, origin))
        return tuple(out)

    return put


def _default_expression(callee: FunctionInfo, parameter: str) -> ast.expr | None:
    """The default a function's parameter is given when a call leaves it out, if any."""
    arguments = callee.node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    for argument, given in zip(positional[::-1], arguments.defaults[::-1], strict=False):
        if argument.arg == parameter:
            return given
    for argument, maybe in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if argument.arg == parameter:
            return maybe
    return None


def _default(callee: FunctionInfo, part: Hole) -> Value | None:
    """A parameter's constant default (a string, or an int as it is formatted)."""
    arguments = callee.node.args
    defaults: dict[str, ast.expr] = {}
    positional = [*arguments.posonlyargs, *arguments.args]
    for argument, given in zip(positional[::-1], arguments.defaults[::-1], strict=False):
        defaults[argument.arg] = given
    for argument, maybe in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if maybe is not None:
            defaults[argument.arg] = maybe
    default = defaults.get(part.param or "")
    if not isinstance(default, ast.Constant) or isinstance(default.value, bool):
        return None
    origin = callee.module.origin
    if isinstance(default.value, str):
        return ((Lit(default.value, origin, default),),)
    if type(default.value) is int:
        return ((Lit(str(default.value), origin, None, 0, default),),)
    return None


def _substituted(
    template: Value, owner: FunctionInfo, filled: dict[str, Value], node: ast.AST
) -> Value:
    """The template with each parameter of `owner` named in `filled` replaced by its value."""
    out: list[Value] = []
    for alternative in template:
        pieces: list[Value] = []
        start = 0
        for index, part in enumerate(alternative):
            if type(part) is Hole and part.owner is owner and part.param in filled:
                pieces.append((alternative[start:index],))
                given = filled[part.param]
                pieces.append(given if part.transform is None else part.transform(given))
                start = index + 1
        pieces.append((alternative[start:],))
        if len(pieces) == 3 and not pieces[0][0] and not pieces[2][0]:
            out.append(pieces[1])  # sent unchanged: the argument's own value
        else:
            out.append(concat(pieces, node, owner.module.origin))
    return out[0] if len(out) == 1 else union(out, node, owner.module.origin)
