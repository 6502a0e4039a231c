"""Helpers over what PostgreSQL's parser (pglast) gives: names, columns and calls of DDL nodes,
the types (built-in, serial, exact) and domains they name, the bodies of views and SQL functions
(their parsed trees, outputs, what they read and call), and namesake (replaced) views and
functions.

Functions of nodes and records only (`records`); no state of the reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard.engine.policy import (
    clip_name,
    fold_name,
)
from tenantguard.engine.proof import identifier_name
from tenantguard.sources.schema.records import FunctionInfo, ViewInfo

_DEEPEST_VIEW = 32  # views of views followed for the columns of a query; deeper: unknown


def _function_calls(node: Any) -> list[tuple[str, Any]]:
    """The function calls in a statement: (the name called, without its schema; the call)."""
    from pglast.visitors import Visitor

    found: list[tuple[str, Any]] = []

    class _Calls(Visitor):
        def visit_FuncCall(self, ancestors: Any, call: Any) -> None:
            names = [str(getattr(n, "sval", "")) for n in call.funcname or ()]
            if names:
                found.append((names[-1], call))

    _Calls()(node)
    return found


# a schema the reader cannot tell (`SET search_path = "$user", …`: the role's)
_UNKNOWN_SCHEMA = "?"


def _path_names(value: str) -> list[str] | None:
    """The schemas of a search path's text, as PostgreSQL splits it (SplitIdentifierString):
    unquoted names folded to lower case, `"App"` kept; None when it does not split."""
    names: list[str] = []
    i, n = 0, len(value)
    if not value.strip():
        return names
    while True:
        while i < n and value[i].isspace():
            i += 1
        if i < n and value[i] == '"':
            parts, j = [], i + 1
            while True:
                k = value.find('"', j)
                if k < 0:
                    return None
                if value[k + 1 : k + 2] == '"':
                    parts.append(value[j : k + 1])
                    j = k + 2
                    continue
                parts.append(value[j:k])
                i = k + 1
                break
            names.append("".join(parts))
        else:
            j = i
            while i < n and value[i] != "," and not value[i].isspace():
                i += 1
            if i == j:
                return None
            names.append(value[j:i].lower())
        while i < n and value[i].isspace():
            i += 1
        if i >= n:
            return names
        if value[i] != ",":
            return None
        i += 1


def _origin_role(node: Any) -> bool:
    """`SET session_replication_role = origin` (TO DEFAULT, RESET): the keys' triggers fire."""
    from pglast.enums import VariableSetKind

    if type(node).__name__ != "VariableSetStmt" or node.name != "session_replication_role":
        return False
    if _enum(node.kind) in (VariableSetKind.VAR_SET_DEFAULT, VariableSetKind.VAR_RESET):
        return True
    values = [getattr(getattr(a, "val", None), "sval", None) for a in node.args or ()]
    return values == ["origin"]


# `SchemaInfo.spanning`'s entry of a partial key's own columns (its name, then this), beside
# the entry of every column it checks (its WHERE's too)
_KEY_ONLY = "\x00key"

KEY_ONLY = _KEY_ONLY  # (the suffix of a key's own entry in SchemaInfo.spanning)


def _enum(value: Any) -> int:
    return int(getattr(value, "value", value))


def _deferred(constraints: list[Any], index: int) -> bool:
    """Whether a column's constraint at `index` is made DEFERRABLE (or INITIALLY DEFERRED) by
    the attributes that follow it in the column's list."""
    from pglast.enums import ConstrType

    return any(
        _enum(c.contype) in (ConstrType.CONSTR_ATTR_DEFERRABLE, ConstrType.CONSTR_ATTR_DEFERRED)
        for c in constraints[index + 1 : index + 3]
    )


def _custom_settings_set(options: Any) -> list[str]:
    """The custom settings (`app.tenant_id`: a dotted name) a function's `SET name = …` or
    `SET name FROM CURRENT` options give a value of its own while it runs."""
    found = []
    for option in options or ():
        name = getattr(option.arg, "name", None) if str(option.defname) == "set" else None
        if name and "." in str(name):
            found.append(f"SET {name}")
    return found


