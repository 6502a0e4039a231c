"""Pinning values: what a tenant column may be equated with to pin it to one tenant.

A bind parameter, a literal, a configured tenant expression — or a cast of one to a type that
keeps equality exact. A cast that can map two tenant ids to one value (`$1::real`: float4 has 24
bits, so 16777216 = 16777217; `varchar(3)`, `char(n)` and `numeric(p, s)` cut or round; `citext`
folds case) would let a value that passes the runtime's check select another tenant's rows.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlglot import exp

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof.model import PinValue
from tenantguard.engine.proof.syntax import identifier_name, subclasses

__all__ = [
    "FLOAT_TYPING_NAMES",
    "FLOAT_TYPING_SET",
    "LOSSY_COLUMN_PARENTS",
    "column_side",
    "exact_array_cast",
    "exact_cast",
    "float_neighbours",
    "float_root",
    "float_typed_parameters",
    "lossy_parameter",
    "lossy_parameters",
    "multi_values",
    "pin_value",
    "single_value_array",
]

_T = exp.DataType.Type
_INTEGERS = frozenset({_T.SMALLINT, _T.INT, _T.BIGINT})
# types whose equality is exact for the values a tenant id takes (integers, numeric without a
# typmod, text, varchar without a length, uuid)
_EXACT = _INTEGERS | {_T.DECIMAL, _T.TEXT, _T.VARCHAR, _T.UUID}
# casts that may wrap the column side of a pin: text of an integer, uuid or text is one-to-one
_TEXTUAL = frozenset({_T.TEXT, _T.VARCHAR})


def exact_cast(node: exp.Cast | exp.TryCast, allowed: frozenset[Any] = _EXACT) -> bool:
    """Is this cast to a type of `allowed`, with no length, precision or scale?"""
    to = node.args.get("to")
    return (
        isinstance(to, exp.DataType)
        and to.this in allowed
        and not to.expressions
        and not to.args.get("nested")
    )


def _strip_exact_casts(node: exp.Expression) -> exp.Expression | None:
    """The value under parentheses and exact casts; None when a cast may lose equality.

    Several casts in a row are accepted between integer types only (`$1::int::bigint`): a
    conversion between families (`$1::numeric::int` rounds, `$1::text::int` reads ' 1' and
    '01' as 1) maps several values to one.
    """
    families: list[bool] = []  # per cast: is it to an integer type?
    while isinstance(node, exp.Cast | exp.TryCast | exp.Paren):
        if not isinstance(node, exp.Paren):
            if not exact_cast(node):
                return None
            to = node.args["to"]
            families.append(to.this in _INTEGERS)
        node = node.this
    if len(families) > 1 and not all(families):
        return None
    return node


def pin_value(node: exp.Expression, policy: Policy) -> PinValue | None:
    """`node` as a pinning value: a parameter, a literal, a tenant expression, or an exact cast
    of one."""
    bare = _strip_exact_casts(node)
    if bare is None:
        return None
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
        return PinValue("literal", str(bare.this) if bare.is_string else _number(str(bare.this)))
    if isinstance(bare, exp.Neg) and isinstance(bare.this, exp.Literal) and not bare.this.is_string:
        return PinValue("literal", _number("-" + str(bare.this.this)))
    index = policy.tenant_expression_index(bare)
    if index is not None:
        return PinValue("expression", index)
    return None


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
    """The column under parentheses and one-to-one casts to text (`tenant_id::text = $1`)."""
    while True:
        textual = isinstance(node, exp.Cast | exp.TryCast) and exact_cast(node, _TEXTUAL)
        if not (textual or isinstance(node, exp.Paren)):
            return node
        node = node.this


def _any_operand(node: exp.Expression) -> exp.Expression | None:
    """What `ANY(…)` (or its synonym `SOME(…)`) ranges over, exact array casts removed."""
    inner: exp.Expression
    if isinstance(node, exp.Any):
        inner = node.this
    elif (
        isinstance(node, exp.Anonymous)
        and identifier_name(node.this) == "some"
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


def single_value_array(node: exp.Expression, policy: Policy) -> PinValue | None:
    """`ANY(ARRAY[V])` (or `ARRAY[V, V]`): an array of one pinning value is that value."""
    inner = _any_operand(node)
    if not isinstance(inner, exp.Array) or not inner.expressions:
        return None
    first = pin_value(inner.expressions[0], policy)
    if first is None or any(pin_value(i, policy) != first for i in inner.expressions[1:]):
        return None
    return first


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
    if exact_cast(cast) or exact_array_cast(cast):
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
        exp.Sqrt, exp.Tan, exp.Tanh, exp.UnixToTime, exp.WidthBucket,
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
    if isinstance(call, exp.Round) and call.args.get("decimals") is not None:
        return []  # round(x, n) has only a numeric form: exact
    found = []
    for argument in call.iter_expressions():
        while isinstance(argument, exp.Paren):
            argument = argument.this
        if isinstance(argument, exp.Parameter | exp.Placeholder):
            value = pin_value(argument, policy)
            if value is not None:
                found.append(value)
    return found


_FLOATS = frozenset({_T.FLOAT, _T.DOUBLE})
# what takes the type of its float operand (`$1 + x::real`, `coalesce($1, x::float8)`, a CASE of
# float results, an array of floats under ANY): a parameter beside it is typed float too
_FLOAT_CARRIERS = (
    exp.Paren, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Pow, exp.Neg, exp.If, exp.Case,
    exp.Coalesce, exp.Greatest, exp.Least, exp.Nullif, exp.Array, exp.Any, exp.All,
)  # fmt: skip
# what compares its operands in one type: a parameter beside a float is typed float
_FLOAT_COMPARERS = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In,
    exp.Between,
)  # fmt: skip


# where a column of a lossy type types a parameter beside it (`score > $1`, `score + $1`):
# every other place of a column starts no walk up (`float_neighbours` looks at its parent)
LOSSY_COLUMN_PARENTS = subclasses(*_FLOAT_CARRIERS, *_FLOAT_COMPARERS)


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


def float_neighbours(root: exp.Expr, policy: Policy, seen: set[int]) -> list[PinValue]:
    """The parameters PostgreSQL types float because they meet the float expression `root`:
    `$1 = x::float8`, `$1 + sqrt(x)`, `coalesce($1, x::real)`, `CASE … THEN $1 ELSE x::float8`.
    Walks up while the float carries over (an iterative walk; `seen` ends it where another root's
    walk went, so a long chain of floats is walked once)."""
    found: list[PinValue] = []
    node = root
    while True:
        parent = node.parent
        if parent is None or id(parent) in seen:
            return found
        seen.add(id(parent))
        carrier = isinstance(parent, _FLOAT_CARRIERS)
        if carrier or isinstance(parent, _FLOAT_COMPARERS):
            for child in parent.iter_expressions():
                # a CASE's results are its branches' THEN
                operand = child.args.get("true") if isinstance(child, exp.If) else child
                while isinstance(operand, exp.Paren):
                    operand = operand.this
                if isinstance(operand, exp.Parameter | exp.Placeholder):
                    value = pin_value(operand, policy)
                    if value is not None:
                        found.append(value)
        if not carrier:
            return found
        node = parent


def lossy_parameters(tree: exp.Expression, policy: Policy) -> set[PinValue]:
    """Every parameter the statement casts to a lossy type, or types double precision (or as
    a column of a lossy type), somewhere."""
    found = set()
    for cast in tree.find_all(exp.Cast, exp.TryCast):
        value = lossy_parameter(cast, policy)
        if value is not None:
            found.add(value)
    seen: set[int] = set()
    for call in tree.find_all(*FLOAT_TYPING_SET, exp.Anonymous, exp.Cast, exp.TryCast, exp.Extract):
        if type(call) in FLOAT_TYPING_SET or (
            isinstance(call, exp.Anonymous) and identifier_name(call.this) in FLOAT_TYPING_NAMES
        ):
            found.update(float_typed_parameters(call, policy))
        if float_root(call, policy):
            found.update(float_neighbours(call, policy, seen))
    if policy.lossy_columns:  # `score > $1` with `score real`
        for column in tree.find_all(exp.Column):
            if identifier_name(column.this) in policy.lossy_columns:
                found.update(float_neighbours(column, policy, seen))
    return found
