"""Round 15: the runtime guard attacked from inside clinic 1's request (leftovers of round 14,
then an outsider's fresh attempts).

Each test runs on the real server and asserts on the rows that come back, or that are still
there afterwards (read through an unguarded owner connection). Clinic 1 has Ana and Bruno,
clinic 2 has Carla.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import create_pool, tenant, unscoped
from tests.runtime.test_runtime_attacks import BY_SETTING, CLINIC_1, PINNED, POLICY, Setup
from tests.runtime.test_runtime_attacks_round3 import guard_only
from tests.runtime.test_runtime_attacks_round4 import CARLA_HISTORY, PINNED_HISTORY
from tests.runtime.test_runtime_attacks_round11 import setup

__all__ = ["guard_only", "setup"]


async def names_or_refused(call: Callable[[], Any]) -> list[str]:
    """The first column of the rows a call returns; `refused` when the guard refuses it
    (when it is made or when it runs), `no table` when the server does not know the table."""
    try:
        result = await call()
    except TenantIsolationError:
        return ["refused"]
    except asyncpg.UndefinedTableError:
        return ["no table"]
    if isinstance(result, str):
        return [result]
    return [row[0] for row in result]


# --- 1. a call kept across a change of the session's lexer -----------------------------------

# one string, then another, for the guard (standard_conforming_strings on); for a server that
# reads `\'` as a quote, one string, then `OR true` and a comment
SNEAKY = (
    "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> 'a\\' "
    "AND first_name <> ' OR true --' ORDER BY first_name"
)
# the same as a script on the simple protocol: a DELETE of every other clinic's patients
SNEAKY_SCRIPT = (
    "SELECT first_name FROM patients WHERE tenant_id = 1 AND first_name <> 'a\\' "
    "AND first_name <> '; DELETE FROM patients WHERE tenant_id <> 1; --'"
)


async def lexer_off(conn: Any, how: str) -> None:
    """Turns standard_conforming_strings off where the guard proves nothing: with the guard
    off, or inside unscoped()."""
    if how == "off":
        conn.tenantguard.mode = "off"
        await conn.execute("SET standard_conforming_strings = off")
        conn.tenantguard.mode = "enforce"
    else:
        with unscoped("legacy import"):
            await conn.execute("SET standard_conforming_strings = off")


@pytest.mark.parametrize("how", ["off", "unscoped"])
async def test_a_call_kept_across_a_lexer_change_is_refused_when_it_runs(
    guard_only: Setup, how: str
) -> None:
    """Clinic 1's request makes its calls (proven: the session lexed as the guard does), keeps
    them, has standard_conforming_strings turned off where the guard looks at nothing (mode
    off, unscoped()), then awaits them: the server read `'a\\' AND first_name <> '` as one
    string and ran `OR true` (Carla) and, in the script, a DELETE of clinic 2's patients. The
    session's lexer is read again when a call runs, not only when it is made."""
    conn = await guard_only.connect()
    try:
        with tenant(1):
            assert await names_or_refused(lambda: conn.fetch(PINNED, 1)) == CLINIC_1
            read = conn.fetch(SNEAKY, 1)
            script = conn.execute(SNEAKY_SCRIPT)
            cursor_rows: list[str] = []

            async def through_cursor() -> list[str]:
                async with conn.transaction():
                    async for row in conn.cursor(SNEAKY.replace("$1", "$1::bigint"), 1):
                        cursor_rows.append(row[0])
                return cursor_rows

            in_cursor = through_cursor()
        await lexer_off(conn, how)
        with tenant(1):
            seen = await names_or_refused(lambda: read)
            seen += await names_or_refused(lambda: script)
            seen += await names_or_refused(lambda: in_cursor)
    finally:
        await conn.close()
    assert seen == ["refused"] * 3
    assert "Carla" in await guard_only.names()


async def test_a_kept_call_runs_once_the_lexer_is_the_guards_again(guard_only: Setup) -> None:
    """The twin: a setting the server's lexer does not read differently (`backslash_quote`:
    an `E''` string ends where the guard ends it, or is an error), or
    standard_conforming_strings turned on again, leaves kept calls to run as proven."""
    conn = await guard_only.connect()
    escaped = (
        "SELECT first_name FROM patients WHERE tenant_id = $1 "
        "AND first_name <> E'a\\' OR true --' ORDER BY first_name"
    )
    try:
        with tenant(1):
            kept = conn.fetch(escaped, 1)
            kept_again = conn.fetch(PINNED, 1)
        conn.tenantguard.mode = "off"
        await conn.execute("SET backslash_quote = on")
        conn.tenantguard.mode = "enforce"
        with tenant(1):
            seen = await names_or_refused(lambda: kept)
        await lexer_off(conn, "unscoped")
        with unscoped("legacy import done"):
            await conn.execute("RESET standard_conforming_strings")
        with tenant(1):
            seen += await names_or_refused(lambda: kept_again)
    finally:
        await conn.close()
    assert seen == CLINIC_1 + CLINIC_1