def _index_element_columns(element: Any) -> set[str]:
    """The columns an index's element (a pglast IndexElem) reads: its column, or those its
    expression reads."""
    if getattr(element, "name", None):
        return {str(element.name)}
    return _columns_read(getattr(element, "expr", None))


def _columns_read(expression: Any) -> set[str]:
    """The names of the columns an expression (a pglast node) reads."""
    found: set[str] = set()
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple | list):
            stack.extend(node)
        elif type(node).__name__ == "ColumnRef":
            names = list(_strings(node.fields))
            if names:
                found.add(names[-1])
        elif hasattr(node, "__slots__"):
            stack.extend(getattr(node, name, None) for name in node.__slots__)
    return found


# casts that keep a copy exact: to integers, numeric without a typmod, text, varchar without a
# length, uuid (as PostgreSQL's parser names them)
_EXACT_CASTS = frozenset(
    {"int2", "int4", "int8", "numeric", "text", "varchar", "uuid", "smallint", "integer",
     "bigint", "int"}
)  # fmt: skip


def copied_column(expression: Any) -> str | None:
    """The column a generation expression copies: `owner`, or `owner::uuid` (a cast to a type
    of `_EXACT_CASTS`, no typmod, no array; pg_catalog's or unqualified); None otherwise."""
    if type(expression).__name__ == "TypeCast":
        type_name = expression.typeName
        names = list(_strings(type_name.names)) if type_name is not None else []
        if (
            not names
            or names[-1] not in _EXACT_CASTS
            or names[:-1] not in ([], ["pg_catalog"])
            or type_name.typmods
            or type_name.arrayBounds
            or type_name.setof
            or type_name.pct_type
        ):
            return None
        expression = expression.arg
    if type(expression).__name__ != "ColumnRef":
        return None
    fields = list(expression.fields or ())
    if len(fields) != 1 or type(fields[0]).__name__ != "String":
        return None
    return str(fields[0].sval)


def _relname(node: Any) -> str:
    return str(node.relname)


_INTEGER_TYPES = frozenset(
    {"int2", "int4", "int8", "smallint", "integer", "int", "bigint", "serial", "bigserial",
     "smallserial", "serial2", "serial4", "serial8"}
)  # fmt: skip

# serials are integers of these types
_SERIALS = {"smallserial": "int2", "serial2": "int2", "serial": "int4", "serial4": "int4",
            "bigserial": "int8", "serial8": "int8"}  # fmt: skip

# pg_catalog's types a column's declaration may name without its schema (PostgreSQL's parser
# writes the SQL-standard ones — int, varchar, numeric… — as pg_catalog.<name> already)
BUILTIN_TYPES = frozenset(
    [
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "numeric",
        "bool",
        "text",
        "varchar",
        "bpchar",
        "uuid",
        "bytea",
        "json",
        "jsonb",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "money",
        "oid",
        "name",
        "char",
        "bit",
        "varbit",
        "xml",
        "tsvector",
        "tsquery",
        "point",
    ]
)


def type_trait(base: str, arrays: int, builtin: bool) -> str:
    """`type:<name>` of a built-in type, `type:domain:<name>` of any other (counted only when
    the schema is sure of it: `exact_domains`), `[]` per array level."""
    return f"type:{'' if builtin else 'domain:'}{base}{'[]' * arrays}"


def stable_names(definitions: Iterable[tuple[str, str, str]]) -> set[str]:
    """Of (schema, name, volatility i/s/v) definitions: each name, and `schema.name`, every
    definition of which is IMMUTABLE or STABLE (the schema reader's and audit's
    stable_functions)."""
    kinds: dict[str, set[str]] = {}
    for where, name, kind in definitions:
        kinds.setdefault(name, set()).add(kind)
        kinds.setdefault(f"{where}.{name}", set()).add(kind)
    return {name for name, found in kinds.items() if found <= {"i", "s"}}


