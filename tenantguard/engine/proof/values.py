"""Pinning values: what a tenant column may be equated with to pin it to one tenant.

A bind parameter, a literal, a configured tenant expression — or a cast of one to a type that
keeps equality exact. A cast that can map two tenant ids to one value (`$1::real`: float4 has 24
bits, so 16777216 = 16777217; `varchar(3)`, `char(n)` and `numeric(p, s)` cut or round; `citext`
folds case) would let a value that passes the runtime's check select another tenant's rows.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlglot import exp

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.policy import Policy
from tenantguard.engine.proof.model import PinValue
from tenantguard.engine.proof.syntax import (
    deterministic_collate,
    identifier_name,
    set_branches,
    subclasses,
)

__all__ = [
    "CATALOG_TYPES",
    "FLOAT_TYPING_NAMES",
    "FLOAT_TYPING_SET",
    "LOSSY_COLUMN_PARENTS",
    "Seen",
    "cast_type",
    "column_side",
    "column_typed_parameters",
    "deterministic_collate",
    "exact_array_cast",
    "exact_call",
    "exact_cast",
    "float_neighbours",
    "float_root",
    "float_typed_parameters",
    "integer_cast_width",
    "integer_column_side",
    "local_lossy_names",
    "lossy_arguments",
    "lossy_parameter",
    "lossy_parameters",
    "lossy_root",
    "multi_values",
    "own_type_column_side",
    "pin_value",
    "scalar_only",
    "single_value_array",
    "varchar_cast_length",
]

_T = exp.DataType.Type
# (exact types: a set lookup, where `isinstance(node, exp.Cast | exp.TryCast)` builds the union
# at every call)
_CASTS = subclasses(exp.Cast, exp.TryCast)
_PARENS = subclasses(exp.Paren)
_CAST_OR_PAREN = _CASTS | _PARENS
_COLLATE = subclasses(exp.Collate)
_INTEGERS = frozenset({_T.SMALLINT, _T.INT, _T.BIGINT})
# types whose equality is exact for the values a tenant id takes (integers, numeric without a
# typmod, text, varchar without a length, uuid)
_EXACT = _INTEGERS | {_T.DECIMAL, _T.TEXT, _T.VARCHAR, _T.UUID}
# casts that may wrap the column side of a pin: text of an integer, uuid or text is one-to-one
_TEXTUAL = frozenset({_T.TEXT, _T.VARCHAR})


# the builtin types an exact domain of the schema may stand on (Policy.exact_domains)
_DOMAIN_BASES = {
    "int2": _T.SMALLINT,
    "int4": _T.INT,
    "int8": _T.BIGINT,
    "numeric": _T.DECIMAL,
    "text": _T.TEXT,
    "varchar": _T.VARCHAR,
    "uuid": _T.UUID,
}


def cast_type(to: exp.DataType, policy: Policy | None) -> Any:
    """The type `to` names: its own, or for a domain of the schema that keeps `=` exact
    (`CREATE DOMAIN acct_id AS bigint`, written `acct_id` or qualified by its schema) the
    builtin type it stands on; None for any other type a name stands for."""
    if to.this is not _T.USERDEFINED:
        return to.this
    if policy is None or not policy.exact_domains:
        return None
    kind = to.args.get("kind")
    schema = None
    if isinstance(kind, exp.Dot) and isinstance(kind.this, exp.Identifier):
        schema, kind = identifier_name(kind.this), kind.expression
    if not isinstance(kind, exp.Identifier):
        return None
    found = policy.exact_domains.get(identifier_name(kind))
    if found is None or (schema is not None and schema != found[0]):
        return None
    return _DOMAIN_BASES.get(found[1])


def exact_cast(
    node: exp.Cast | exp.TryCast, allowed: frozenset[Any] = _EXACT, policy: Policy | None = None
) -> bool:
    """Is this cast to a type of `allowed` (or, with `policy`, an exact domain over one), with
    no length, precision or scale?"""
    to = node.args.get("to")
    if not isinstance(to, exp.DataType):
        return False
    kind = to.this
    if kind is _T.USERDEFINED:
        kind = cast_type(to, policy)
    return kind in allowed and not to.expressions and not to.args.get("nested")


def _strip_exact_casts(node: exp.Expression, policy: Policy) -> exp.Expression | None:
    """The value under parentheses and exact casts; None when a cast may lose equality.

    Several casts in a row are accepted between integer types only (`$1::int::bigint`): a
    conversion between families (`$1::numeric::int` rounds, `$1::text::int` reads ' 1' and
    '01' as 1) maps several values to one.
    """
    families: list[bool] = []  # per cast: is it to an integer type?
    kinds: list[Any] = []  # per cast, outermost first: the type it casts to
    while (kind := type(node)) in _CAST_OR_PAREN or (
        kind in _COLLATE and deterministic_collate(node)
    ):
        if kind in _CASTS:
            if not exact_cast(node, policy=policy):  # type: ignore[arg-type]
                return None
            to = node.args["to"]
            target = to.this
            kind_to = cast_type(to, policy) if target is _T.USERDEFINED else target
            kinds.append(kind_to)
            families.append(kind_to in _INTEGERS)
        node = node.this
    if len(families) > 1 and not all(families) and not _read_as_uuid(kinds):
        return None
    return node


def _read_as_uuid(kinds: list[Any]) -> bool:
    """`$1::text::uuid` (casts outermost first): text read as a uuid. The input of uuid maps
    one text to one uuid, with no rounding or cutting (several spellings of one uuid are that
    uuid): a single value, so a pin by it is a pin to one tenant."""
    return kinds[0] is _T.UUID and all(k in _TEXTUAL or k is _T.UUID for k in kinds[1:])


def _coalesced(node: exp.Coalesce, policy: Policy) -> PinValue | None:
    """`coalesce(V, V, NULL)`: V, when every argument but NULLs is one and the same pinning
    value (a trigger's `coalesce(NEW.tenant_id, OLD.tenant_id)`, both the written row's
    tenant: round 22); all NULL is NULL, which matches no row."""
    found: PinValue | None = None
    for argument in (node.this, *node.expressions):
        if isinstance(argument, exp.Null):
            continue
        value = pin_value(argument, policy)
        if value is None or (found is not None and value != found):
            return None
        found = value
    return found


def _nullified(node: exp.Nullif, policy: Policy) -> PinValue | None:
    """`nullif(V, 0)`, `nullif(V, '')`: V or NULL, which matches no row (as coalesce's NULL,
    and where NULL is compared null-safely, as a NULL V is). The second argument a plain
    literal only: its type is V's then (an integer, numeric or text, compared exactly); a typed
    one (`nullif($1, 0::real)`) would type V lossily (h36B)."""
    second = node.expression
    if isinstance(second, exp.Neg):
        second = second.this
    if not isinstance(second, exp.Literal | exp.Null):
        return None
    return pin_value(node.this, policy)


def pin_value(node: exp.Expression, policy: Policy) -> PinValue | None:
    """`node` as a pinning value: a parameter, a literal, a tenant expression, or an exact cast
    of one."""
    bare = _strip_exact_casts(node, policy)
    if bare is None:
        return None
    if isinstance(bare, exp.Coalesce):
        return _coalesced(bare, policy)
    if isinstance(bare, exp.Nullif):
        # a configured tenant expression may itself be one (the audit's policies as the server
        # prints them: `NULLIF(current_setting('app.tenant_id'::text, true), ''::text)`)
        index = policy.tenant_expression_index(bare)
        if index is not None:
            return PinValue("expression", index)
        return _nullified(bare, policy)
    if isinstance(bare, exp.Parameter):
        inner = bare.this
        key: int | str | None = None
        if isinstance(inner, exp.Literal) and inner.this.isdigit():
            key = int(inner.this)
        elif inner is not None:
            key = identifier_name(inner)
        return PinValue("parameter", key)
    if isinstance(bare, exp.Placeholder):
        name = bare.this
        if not name:
            return PinValue("placeholder", id(bare))  # `%s`, `?`: a new parameter each time
        # `%(tenant)s` and `%(Tenant)s` are two keys of the caller's dict: case is kept
        return PinValue(
            "placeholder", str(name.this) if isinstance(name, exp.Identifier) else str(name)
        )
    if isinstance(bare, exp.Literal):
        if not bare.is_string:
            return PinValue("literal", _number(str(bare.this)))
        value = PinValue("literal", str(bare.this))
        # `'01'`, `' 1'`: the integer PostgreSQL reads (helper 109: a false TG012)
        return as_integer(value) if _integer_tenant_column(policy) else value
    if isinstance(bare, exp.Neg) and isinstance(bare.this, exp.Literal) and not bare.this.is_string:
        return PinValue("literal", _number("-" + str(bare.this.this)))
    index = policy.tenant_expression_index(bare)
    if index is not None:
        return PinValue("expression", index)
    return None


_INTEGER_TEXT = lazy_pattern(r"\s*[+-]?\d+\s*")


def as_integer(value: PinValue) -> PinValue:
    """A literal pin of an integer tenant column as the integer PostgreSQL reads (`' 1'`,
    `'+1'`, `'01'`: tenant 1)."""
    key = value.key
    if value.kind == "literal" and isinstance(key, str) and _INTEGER_TEXT.fullmatch(key):
        return PinValue("literal", str(int(key)))
    return value


def _integer_tenant_column(policy: Policy) -> bool:
    """Whether the schema shows the tenant column as an integer in every table it types it."""
    typed = policy.tenant_column_types
    return bool(typed) and typed.keys() <= policy.integer_tenant_tables


def _number(text: str) -> str:
    """A number literal as the value it is: `0101`, `101.0` and `1.01e2` are one tenant, 101
    (PostgreSQL compares an integer column with a numeric exactly)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return text
    if value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    return text