# --- 2. tenant().__enter__() called by a plain function in a generator -----------------------


def enter_clinic(clinic: int) -> None:
    """A project's helper that enters a tenant without a `with` (the scope outlives it)."""
    tenant(clinic).__enter__()


async def enter_clinic_async(clinic: int) -> None:
    tenant(clinic).__enter__()


def rows_sync() -> Iterator[int]:
    enter_clinic(2)
    yield 1


async def rows_async() -> AsyncIterator[int]:
    enter_clinic(2)
    yield 1


async def rows_awaiting() -> AsyncIterator[int]:
    await enter_clinic_async(2)
    yield 1


def rows_none() -> Iterator[int]:
    """Enters clinic 2 and ends without a row: the scope outlives the generator."""
    enter_clinic(2)
    yield from ()


@pytest.mark.parametrize(
    "rows", [rows_sync, rows_async, rows_awaiting, rows_none], ids=lambda f: f.__name__
)
async def test_a_tenant_entered_by_a_plain_helper_in_a_generator_stays_there(
    guard_only: Setup, rows: Callable[[], Any]
) -> None:
    """Clinic 1's request iterates a generator whose helper enters clinic 2 with an explicit
    `__enter__()` (no `with`): the scope stayed in the consumer's context — the loop body, a
    task it started and the code after the loop read Carla as clinic 2. Only generators that
    entered the scope themselves (or through a context manager) were seen."""
    conn = await guard_only.connect()
    other = await guard_only.connect()
    seen: list[str] = []
    try:
        # the request's block exits out of order (RuntimeError)
        with contextlib.suppress(RuntimeError), tenant(1):
            task = None
            iterated = rows()
            if hasattr(iterated, "__aiter__"):
                async for _ in iterated:
                    seen += await names_or_refused(lambda: conn.fetch(PINNED, 2))
                    task = asyncio.create_task(names_or_refused(lambda: other.fetch(PINNED, 2)))
            else:
                for _ in iterated:
                    seen += await names_or_refused(lambda: conn.fetch(PINNED, 2))
                    task = asyncio.create_task(names_or_refused(lambda: other.fetch(PINNED, 2)))
            if task is not None:
                seen += await task
            seen += await names_or_refused(lambda: conn.fetch(PINNED, 2))
    finally:
        await conn.close()
        await other.close()
    assert "Carla" not in seen
    assert set(seen) == {"refused"}


async def test_a_with_block_in_a_helper_of_a_generator_still_scopes_its_tasks(
    guard_only: Setup,
) -> None:
    """The twin: a helper awaited by an async generator (a streamed response) that opens its
    own `with tenant()` and gathers tasks inside it, and a request's root coroutine that enters
    its tenant explicitly (a middleware), keep their scope for their tasks."""
    conn = await guard_only.connect()
    other = await guard_only.connect()

    async def load(clinic: int) -> list[list[str]]:
        with tenant(clinic):
            return await asyncio.gather(
                names_or_refused(lambda: conn.fetch(PINNED, clinic)),
                names_or_refused(lambda: other.fetch(PINNED, clinic)),
            )

    async def stream() -> AsyncIterator[list[list[str]]]:
        yield await load(1)

    async def middleware_request() -> list[list[str]]:
        scope = tenant(2)
        scope.__enter__()
        try:
            return await asyncio.gather(names_or_refused(lambda: other.fetch(PINNED, 2)))
        finally:
            scope.__exit__(None, None, None)

    try:
        streamed = [page async for page in stream()]
        middleware = await asyncio.create_task(middleware_request())
    finally:
        await conn.close()
        await other.close()
    assert streamed == [[CLINIC_1, CLINIC_1]]
    assert middleware == [["Carla"]]


# --- 3. a codec whose encoder/decoder is a coroutine function --------------------------------