def _type_trait(type_name: Any) -> str | None:
    """The `type:` trait of a column's declared type, as PostgreSQL compares types (by oid: a
    typmod does not count, a serial is its integer type), for set operations, which push a
    filter into their branches only when each branch's column is of the output's very type.
    None: not sure (%TYPE)."""
    if type_name is None or getattr(type_name, "pct_type", False):
        return None
    names = list(_strings(getattr(type_name, "names", None) or ()))
    if not names:
        return None
    base = _SERIALS.get(names[-1], names[-1]) if len(names) == 1 else names[-1]
    builtin = names[0] == "pg_catalog" if len(names) > 1 else base in BUILTIN_TYPES
    return type_trait(base, len(getattr(type_name, "arrayBounds", None) or ()), builtin)


def _length_trait(type_name: Any) -> tuple[str, ...]:
    """`length:<n>` of a `varchar(n)` column (no array): the longest value it holds, so that a
    cast of it to `varchar(m)`, m >= n, cuts none (h36B)."""
    names = list(_strings(getattr(type_name, "names", None) or ()))
    mods: tuple[Any, ...] = tuple(getattr(type_name, "typmods", None) or ())
    if names[-1:] != ["varchar"] or getattr(type_name, "arrayBounds", None) or len(mods) != 1:
        return ()
    value = getattr(getattr(mods[0], "val", None), "ival", None)
    return (f"length:{value}",) if isinstance(value, int) and value > 0 else ()


def _integer_type(type_name: Any) -> bool:
    """int2, int4, int8 or a serial, no array (a domain over one is not followed)."""
    if type_name is None or getattr(type_name, "arrayBounds", None):
        return False
    names = list(_strings(getattr(type_name, "names", None) or ()))
    if len(names) > 1 and names[0] != "pg_catalog":
        return False  # a type of that name in another schema
    return bool(names) and names[-1] in _INTEGER_TYPES


# PostgreSQL's own operator classes of the types a tenant column has, whose equality is `=`
_EXACT_OPCLASSES = frozenset(
    """int2_ops int4_ops int8_ops integer_ops text_ops varchar_ops bpchar_ops uuid_ops
    text_pattern_ops varchar_pattern_ops bpchar_pattern_ops numeric_ops bytea_ops""".split()  # noqa: SIM905
)


def _simple_select(view: ViewInfo) -> Any:
    """The view's query when PostgreSQL updates the view itself — a SELECT of one table with no
    WITH, DISTINCT, GROUP BY, HAVING, window, LIMIT/OFFSET, locking or set operation — else
    None (or when pglast cannot read it back)."""
    import pglast

    try:
        statements = pglast.parse_sql(view.query)
    except Exception:  # a query pglast printed and cannot read back
        return None
    if len(statements) != 1:
        return None
    select: Any = statements[0].stmt
    if type(select).__name__ != "SelectStmt" or _enum(select.op) != 0:
        return None
    if any(
        getattr(select, clause) is not None
        for clause in (
            "withClause", "distinctClause", "groupClause", "havingClause", "windowClause",
            "limitCount", "limitOffset", "lockingClause", "valuesLists", "intoClause",
        )
    ):  # fmt: skip
        return None
    sources: Any = select.fromClause or ()
    if len(sources) != 1 or type(sources[0]).__name__ != "RangeVar":
        return None
    return select


