"""The fixes of round 3 of the attacks on the runtime guard, tried around their edges.

`test_runtime_attacks_round3` holds the attacks as found; this file tries every other door of
the same kind (each COPY argument asyncpg writes into the statement's text, the lexer's reading
of comments and dollar-quote tags as the server reads them) and checks that what the
application legitimately does still works. Same two setups (`setup`: the guard alone, and an
application role under RLS with `set_tenant_setting=True`); each attack asserts on clinic 2's
rows (Carla), read afterwards through an unguarded owner connection.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedConnection, tenant
from tenantguard.runtime.tokens import inline_parameters, redact_literals
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import PINNED, Setup
from tests.runtime.test_runtime_attacks_round3 import (
    CLINIC_2,
    guard_only,
    refused_or_ran,
)

setup = round2.setup  # parametrized over "guard" and "guard+rls"
__all__ = ["guard_only", "setup"]

# what an injection runs once it is out of the COPY: RLS then serves clinic 2, and Carla goes
AFTER = (
    "SELECT set_config('app.tenant_id', '2', false); DELETE FROM patients WHERE tenant_id = 2; --"
)


class Replaced(str):
    """A str whose `replace()` — what asyncpg quotes names and literals with — returns SQL."""

    sql: str

    def __new__(cls, text: str, sql: str) -> Replaced:
        made = super().__new__(cls, text)
        made.sql = sql
        return made

    def replace(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        return self.sql


class Added(str):
    """A str that adds SQL when it is added to a str (asyncpg: `'WHERE ' + where`)."""

    def __radd__(self, other: str) -> str:
        return other + str.__str__(self) + "; " + AFTER


class Quacks:
    """Not a str at all, but it has the `replace()` asyncpg calls."""

    def replace(self, *args: Any) -> str:
        return "x'); " + AFTER


async def _from_table(conn: GuardedConnection, **kwargs: Any) -> object:
    arguments = {"table_name": "tenants", **kwargs}
    return await conn.copy_from_table(output=io.BytesIO(), **arguments)


async def _from_query(conn: GuardedConnection, **kwargs: Any) -> object:
    return await conn.copy_from_query(PINNED, 1, output=io.BytesIO(), **kwargs)


async def _to_table(conn: GuardedConnection, **kwargs: Any) -> object:
    arguments = {"table_name": "tenants", "columns": ["id", "name"], **kwargs}
    return await conn.copy_to_table(source=io.BytesIO(b""), **arguments)


async def _records(conn: GuardedConnection, **kwargs: Any) -> object:
    return await conn.copy_records_to_table("tenants", records=[], **kwargs)


# each: a COPY the server runs when the argument is written as asyncpg writes it
COPY_ATTACKS = {
    "from_table-format": (_from_table, {"format": Replaced("csv", "csv'); " + AFTER)}),
    "from_table-delimiter": (_from_table, {"delimiter": Replaced(",", "x'); " + AFTER)}),
    "from_table-null": (_from_table, {"null": Replaced("", "x'); " + AFTER)}),
    "from_table-quote": (_from_table, {"format": "csv", "quote": Replaced("'", "|'); " + AFTER)}),
    "from_table-escape": (
        _from_table,
        {"format": "csv", "escape": Replaced("\\", "|'); " + AFTER)},
    ),
    "from_table-encoding": (_from_table, {"encoding": Replaced("UTF8", "UTF8'); " + AFTER)}),
    "from_table-not-a-str": (_from_table, {"delimiter": Quacks()}),
    "from_table-force_quote": (
        _from_table,
        {"format": "csv", "force_quote": [Replaced("id", 'id")); ' + AFTER)]},
    ),
    "from_table-header": (_from_table, {"format": "csv", "header": "true); " + AFTER}),
    "from_table-table_name": (
        _from_table,
        {"table_name": Replaced("tenants", 'tenants" TO STDOUT; ' + AFTER)},
    ),
    "from_table-schema_name": (
        _from_table,
        {"schema_name": Replaced("public", 'public"."tenants" TO STDOUT; ' + AFTER)},
    ),
    "from_table-columns": (
        _from_table,
        {"columns": [Replaced("id", 'id") TO STDOUT; ' + AFTER)]},
    ),
    "from_query-delimiter": (_from_query, {"delimiter": Replaced(",", "x'); " + AFTER)}),
    "from_query-force_quote": (
        _from_query,
        {"format": "csv", "force_quote": [Replaced("first_name", 'first_name")); ' + AFTER)]},
    ),
    "to_table-freeze": (_to_table, {"freeze": "false); " + AFTER}),
    "to_table-header": (_to_table, {"format": "csv", "header": "false); " + AFTER}),
    "to_table-null": (_to_table, {"null": Replaced("", "x'); " + AFTER)}),
    "to_table-force_not_null": (
        _to_table,
        {"format": "csv", "force_not_null": [Replaced("name", 'name")); ' + AFTER)]},
    ),
    "to_table-force_null": (
        _to_table,
        {"format": "csv", "force_null": [Replaced("name", 'name")); ' + AFTER)]},
    ),
    "to_table-where": (_to_table, {"where": Added("id = 1")}),
    "to_table-columns": (
        _to_table,
        {"columns": ["id", Replaced("name", 'name") FROM STDIN; ' + AFTER)]},
    ),
    "records-where": (_records, {"where": Added("id = 1")}),
}


@pytest.mark.parametrize("attack", COPY_ATTACKS.values(), ids=list(COPY_ATTACKS))
async def test_no_copy_argument_adds_sql_to_the_copy(setup: Setup, attack: Any) -> None:
    copy, kwargs = attack
    conn = await setup.connect()
    try:
        with tenant(1):
            await refused_or_ran(lambda: asyncio.wait_for(copy(conn, **kwargs), 10))
    finally:
        await conn.close()
    assert await setup.names(CLINIC_2) == ["Carla"]  # Carla deleted


@pytest.mark.parametrize(
    "kwargs",
    [
        {"oids": "false"},  # no longer a COPY option (PostgreSQL 12): no row can change
        {"header": 1},
        {"force_quote": "id"},  # a str is not a list of names (asyncpg would quote "i", "d")
        {"force_not_null": True},
    ],
    ids=["oids-str", "header-int", "force_quote-str", "force_not_null-bool"],
)
async def test_copy_options_of_another_type_are_refused_before_anything_is_sent(
    two_clinics: str, kwargs: dict[str, Any]
) -> None:
    conn = await Setup("guard", two_clinics, two_clinics).connect()
    copy = _to_table if "force_not_null" in kwargs else _from_table
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="must be") as refused:
            await copy(conn, format="csv", **kwargs)  # sent, `HEADER 1` would copy
    finally:
        await conn.close()
    assert refused.value.reference == next(iter(kwargs))


async def test_copy_options_of_asyncpg_s_types_still_work(setup: Setup) -> None:
    """Every option with the type asyncpg documents, column lists given as generators."""
    conn = await setup.connect()
    try:
        with tenant(1):
            table = io.BytesIO()
            await conn.copy_from_table(
                "tenants",
                output=table,
                columns=(name for name in ["id", "name"]),
                format="csv",
                header=True,
                delimiter=";",
                quote="'",
                escape="\\",
                null="NULL",
                encoding="UTF8",
                force_quote=True,
            )
            chunks: list[bytes] = []

            async def sink(data: bytes) -> None:
                chunks.append(data)

            await conn.copy_from_query(
                PINNED, 1, output=sink, format="csv", force_quote=["first_name"]
            )
            await conn.copy_to_table(
                "tenants",
                source=io.BytesIO(b"id,name\n3,East\n4,\n"),
                columns=["id", "name"],
                format="csv",
                header="match",
                force_not_null=(name for name in ["name"]),
                force_null=("id",),
                freeze=False,
            )
            await conn.copy_records_to_table(
                "tenants", records=[(5, "West")], columns=(name for name in ["id", "name"])
            )
    finally:
        await conn.close()
    assert table.getvalue().decode().splitlines() == ["id;name", "'1';'North'", "'2';'South'"]
    assert b"".join(chunks).decode().splitlines() == ['"Ana"', '"Bruno"']
    assert await setup.names("SELECT name FROM tenants WHERE id > 2 ORDER BY id") == [
        "East",
        "",
        "West",
    ]


# --- the lexer's copy in the runtime: `\r` ends a `--` comment, tags outside the BMP ---------


def test_inline_parameters_reads_comments_and_dollar_tags_as_the_server_does() -> None:
    assert inline_parameters("SELECT $1 --\r, $1", ["'a'"]) == "SELECT 'a' --\r, 'a'"
    assert inline_parameters("SELECT $😀$ $1 $😀$, $1", ["'a'"]) == "SELECT $😀$ $1 $😀$, 'a'"
    assert inline_parameters("SELECT $😀x$ $1 $😀x$, $1", ["'a'"]) == "SELECT $😀x$ $1 $😀x$, 'a'"
    # a name may start with any non-ASCII character and hold `$`: `\U0001d501$1` is one name
    assert inline_parameters("SELECT \U0001d501$1, $1", ["'a'"]) == "SELECT \U0001d501$1, 'a'"
    # blanks and digits are ASCII only: `\xa0$1` is a name, `$\u0661$` a dollar-quote tag
    assert inline_parameters("SELECT \xa0$1, $1", ["'a'"]) == "SELECT \xa0$1, 'a'"
    assert (
        inline_parameters("SELECT $\u0661$ $1 $\u0661$, $1", ["'a'"])
        == "SELECT $\u0661$ $1 $\u0661$, 'a'"
    )


def test_redacted_statements_show_no_literal_in_a_dollar_tag_outside_the_bmp() -> None:
    redacted = redact_literals("SELECT $😀$Carla 221$😀$ AS phone --\r, 'Carla'")
    assert "Carla" not in redacted
    assert "221" not in redacted


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # `--` ends at `\r` for the server: the second $2 is a parameter, to be placed
        ("SELECT $2::text AS a --\r, $2::text AS c\n", ["x\tx\tAna", "x\tx\tBruno"]),
        # `$😀$` opens a string for the server: the $2 inside it is text, to be left
        ("SELECT $😀$ $2 $😀$ AS b, $2::text AS a", [" $2 \tx\tAna", " $2 \tx\tBruno"]),
    ],
    ids=["carriage-return", "dollar-tag"],
)
async def test_copy_from_query_places_values_as_the_server_reads_the_text(
    setup: Setup, query: str, expected: list[str]
) -> None:
    chunks: list[bytes] = []

    async def sink(data: bytes) -> None:
        chunks.append(data)

    conn = await setup.connect()
    try:
        with tenant(1):
            await conn.copy_from_query(
                query + ", first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name",
                1,
                "x",
                output=sink,
            )
    finally:
        await conn.close()
    assert b"".join(chunks).decode().splitlines() == expected
