"""The values a guarded call sends, as the guard checked them: arguments with each uuid.UUID
frozen into asyncpg's own UUID, SQL literals and identifiers the guard writes itself, and the
COPY options as asyncpg writes them into the statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from typing import Any, NoReturn
from uuid import UUID as _UUID

from asyncpg.pgproto.pgproto import UUID as _PgUUID

from tenantguard.errors import TenantIsolationError

# a uuid.UUID's bytes as its `bytes` property makes them (big-endian), without the property
# and without an int subclass's own method (an `int` slot set with object.__setattr__)
_to_bytes = int.to_bytes

# how asyncpg's `_format_copy_opts` writes each COPY option: pasted with str() (a bool only),
# quoted as a literal (a str), or a list of names quoted one by one (`force_quote=True` too)
COPY_FLAGS = frozenset({"header", "oids", "freeze"})
COPY_TEXTS = frozenset({"format", "delimiter", "null", "quote", "escape", "encoding"})
COPY_COLUMNS = frozenset({"force_quote", "force_not_null", "force_null"})


def column_names(value: object) -> tuple[str, ...] | None:
    """`value` as a tuple of exact str (read once), or None when it is not a list of names."""
    if value is None or isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return None
    names = tuple(value)
    return names if all(type(name) is str for name in names) else None


def _frozen(values: Iterable[Any]) -> tuple[Any, ...]:
    """`values` as a tuple, each uuid.UUID in it replaced by asyncpg's own UUID of the same
    value. A uuid.UUID is immutable by convention only (`object.__setattr__(u, "int", …)`)
    and asyncpg encodes it when the statement is sent, after the check: asyncpg's UUID keeps
    its bytes in C, and asyncpg sends it as it is."""
    row = tuple(values)
    for value in row:
        if type(value) is _UUID:
            return tuple(_pg_uuid(v) if type(v) is _UUID else v for v in row)
    return row


def _pg_uuid(value: _UUID) -> object:
    """asyncpg's UUID of a uuid.UUID's value (read from its `int` slot)."""
    try:
        return _PgUUID(_to_bytes(value.int, 16))
    except (AttributeError, TypeError, OverflowError):
        no_uuid_value(value)


def no_uuid_value(value: object) -> NoReturn:
    """A uuid.UUID whose `int` slot was deleted or set to something that is no 128-bit
    number (object.__setattr__) has no value to check or to send: refused in every mode
    (asyncpg could not encode it either)."""
    try:
        slot = repr(object.__getattribute__(value, "int"))[:40]
    except AttributeError:
        slot = "nothing"
    raise TenantIsolationError(
        f"TG-RUNTIME: a uuid.UUID argument holds {slot} in its int slot, no uuid value: it "
        "cannot be checked or sent — pass the tenant's uuid.UUID as uuid.UUID() made it",
        rule="TG-RUNTIME",
        hint="pass the tenant's uuid.UUID as uuid.UUID() made it",
    )


def literal(text: str) -> str:
    """A string literal for a session that lexes with standard_conforming_strings on (the
    only kind the guard serves): quotes doubled, backslashes literal."""
    if "\x00" in text:
        raise ValueError("a tenant value cannot contain a NUL character")
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(table_name: str, schema_name: str | None) -> str:
    """The table as asyncpg names it in COPY: quoted, so exactly `table_name`."""
    target = ident(table_name)
    return f"{ident(schema_name)}.{target}" if schema_name else target


# -- what the tenant column stores of a tenant id ---------------------------------------------
#
# A parameter has no typmod, so a pin's value is compared exactly; a column has one, and an
# INSERT or UPDATE converts the value it stores to the column's type and typmod (helper h41G):
# `varchar(3)` and `char(3)` drop the trailing blanks past their length (tenant 'abc ' is stored
# as 'abc'), `numeric(12,-3)` rounds (16777217 as 16777000), an integer column rounds a
# `numeric` parameter (tenant '1.4' as 1), `name` keeps 63 bytes and `"char"` one.
# `STORED_BLANKS`, `STORED_BYTES` + length, `STORED_INTEGER` and `STORED_SCALE` + scale name how
# a column converts (`TENANT_TYPES_QUERY`'s fifth column).
STORED_BLANKS = "blanks"
STORED_BYTES = "bytes:"
_NAME_BYTES = 63  # a name's (NAMEDATALEN - 1)
STORED_INTEGER = "integer"
STORED_SCALE = "scale:"


# wide enough that scaling a tenant id rounds nothing (PostgreSQL's numeric keeps 131072 digits
# before the point; a tenant id anywhere near that is refused by its column or the parameter)
_EXACT = Context(prec=200_000, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def stored_always(kinds: Iterable[str]) -> bool:
    """True when a column of these kinds may store an int tenant, or any str tenant, as
    another one (a numeric with a negative scale, a one-byte `"char"`): every tenant is
    checked against them, not only an odd str tenant (`odd_tenant_text`)."""
    for kind in kinds:
        if kind.startswith(STORED_SCALE) and int(kind[len(STORED_SCALE) :]) < 0:
            return True
        if kind.startswith(STORED_BYTES) and int(kind[len(STORED_BYTES) :]) < _NAME_BYTES:
            return True
    return False


def _finite_number(text: str) -> Decimal | None:
    """`text` as asyncpg's numeric codec reads it (a Decimal), when it is a finite number."""
    try:
        number = Decimal(text)
    except (ArithmeticError, ValueError):
        return None
    return number if number.is_finite() else None


def odd_tenant_text(value: object) -> bool:
    """True for a str tenant a column may store as another one: ending with a blank, or a
    number that is not its int's own decimal text (`'1.4'`, `'01'`). The hot path leaves
    such a tenant to the full check (`stored_as_another`)."""
    if type(value) is not str:
        return False
    text: str = value
    if text.endswith(" ") or (len(text) > _NAME_BYTES // 4 and _utf8_length(text) > _NAME_BYTES):
        return True
    number = _finite_number(text)
    # (a number of more than 40 digits is odd without being written out: `'1e999999'`)
    return number is not None and (number.adjusted() > 40 or text != str(int(number)))


def stored_as_another(value: object, columns: Mapping[str, str]) -> tuple[str, str] | None:
    """The relation whose tenant column stores the tenant `value` (tenant()'s) as another
    value, and how, or None. `columns`: how each relation's tenant column converts a value
    it stores (`STORED_*`)."""
    kind = type(value)
    if kind is int:
        number: Decimal | None = Decimal(value)  # type: ignore[arg-type]
        blank = False
    elif kind is str:
        text: str = value  # type: ignore[assignment]
        number = _finite_number(text)
        blank = text.endswith(" ")
    else:
        return None
    for relation, how in columns.items():
        if how == STORED_BLANKS:
            if blank:
                return relation, "drops the trailing blanks past its length"
        elif how.startswith(STORED_BYTES):
            if kind is str and _utf8_length(text) > int(how[len(STORED_BYTES) :]):
                return relation, f"keeps {how[len(STORED_BYTES) :]} bytes of it"
        elif number is None:
            continue
        elif how == STORED_INTEGER:
            if kind is str and number != number.to_integral_value():
                return relation, "is an integer: a numeric parameter is rounded into it"
        elif how.startswith(STORED_SCALE):
            scaled = number.scaleb(int(how[len(STORED_SCALE) :]), context=_EXACT)
            if scaled != scaled.to_integral_value(context=_EXACT):
                return relation, "is a numeric whose scale rounds the id"
    return None