def _updatable_view_base(view: ViewInfo) -> tuple[str, dict[str, set[str]]] | None:
    """(the one table a view selects from, the names it shows each base column under by a
    plain reference) when PostgreSQL updates the view itself: one FROM item, a table, and no
    WITH, DISTINCT, GROUP BY, HAVING, window, LIMIT/OFFSET, locking or set operation; None
    otherwise. `*` under a column list renames by positions the reader does not keep: None."""
    select = _simple_select(view)
    if select is None:
        return None
    sources: Any = select.fromClause
    alias = getattr(sources[0], "alias", None)
    if alias is not None and getattr(alias, "colnames", None):
        return None  # `FROM t AS x (a, b)` renames by positions the reader does not keep
    shown: dict[str, set[str]] = {}
    renames = view.columns or []
    for index, target in enumerate(select.targetList or ()):
        value = target.val
        while type(value).__name__ == "TypeCast":
            # `tenant_id::bigint AS tenant_id`: PostgreSQL drops a cast to the column's own
            # type, and the view's column is the table's, updatable (round 22, helper 104); to
            # another type it is not, and a write naming it fails: read as the column either way
            value = value.arg
        if type(value).__name__ != "ColumnRef":
            continue  # an expression: a column an INSERT cannot name
        last = value.fields[-1]
        if type(last).__name__ == "A_Star":
            if renames:
                return None
            shown.setdefault("*", set())  # every base column under its own name
            continue
        column = str(last.sval)
        name = renames[index] if index < len(renames) else (target.name or column)
        shown.setdefault(column, set()).add(str(name))
    return _relname(sources[0]), shown


def _single_table_select(view: ViewInfo) -> bool:
    """Is the view's query a SELECT of one table that PostgreSQL may update itself, whatever
    its columns?"""
    return _simple_select(view) is not None


def fills_by_name(
    body: list[str], row: tuple[str, ...], orders: Mapping[str, list[tuple[str, ...]]]
) -> bool:
    """Whether each query of a function returning a row type outputs the row's columns under
    their own names, at their own positions — a select list naming them in order, or `*` (`t.*`)
    of one relation whose columns (every relation of that name's, in `orders`) are the row's, in
    order — so that reading its outputs by name is reading them by position, as PostgreSQL fills
    the row. (A `*` renamed by position hides which column lands where: the proof pins none.)"""
    from tenantguard.engine.proof.names import output_names

    for statement in body:
        try:
            tree = sqlglot.parse_one(statement, read="postgres")
        except (SqlglotError, RecursionError):
            return False
        if not isinstance(tree, exp.Select):
            return False
        names = output_names(tree)
        if names is not None:
            if tuple(names) != row:
                return False
            continue
        source = tree.args.get("from_")
        if (
            len(tree.expressions) != 1
            or tree.args.get("joins")
            or source is None
            or not isinstance(source.this, exp.Table)
        ):
            return False
        qualifier = tree.expressions[0].args.get("table")
        table = source.this
        if qualifier is not None and identifier_name(qualifier) not in (
            table.alias_or_name,
            identifier_name(table.this),
        ):
            return False
        alias = table.args.get("alias")
        if alias is not None and alias.columns:
            return False  # `t AS a(x, y)` renames by position
        found = orders.get(identifier_name(table.this))
        if not found or any(columns != row for columns in found):
            return False
    return True


def namesake_views(old: ViewInfo, new: ViewInfo) -> ViewInfo:
    """One name, two views (in two schemas, or one replacing the other): read as the rows of
    both, pinned only if both pass their tenant column through; with different column lists,
    positions differ: read so that nothing pins it."""
    if old.columns == new.columns:
        return ViewInfo(f"({old.query}) UNION ALL ({new.query})", new.columns)
    return ViewInfo(
        f"SELECT * FROM ({old.query}) AS {_aliased('a', old)} "
        f"UNION ALL SELECT * FROM ({new.query}) AS {_aliased('b', new)}",
        None,
    )


def _aliased(alias: str, view: ViewInfo) -> str:
    if not view.columns:
        return alias
    return f"{alias}({', '.join(_quote_name(c) for c in view.columns)})"


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# the types a domain may stand on for a cast to it to be exact (see values.py's _EXACT)
_EXACT_BASES = frozenset({"int2", "int4", "int8", "numeric", "text", "varchar", "uuid"})

# collations of PostgreSQL's own whose `=` compares bytes (values.py's _DETERMINISTIC_COLLATIONS)
_BYTE_COLLATIONS = frozenset({"C", "POSIX", "default", "ucs_basic"})