def column_side(node: exp.Expression) -> exp.Expression:
    """The column under parentheses, one-to-one casts to text (`tenant_id::text = $1`) and
    deterministic collations of PostgreSQL's own (`tenant_id COLLATE "C"`)."""
    while True:
        kind = type(node)
        if kind in _CASTS:
            if not exact_cast(node, _TEXTUAL):  # type: ignore[arg-type]
                return node
        elif kind not in _PARENS and not (kind in _COLLATE and deterministic_collate(node)):
            return node
        node = node.this


# casts a column of an integer type may take on the column side of a pin: each maps two
# integers to two values, or fails (`tenant_id::int2` of 70000 is an error, not a wrap)
_FROM_INTEGER = _INTEGERS | {_T.DECIMAL, _T.TEXT, _T.VARCHAR}


def integer_column_side(node: exp.Expression) -> exp.Expression:
    """The column under parentheses and casts that keep equality exact *if the column is of
    an integer type* (`tenant_id::bigint`, `CAST(tenant_id AS int8)`, `tenant_id::numeric`):
    the caller checks the column's type."""
    while True:
        kind = type(node)
        if kind in _CASTS:
            if not exact_cast(node, _FROM_INTEGER):  # type: ignore[arg-type]
                return node
        elif kind not in _PARENS and not (kind in _COLLATE and deterministic_collate(node)):
            return node
        node = node.this


# the bytes of each integer type: a cast of an integer column to a narrower one fails on the
# values it cannot hold (h36A: `clinic_id::int2 = $1` raised "smallint out of range" on clinic
# 40000's rows, read before the comparison drops them); numeric and text hold any integer
INTEGER_WIDTHS = {_T.SMALLINT: 2, _T.INT: 4, _T.BIGINT: 8}
WIDE = 16