async def test_an_async_codec_in_a_request_is_refused_saying_what_to_do(setup: Setup) -> None:
    """Refusing it is right: asyncpg never awaits a codec, but calls it with each value, and a
    coroutine never awaited keeps its arguments (its frame's locals: a hook on unawaited
    coroutines reads them). Set by clinic 1's request on a pooled connection, the decoder
    would be called with clinic 2's medical history in the next request. The refusal says to
    write plain functions and set them in init=."""
    await setup.owner(
        f"UPDATE patients SET medical_history = '{CARLA_HISTORY}' WHERE tenant_id = 2"
    )

    async def decode(text: str) -> object:
        return json.loads(text)

    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    message = ""
    try:
        async with pool.acquire() as conn:
            with tenant(1):
                try:
                    await conn.set_type_codec(
                        "jsonb", encoder=json.dumps, decoder=decode, schema="pg_catalog"
                    )
                except TenantIsolationError as error:
                    message = str(error)
        async with pool.acquire() as conn:
            with tenant(2):
                histories = [r[1] for r in await conn.fetch(PINNED_HISTORY, 2)]
    finally:
        await pool.close()
    assert histories == [CARLA_HISTORY]  # asyncpg's own text, no coroutine holding it
    assert "never awaits" in message and "plain functions (def)" in message


# --- 4. a TEMP table left on a pooled connection ---------------------------------------------

# (named `stash` like its table before h34C: the runtime now reads the database's functions, and
# `SELECT * FROM stash` named the function too. A call of it in a request is refused since
# h34C, as the CLI refuses it — DDL in a function's body is judged as reading every tenant's rows
# — so the request fills the table through its maintenance code, `unscoped()`: what is checked
# stays the TEMP table the next request must not find)
STASH = (
    "CREATE FUNCTION stash_names(clinic bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
    "CREATE TEMP TABLE stash AS SELECT first_name FROM patients WHERE tenant_id = clinic; "
    "END $$; GRANT EXECUTE ON FUNCTION stash_names(bigint) TO PUBLIC"
)


@pytest.mark.parametrize(
    "job",
    [
        "request's function",
        "unscoped CREATE TEMP TABLE AS",
        "unscoped SELECT INTO TEMP",
    ],
)
async def test_a_temp_table_does_not_outlive_the_request_on_a_pooled_connection(
    setup: Setup, job: str
) -> None:
    """Clinic 1's request (through a schema function) or an unscoped() job fills a TEMP table
    on a pooled connection; asyncpg's reset (RESET ALL, CLOSE ALL, UNLISTEN *, advisory locks)
    does not drop it, and the next request, clinic 2's, read it without any pin (it is no
    tenant table): Ana and Bruno, or the north audit note. `SELECT … INTO TEMP` also passed as
    a plain statement, so with the tenant setting the reset was skipped altogether."""
    await setup.owner(STASH)
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        async with pool.acquire() as conn:
            if job == "request's function":
                with tenant(1):
                    with pytest.raises(TenantIsolationError, match="stash_names"):
                        await conn.execute("SELECT stash_names($1)", 1)
                    with unscoped("the request's own export"):
                        await conn.execute("SELECT stash_names($1)", 1)
                        # (read here: back in tenant(1), the unscoped() block's state is reset
                        # away before the request's next statement)
                        mine = await names_or_refused(lambda: conn.fetch("SELECT * FROM stash"))
            else:
                with unscoped("monthly audit export"):
                    if job.startswith("unscoped CREATE"):
                        await conn.execute(
                            'CREATE TEMP TABLE stash AS SELECT note FROM "AuditLog" ORDER BY 1'
                        )
                    else:
                        await conn.execute('SELECT note INTO TEMP stash FROM "AuditLog"')
                    mine = await names_or_refused(lambda: conn.fetch("SELECT * FROM stash"))
        async with pool.acquire() as conn:
            with tenant(2):
                theirs = await names_or_refused(lambda: conn.fetch("SELECT * FROM stash"))
    finally:
        await pool.close()
    # it was there (under RLS, the unscoped() export of the request's function reads no row:
    # the setting is '' in it, so the table is empty but there)
    assert mine in (CLINIC_1, ["north audit", "south audit"]) or (
        job == "request's function" and mine == []
    )
    assert theirs == ["no table"]


# --- 5. part B: an outsider's attempts that found holes ---------------------------------------