def _domain_base(type_name: Any, collate: Any) -> tuple[str, str]:
    """A domain's base type as (schema or "", name); name "?" when no cast to the domain can
    be exact whatever the type: a length, precision or array, SETOF or %TYPE, or a COLLATE
    of a collation not PostgreSQL's own deterministic one."""
    if collate is not None:
        collation = list(_strings(collate.collname))
        if (
            not collation
            or collation[-1] not in _BYTE_COLLATIONS
            or collation[:-1] not in ([], ["pg_catalog"])
        ):
            return "", "?"
    names = list(_strings(getattr(type_name, "names", None) or ()))
    if (
        not names
        or len(names) > 2
        or getattr(type_name, "typmods", None)
        or getattr(type_name, "arrayBounds", None)
        or getattr(type_name, "setof", False)
        or getattr(type_name, "pct_type", False)
    ):
        return "", "?"
    return (names[0] if len(names) == 2 else ""), names[-1]


def _schema_of(names: Any) -> str:
    """The schema of a function's qualified name; unqualified is the default `public`."""
    return str(names[-2].sval) if len(names) > 1 else "public"


def _expands_rows(node: Any) -> bool:
    """Does a query expand a row value (`(x).*`) or read a function's rows in FROM?"""
    if _nodes_named(node, "RangeFunction", inside=False):
        return True
    return any(
        any(type(i).__name__ == "A_Star" for i in indirection.indirection or ())
        for indirection in _nodes_named(node, "A_Indirection", inside=True)
    )


def _relations_read(node: Any) -> set[str]:
    """The names of every relation a query reads (FROM items, joins, subqueries, CTEs, set
    operations, sublinks), found by walking pglast's node tree."""
    from pglast.ast import Node

    names: set[str] = set()
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(current)
        elif isinstance(current, Node):
            if type(current).__name__ == "RangeVar":
                names.add(_relname(current))
                continue
            stack.extend(getattr(current, f) for f in current if getattr(current, f) is not None)
    return names


def _parsed(query: str) -> Any:
    """A view's query (as the reader printed it) as pglast's tree."""
    import pglast

    return pglast.parse_sql(query)[0].stmt


def _body_trees(body: list[str]) -> list[Any] | None:
    """A view's query or a bound function's statements as pglast's trees (`RETURN x` as
    `SELECT x`); None when one does not parse so."""
    from pglast.parser import ParseError

    trees = []
    for statement in body:
        text = (
            "SELECT " + statement[len("RETURN") :] if statement.startswith("RETURN") else statement
        )
        try:
            trees.append(_parsed(text))
        except (ParseError, IndexError):
            return None
    return trees


def _ordered_outputs(query: str) -> list[str] | None:
    """The names a view's query gives its columns, in order (its first branch's), or None
    where a `*` hides them."""
    trees = _body_trees([query])
    if trees is None:
        return None
    select = trees[0]
    while getattr(select, "larg", None) is not None:
        select = select.larg
    names = []
    for target in getattr(select, "targetList", None) or ():
        value = target.val
        if type(value).__name__ == "ColumnRef" and any(
            type(f).__name__ == "A_Star" for f in value.fields or ()
        ):
            return None
        names.append(_output_name(target) or "?column?")
    return names or None


def _named_outputs(query: str) -> set[str]:
    """The names a view's query gives its columns where it names them (its first branch's;
    a `*` among them left out)."""
    trees = _body_trees([query])
    if trees is None:
        return set()
    select = trees[0]
    while getattr(select, "larg", None) is not None:
        select = select.larg
    return {
        name
        for target in getattr(select, "targetList", None) or ()
        if (name := _output_name(target))
    }


def _body_texts(body: list[str], trees: list[Any]) -> list[str]:
    """The statements `_body_trees` read, printed again from their (rewritten) trees."""
    from pglast.stream import RawStream

    return [
        "RETURN " + RawStream()(tree)[len("SELECT ") :]
        if s.startswith("RETURN")
        else RawStream()(tree)
        for s, tree in zip(body, trees, strict=True)
    ]