def integer_cast_width(node: exp.Expression) -> int:
    """The width (`INTEGER_WIDTHS`) of the narrowest integer type among the casts that
    `integer_column_side` looks through (`tenant_id::text::int2`: 2); `WIDE` when none casts to
    an integer type."""
    width = WIDE
    while True:
        kind = type(node)
        if kind in _CASTS:
            if not exact_cast(node, _FROM_INTEGER):  # type: ignore[arg-type]
                return width
            width = min(width, INTEGER_WIDTHS.get(node.args["to"].this, WIDE))
        elif kind not in _PARENS and not (kind in _COLLATE and deterministic_collate(node)):
            return width
        node = node.this


# the built-in types of a tenant column, by their names in the catalog (pg_type.typname)
CATALOG_TYPES = {
    _T.SMALLINT: "int2",
    _T.INT: "int4",
    _T.BIGINT: "int8",
    _T.DECIMAL: "numeric",
    _T.TEXT: "text",
    _T.VARCHAR: "varchar",
    _T.UUID: "uuid",
}


def own_type_column_side(node: exp.Expression) -> tuple[exp.Expression, str | None]:
    """The column under parentheses and one cast to a built-in type of `CATALOG_TYPES` with no
    length or precision (`org::uuid`, `CAST(code AS text)`), and that type's catalog name;
    (node, None) for anything else. The cast keeps equality exact *if the column is of that
    very type* (or an exact domain over it): the caller checks the column's type."""
    while type(node) in _PARENS:
        node = node.this
    if type(node) not in _CASTS:
        return node, None
    to = node.args.get("to")
    if not isinstance(to, exp.DataType) or to.expressions or to.args.get("nested"):
        return node, None
    kind = CATALOG_TYPES.get(to.this)
    inner = node.this
    while type(inner) in _PARENS:
        inner = inner.this
    return (inner, kind) if kind is not None else (node, None)


def varchar_cast_length(node: exp.Expression) -> tuple[exp.Expression, int] | None:
    """`x::varchar(n)` (`CAST(x AS character varying(n))`) under parentheses: (x, n); None for
    anything else. It keeps x whole when x is a varchar of length n or less: the caller checks
    the column's declared length (h36B)."""
    while type(node) in _PARENS:
        node = node.this
    if type(node) not in _CASTS:
        return None
    to = node.args.get("to")
    if not isinstance(to, exp.DataType) or to.this is not _T.VARCHAR or to.args.get("nested"):
        return None
    params = to.expressions
    if len(params) != 1 or not isinstance(params[0], exp.DataTypeParam):
        return None
    size = params[0].this
    if not isinstance(size, exp.Literal) or size.is_string or not str(size.this).isdigit():
        return None
    inner = node.this
    while type(inner) in _PARENS:
        inner = inner.this
    return inner, int(str(size.this))


def _any_operand(
    node: exp.Expression, quantifiers: tuple[str, ...] = ("any", "some")
) -> exp.Expression | None:
    """What `ANY(…)` (or its synonym `SOME(…)`; `ALL(…)` when asked) ranges over, exact array
    casts removed. A quoted `"some"(…)` or `"all"(…)` is a function of that name: None."""
    inner: exp.Expression
    if isinstance(node, exp.Any) and "any" in quantifiers:
        inner = node.this
    elif (
        isinstance(node, exp.Anonymous)
        and not (isinstance(node.this, exp.Identifier) and node.this.quoted)
        and identifier_name(node.this) in quantifiers
        and identifier_name(node.this) != "any"  # exp.Any above
        and len(node.expressions) == 1
    ):
        inner = node.expressions[0]
    else:
        return None
    while True:
        if isinstance(inner, exp.Paren):
            inner = inner.this
        elif isinstance(inner, exp.Cast | exp.TryCast) and exact_array_cast(inner):
            inner = inner.this  # `$1::bigint[]`, `ARRAY[$1]::bigint[]`
        else:
            return inner if isinstance(inner, exp.Expression) else None


def single_value_array(
    node: exp.Expression, policy: Policy
) -> tuple[PinValue, list[exp.Expression]] | None:
    """`ANY(ARRAY[V])` (or `ARRAY[V, V]`), `ALL(ARRAY[V])`: an array of one pinning value is that
    value; with the bare parameters among its items (an array themselves when the statement
    types them one elsewhere: the caller asks). `ALL` over an empty array is TRUE for every
    row: no value."""
    inner = _any_operand(node, ("any", "some", "all"))
    if isinstance(inner, exp.Literal) and inner.is_string:
        # `ANY('{1}')`: the literal read as the column's array type, of one element
        element = _one_element(str(inner.this))
        if element is None:
            return None
        value = pin_value(exp.Literal.string(element), policy)
        return None if value is None else (value, [])
    if not isinstance(inner, exp.Array):
        return None
    # a NULL element matches no row: `= ANY(ARRAY[V, NULL])` is TRUE exactly where `= V` is
    # (NULL elsewhere), `= ALL(ARRAY[V, NULL])` never TRUE — as `IN (V, NULL)`
    items = [i for i in inner.expressions if not _null_item(i)]
    if not items:
        return None
    first = pin_value(items[0], policy)
    if first is None or any(pin_value(i, policy) != first for i in items[1:]):
        return None
    bare = [i for i in items if isinstance(_unwrapped(i), exp.Parameter | exp.Placeholder)]
    return first, bare


def _null_item(node: exp.Expression) -> bool:
    """A NULL element of `ARRAY[…]`, also in parentheses or cast to a type that is no array
    (`NULL::int`; `NULL::int[]` makes the array one of more dimensions)."""
    while isinstance(node, exp.Paren) or (
        isinstance(node, exp.Cast | exp.TryCast) and _to_no_array(node)
    ):
        node = node.this
    return isinstance(node, exp.Null)


_ONE_ELEMENT = lazy_pattern(r'\s*\{\s*(?:"((?:[^"\\]|\\.)*)"|([^\s{}",\\]+))\s*\}\s*', re.DOTALL)