async def test_the_sessions_prepared_statements_do_not_show_earlier_requests(
    guard_only: Setup,
) -> None:
    """A pooled connection keeps one prepared statement per text it ran (asyncpg's cache), and
    `pg_prepared_statements` shows their text: clinic 1's request read clinic 2's literals
    (Carla's phone number) from the statement clinic 2's request ran before on the same
    connection."""
    pool = await create_pool(guard_only.dsn, policy=POLICY, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            with tenant(2):
                await conn.fetch(
                    "SELECT first_name FROM patients WHERE tenant_id = 2 AND phone_number = '221'"
                )
        async with pool.acquire() as conn:
            with tenant(1):
                seen = await names_or_refused(
                    lambda: conn.fetch("SELECT statement FROM pg_prepared_statements")
                )
                seen += await names_or_refused(
                    lambda: conn.fetch("SELECT s.statement FROM pg_prepared_statement() s")
                )
                counted = await conn.fetchval("SELECT count(*) FROM pg_prepared_statements")
    finally:
        await pool.close()
    assert seen == ["refused", "refused"]
    assert counted > 0  # the twin: how many there are reads no text


async def test_a_large_object_is_no_request_s_to_read_by_number(guard_only: Setup) -> None:
    """Large objects have no tenant column: clinic 1's request read clinic 2's x-ray by its
    number with lo_get()."""
    conn = await guard_only.connect()
    try:
        with unscoped("store an upload"):
            oid = await conn.fetchval("SELECT lo_from_bytea(0, 'Carla x-ray')")
        with tenant(1):
            seen = await names_or_refused(
                lambda: conn.fetch("SELECT convert_from(lo_get($1), 'UTF8')", oid)
            )
    finally:
        await conn.close()
    assert seen == ["refused"]


SWITCHING_TRIGGER = """
CREATE TABLE pings (n int);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM set_config('app.tenant_id', '2', false); RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE INSERT ON pings FOR EACH ROW EXECUTE FUNCTION touch();
"""


async def test_a_connection_made_by_asyncpg_does_not_trust_unread_schema_code(
    guard_only: Setup,
) -> None:
    """A guarded class given to `asyncpg.connect(connection_class=…)` (or asyncpg.create_pool)
    never read the schema's code: a trigger that switches the tenant setting was unknown, the
    INSERT that fires it passed as plain, and clinic 1's next read pinned by the setting
    returned Carla. Until the code is read, no statement is plain."""
    await guard_only.owner(SWITCHING_TRIGGER)
    made = await guard_only.connect()
    bound = type(made)
    await made.close()
    conn = await asyncpg.connect(guard_only.dsn, connection_class=bound)
    try:
        with tenant(1):
            before = await names_or_refused(lambda: conn.fetch(BY_SETTING))
            await conn.execute("INSERT INTO pings VALUES (1)")
            after = await names_or_refused(lambda: conn.fetch(BY_SETTING))
    finally:
        await conn.close()
    assert before == after == CLINIC_1


LOOSE_DOCS = """
CREATE COLLATION loose (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE docs (tenant_id text COLLATE loose NOT NULL, body text);
INSERT INTO docs VALUES ('acme', 'mine'), ('ACME', 'theirs');
"""


@pytest.mark.parametrize("collation", ["loose", '"C"'])
async def test_a_tenant_column_with_a_nondeterministic_collation_pins_nothing(
    guard_only: Setup, collation: str
) -> None:
    """`tenant_id = 'acme'` on a column with a case-insensitive (nondeterministic) collation is
    true of tenant 'ACME' too: tenant acme's request read 'theirs'. A connection that finds
    such a tenant column refuses to prove statements (its twin, a deterministic collation,
    reads its own rows)."""
    await guard_only.owner(LOOSE_DOCS.replace("COLLATE loose", f"COLLATE {collation}"))
    conn = await connect_docs(guard_only)
    try:
        with tenant("acme"):
            seen = await names_or_refused(
                lambda: conn.fetch("SELECT body FROM docs WHERE tenant_id = $1", "acme")
            )
            seen += await names_or_refused(
                lambda: conn.fetch("SELECT body FROM docs WHERE tenant_id = 'acme'")
            )
    finally:
        await conn.close()
    assert seen == (["refused", "refused"] if collation == "loose" else ["mine", "mine"])


async def connect_docs(setup: Setup) -> Any:
    from tenantguard import Policy
    from tenantguard.runtime import connect

    return await connect(setup.dsn, policy=Policy("tenant_id", {"docs"}))