def _called_or_cast(tree: Any) -> set[str]:
    """The functions an expression calls, and the types it casts to (`::name`: a domain's
    CHECK runs on the value)."""
    called = {str(c.funcname[-1].sval) for c in _calls(tree)}
    for cast in _nodes_named(tree, "TypeCast", inside=True):
        if cast.typeName is not None:
            called.add("::" + _type_key(cast.typeName).rstrip("[]"))
    return called


def _row_calls(tree: Any) -> set[str]:
    """Each call of an expression on the row written, spelled `f(a,,b)`: an argument that is a
    column of the row (`a`, `NEW.a`) by its name, any other argument empty. Beside the names
    `_called_or_cast` gives: a function pinned by its parameters, called only with the row's
    own tenant column there, reads the rows of the tenant the write is pinned to (round 15)."""
    out = set()
    for call in _calls(tree):
        spelled = []
        for argument in call.args or ():
            fields = [str(getattr(f, "sval", "")) for f in getattr(argument, "fields", None) or ()]
            if type(argument).__name__ != "ColumnRef" or not fields or not all(fields):
                spelled.append("")
            elif len(fields) == 1:
                spelled.append(fields[0])
            elif len(fields) == 2 and fields[0].lower() in ("new", "old"):
                spelled.append(fields[1])
            else:
                spelled.append("")
        if call.agg_star or call.agg_distinct or call.func_variadic or call.over is not None:
            spelled = ["*"]
        out.add(f"{call.funcname[-1].sval}({','.join(spelled)})")
    return out


def _calls(node: Any) -> list[Any]:
    """Every function call of a tree (FuncCall), at any depth."""
    return _nodes_named(node, "FuncCall", inside=True)


def _range_vars(node: Any) -> list[Any]:
    """Every relation a tree names (RangeVar), at any depth."""
    return _nodes_named(node, "RangeVar", inside=False)


def _nodes_named(node: Any, name: str, *, inside: bool) -> list[Any]:
    """The nodes of a tree of that type name, at any depth (`inside`: those within them too)."""
    from pglast.ast import Node

    found = []
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(current)
        elif isinstance(current, Node):
            if type(current).__name__ == name:
                found.append(current)
                if not inside:
                    continue
            stack.extend(getattr(current, f) for f in current if getattr(current, f) is not None)
    return found


def _cte_names(node: Any) -> set[str]:
    """The names of the CTEs a tree defines, at any depth."""
    from pglast.ast import Node

    names: set[str] = set()
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(current)
        elif isinstance(current, Node):
            if type(current).__name__ == "CommonTableExpr":
                names.add(str(getattr(current, "ctename", "")))
            stack.extend(getattr(current, f) for f in current if getattr(current, f) is not None)
    return names


def _output_name(target: Any) -> str | None:
    """The name PostgreSQL gives a select list item: its alias, a column's or a call's name."""
    if target.name:
        return str(target.name)
    value = target.val
    kind = type(value).__name__
    if kind == "ColumnRef":
        fields = list(value.fields or ())
        return (str(getattr(fields[-1], "sval", "")) or None) if fields else None
    if kind == "FuncCall" and value.funcname:
        return str(value.funcname[-1].sval)
    return None


def _star(item: Any) -> bool:
    return type(item).__name__ == "ColumnRef" and any(
        type(f).__name__ == "A_Star" for f in item.fields or ()
    )


def _type_key(type_name: Any) -> str:
    """A parameter's type as a signature compares it: `bigint` and `int8` alike."""
    names = getattr(type_name, "names", None) or ()
    base = str(names[-1].sval) if names else "?"
    return base + "[]" * len(getattr(type_name, "arrayBounds", None) or ())


