"""Reading sqlglot trees: names as PostgreSQL folds them, conjuncts, set-operation branches,
and walks with explicit stacks (depth comes from user input)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from functools import cache
from typing import Protocol

from sqlglot import exp

from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS, VOLATILE_FUNCTIONS
from tenantguard.engine.policy import clip_name, fold_name

__all__ = [
    "SetChains",
    "VolatilityFacts",
    "alias_columns",
    "alias_name",
    "calls_volatile",
    "conjuncts",
    "defined_columns",
    "disjuncts",
    "function_name",
    "identifier_name",
    "is_row",
    "is_star",
    "is_table_name",
    "is_within",
    "set_branches",
    "structural_nodes",
    "subclasses",
    "unstable_kinds",
    "walk",
]


def subclasses(*kinds: type[exp.Expr]) -> frozenset[type[exp.Expr]]:
    """Each kind and its subclasses: the walks dispatch on exact node types."""
    found: set[type[exp.Expr]] = set()
    stack = list(kinds)
    while stack:
        kind = stack.pop()
        if kind not in found:
            found.add(kind)
            stack.extend(kind.__subclasses__())
    return frozenset(found)


# leaves for the proof: nothing below them can be a table, a query block or a write
PRUNED = frozenset().union(
    *(
        subclasses(kind)
        for kind in (
            exp.Column, exp.Identifier, exp.Literal, exp.Parameter, exp.Placeholder,
            exp.DataType, exp.Star, exp.Var, exp.Boolean, exp.Null,
        )
    )
)  # fmt: skip


def structural_nodes(root: exp.Expression) -> Iterator[exp.Expression]:
    """Every node that can hold a table or a query block, parents before children.

    An explicit stack, so depth cannot overflow; columns, literals and other leaves (about half
    of a statement's nodes) are neither yielded nor descended into.
    """
    stack: list[exp.Expression] = [root]
    leaves = PRUNED
    expression = exp.Expression
    while stack:
        node = stack.pop()
        yield node
        if type(node) in leaves:
            continue  # only the root can be one
        for value in node.args.values():
            if type(value) is list:
                stack.extend(
                    [v for v in value if isinstance(v, expression) and type(v) not in leaves]
                )
            elif isinstance(value, expression) and type(value) not in leaves:
                stack.append(value)


def walk(node: exp.Expression) -> Iterator[exp.Expression]:
    """Pre-order walk; sqlglot's own walk uses an explicit stack, so depth cannot overflow."""
    for child in node.walk(bfs=False):
        if isinstance(child, exp.Expression):
            yield child


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """The top-level AND-conjuncts of a condition, parentheses ignored, in source order.

    A literal TRUE conjunct says nothing and is left out (`… AND TRUE`). `c IS TRUE`, `c = TRUE`,
    `c <> FALSE`, `coalesce(c, FALSE)` and `CASE WHEN c THEN TRUE [ELSE FALSE | ELSE NULL] END`
    are read as `c`: TRUE
    exactly where `c` is (NULL IS TRUE is FALSE) — not `c IS NOT FALSE`, TRUE where `c` is NULL
    too. `NOT NOT c` is read as `c` (round 15).
    """
    boolean = exp.Boolean
    return [c for c in _operands(node, exp.And) if not (type(c) is boolean and c.this is True)]


def disjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The top-level OR-branches of a condition, parentheses ignored, in source order.

    A literal FALSE branch lets no row through and is left out (`… OR FALSE`); so does a literal
    NULL (also cast: `… OR NULL::boolean`), which is never TRUE (round 15).
    """
    branches = _operands(node, exp.Or)
    kept = [b for b in branches if not _is_boolean(b, False) and not _is_null(b)]
    return kept or branches


def _truth_of(node: exp.Expression) -> exp.Expression | None:
    """`c` of `c IS TRUE`, or of `CASE WHEN c THEN TRUE [ELSE FALSE | ELSE NULL] END`: TRUE
    exactly where `c` is. None for anything else."""
    kind = type(node)
    if kind is exp.Is:
        return node.this if _is_boolean(node.expression, True) else None
    if kind is exp.Coalesce:
        # `coalesce(c, FALSE)` (round 35, h35B): FALSE where `c` is NULL, so TRUE exactly where
        # `c` is; every later argument a literal FALSE or NULL (`coalesce(c, NULL, TRUE)` is TRUE
        # where `c` is NULL)
        rest = node.expressions
        if rest and all(_is_boolean(r, False) or _is_null(r) for r in rest):
            return node.this if isinstance(node.this, exp.Expression) else None
        return None
    # `c = TRUE`, `c <> FALSE`, `c IS NOT DISTINCT FROM TRUE` (either side): NULL where `c` is
    # NULL, so TRUE exactly where `c` is (fp14). Not `c IS DISTINCT FROM FALSE` nor `c IS NOT
    # FALSE`: TRUE where `c` is NULL (`tenant_id = NULL` with a NULL bound: every row)
    if kind is exp.EQ or kind is exp.NullSafeEQ or kind is exp.NEQ:
        truth = kind is not exp.NEQ
        left, right = node.this, node.expression
        if _is_boolean(right, truth) and isinstance(left, exp.Expression):
            return left
        if _is_boolean(left, truth) and isinstance(right, exp.Expression):
            return right
        return None
    if kind is not exp.Case or node.this is not None:
        return None
    ifs, default = node.args.get("ifs") or [], node.args.get("default")
    if (
        len(ifs) == 1
        and _is_boolean(ifs[0].args.get("true"), True)
        and (default is None or type(default) is exp.Null or _is_boolean(default, False))
    ):
        condition = ifs[0].this
        return condition if isinstance(condition, exp.Expression) else None
    return None


# a union (`exp.A | exp.B`) written in an isinstance() is built anew at each call: tuples
PARENS_AND_CASTS = (exp.Paren, exp.Cast, exp.TryCast)
_SUBQUERY_OR_PAREN = (exp.Subquery, exp.Paren)


def _is_boolean(node: exp.Expression | None, value: bool) -> bool:
    return type(node) is exp.Boolean and node.this is value


def _is_null(node: exp.Expression | None) -> bool:
    """A literal NULL, under parentheses and casts."""
    while isinstance(node, PARENS_AND_CASTS):
        node = node.this
    return type(node) is exp.Null


def _not_not(node: exp.Expression) -> exp.Expression | None:
    """`c` of `NOT NOT c` (NOT of NULL is NULL: TRUE exactly where `c` is); None otherwise."""
    if type(node) is not exp.Not:
        return None
    inner = node.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if type(inner) is not exp.Not or not isinstance(inner.this, exp.Expression):
        return None
    return inner.this


# the nodes `_truth_of` or `_not_not` may read as another (`c IS TRUE`, `c = TRUE`, `NOT NOT
# c`…; exact types, as they test them): any other node is an operand as it stands
_REREAD: frozenset[type[exp.Expression]] = frozenset(
    {exp.Is, exp.EQ, exp.NullSafeEQ, exp.NEQ, exp.Case, exp.Not, exp.Coalesce}
)
# of those, the comparisons: `_truth_of` rereads one only with a literal boolean on a side
_COMPARISONS: frozenset[type[exp.Expression]] = frozenset({exp.EQ, exp.NullSafeEQ, exp.NEQ})


def _operands(node: exp.Expression | None, kind: type[exp.Connector]) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    stack = [node] if node is not None else []
    boolean = exp.Boolean
    while stack:
        current = stack.pop()
        while True:
            if isinstance(current, exp.Paren):
                current = current.this
                continue
            if type(current) not in _REREAD:
                break
            if (
                type(current) in _COMPARISONS
                and type(current.this) is not boolean
                and type(current.expression) is not boolean
            ):
                break  # `a = b`: most conjuncts (no call)
            inner = _truth_of(current)
            if inner is None:
                inner = _not_not(current)
            if inner is None:
                break
            current = inner
        if isinstance(current, kind):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            out.append(current)
    return out


# unquoted names as PostgreSQL folds them, by their text: a statement names the same few
# identifiers many times, and so do the statements of a project (bounded: cleared when full)
_FOLDED: dict[str, str] = {}
_FOLDED_MAX = 1 << 16


def conflict_key_names(conflict: exp.Expression) -> list[str]:
    """The columns an ON CONFLICT target names, in order: "" for a key that is not a plain
    column. An expression over a column (`(tenant_id % 1)`, `(tenant_id / 10)`), a collation
    or an operator class (`tenant_id COLLATE "x"`, `tenant_id my_ops`) infers a unique index
    whose equality is not the column's own: two tenants' rows may conflict there."""
    names = []
    for key in conflict.args.get("conflict_keys") or []:
        if type(key) is exp.Ordered:
            key = key.this
        # `((tenant_id))` is the column itself; so is `tenant_id COLLATE "C"` (or an ICU
        # collation of pg_catalog's): it infers a unique index comparing it bytewise (h36B)
        while type(key) is exp.Paren or deterministic_collate(key):
            key = key.this
        names.append(identifier_name(key.this) if type(key) is exp.Column else "")
    return names


# PostgreSQL's own deterministic collations: `=` under them compares bytes (one value, one
# tenant). Unqualified, they are pg_catalog's as long as pg_catalog comes first in the search
# path, which the proof assumes of `=` itself (a `public.=` would hijack every pin otherwise)
_DETERMINISTIC_COLLATIONS = frozenset({"C", "POSIX", "default", "ucs_basic"})


@cache
def _icu_imported() -> frozenset[str]:
    """The ICU collations initdb imports into pg_catalog (`und-x-icu`, `en-US-x-icu`): every
    one deterministic (h36B). By the list, not by the shape of the name (h36P): a collation is
    found by the search path, so `"ci-x-icu"` or `"und-u-ks-level2-x-icu"`, which pg_catalog
    lacks, is one the schema made (perhaps `deterministic = false`); a name pg_catalog holds is
    pg_catalog's, searched first, whatever another schema makes under it."""
    from importlib.resources import files  # only when a statement names such a collation

    text = files("tenantguard").joinpath("data", "icu_collations.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def deterministic_collate(node: exp.Expr) -> bool:
    """`x COLLATE "C"` (or "POSIX", "default", ucs_basic, an ICU collation initdb imports:
    "und-x-icu", also as `pg_catalog."C"`): a collation of PostgreSQL's own whose `=` is
    exact. One created by the schema (`COLLATE ci`, perhaps `deterministic = false`: 'acme' =
    'ACME') or of another schema is not."""
    if not isinstance(node, exp.Collate):
        return False
    name = node.expression
    if isinstance(name, exp.Column):
        if name.args.get("catalog") or identifier_name(name.args.get("table")) not in (
            "",
            "pg_catalog",
        ):
            return False
        name = name.this
    if not isinstance(name, exp.Identifier | exp.Var):
        return False
    text = identifier_name(name)
    return text in _DETERMINISTIC_COLLATIONS or (
        text.endswith("-x-icu") and text in _icu_imported()
    )


def identifier_name(node: exp.Expression | str | None) -> str:
    """A name as PostgreSQL sees it: folded to lower case (ASCII letters) unless quoted, cut to
    63 bytes (`clip_name`)."""
    if type(node) is exp.Identifier:
        args = node.args
        text = args["this"]
        if type(text) is not str:
            text = str(text)
        if args.get("quoted"):
            return clip_name(text)
        folded = _FOLDED.get(text)
        if folded is None:
            if len(_FOLDED) >= _FOLDED_MAX:
                _FOLDED.clear()
            folded = _FOLDED[text] = fold_name(text)  # folded and cut to 63 bytes
        return folded
    if node is None:
        return ""
    if isinstance(node, str):
        return fold_name(node)
    if isinstance(node, exp.Identifier):
        text = str(node.this)
        return clip_name(text) if node.quoted else fold_name(text)
    return identifier_name(node.args.get("this")) if isinstance(node, exp.Expression) else ""


def is_row(node: exp.Expression) -> bool:
    """A row constructor: `(a, b)` or `ROW(a, b)` (not a function named `"ROW"`)."""
    if isinstance(node, exp.Tuple):
        return True
    return (
        isinstance(node, exp.Anonymous)
        and isinstance(node.this, str)
        and node.this.lower() == "row"
    )


def is_within(node: exp.Expr, ancestor: exp.Expr) -> bool:
    """Is `node` `ancestor` or inside it?"""
    current: exp.Expr | None = node
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def function_name(node: exp.Expression) -> str:
    """The name a function call is spelled with, folded (`pg_catalog.pg_notify(…)`: pg_notify)."""
    if isinstance(node, exp.Anonymous):
        return identifier_name(node.this)
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return ""


class VolatilityFacts(Protocol):
    """What `calls_volatile` needs of a policy."""

    @property
    def stable_functions(self) -> AbstractSet[str]: ...

    @property
    def functions(self) -> AbstractSet[str]: ...

    @property
    def volatile_views(self) -> AbstractSet[str]: ...

    @property
    def volatile_operators(self) -> AbstractSet[str]: ...


# the built-in VOLATILE functions sqlglot reads as nodes of their own: random(),
# gen_random_uuid()
_VOLATILE_KINDS = (exp.Rand, exp.Uuid)
# grammar that sqlglot reads as a call of a name pg_proc does not have: none is volatile
_CONSTRUCTS = frozenset({"row", "treat", "xmlforest", "xmlconcat", "xmlelement", "xmlattributes"})
# the kinds of node (class names) sqlglot reads a call of each name as, when not Anonymous;
# and, for a policy's (functions, stable_functions), those of its functions that are not stable
_CALL_KINDS: dict[str, frozenset[str]] = {}
_UNSTABLE_KINDS: dict[
    tuple[AbstractSet[str], AbstractSet[str], AbstractSet[str]], frozenset[str]
] = {}
_OPERATOR_KINDS: dict[str, frozenset[str]] = {}


# the nodes of `SELECT f(a, b)` and `SELECT * FROM f(a)` that are not the call
_NOT_CALLS = (
    exp.Anonymous,
    exp.Select,
    exp.From,
    exp.Table,
    exp.TableAlias,
    exp.Column,
    exp.Identifier,
    exp.Star,
    exp.Alias,
    exp.Paren,
)


def _parsed_kinds(sqls: Iterable[str]) -> frozenset[str]:
    """The kinds of node (class names) sqlglot reads these statements into, besides the query's
    own scaffolding (`_NOT_CALLS`, parameters); a statement it cannot read adds nothing."""
    import sqlglot

    kinds: set[str] = set()
    for sql in sqls:
        try:
            tree = sqlglot.parse_one(sql, read="postgres")
        except (sqlglot.errors.SqlglotError, RecursionError):
            continue
        kinds.update(
            type(node).__name__
            for node in tree.walk()
            if not isinstance(node, (*_NOT_CALLS, exp.Parameter, exp.Placeholder))
        )
    return frozenset(kinds)


def call_kinds(name: str) -> frozenset[str]:
    """The kinds of node sqlglot reads a call of `name` as (`lpad(…)`: Pad; `now()`:
    CurrentTimestamp), tried with none to three arguments, in a select list and in FROM; empty
    when it reads every one as Anonymous (a name its parser has no entry for)."""
    found = _CALL_KINDS.get(name)
    if found is None:
        from sqlglot.dialects.postgres import Postgres

        parser = Postgres.Parser
        upper = name.upper()
        found = frozenset()
        if (
            upper in parser.FUNCTIONS
            or upper in parser.FUNCTION_PARSERS
            or upper in getattr(parser, "NO_PAREN_FUNCTIONS", {})
        ):
            quoted = '"' + name.replace('"', '""') + '"' if name != name.lower() else name
            found = _parsed_kinds(
                sql
                for arguments in ("", "a", "a, b", "a, b, c")
                for sql in (
                    f"SELECT {quoted}({arguments})",
                    f"SELECT * FROM {quoted}({arguments})",
                )
            )
        _CALL_KINDS[name] = found
    return found


def operator_kinds(symbol: str) -> frozenset[str]:
    """The kinds of node sqlglot reads `a <symbol> b` and `<symbol> b` as (`||`: DPipe); empty
    when it reads neither (a query using it is then unprovable anyway)."""
    found = _OPERATOR_KINDS.get(symbol)
    if found is None:
        found = _OPERATOR_KINDS[symbol] = _parsed_kinds(
            (f"SELECT a {symbol} b", f"SELECT {symbol} b")
        )
    return found


def unstable_kinds(facts: VolatilityFacts) -> frozenset[str]:
    """The kinds of node that may be a call of a volatile function of the schema: its unstable
    functions' names sqlglot reads as nodes of their own, its volatile operators'."""
    key = (facts.functions, facts.stable_functions, facts.volatile_operators)
    found = _UNSTABLE_KINDS.get(key)
    if found is None:
        if len(_UNSTABLE_KINDS) > 64:
            _UNSTABLE_KINDS.clear()
        kinds: set[str] = set()
        for name in facts.functions:
            if name not in facts.stable_functions:
                kinds.update(call_kinds(name))
        for symbol in facts.volatile_operators:
            if not symbol.startswith("cast:"):
                kinds.update(operator_kinds(symbol))
        found = _UNSTABLE_KINDS[key] = frozenset(kinds)
    return found


def _type_name(data_type: exp.Expression | None) -> str:
    """A cast's target type as the schema reader keys it (its last name, folded)."""
    if not isinstance(data_type, exp.DataType):
        return ""
    if data_type.this == exp.DataType.Type.ARRAY and data_type.expressions:
        return _type_name(data_type.expressions[0])  # `x::color[]` casts each element
    kind = data_type.args.get("kind")
    if data_type.this == exp.DataType.Type.USERDEFINED and kind is not None:
        return identifier_name(kind.expression if isinstance(kind, exp.Dot) else kind)
    return str(data_type.this.value).lower()


def calls_volatile(node: exp.Expression, facts: VolatilityFacts) -> bool:
    """Does `node` call a VOLATILE function anywhere within it (its subqueries included, as
    PostgreSQL's `contain_volatile_functions` looks, views expanded)? Volatile:

    * a built-in one (`VOLATILE_FUNCTIONS`, `random()`, `gen_random_uuid()`);
    * a name the schema creates a function of (a built-in's name included: an overload of it may
      be the one called), unless every definition of it is IMMUTABLE or STABLE — also when
      sqlglot reads the call as a node of its own (`lpad(…)` is Pad: any Pad may be it);
    * any other function that is not built in and not known IMMUTABLE or STABLE (a contrib
      extension's, from its CREATE EXTENSION): PostgreSQL's default is VOLATILE;
    * a call qualified by a schema other than pg_catalog, unless the schema's definitions of the
      name are all IMMUTABLE or STABLE;
    * an operator named with OPERATOR(schema.op) outside pg_catalog (its function is unknown);
      one the schema creates with a volatile function (`facts.volatile_operators`: any node
      sqlglot reads its symbol as), a cast it creates so (`cast:type`; `cast:*`: anywhere);
    * a read of a view of `facts.volatile_views`.
    """
    stable, created, operators = facts.stable_functions, facts.functions, facts.volatile_operators
    if "cast:*" in operators:
        return True  # a volatile cast PostgreSQL may apply without `::`: anywhere
    unstable = unstable_kinds(facts) if created or operators else frozenset()
    if unstable and any(type(n).__name__ in unstable for n in node.walk()):
        return True  # `lpad(id, 6)` read as Pad, `mod(a, b)` as Mod, `a || b` as DPipe…
    for found in node.find_all(exp.Func, exp.Operator, exp.Table):
        kind = type(found)
        if isinstance(found, exp.Table):
            if is_table_name(found) and identifier_name(found.this) in facts.volatile_views:
                return True
            continue
        if kind is exp.Operator:
            operator = str(found.args.get("operator") or "").replace(" ", "").lower()
            if "." in operator and not operator.startswith("pg_catalog."):
                return True
            if "." not in operator and operator in operators:
                return True  # `OPERATOR(===)`: the schema's, of a volatile function
            continue
        if kind in _VOLATILE_KINDS:
            return True
        if isinstance(found, exp.Cast):
            if operators and f"cast:{_type_name(found.to)}" in operators:
                return True
            continue
        parent = found.parent
        schema = ""
        if type(parent) is exp.Dot and parent.expression is found:
            schema = identifier_name(parent.this)
        if not isinstance(found, exp.Anonymous):
            continue  # (a name the schema overloads: above)
        name = identifier_name(found.this)
        if schema and schema != "pg_catalog":
            if f"{schema}.{name}" not in stable:
                return True
        elif name in BUILTIN_FUNCTIONS or name in _CONSTRUCTS:
            if name in VOLATILE_FUNCTIONS or (name in created and name not in stable):
                return True
        elif name not in stable:
            return True
    return False


def alias_name(node: exp.Expression) -> str:
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias):
        return identifier_name(alias.args.get("this"))
    return ""


def alias_columns(node: exp.Expression) -> list[str] | None:
    """`AS d(a, b)` (or `AS f(a int, b text)`): the column names, by position."""
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.args.get("columns"):
        return [
            identifier_name(c.this if isinstance(c, exp.ColumnDef) else c)
            for c in alias.args["columns"]
        ]
    return None


def defined_columns(node: exp.Expression) -> bool:
    """`AS f(a int, b text)`: a column definition list, which a function returning `record`
    needs and which must name every column it returns (PostgreSQL refuses it elsewhere). A
    list of bare names (`AS t(a, b)`) renames the first columns only: the others keep theirs."""
    alias = node.args.get("alias")
    columns = alias.args.get("columns") if isinstance(alias, exp.TableAlias) else None
    return (
        columns is not None
        and len(columns) > 0
        and all(isinstance(c, exp.ColumnDef) and c.args.get("kind") is not None for c in columns)
    )


def set_branches(node: exp.Expression) -> list[exp.Expression]:
    """The leaf query blocks of a set operation (or the node itself), left to right."""
    out: list[exp.Expression] = []
    stack = [node]
    while stack:
        current = stack.pop()
        while isinstance(current, _SUBQUERY_OR_PAREN) and not isinstance(current.this, exp.Table):
            current = current.this
        if isinstance(current, exp.SetOperation):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            out.append(current)
    return out


_WRAPPERS = (exp.SetOperation, exp.Paren)
_WRAPPERS_AND_SUBQUERIES = (exp.SetOperation, exp.Paren, exp.Subquery)


class SetChains:
    """The set operations of one statement, each walked once.

    A UNION of n branches is a chain n nodes deep: walking up from every branch to what holds
    the union, or listing the branches for every branch, is quadratic. Memos by node id (the
    tree outlives the analysis of its statement).
    """

    __slots__ = ("_leaves", "_tops")

    def __init__(self) -> None:
        self._tops: dict[tuple[int, bool], exp.Expr] = {}
        self._leaves: dict[int, int] = {}

    def above(self, node: exp.Expr | None, *, subqueries: bool) -> exp.Expr | None:
        """The first ancestor-or-self of `node` that is no set operation or parenthesis (nor
        subquery, with `subqueries`)."""
        kinds = _WRAPPERS_AND_SUBQUERIES if subqueries else _WRAPPERS
        return self.top(node, subqueries=subqueries).parent if isinstance(node, kinds) else node

    def top(self, node: exp.Expr, *, subqueries: bool) -> exp.Expr:
        """The highest of the set operations and parentheses (and subqueries, with
        `subqueries`) that hold one another from `node` up; `node` when it is none of them."""
        kinds = _WRAPPERS_AND_SUBQUERIES if subqueries else _WRAPPERS
        if not isinstance(node, kinds):
            return node
        path: list[exp.Expr] = []
        current: exp.Expr = node
        while True:
            known = self._tops.get((id(current), subqueries))
            if known is not None:
                top = known
                break
            path.append(current)
            parent = current.parent
            if not isinstance(parent, kinds):
                top = current
                break
            current = parent
        for step in path:
            self._tops[(id(step), subqueries)] = top
        return top

    def position(self, holder: exp.Expr, node: exp.Expr) -> int | None:
        """Where `node` stands in `set_branches(holder)`, or None: found without listing them
        when `node` is a branch of `holder` itself."""
        if node.parent is holder and _is_branch(node):
            if isinstance(holder, exp.SetOperation):
                if node is holder.this:
                    return 0
                if node is holder.expression:
                    return self.leaves(holder.this)
            elif isinstance(holder, exp.Subquery | exp.Paren) and node is holder.this:
                return 0  # a wrapper of the branch alone
        if not isinstance(holder, exp.Expression):
            return None
        return next((i for i, b in enumerate(set_branches(holder)) if b is node), None)

    def leaves(self, node: exp.Expr | None) -> int:
        """`len(set_branches(node))`, each node counted once."""
        memo = self._leaves
        stack = [node]
        while stack:
            current = stack[-1]
            if id(current) in memo:
                stack.pop()
                continue
            inner = _unwrapped(current)
            if isinstance(inner, exp.SetOperation):
                missing = [b for b in (inner.this, inner.expression) if id(b) not in memo]
                if missing:
                    stack.extend(missing)
                    continue
                memo[id(current)] = memo[id(inner.this)] + memo[id(inner.expression)]
            else:
                memo[id(current)] = 1
            stack.pop()
        return memo[id(node)]


def _unwrapped(node: exp.Expr | None) -> exp.Expr | None:
    while isinstance(node, exp.Subquery | exp.Paren) and not isinstance(node.this, exp.Table):
        node = node.this
    return node


def _is_branch(node: exp.Expr) -> bool:
    """What `set_branches` lists as it is: not a set operation, not unwrapped."""
    return _unwrapped(node) is node and not isinstance(node, exp.SetOperation)


def is_table_name(node: exp.Table) -> bool:
    return isinstance(node.this, exp.Identifier)


_STARS = subclasses(exp.Star)
_COLUMNS = subclasses(exp.Column)
_DOTS = subclasses(exp.Dot)


def is_star(item: exp.Expression) -> bool:
    """`*`, `t.*` or `(row).*`: one item that PostgreSQL expands into several columns (in a
    select list, a row constructor, a VALUES row). (By the item's exact type: most items are
    neither, and say so without a call.)"""
    kind = type(item)
    if kind in _STARS:
        return True
    if kind in _COLUMNS:
        return isinstance(item.this, exp.Star)
    return kind in _DOTS and isinstance(item.expression, exp.Star)


def positional_item(items: list[exp.Expression], index: int) -> exp.Expression | None:
    """The item at `index` of a list read by position (a row, a VALUES row, a select list):
    None when there is none, or when an item at or before it is expanded into several columns
    (`(x.*, t)`, `VALUES ((ROW('a', 2)).*, $1)`: the position is another column)."""
    if index >= len(items):
        return None
    for item in items[: index + 1]:  # (a loop: a generator is a frame per call)
        if is_star(item):
            return None
    return items[index]


def is_default_keyword(item: exp.Expression) -> bool:
    """The keyword `DEFAULT` as an item of an INSERT's VALUES row (not `"default"`, a column)."""
    return type(item) is exp.Var and str(item.this).upper() == "DEFAULT"
