"""The types PostgreSQL gave a statement's parameters, and which of them compare a tenant id exactly.

PostgreSQL types a parameter once, by its first use: in `WHERE score = $1 AND tenant_id = $1`
with `score real`, `$1` is a `real` everywhere, so tenant 16777217 is sent as a float and
`tenant_id = $1` selects tenant 16777216's rows. The proof sees the text, not the types; asyncpg
knows them once it has prepared the statement (`PreparedStatementState._get_parameters()`), before
anything is bound. A parameter that pins the tenant must be of a type whose value is the tenant
id itself: an integer or `numeric` for an integer column (too large for `int2`/`int4`: an error,
never another tenant), `text`, `varchar` or `uuid` for a text or uuid column — a parameter has
no typmod, so `varchar` and `numeric` there are unbounded. A mix across kinds (`bigint = text`) is
an error on the server, never a comparison. Anything else — `real`, `double precision`, `money`,
`"char"` (one byte), `character` (trailing blanks dropped when compared with text), `name` (63
bytes), `oid`, a domain whose base has a typmod (`varchar(2)`, `numeric(10,-3)`) — may turn the
request's tenant into another one before it is compared.
"""

from __future__ import annotations

from collections.abc import Sequence

from asyncpg.types import Type

__all__ = ["describe", "first_inexact_pin", "inexact", "why_inexact"]

# int8, int2, int4, text, numeric, varchar, uuid (pg_type.dat)
_EXACT_OIDS = frozenset({20, 21, 23, 25, 1700, 1043, 2950})
# bases of a domain that compare exactly whatever the domain's typmod (they have none)
_EXACT_BASES = frozenset({"int2", "int4", "int8", "text", "uuid"})
_FIRST_USER_OID = 16384  # FirstNormalObjectId: below it, PostgreSQL's own types
_SQL_NAMES = {
    "float4": "real",
    "float8": "double precision",
    "bpchar": "character",
    "char": '"char"',
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
}


_WHY = {
    "float4": "a real keeps 24 bits: 16777217 becomes 16777216",
    "float8": "a double precision keeps 53 bits: 2^53 + 1 becomes 2^53",
    "bpchar": "trailing blanks do not count: 'ab ' compares equal to 'ab'",
    "char": "a \"char\" keeps one byte: 'ab' becomes 'a'",
    "name": "a name keeps 63 bytes",
    "varchar": "a length cuts trailing blanks off",
    "numeric": "a scale rounds it: numeric(10,-3) makes 16777217 16777000",
}


def inexact(parameter: Type) -> bool:
    """True when a value of this parameter's type may not compare as the tenant id it was given.

    asyncpg describes a domain by its base type's codec (its name, `pg_catalog`), under the
    domain's own oid: a domain counts as exact only over a base that has no typmod.
    """
    if parameter.oid in _EXACT_OIDS:
        return False
    return not (parameter.schema == "pg_catalog" and parameter.name in _EXACT_BASES)


def describe(parameter: Type) -> str:
    """The type as a reader of the statement knows it: `real (float4)`, `a domain over varchar`."""
    name = parameter.name
    if parameter.schema != "pg_catalog":
        return f"{parameter.schema}.{name}"
    if parameter.oid >= _FIRST_USER_OID:
        return f"a domain over {name}"
    sql = _SQL_NAMES.get(name)
    return f"{sql} ({name})" if sql else name


def why_inexact(parameter: Type) -> str:
    """How a value of this inexact type may become another tenant's id."""
    return _WHY.get(parameter.name, "its values are not the tenant column's")


def first_inexact_pin(parameters: Sequence[Type], pins: Sequence[int]) -> tuple[int, Type] | None:
    """The first pinning parameter (0-based index in `pins`) whose type is inexact, or None."""
    for index in pins:
        if index < len(parameters) and inexact(parameters[index]):
            return index, parameters[index]
    return None