def namesake_functions(old: FunctionInfo | None, new: FunctionInfo) -> FunctionInfo:
    """Several functions under one name (overloads, or in two schemas), which is all a call
    shows: read as one function
    whose body cannot be read (naming a tenant table hands out every tenant's rows)."""
    parts = [part for f in (old, new) if f is not None for part in (*f.body, f.opaque) if part]
    columns = None
    if old is not None and old.columns is not None and new.columns is not None:
        columns = old.columns | new.columns
    # every body readable: kept, so that whether a pin from outside selects rows can be shown
    readable = old is not None and (not old.opaque or old.overloads) and not new.opaque
    body = [*old.body, *new.body] if readable and old is not None else []
    outputs = new.outputs if old is not None and old.outputs == new.outputs else ()
    inlined = (old is not None and old.inlined) or new.inlined  # a call may run either
    cheap = (old is not None and old.cheap) or new.cheap
    return FunctionInfo(
        body,
        "\n".join(parts),
        [],
        columns,
        outputs=outputs,
        overloads=readable,
        inlined=inlined,
        cheap=cheap,
        returned=_returned_of_namesakes(old, new),
    )


def _strings(nodes: Any) -> Iterable[str]:
    for node in nodes or ():
        value = getattr(node, "sval", None)
        if value is not None:
            yield str(value)


def _flatten(nodes: Any) -> list[Any]:
    out: list[Any] = []
    stack = [nodes]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(reversed(current))
        elif current is not None:
            out.append(current)
    return out


def _last_name(qualified: str) -> str:
    """The last part of a possibly schema-qualified name, folded like PostgreSQL folds it."""
    name = re.split(r"\s*\.\s*(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", qualified)[-1]
    return clip_name(name[1:-1].replace('""', '"')) if name.startswith('"') else fold_name(name)


def _returned_of_namesakes(old: FunctionInfo | None, new: FunctionInfo) -> tuple[str, ...] | None:
    """The returned queries of functions read as one (a SQL function's are all its queries)."""
    if old is None or (old.returned is None and new.returned is None):
        return new.returned
    return (
        *(old.body if old.returned is None else old.returned),
        *(new.body if new.returned is None else new.returned),
    )


# the operators a pin is spelled with: `=` (also of IN, ANY, IS NOT DISTINCT FROM), BETWEEN's `<=`
# and `>=`, the containment of one-element arrays, and `<>` (`!=` is its spelling) of `NOT
# (tenant_id <> V)`, read as `= V` (h41A: a schema's case-blind `<>(varchar, text)` is chosen there)
_PINNING = frozenset({"=", "<=", ">=", "<@", "@>", "<>", "!="})


def _simple_view(
    view: ViewInfo, columns: Mapping[str, set[str]]
) -> tuple[str, dict[str, str]] | None:
    """An automatically updatable view's table and the columns it shows ({table's: view's}):
    one table, no join, grouping, DISTINCT, LIMIT, set operation nor WITH (None otherwise)."""
    try:
        tree = sqlglot.parse_one(view.query, read="postgres")
    except (SqlglotError, RecursionError):
        return None
    if not isinstance(tree, exp.Select) or any(
        tree.args.get(k)
        for k in ("joins", "group", "having", "distinct", "limit", "offset", "with", "laterals")
    ):
        return None
    source = tree.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        return None
    base = identifier_name(table.this)
    shown: dict[str, str] = {}
    for item in tree.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and item.is_star):
            if view.columns is not None or base not in columns:
                return None  # renamed by position: which is which, unknown
            shown.update({c: c for c in columns[base]})
        elif isinstance(item, exp.Column) and identifier_name(item.this) not in shown:
            shown[identifier_name(item.this)] = identifier_name(item.this)
        elif isinstance(item, exp.Alias) and isinstance(item.this, exp.Column):
            if identifier_name(item.this.this) in shown:
                return None  # one column shown twice
            shown[identifier_name(item.this.this)] = identifier_name(item.args["alias"])
        else:
            return None  # an expression: which column is at which position, kept simple
    if view.columns is not None:
        if len(view.columns) > len(shown):
            return None
        shown = dict(zip(shown, view.columns, strict=False))  # (items in order, by position)
    return base, shown