def _one_element(text: str) -> str | None:
    """The element of an array literal of one (`'{1}'`, `' { "1" } '`), as PostgreSQL's array
    input reads it; None for any other (several, none, NULL, nested, with dimensions)."""
    match = _ONE_ELEMENT.fullmatch(text)
    if match is None:
        return None
    quoted, bare = match.groups()
    if quoted is not None:
        return re.sub(r"\\(.)", r"\1", quoted, flags=re.DOTALL)
    return None if bare.upper() == "NULL" else bare


def _unwrapped(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren) or deterministic_collate(node):
        node = node.this
    return node


def scalar_only(tree: exp.Expression, value: PinValue, policy: Policy) -> bool:
    """Is the parameter `value` typed as no array anywhere in the statement? Only an item of an
    `ARRAY[…]` (typed as its element) and a cast to a type that is no array (an error for an
    array) are sure not to make it one: `$1::bigint[]`, `= ANY($1)`, `cardinality($1)` do, and
    then `ARRAY[$1]` is that whole array (`= ALL` of an empty one is TRUE for every row)."""
    for node in tree.find_all(exp.Parameter, exp.Placeholder):
        if pin_value(node, policy) != value:
            continue
        parent = node.parent
        while isinstance(parent, exp.Paren) or (
            parent is not None and deterministic_collate(parent)
        ):
            parent = parent.parent
        if isinstance(parent, exp.Array):
            # typed as the element of the ARRAY[…], unless another element is an array (then
            # the parameter is one too: `ARRAY['{0,0}'::bigint[], $1]`)
            if all(
                _scalar_element(e) or pin_value(e, policy) == value
                for e in parent.expressions
                if e is not node
            ):
                continue
            return False
        if isinstance(parent, exp.Cast | exp.TryCast) and _to_no_array(parent):
            continue
        return False
    return True


def _to_no_array(cast: exp.Cast | exp.TryCast) -> bool:
    """A cast to a type that is no array (an error for an array)."""
    to = cast.args.get("to")
    return isinstance(to, exp.DataType) and to.this is not _T.ARRAY and not to.args.get("nested")


def _scalar_element(node: exp.Expression) -> bool:
    """An element of `ARRAY[…]` sure to be no array: a literal (not a string, which may spell
    one), or a cast of one to a type that is no array."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Literal):
        return not node.is_string
    if isinstance(node, exp.Cast | exp.TryCast):
        return _to_no_array(node) and isinstance(node.this, exp.Literal)
    return False


def multi_values(
    node: exp.Expression, policy: Policy, lossy: set[PinValue] | frozenset[PinValue] = frozenset()
) -> bool:
    """`ANY(…)` of pinning values or of an array parameter: a filter on several tenants.
    `lossy`: the parameters the statement casts to a lossy type (no pinning values)."""
    inner = _any_operand(node)
    if inner is None:
        return False
    items = inner.expressions if isinstance(inner, exp.Array) else [inner]
    for item in items:
        value = pin_value(item, policy)
        if value is None or value in lossy:
            return False
    return bool(items)


def exact_array_cast(node: exp.Cast | exp.TryCast) -> bool:
    to = node.args.get("to")
    return (
        isinstance(to, exp.DataType)
        and to.this is _T.ARRAY
        and len(to.expressions) == 1
        and isinstance(to.expressions[0], exp.DataType)
        and to.expressions[0].this in _EXACT
        and not to.expressions[0].expressions
    )


def lossy_parameter(cast: exp.Expression, policy: Policy) -> PinValue | None:
    """The parameter `cast` casts to a lossy type (`$1::real`), if it is one.

    PostgreSQL types a parameter once for the whole statement: `$1::real` anywhere makes
    `tenant_id = $1` compare in floating point, and `$1` then pins nothing (nor does a cast of it).
    """
    if not isinstance(cast, exp.Cast | exp.TryCast):
        return None
    inner = cast.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if not isinstance(inner, exp.Parameter | exp.Placeholder):
        return None
    if exact_cast(cast, policy=policy) or exact_array_cast(cast):
        return None
    return pin_value(inner, policy)


# functions and operators whose only forms take double precision (or double precision and
# numeric, of which an untyped parameter takes the preferred one, double precision): one of them
# applied to a bare parameter types it float8 for the whole statement (PostgreSQL types a
# parameter once, by its first use), and 9007199254740993 is sent as 9007199254740992 (server
# test). `^`, `|/` and `||/` are Pow, Sqrt and Cbrt; `round(x, n)` is numeric only.
FLOAT_TYPING_SET: frozenset[type[exp.Expr]] = frozenset(
    {
        exp.Abs, exp.Acos, exp.Acosh, exp.Asin, exp.Asinh, exp.Atan, exp.Atan2, exp.Atanh,
        exp.Cbrt, exp.Ceil, exp.Cos, exp.Cosh, exp.Cot, exp.Degrees, exp.Exp, exp.Floor,
        exp.Ln, exp.Log, exp.Pow, exp.Radians, exp.Round, exp.Sign, exp.Sin, exp.Sinh,
        exp.Sqrt, exp.Tan, exp.Tanh, exp.Trunc, exp.UnixToTime, exp.WidthBucket,
    }
)  # fmt: skip
# the same, for the functions sqlglot keeps as anonymous calls
FLOAT_TYPING_NAMES = frozenset(
    {
        "acosd", "asind", "atan2d", "atand", "cosd", "cotd", "sind", "tand", "setseed",
        "pg_sleep", "cbrt", "dcbrt", "dsqrt", "dpow", "dexp", "dlog1", "dlog10", "dround",
    }
)  # fmt: skip


def float_typed_parameters(call: exp.Expr, policy: Policy) -> list[PinValue]:
    """The parameters a double precision function or operator takes as they are (`sqrt($1)`,
    `$1 ^ 2`): PostgreSQL types them double precision, a pin by them is lossy."""
    if isinstance(call, exp.Round | exp.Trunc) and call.args.get("decimals") is not None:
        return []  # round(x, n) and trunc(x, n) have only a numeric form: exact
    found = []
    for argument in call.iter_expressions():
        value = _bare_parameter(argument, policy)
        if value is not None:
            found.append(value)
    return found


def lossy_arguments(call: exp.Expr, positions: frozenset[int], policy: Policy) -> list[PinValue]:
    """The bind parameters a call of a schema function gives bare to its parameters of a lossy
    type (`positions`, see Policy.lossy_arguments): PostgreSQL types them so for the whole
    statement when the call is their first use (`f_real($1) AND tenant_id = $1` compares in
    floating point). Given by name (`t => $1`): any of them, the name's position unknown."""
    after = min((-p - 1 for p in positions if p < 0), default=None)
    found = []
    for at, argument in enumerate(call.expressions if isinstance(call, exp.Anonymous) else ()):
        named = isinstance(argument, exp.Kwarg | exp.PropertyEQ)
        if named or at in positions or (after is not None and at >= after):
            value = _bare_parameter(argument.expression if named else argument, policy)
            if value is not None:
                found.append(value)
    return found


def _bare_parameter(node: exp.Expr | None, policy: Policy) -> PinValue | None:
    """The pinning value of `node` when it is a parameter (under parentheses or not)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Parameter | exp.Placeholder):
        return pin_value(node, policy)
    return None


_FLOATS = frozenset({_T.FLOAT, _T.DOUBLE})
# what a walk up from a float has been through: parents (their ids), and the columns of set
# operations and VALUES (their id, the position)
Seen = set[int | tuple[int, int]]
# what takes the type of its float operand (`$1 + x::real`, `coalesce($1, x::float8)`, a CASE of
# float results, an array of floats under ANY): a parameter beside it is typed float too
_FLOAT_CARRIERS = (
    exp.Paren, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Pow, exp.Neg, exp.If, exp.Case,
    exp.Coalesce, exp.Greatest, exp.Least, exp.Nullif, exp.Array, exp.Any, exp.All,
    # what keeps its operand's type (`max(score) OVER () < $1`, `arr[1] < $1`, a scalar
    # subquery's one column, a projection's alias): the float carries through
    exp.Max, exp.Min, exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp,
    exp.Variance, exp.VariancePop, exp.FirstValue, exp.LastValue, exp.NthValue, exp.Lag,
    exp.Lead, exp.AnyValue, exp.Window, exp.Filter, exp.Distinct, exp.IgnoreNulls,
    exp.RespectNulls, exp.Bracket, exp.Collate, exp.Subquery, exp.Alias, exp.Tuple,
    exp.ArrayAgg,
)  # fmt: skip
# carriers whose operands are not compared with one another (a row's or a call's other
# fields): the walk goes up through them but marks no parameter among their operands
_PASS_THROUGH = (exp.Alias, exp.Tuple, exp.Bracket, exp.Window, exp.Filter)
# what compares its operands in one type: a parameter beside a float is typed float
_FLOAT_COMPARERS = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In,
    exp.Between,
)  # fmt: skip


# results of an exact type whatever their operands: counts, ranks, truth values, text
_EXACT_RESULTS = subclasses(
    exp.Count,
    exp.RowNumber,
    exp.Rank,
    exp.DenseRank,
    exp.Ntile,
    exp.Predicate,
    exp.Connector,
    exp.Not,
    exp.Lower,
    exp.Upper,
    exp.Length,
    exp.Concat,
    exp.DPipe,
    exp.Exists,
)
# a call of any other function may be polymorphic (`array_position(arr, $1)` types $1 as
# arr's element, `array_append`, `width_bucket`…): its parameters meet its other arguments
_CALL_CARRIERS = subclasses(exp.Func) - _EXACT_RESULTS - subclasses(exp.Cast, exp.TryCast)


# where a column of a lossy type types a parameter beside it (`score > $1`, `score + $1`):
# every other place of a column starts no walk up (`float_neighbours` looks at its parent)
# (and `AS q(x)`, which names columns of another relation)
LOSSY_COLUMN_PARENTS = (
    subclasses(*_FLOAT_CARRIERS, *_FLOAT_COMPARERS, exp.Select, exp.TableAlias, exp.SetOperation)
    | _CALL_CARRIERS
)
# operands whose type may be a lossy one the proof cannot see (see `lossy_root`)
_TYPED_ROOTS = subclasses(exp.Column, exp.Dot, exp.Cast, exp.TryCast, exp.Anonymous)
# SQL value functions of type name: `$1 = current_user` types $1 name (63 bytes)
_NAME_VALUED = (
    exp.CurrentUser,
    exp.SessionUser,
    exp.CurrentSchema,
    exp.CurrentCatalog,
    exp.CurrentDatabase,
)
_TYPED_ROOTS |= subclasses(*_NAME_VALUED)


def float_root(node: exp.Expr, policy: Policy) -> bool:
    """Is `node` an expression of a floating point type the proof can tell from the text alone:
    a cast to real or double precision, or a double precision function (`sqrt(x)`, `x ^ y`,
    `date_part(…)`, read by sqlglot as EXTRACT)?"""
    if isinstance(node, exp.Cast | exp.TryCast):
        to = node.args.get("to")
        return isinstance(to, exp.DataType) and to.this in _FLOATS
    if isinstance(node, exp.Anonymous):
        return identifier_name(node.this) in FLOAT_TYPING_NAMES
    return type(node) in FLOAT_TYPING_SET or isinstance(node, exp.Extract)


def float_neighbours(root: exp.Expr, policy: Policy, seen: Seen) -> list[PinValue]:
    """The parameters PostgreSQL types float because they meet the float expression `root`:
    `$1 = x::float8`, `$1 + sqrt(x)`, `coalesce($1, x::real)`, `CASE … THEN $1 ELSE x::float8`.
    Walks up while the float carries over (an iterative walk; `seen` ends it where another root's
    walk went, so a long chain of floats is walked once)."""
    found: list[PinValue] = []
    node = root
    while True:
        parent = node.parent
        if parent is None:
            return found
        if isinstance(parent, exp.Select):
            if node.arg_key != "expressions":
                return found
            # a projection of a scalar (or IN, ANY, ALL) subquery is its value; a set
            # operation's branches meet column by column (`SELECT $1 UNION SELECT score`)
            found.extend(_column_parameters(parent, node, policy, seen))
        elif isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
            found.extend(_column_parameters(parent, node, policy, seen))  # `VALUES ($1), (x)`
        if id(parent) in seen:
            return found
        seen.add(id(parent))
        if isinstance(parent, (exp.Select, exp.SetOperation, *_PASS_THROUGH)):
            node = parent
            continue
        carrier = isinstance(parent, _FLOAT_CARRIERS) or (
            type(parent) in _CALL_CARRIERS and not exact_call(parent, policy)
        )
        if carrier or isinstance(parent, _FLOAT_COMPARERS):
            # `CASE x WHEN $1`: x is compared with each WHEN
            simple_case = isinstance(parent, exp.Case) and parent.this is not None
            for child in _operands(parent):
                # a CASE's results are its branches' THEN
                if isinstance(child, exp.If):
                    operands = [child.args.get("true"), child.this if simple_case else None]
                else:
                    operands = [child]
                for operand in operands:
                    value = _bare_parameter(operand, policy)
                    if value is not None:
                        found.append(value)
        if not carrier:
            return found
        node = parent


def _column_parameters(row: exp.Expr, item: exp.Expr, policy: Policy, seen: Seen) -> list[PinValue]:
    """The bare parameters in the column of `item` (in `row`, a set operation's branch or a
    row of VALUES) of every other branch or row: PostgreSQL gives the column one type. Each
    column is looked at once (`seen`): a lossy column in every branch stays linear."""
    if isinstance(row, exp.Tuple):
        assert isinstance(row.parent, exp.Values)
        if isinstance(row.parent.parent, exp.Insert):
            return []  # INSERT's VALUES: each row is typed by the target columns
    position = next((i for i, e in enumerate(row.expressions) if e is item), None)
    if position is None:
        return []
    top: exp.Expr = row
    if isinstance(row.parent, exp.Values):
        top = row.parent
    if isinstance(top, exp.Values):
        if (id(top), position) in seen:
            return []
        seen.add((id(top), position))
    # up to the whole set operation; each one met is marked, so a column's climb stops where
    # an earlier one went (a left-deep chain of 2 000 UNIONs is climbed once per column)
    while True:
        parent = top.parent
        if not isinstance(parent, exp.SetOperation) and not (
            isinstance(parent, exp.Subquery)
            and not parent.alias
            and isinstance(parent.parent, exp.SetOperation)
        ):
            break
        top = parent
        if (id(top), position) in seen:
            return []
        seen.add((id(top), position))
    if top is row:
        return []  # no set operation: the column is the projection's alone
    if isinstance(top, exp.Values):
        rows: list[exp.Expr] = list(top.expressions)
    elif isinstance(top, exp.Expression):
        rows = list(set_branches(top))
    else:
        return []
    found = []
    for other in rows:
        items = other.expressions if isinstance(other, exp.Select | exp.Tuple) else ()
        if position < len(items):
            operand = items[position]
            while isinstance(operand, exp.Paren | exp.Alias):
                operand = operand.this
            if isinstance(operand, exp.Parameter | exp.Placeholder):
                value = pin_value(operand, policy)
                if value is not None:
                    found.append(value)
    return found


def _operands(node: exp.Expr) -> list[exp.Expr]:
    """`node`'s operands, a row's fields in place of the row: `(score, 1) < ($1, 2)` and
    `ROW(score) = ROW($1)` compare `score` with `$1`."""
    out: list[exp.Expr] = []
    for child in node.iter_expressions():
        if isinstance(child, exp.Tuple) or (
            isinstance(child, exp.Anonymous) and identifier_name(child.this) == "row"
        ):
            out.extend(child.expressions)
        else:
            out.append(child)
    return out


def lossy_parameters(tree: exp.Expression, policy: Policy) -> set[PinValue]:
    """Every parameter the statement casts to a lossy type, or types double precision (or as
    a column of a lossy type), somewhere."""
    found = set()
    for cast in tree.find_all(exp.Cast, exp.TryCast):
        value = lossy_parameter(cast, policy)
        if value is not None:
            found.add(value)
    seen: Seen = set()
    for call in tree.find_all(*FLOAT_TYPING_SET, exp.Anonymous, exp.Cast, exp.TryCast, exp.Extract):
        if type(call) in FLOAT_TYPING_SET or (
            isinstance(call, exp.Anonymous) and identifier_name(call.this) in FLOAT_TYPING_NAMES
        ):
            found.update(float_typed_parameters(call, policy))
        if float_root(call, policy):
            found.update(float_neighbours(call, policy, seen))
    if policy.lossy_columns:  # `score > $1` with `score real`
        parents = [n for n in tree.find_all(exp.Expression) if type(n) in LOSSY_COLUMN_PARENTS]
        found.update(column_typed_parameters(parents, policy, seen))
    return found


def column_typed_parameters(
    parents: list[exp.Expression], policy: Policy, seen: Seen
) -> list[PinValue]:
    """The parameters typed by an operand of a lossy type of one of `parents` (the nodes of
    LOSSY_COLUMN_PARENTS of a statement, all of them: its aliases are read first)."""
    names = local_lossy_names(parents, policy.lossy_columns)
    found: list[PinValue] = []
    for node in parents:
        if functional_column(node, policy):
            continue  # `tenant_id(p)`: the row `p` is no value typed with the call's
        for value in node.args.values():
            for operand in value if type(value) is list else (value,):
                if type(operand) in _TYPED_ROOTS and lossy_root(operand, names, policy):
                    found.extend(float_neighbours(operand, policy, seen))
    return found


# built-in functions that take one value of any type, a row among them (`to_json(p)`): a
# tenant column of such a name, called so, is the function's value, not the column
_ROW_CALLS = frozenset(
    [
        "to_json",
        "to_jsonb",
        "row_to_json",
        "num_nulls",
        "num_nonnulls",
        "pg_column_size",
        "pg_typeof",
        "concat",
        "concat_ws",
        "format",
        "hstore",
        "quote_literal",
        "quote_nullable",
        "quote_ident",
        "json_populate_record",
        "jsonb_populate_record",
        "array_to_json",
        "to_tsvector",
        "jsonb_build_array",
        "json_build_array",
        "jsonb_build_object",
        "json_build_object",
        "record_out",
        "textin",
        "text",
        "row",
    ]
)


def functional_column(node: exp.Expression, policy: Policy | None) -> bool:
    """`tenant_id(p)`: a call PostgreSQL may read as the tenant column of the row `p`
    (functional notation; no function of the schema has the name)."""
    if policy is None or type(node) is not exp.Anonymous or len(node.expressions) != 1:
        return False
    name = node.this
    folded = identifier_name(name) if isinstance(name, exp.Identifier) else str(name).lower()
    return (
        folded == policy.tenant_column
        and folded not in policy.functions
        and folded not in _ROW_CALLS
    )


def lossy_root(
    operand: exp.Expression, names: frozenset[str] | set[str], policy: Policy | None = None
) -> bool:
    """Whether `operand` (a column, a field, a cast or a call) may be of a lossy type:
    a column of one of `names`, a composite's field of one, a cast to a type that is not an
    exact one (a domain over real; one of `policy.exact_domains` is exact), a function the
    proof does not know (its type unknown)."""
    if type(operand) is exp.Column:
        return identifier_name(operand.this) in names and not _typed_exactly(operand, policy)
    if isinstance(operand, exp.Dot):  # `(p).px`
        field = operand.expression
        return not isinstance(field, exp.Identifier) or identifier_name(field) in names
    if isinstance(operand, exp.Cast | exp.TryCast):
        to = operand.args.get("to")
        return (
            isinstance(to, exp.DataType)
            and to.this is _T.USERDEFINED
            and not (cast_type(to, policy) is not None and exact_cast(operand, policy=policy))
        )
    if isinstance(operand, exp.Anonymous):
        if identifier_name(operand.this) == "row":  # `ROW(a, b)`: of its fields' types
            return any(lossy_root(i, names, policy) for i in operand.expressions)
        if functional_column(operand, policy):  # `tenant_id(p)` is `p.tenant_id`
            return policy is not None and policy.tenant_column in names
        return not exact_call(operand, policy)
    return isinstance(operand, _NAME_VALUED)


# the built-in types whose `=` is exact and whose value a parameter compared with it keeps
_EXACT_KINDS = frozenset({"text", "varchar", "int2", "int4", "int8", "numeric", "uuid"})


def _typed_exactly(column: exp.Column, policy: Policy | None) -> bool:
    """Is `t.c` a column of a table of the schema of an exact type, `t` naming that table
    and nothing else in the statement (no CTE, derived table or function of that name)? A
    column of a lossy type elsewhere (`currencies.code char(3)`) shares only its name
    (`companies.code text`): a parameter compared with `c.code` is text (h35A)."""
    if policy is None or not policy.typed_columns:
        return False
    qualifier = column.args.get("table")
    if not isinstance(qualifier, exp.Identifier) or column.args.get("db"):
        return False
    found = _relation_names(column.root()).get(identifier_name(qualifier))
    if not found:
        return False  # unknown, or not only tables of the schema
    kinds = {policy.typed_columns.get(t, {}).get(identifier_name(column.this)) for t in found}
    return kinds <= _EXACT_KINDS


# the last statement's names of FROM items (one walk per statement, not per column)
_RELATION_NAMES: tuple[exp.Expr | None, dict[str, frozenset[str]]] = (None, {})


def _relation_names(root: exp.Expr) -> dict[str, frozenset[str]]:
    """The names `root` gives FROM items -> the tables of the schema each names (empty: one
    of them is a CTE, a derived table, a function, VALUES… or a CTE's name hides the table)."""
    global _RELATION_NAMES
    last, names = _RELATION_NAMES
    if last is root:
        return names
    tables: dict[str, set[str]] = {}
    other: set[str] = set()
    ctes: set[str] = set()
    for node in root.find_all(exp.TableAlias, exp.Table, exp.CTE):
        if isinstance(node, exp.CTE):
            ctes.add(identifier_name(node.args["alias"].this))
        elif isinstance(node, exp.TableAlias):
            if not isinstance(node.this, exp.Identifier):
                continue
            name = identifier_name(node.this)
            holder = node.parent
            if isinstance(holder, exp.Table) and isinstance(holder.this, exp.Identifier):
                tables.setdefault(name, set()).add(identifier_name(holder.this))
            else:
                other.add(name)  # a derived table, a function, VALUES… of that name
        elif isinstance(node.this, exp.Identifier) and not node.args.get("alias"):
            name = identifier_name(node.this)
            tables.setdefault(name, set()).add(name)
    names = {
        name: frozenset() if name in other or name in ctes or held & ctes else frozenset(held)
        for name, held in tables.items()
    }
    _RELATION_NAMES = (root, names)
    return names


def exact_call(node: exp.Expr, policy: Policy | None) -> bool:
    """Is `node` a call of a function of the schema that takes and returns exact types only
    (`Policy.exact_functions`: `f_text(t text) RETURNS text`, no built-in of that name)? Its
    value is of an exact type, and it types its arguments so, whatever they are."""
    return (
        policy is not None
        and type(node) is exp.Anonymous
        and bool(policy.exact_functions)
        and identifier_name(node.this) in policy.exact_functions
    )


_EXACT_LEAVES = subclasses(
    exp.Literal, exp.Parameter, exp.Placeholder, exp.Null, exp.Boolean, exp.Identifier
)
_LOOK_BUDGET = 64  # nodes looked at per alias; beyond, the alias is read as lossy (fail closed)


def _may_be_lossy(node: exp.Expression, names: frozenset[str] | set[str]) -> bool:
    """Whether the value of `node` may be of a lossy type (fail closed: unknown is lossy)."""
    stack = [node]
    budget = _LOOK_BUDGET
    while stack:
        current = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        kind = type(current)
        if kind is exp.Column:
            if identifier_name(current.this) in names:
                return True
        elif kind in _EXACT_LEAVES or kind in _EXACT_RESULTS:
            continue
        elif kind in FLOAT_TYPING_SET or isinstance(current, exp.Extract):
            return True  # double precision whatever its operands (`n ^ 2`)
        elif isinstance(current, exp.Cast | exp.TryCast):
            if not (exact_cast(current) or exact_array_cast(current)):
                return True
        elif isinstance(current, exp.If):
            stack.append(current.args.get("true") or exp.Null())
        elif isinstance(current, exp.Case):
            stack.extend(current.args.get("ifs") or ())
            if current.args.get("default") is not None:
                stack.append(current.args["default"])
        elif isinstance(current, exp.Select):
            stack.extend(current.expressions)  # a scalar subquery: its column
        elif isinstance(current, exp.SetOperation):
            stack.extend((current.this, current.expression))
        elif isinstance(current, _FLOAT_CARRIERS) and not isinstance(current, exp.Bracket):
            stack.extend(current.iter_expressions())
        else:
            return True
    return False


def local_lossy_names(
    nodes: list[exp.Expression], names: frozenset[str] | set[str]
) -> frozenset[str] | set[str]:
    """`names` with the names the statement gives to values of a lossy type (`score AS x`,
    `(SELECT r FROM rates) q(x)`, `WITH q(x) AS (…)`): a parameter compared with `q.x` is
    typed so. Repeated until no name is added (an alias of an alias), a few rounds at most."""
    aliases = [n for n in nodes if type(n) is exp.Alias]
    renamed = [n for n in nodes if isinstance(n, exp.TableAlias) and n.args.get("columns")]
    unions = [
        n
        for n in nodes
        if isinstance(n, exp.SetOperation) and not isinstance(n.parent, exp.SetOperation)
    ]
    # `unnest(arr) x`, `f() x`: the function's one column is named x (its type unknown)
    called = [
        identifier_name(n.this)
        for n in nodes
        if isinstance(n, exp.TableAlias)
        and not n.args.get("columns")
        and (
            isinstance(n.parent, exp.Unnest)
            or (isinstance(n.parent, exp.Table) and not isinstance(n.parent.this, exp.Identifier))
        )
    ]
    if not aliases and not renamed and not unions and not called:
        return names
    found = set(names) | set(called)
    for _ in range(8):
        size = len(found)
        for union in unions:
            _union_columns(union, found)
        for alias in aliases:
            name = identifier_name(alias.args.get("alias"))
            if name not in found and _may_be_lossy(alias.this, found):
                found.add(name)
        for table_alias in renamed:
            _renamed_columns(table_alias, found)
        if len(found) == size:
            return found
    for alias in aliases:  # still growing: every name given to a value (fail closed)
        found.add(identifier_name(alias.args.get("alias")))
    for table_alias in renamed:
        found.update(identifier_name(c) for c in table_alias.args["columns"])
    return found


def _union_columns(union: exp.SetOperation, found: set[str]) -> None:
    """Adds to `found` the names of a set operation's columns (its first branch's) of which
    a branch may give a value of a lossy type: the column takes the branches' common type."""
    branches = [list(b.expressions) for b in set_branches(union) if isinstance(b, exp.Select)]
    if not branches:
        return
    for position, item in enumerate(branches[0]):
        if isinstance(item, exp.Alias):
            name = identifier_name(item.args.get("alias"))
        elif isinstance(item, exp.Column):
            name = identifier_name(item.this)
        else:
            continue  # `?column?`: no name to compare with
        if name in found:
            continue
        items = [b[position] for b in branches if position < len(b)]
        if any(_may_be_lossy(i.this if isinstance(i, exp.Alias) else i, found) for i in items):
            found.add(name)


def _renamed_columns(table_alias: exp.TableAlias, found: set[str]) -> None:
    """Adds to `found` the names `AS q(a, b)` gives to columns of a lossy type, by position;
    all of them when the relation's columns are not in sight (a table, a function)."""
    columns = [
        identifier_name(c.this if isinstance(c, exp.ColumnDef) else c)
        for c in table_alias.args["columns"]
    ]
    relation = table_alias.parent
    query = relation.this if isinstance(relation, exp.Subquery | exp.CTE) else relation
    if isinstance(query, exp.Values):
        rows = [list(t.expressions) if isinstance(t, exp.Tuple) else [t] for t in query.expressions]
    elif isinstance(query, exp.Select | exp.SetOperation):
        rows = [list(b.expressions) for b in set_branches(query) if isinstance(b, exp.Select)]
        if any(
            isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
            for r in rows
            for e in r
        ):
            rows = []
    else:
        rows = []
    definitions = table_alias.args["columns"]
    for position, name in enumerate(columns):
        if name in found:
            continue
        definition = definitions[position]
        if isinstance(definition, exp.ColumnDef) and _exact_definition(definition):
            continue  # `json_to_recordset(…) AS r(tenant_id int)`: of the type it declares
        items = [row[position] for row in rows if position < len(row)]
        if not items or any(_may_be_lossy(item, found) for item in items):
            found.add(name)


def _exact_definition(definition: exp.ColumnDef) -> bool:
    """Does a column definition list (a function returning `record`: `AS r(x int, …)`) declare
    this column of a builtin exact type (no length, precision, array)? PostgreSQL gives the
    column that type, whatever the function's rows hold."""
    kind = definition.args.get("kind")
    return (
        isinstance(kind, exp.DataType)
        and kind.this in _EXACT
        and not kind.expressions
        and not kind.args.get("nested")
        and not definition.args.get("constraints")
    )
