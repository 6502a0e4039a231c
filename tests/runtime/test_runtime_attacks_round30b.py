"""Round 30: the runtime guard attacked by an outsider (helper h30b), on a real server.

1. A constraint PostgreSQL checks against the whole table, whatever pins the statement. A
   unique key without the tenant column (`email text UNIQUE`, a unique index on
   `lower(handle)`) and an exclusion constraint without it look the value a write gives up
   among every tenant's rows. Account 1's pinned INSERT of an email failed with "duplicate key
   value violates unique constraint" exactly when account 2 held it (and `ON CONFLICT DO
   NOTHING RETURNING id` returned no row: no error needed), an UPDATE of a handle likewise
   (through the index's expression; a name through a unique generated column computed from
   it), a MERGE's INSERT likewise, and a booking overlapping
   account 2's failed with "conflicting key value violates exclusion constraint". Refused now
   (TG013): a write that gives a value to a column of such a key, which the runtime guard reads
   in the catalog (unique indexes, exclusion constraints: `Policy.spanning_keys`). The primary
   key is not one: applications give ids explicitly (round 12's false alarms), and the shared
   sequence shows as much to every INSERT … RETURNING id.

   Not refused: a foreign key to a tenant table that does not carry the tenant column
   (`member_id REFERENCES members (id)`) is checked across accounts too — account 1's note
   naming member 99 failed with "is not present in table", naming account 2's member 2 it was
   written, linked to it — but such keys are how most schemas link child rows (round 14's
   notes API: `note_tags.note_id REFERENCES notes (id)`), and refusing every write of one
   would refuse plain application inserts; the way out is in the schema (a composite key).

2. A row's place through TABLESAMPLE. `ctid` is refused (TG006: the gaps between a tenant's
   own rows count other tenants' writes), but `TABLESAMPLE BERNOULLI (50) REPEATABLE (s)`
   keeps a row by its place (block, offset) and the seed alone: clinic 1's pinned reads under
   24 seeds kept each of its rows under the seeds that keep (0,1), (0,2) and (0,4) of any
   table (computed on a table of one's own) — its new patient lay at (0,4), so (0,3) held
   another clinic's row. SYSTEM keeps whole pages alike. Refused now (TG006) on any relation
   but a global table or the registry.

3. The transaction counter through a name the screen missed. TG006 refuses
   `pg_xact_status(n)` ("transaction ID n is in the future": a binary search of the counter,
   every clinic's write transactions) and the commit timestamps of a transaction id, but its
   first, substring screen looked for hints that `pg_xact_status('999999')` does not hold
   (with `::xid8` it does): clinic 1's request got "transaction ID 999999 is in the future",
   and "committed" or NULL below the counter. Every name TG006 refuses is now found by the
   screen (checked for each of its sets of names).

4. The planner's costs. TG013 places a condition that may fail after the tenant pin by
   PostgreSQL's default costs: `(first_name IN ('Ana', 'Bruno') OR first_name::int > 0) AND
   tenant_id = $1` costs more than the pin and runs after it. Clinic 1's request first ran
   `SET cpu_operator_cost = 0` (and turned index scans off, which is harmless by itself):
   every condition then costs nothing and runs in the order written, and the proven
   statement failed with `invalid input syntax for type integer: "Carla"`. Refused now: a
   change of the planner's cost constants (SET, SET LOCAL, RESET, set_config, the startup
   settings), as a change of the settings the guard relies on is.

5. An extension's C function in a condition. TG013 read a call of a function neither
   built in nor of the schema sources as one that cannot fail ("PL/pgSQL and SQL functions
   cost 100 units: PostgreSQL evaluates them after the pin") — but an extension's C function
   costs 1, as a built-in does, and its error may show its argument. On a database with
   pgcrypto, clinic 1 named its own patients' last names `md5` and `sha1` (hash algorithms),
   then `WHERE digest('x', coalesce(last_name, first_name)) IS NULL AND tenant_id = $1` ran on
   clinic 2's patient first: "Cannot use "carla": No such hash algorithm". The runtime guard
   now reads the C functions outside pg_catalog and their costs in the catalog
   (`Policy.extension_functions`); TG013 reads a call of one as a built-in whose error may show
   any argument, at its cost (pg_trgm's similarities and a few others fail on no value).

6. The database's own SQL functions, for a policy without schema sources. TG013 reads a SQL
   function of the schema sources that PostgreSQL inlines by its body (`RETURN t::int` fails
   on the text it is given), but a policy written by hand has no schema sources: a call of
   `as_int(t) … RETURN t::int` was a call of a function it did not know, read as one that
   cannot fail — and PostgreSQL inlined it into the condition, before the pin:
   `WHERE as_int(coalesce(last_name, first_name)) IS NULL AND tenant_id =
   current_setting('app.tenant_id')::bigint` (clinic 1's last names '1' and '2'; the pin
   costs 4 units, the inlined cast 3) failed with `invalid input syntax for type integer:
   "Carla"`, and a PL/pgSQL function declared `COST 1` did before a pin by a value. The runtime guard now reads the database's SQL
   and procedural functions in the catalog: a SQL function's one statement is its body, one
   declared cheaper than the default may fail on anything (`Policy.inlined_functions`, as
   the schema sources give them; theirs win).

7. The tenant registry, for a policy without schema sources. Schema sources infer the
   registry (the table every foreign key on the tenant column references): a write of its
   rows is checked by its key's value. A policy written by hand that lists it among the
   global tables (`global_tables={"tenants"}`) named none: clinic 1's request renamed clinic
   2 (`UPDATE tenants SET name = 'pwned' WHERE id = 2`), and `DELETE FROM tenants WHERE id =
   2` failed with `… violates foreign key constraint "patients_tenant_id_fkey" on table
   "patients"`, naming a table where clinic 2 has rows. The runtime guard now infers the
   registry from the catalog as the schema sources would, for a policy that names none.

8. Foreign-key actions, for a policy without schema sources. Schema sources show which
   tables tenant tables reference with `ON DELETE CASCADE` (or SET NULL, SET DEFAULT, and the
   same ON UPDATE), and a DELETE or UPDATE of one is refused (TG005): it reaches every
   tenant's rows that reference the rows it writes. A policy written by hand knew none: clinic
   1's `DELETE FROM plans WHERE id = 7` (a global table of plans) deleted clinic 2's
   subscription, and `UPDATE plans SET id = 8 WHERE id = 7` rewrote it. The runtime guard now
   reads the keys with an action in the catalog (`Policy.cascades`, as the schema sources
   give them: a key carrying the tenant column to a tenant table's own is left out).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import connect, tenant
from tests.proof.test_schema import policy_for
from tests.runtime.test_runtime import POLICY as CLINICS

MEMBERS = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE members (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    email text UNIQUE, handle text, bio text, UNIQUE (account_id, id));
CREATE UNIQUE INDEX members_handle_key ON members (lower(handle));
CREATE TABLE notes (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    member_id bigint REFERENCES members (id), body text);
CREATE TABLE bookings (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    room int, during tsrange, EXCLUDE USING gist (room WITH =, during WITH &&));
CREATE TABLE logins (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    name text, name_key text GENERATED ALWAYS AS (lower(name)) STORED UNIQUE);
-- the safe twins: keys of one account
CREATE TABLE contacts (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    email text, UNIQUE (account_id, email));
CREATE TABLE tags (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id), member_id bigint, label text,
    FOREIGN KEY (account_id, member_id) REFERENCES members (account_id, id));
CREATE TABLE desks (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    room int, during tsrange,
    EXCLUDE USING gist (account_id WITH =, room WITH =, during WITH &&));
"""
ROWS = """
INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO members (id, account_id, email, handle) VALUES
    (1, 1, 'ann@own.example', 'ann'), (2, 2, 'boss@victim.example', 'Boss');
INSERT INTO bookings (account_id, room, during) VALUES
    (2, 7, '[2030-01-01 10:00, 2030-01-01 11:00)');
INSERT INTO logins (account_id, name) VALUES (2, 'Boss');
SELECT setval('members_id_seq', 10);
"""
TABLES = {"members", "notes", "bookings", "logins", "contacts", "tags", "desks"}


def _catalog_policy() -> Policy:
    """No schema sources: what the guard knows of the keys it reads in the catalog."""
    return Policy("account_id", TABLES, global_tables={"accounts"})


def _schema_policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, MEMBERS, tenant_column="account_id")
    assert isinstance(policy, Policy)
    return policy


async def _loaded(database: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(MEMBERS + ROWS)
    finally:
        await owner.close()


# (statement, the value account 2 holds, a value no account holds); $1 is account 1
ORACLES = {
    "unique insert": ("INSERT INTO members (account_id, email) VALUES ($1, $2)", "boss@victim.example", "nobody@example"),
    "unique upsert skips": (
        "INSERT INTO members (account_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id",
        "boss@victim.example",
        "nobody@example",
    ),
    "unique upsert on the key": (
        "INSERT INTO members (account_id, email) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING RETURNING id",
        "boss@victim.example",
        "nobody@example",
    ),
    "unique insert select": (
        "INSERT INTO members (account_id, email) SELECT $1, $2::text ON CONFLICT DO NOTHING RETURNING id",
        "boss@victim.example",
        "nobody@example",
    ),
    "unique update": ("UPDATE members SET email = $2 WHERE account_id = $1 RETURNING id", "boss@victim.example", "nobody@example"),
    "unique index expression": ("UPDATE members SET handle = $2 WHERE account_id = $1 RETURNING id", "BOSS", "nobody"),
    "unique row update": (
        "UPDATE members SET (bio, handle) = ('x', $2) WHERE account_id = $1 RETURNING id",
        "BOSS",
        "nobody",
    ),
    "unique in a CTE": (
        "WITH n AS (INSERT INTO members (account_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING "
        "RETURNING id) SELECT count(*) FROM n",
        "boss@victim.example",
        "nobody@example",
    ),
    "unique merge": (
        "MERGE INTO members m USING (SELECT $2::text AS e) s ON m.account_id = $1 AND m.email = s.e "
        "WHEN NOT MATCHED THEN INSERT (account_id, email) VALUES ($1, s.e)",
        "boss@victim.example",
        "nobody@example",
    ),
    "unique upsert update": (
        "INSERT INTO members (account_id, id, email) VALUES ($1, 1, 'ann@own.example') "
        "ON CONFLICT (account_id, id) DO UPDATE SET email = $2 RETURNING id",
        "boss@victim.example",
        "nobody@example",
    ),
    "generated key": ("INSERT INTO logins (account_id, name) VALUES ($1, $2) RETURNING id", "BOSS", "nobody"),
    "exclusion": (
        "INSERT INTO bookings (account_id, room, during) VALUES ($1, 7, $2::text::tsrange)",
        "[2030-01-01 10:30, 2030-01-01 10:45)",
        "[2030-02-01 10:30, 2030-02-01 10:45)",
    ),
}  # fmt: skip


async def _outcome(conn: asyncpg.Connection, sql: str, value: object) -> str:
    """What account 1's request sees of `sql` run with `value` (rolled back)."""
    try:
        async with conn.transaction():
            with tenant(1):
                result = await conn.fetch(sql, 1, value)
            outcome = f"rows {[tuple(r) for r in result]}"
            raise _Rollback(outcome)
    except _Rollback as done:
        return str(done)
    except TenantIsolationError:
        return "refused"
    except asyncpg.PostgresError as error:
        return f"{type(error).__name__}"


class _Rollback(Exception):
    pass


@pytest.mark.parametrize("source", ["catalog", "schema"])
@pytest.mark.parametrize("shape", sorted(ORACLES))
async def test_a_key_checked_across_accounts_tells_nothing_of_account_two(
    database: str, tmp_path: Path, shape: str, source: str
) -> None:
    await _loaded(database)
    policy = _catalog_policy() if source == "catalog" else _schema_policy(tmp_path)
    conn = await connect(database, policy=policy)
    sql, held, free = ORACLES[shape]
    try:
        told = (await _outcome(conn, sql, held), await _outcome(conn, sql, free))
    finally:
        await conn.close()
    # before: ('UniqueViolationError', 'rows [(3,)]'), ('rows []', 'rows [(4,)]'),
    # ('ExclusionViolationError', 'rows []'), ('rows []', 'ForeignKeyViolationError')…
    assert told == ("refused", "refused")


SAFE = [
    ("INSERT INTO contacts (account_id, email) VALUES ($1, $2)", "boss@victim.example"),
    (
        "INSERT INTO contacts (account_id, email) VALUES ($1, $2) "
        "ON CONFLICT (account_id, email) DO NOTHING RETURNING id",
        "x@own.example",
    ),
    ("UPDATE contacts SET email = $2 WHERE account_id = $1 AND id = 2", "y@own.example"),
    ("INSERT INTO tags (account_id, member_id, label) VALUES ($1, $2, 'vip')", 1),
    ("UPDATE tags SET member_id = $2 WHERE account_id = $1", 1),
    ("INSERT INTO desks (account_id, room, during) VALUES ($1, 7, $2::text::tsrange)", "[2030-01-01 10:30, 2030-01-01 10:45)"),
    ("INSERT INTO notes (account_id, body) VALUES ($1, $2)", "no member"),
    ("UPDATE members SET bio = $2 WHERE account_id = $1 RETURNING id", "hello"),
    ("INSERT INTO members (account_id, bio) VALUES ($1, $2) RETURNING account_id", "new"),
    # the primary key: the rows' identity, given explicitly by applications
    ("INSERT INTO notes (id, account_id, body) VALUES (50, $1, $2)", "explicit id"),
    ("SELECT email FROM members WHERE account_id = $1 AND email = $2", "ann@own.example"),
    ("DELETE FROM notes WHERE account_id = $1 AND body = $2", "x"),
]  # fmt: skip


@pytest.mark.parametrize("source", ["catalog", "schema"])
async def test_writes_to_keys_of_one_account_still_run(
    database: str, tmp_path: Path, source: str
) -> None:
    """The legitimate twins: keys that hold the account column (a unique key, an exclusion
    constraint with `account_id WITH =`), columns of no key, a foreign key, the primary key,
    reads and deletes."""
    await _loaded(database)
    policy = _catalog_policy() if source == "catalog" else _schema_policy(tmp_path)
    conn = await connect(database, policy=policy)
    try:
        with tenant(1):
            for sql, value in SAFE:
                await conn.execute(sql, 1, value)
    finally:
        await conn.close()


def test_the_engine_reads_the_keys_it_is_given() -> None:
    """One implementation: the proof flags a write to a column of `Policy.spanning_keys`
    (what the runtime guard read in the catalog), wherever the write stands."""
    policy = _catalog_policy().replace(
        spanning_keys={"members": [("email",), ("handle",)], "bookings": [("room", "during")]}
    )
    flagged = [
        "INSERT INTO members (account_id, email) VALUES ($1, $2)",
        "INSERT INTO members (account_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        "UPDATE members SET handle = $2 WHERE account_id = $1",
        "UPDATE members AS m SET (bio, handle) = ('x', $2) WHERE m.account_id = $1",
        "WITH n AS (INSERT INTO members (account_id, email) VALUES ($1, $2) RETURNING id) "
        "SELECT id FROM n",
        "INSERT INTO members (account_id, id) VALUES ($1, 1) "
        "ON CONFLICT (account_id, id) DO UPDATE SET email = $2",
        "MERGE INTO members m USING (SELECT $2::text AS e) s ON m.account_id = $1 "
        "WHEN MATCHED THEN UPDATE SET handle = s.e",
        "INSERT INTO bookings (account_id, during) VALUES ($1, $2)",
    ]
    for sql in flagged:
        assert [f.code for f in analyze_statement(sql, policy).findings] == ["TG013"], sql
    for sql in [
        "INSERT INTO members (account_id, bio) VALUES ($1, $2)",
        "INSERT INTO members (account_id, id) VALUES ($1, 1) "
        "ON CONFLICT (account_id, id) DO UPDATE SET bio = $2",
        "UPDATE members SET bio = $2 WHERE account_id = $1",
        "INSERT INTO contacts (account_id, email) VALUES ($1, $2)",
        "SELECT email FROM members WHERE account_id = $1 AND email = $2",
    ]:
        assert not analyze_statement(sql, policy).findings, sql


async def test_plain_clinic_writes_still_run(two_clinics: str) -> None:
    """The Dentalogic schema: every key of a clinic's table holds tenant_id but the primary
    key — the clinics' plain writes run as before."""
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            await conn.execute(
                "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, $3)",
                1,
                "Dora",
                "113",
            )
            await conn.execute(
                "UPDATE patients SET phone_number = $2 WHERE tenant_id = $1 AND first_name = 'Dora'",
                1,
                "114",
            )
            await conn.execute(
                "INSERT INTO patients (id, tenant_id, first_name, phone_number) "
                "VALUES (100, $1, 'Eli', '115') ON CONFLICT (tenant_id, phone_number) DO NOTHING",
                1,
            )
            rows = await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY id", 1
            )
    finally:
        await conn.close()
    assert [r[0] for r in rows] == ["Ana", "Bruno", "Dora", "Eli"]


# 2. A row's place through TABLESAMPLE.
SAMPLED = (
    "SELECT first_name FROM patients TABLESAMPLE BERNOULLI (50) REPEATABLE ($2) "
    "WHERE tenant_id = $1"
)


async def test_a_sample_does_not_tell_where_the_clinics_rows_lie(two_clinics: str) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:  # what the attacker computes on a server of their own: the seeds that keep a place
        await owner.execute(
            "CREATE TABLE places (n int); INSERT INTO places VALUES (1), (2), (3), (4)"
        )
        kept_at: dict[str, list[int]] = {}
        for seed in range(1, 25):
            for row in await owner.fetch(
                "SELECT ctid::text FROM places TABLESAMPLE BERNOULLI (50) REPEATABLE ($1)", seed
            ):
                kept_at.setdefault(row[0], []).append(seed)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=CLINICS)
    kept: dict[str, list[int]] = {}
    try:
        with tenant(1):
            await conn.execute(
                "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, 'Dora', '113')",
                1,
            )
            with contextlib.suppress(TenantIsolationError):
                for seed in range(1, 25):
                    for row in await conn.fetch(SAMPLED, 1, float(seed)):
                        kept.setdefault(row[0], []).append(seed)
    finally:
        await conn.close()
    places = {
        name: [p for p, seeds in kept_at.items() if seeds == mine] for name, mine in kept.items()
    }
    assert places == {}  # {'Ana': ['(0,1)'], 'Bruno': ['(0,2)'], 'Dora': ['(0,4)']}


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(*) FROM patients TABLESAMPLE SYSTEM (50) WHERE tenant_id = $1",
        "SELECT p.first_name FROM patients AS p TABLESAMPLE BERNOULLI (10) JOIN appointments a "
        "ON a.patient_id = p.id AND a.tenant_id = p.tenant_id WHERE p.tenant_id = $1",
        "SELECT a.id FROM appointments a TABLESAMPLE BERNOULLI (5) REPEATABLE (1) "
        "WHERE a.tenant_id = $1",
        "WITH s AS (SELECT id FROM public.patients TABLESAMPLE SYSTEM (1) WHERE tenant_id = $1) "
        "SELECT count(*) FROM s",
    ],
)
async def test_other_samples_of_clinic_tables_are_refused(two_clinics: str, statement: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TABLESAMPLE"):
            await conn.fetch(statement, 1)
    finally:
        await conn.close()


async def test_samples_without_a_place_still_run(two_clinics: str) -> None:
    """The legitimate twins: a sample of the registry (every clinic's row is public there),
    and a random pick of the clinic's own rows."""
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            await conn.fetch("SELECT name FROM tenants TABLESAMPLE BERNOULLI (50) REPEATABLE (1)")
            rows = await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY random() LIMIT 5", 1
            )
    finally:
        await conn.close()
    assert sorted(r[0] for r in rows) == ["Ana", "Bruno"]


# 3. The transaction counter through a name the screen missed.
async def test_the_transaction_counter_is_not_probed_by_status(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    told: list[str] = []
    try:
        for xid in ("999999", "700"):
            with tenant(1), contextlib.suppress(TenantIsolationError):
                try:
                    told.append(str(await conn.fetchval(f"SELECT pg_xact_status('{xid}')")))
                except asyncpg.PostgresError as error:
                    told.append(str(error))
    finally:
        await conn.close()
    assert told == []  # ['transaction ID 999999 is in the future', 'None']


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT pg_catalog.pg_xact_status('900')",
        "SELECT pg_xact_commit_timestamp('700')",
        "SELECT * FROM pg_xact_commit_timestamp_origin('700')",
    ],
)
async def test_other_calls_of_the_counter_are_refused(two_clinics: str, statement: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetch(statement)
    finally:
        await conn.close()


def test_the_screen_finds_every_name_tg006_refuses() -> None:
    """The substring screen before TG006's walk holds a hint of each name the walk refuses:
    a name it misses is never looked at."""
    from tenantguard.engine.rules import tg006_unprovable_statement as tg006

    sets = [
        tg006._SIZE_CALLS, tg006._CALLS_SAY, tg006._ACTIVITY_CALLS, tg006._ACTIVITY,
        tg006._SESSION_HISTORY_CALLS, tg006._SESSION_HISTORY, tg006._STATISTICS,
        tg006._CATALOG_COUNTS, tg006._ROW_PLACES, tg006._SEQUENCE_COLUMNS, tg006._SIGNALS,
        tg006._LARGE_OBJECTS, tg006._RAW_CHANGES, tg006._RUNS_TEXT, tg006._SERVER_FILES,
        tg006._BACKEND_TIMES,
    ]  # fmt: skip
    missed = sorted(n for names in sets for n in names if not tg006._may_hint(n.lower()))
    assert missed == []  # ['pg_xact_commit_timestamp', 'pg_xact_commit_timestamp_origin', …]


# 4. The planner's costs.
ORACLE_BY_COST = (
    "SELECT first_name FROM patients "
    "WHERE (first_name IN ('Ana', 'Bruno') OR first_name::int > 0) AND tenant_id = $1"
)


@pytest.mark.parametrize(
    "change",
    [
        "SET cpu_operator_cost = 0",
        "SET LOCAL cpu_operator_cost TO 0",
        "SELECT set_config('cpu_operator_cost', '0', true)",
        "SET seq_page_cost = 0; SET cpu_operator_cost = 0",
        "startup",
    ],
)
async def test_the_planners_costs_do_not_put_a_failing_condition_first(
    two_clinics: str, change: str
) -> None:
    startup = {"cpu_operator_cost": "0"} if change == "startup" else None
    conn = await connect(two_clinics, policy=CLINICS, server_settings=startup)
    told = ""
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            async with conn.transaction():
                if change != "startup":
                    await conn.execute(change)
                await conn.execute("SET LOCAL enable_indexscan = off")
                await conn.execute("SET LOCAL enable_bitmapscan = off")
                try:
                    await conn.fetch(ORACLE_BY_COST, 1)
                except asyncpg.PostgresError as error:
                    told = str(error)
    finally:
        await conn.close()
    assert told == ""  # 'invalid input syntax for type integer: "Carla"'


async def test_other_settings_and_the_proven_statement_still_run(two_clinics: str) -> None:
    """The legitimate twins: plan settings that order no condition, reading the costs, and
    the statement itself at the server's costs (the pin runs first)."""
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            async with conn.transaction():
                await conn.execute("SET LOCAL enable_indexscan = off")
                await conn.execute("SET LOCAL enable_bitmapscan = off")
                await conn.execute("SET LOCAL statement_timeout = '5s'")
                assert await conn.fetchval("SHOW cpu_operator_cost") == "0.0025"
                rows = await conn.fetch(ORACLE_BY_COST, 1)
    finally:
        await conn.close()
    assert sorted(r[0] for r in rows) == ["Ana", "Bruno"]


# 5. An extension's C function in a condition.
async def _with_pgcrypto(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        await owner.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    finally:
        await owner.close()


@pytest.mark.parametrize(
    "condition",
    [
        "digest('x', coalesce(last_name, first_name)) IS NULL AND tenant_id = $1",
        "tenant_id = $1 AND digest('x', coalesce(last_name, first_name)) IS NULL",
        "hmac('x', 'key', coalesce(last_name, first_name)) IS NULL AND tenant_id = $1",
        "public.digest('x', coalesce(last_name, first_name)) IS NULL AND tenant_id = $1",
    ],
)
async def test_an_extensions_function_does_not_fail_on_other_clinics_rows(
    two_clinics: str, condition: str
) -> None:
    await _with_pgcrypto(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS)
    told = ""
    try:
        with tenant(1):
            await conn.execute(
                "UPDATE patients SET last_name = CASE first_name WHEN 'Ana' THEN 'md5' "
                "ELSE 'sha1' END WHERE tenant_id = $1",
                1,
            )
            await conn.execute("SET enable_indexscan = off")
            await conn.execute("SET enable_bitmapscan = off")
            with contextlib.suppress(TenantIsolationError):
                try:
                    await conn.fetch(f"SELECT first_name FROM patients WHERE {condition}", 1)
                except asyncpg.PostgresError as error:
                    told = str(error)
    finally:
        await conn.close()
    assert "carla" not in told  # 'Cannot use "carla": No such hash algorithm'


async def test_an_extensions_functions_after_the_pin_still_run(two_clinics: str) -> None:
    """The legitimate twins: the call in the select list (on the clinic's rows only), a
    similarity search (pg_trgm's similarity fails on no value), a call that costs more than
    the pin."""
    await _with_pgcrypto(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            await conn.execute("SET enable_indexscan = off")
            digests = await conn.fetch(
                "SELECT encode(digest(first_name, 'sha256'), 'hex') FROM patients "
                "WHERE tenant_id = $1",
                1,
            )
            similar = await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 "
                "AND similarity(first_name, $2) > 0.2",
                1,
                "Anna",
            )
            await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 "
                "AND length(digest(first_name, 'sha256')) > 0",
                1,
            )
    finally:
        await conn.close()
    assert len(digests) == 2
    assert [r[0] for r in similar] == ["Ana"]


# 6. The database's own SQL functions, for a policy without schema sources.
FUNCTIONS = """
CREATE FUNCTION as_int(t text) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT t::int';
CREATE FUNCTION as_int_returned(t text) RETURNS int LANGUAGE sql IMMUTABLE RETURN t::int;
CREATE FUNCTION positive(t text) RETURNS bool LANGUAGE plpgsql IMMUTABLE COST 1
    AS 'BEGIN RETURN t::int > 0; END';
CREATE FUNCTION is_one(t text) RETURNS bool LANGUAGE sql IMMUTABLE RETURN lower(t) = 'one';
"""


BY_SETTING = "current_setting('app.tenant_id')::bigint"


async def _with_functions(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(FUNCTIONS)
    finally:
        await owner.close()


@pytest.mark.parametrize(
    "condition",
    [
        # the pin by the tenant expression costs 4 units, the inlined cast from text 3
        f"as_int(coalesce(last_name, first_name)) IS NULL AND tenant_id = {BY_SETTING}",
        f"tenant_id = {BY_SETTING} AND as_int_returned(coalesce(last_name, first_name)) IS NULL",
        f"public.as_int(coalesce(last_name, first_name)) IS NULL AND tenant_id = {BY_SETTING}",
        # declared cheap: before a pin by a value too
        "positive(coalesce(last_name, first_name)) AND tenant_id = $1",
    ],
)
async def test_the_databases_sql_functions_do_not_fail_on_other_clinics_rows(
    two_clinics: str, condition: str
) -> None:
    await _with_functions(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS)
    told = ""
    try:
        with tenant(1):
            await conn.execute(
                "UPDATE patients SET last_name = CASE first_name WHEN 'Ana' THEN '1' "
                "ELSE '2' END WHERE tenant_id = $1",
                1,
            )
            await conn.execute("SET enable_indexscan = off")
            await conn.execute("SET enable_bitmapscan = off")
            with contextlib.suppress(TenantIsolationError):
                try:
                    await conn.fetch(
                        f"SELECT first_name FROM patients WHERE {condition}",
                        *((1,) if "$1" in condition else ()),
                    )
                except asyncpg.PostgresError as error:
                    told = str(error)
    finally:
        await conn.close()
    assert "Carla" not in told  # 'invalid input syntax for type integer: "Carla"'


async def test_the_databases_functions_that_cannot_fail_still_run(two_clinics: str) -> None:
    """The legitimate twins: a SQL function whose body fails on no value, the failing ones in
    the select list or costing more than the pin, and the schema's own
    normalize_lead_source (its body costs more than the pin)."""
    await _with_functions(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            await conn.execute("SET enable_indexscan = off")
            await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 AND is_one(first_name)", 1
            )
            await conn.fetch("SELECT as_int(phone_number) FROM patients WHERE tenant_id = $1", 1)
            await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 "
                "AND (first_name IN ('Ana', 'Bruno') OR as_int(first_name) > 0)",
                1,
            )
            await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 "
                "AND normalize_lead_source(first_name) IS NULL",
                1,
            )
    finally:
        await conn.close()


# 7. The tenant registry, for a policy without schema sources.
async def test_another_clinics_registry_row_is_not_written(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    told = ""
    try:
        with tenant(1):
            with contextlib.suppress(TenantIsolationError):
                await conn.execute("UPDATE tenants SET name = 'pwned' WHERE id = 2")
            with contextlib.suppress(TenantIsolationError):
                try:
                    await conn.execute("DELETE FROM tenants WHERE id = $1", 2)
                except asyncpg.PostgresError as error:
                    told = str(error)
    finally:
        await conn.close()
    owner = await asyncpg.connect(two_clinics)
    try:
        names = await owner.fetch("SELECT name FROM tenants ORDER BY id")
    finally:
        await owner.close()
    assert [r[0] for r in names] == ["North", "South"]  # ['North', 'pwned']
    assert told == ""  # '… violates foreign key constraint "patients_tenant_id_fkey" …'


async def test_the_clinics_own_registry_row_is_still_read_and_written(two_clinics: str) -> None:
    """The legitimate twins: the clinic's own row written, every row read (the registry is
    public), a join chained from the registry's pinned row."""
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            await conn.execute("UPDATE tenants SET name = $2 WHERE id = $1", 1, "North-East")
            names = await conn.fetch("SELECT name FROM tenants ORDER BY id")
            joined = await conn.fetch(
                "SELECT p.first_name FROM tenants t JOIN patients p ON p.tenant_id = t.id "
                "WHERE t.id = $1 ORDER BY p.first_name",
                1,
            )
    finally:
        await conn.close()
    assert [r[0] for r in names] == ["North-East", "South"]
    assert [r[0] for r in joined] == ["Ana", "Bruno"]


# 8. Foreign-key actions, for a policy without schema sources.
PLANS = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE plans (id bigint PRIMARY KEY, name text);
CREATE TABLE subscriptions (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    plan_id bigint REFERENCES plans (id) ON DELETE CASCADE ON UPDATE CASCADE, note text,
    UNIQUE (account_id, id));
CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint NOT NULL,
    subscription_id bigint, FOREIGN KEY (account_id, subscription_id)
    REFERENCES subscriptions (account_id, id) ON DELETE CASCADE);
INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO plans VALUES (7, 'gold'), (9, 'unused');
INSERT INTO subscriptions (id, account_id, plan_id, note) VALUES (1, 1, 9, 'own'), (2, 2, 7, 'VICTIM');
INSERT INTO invoices (account_id, subscription_id) VALUES (1, 1), (2, 2);
"""
PLANS_POLICY = Policy("account_id", {"subscriptions", "invoices"}, global_tables={"plans"})


async def _subscriptions(dsn: str) -> list[tuple[int, int | None]]:
    owner = await asyncpg.connect(dsn)
    try:
        rows = await owner.fetch("SELECT account_id, plan_id FROM subscriptions ORDER BY id")
    finally:
        await owner.close()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.parametrize(
    "statement", ["DELETE FROM plans WHERE id = 7", "UPDATE plans SET id = 8 WHERE id = 7"]
)
async def test_a_write_of_a_referenced_table_reaches_no_other_accounts_rows(
    database: str, statement: str
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(PLANS)
    finally:
        await owner.close()
    conn = await connect(database, policy=PLANS_POLICY)
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.execute(statement)
    finally:
        await conn.close()
    assert await _subscriptions(database) == [(1, 9), (2, 7)]  # [(1, 9)] / [(1, 9), (2, 8)]


async def test_writes_that_reach_the_accounts_own_rows_still_run(database: str) -> None:
    """The legitimate twins: a plan no key reaches written by its name, the account's own
    subscription deleted (its invoices follow by a key carrying the account column), the
    account's own registry row deleted (its rows follow: the registry's key is pinned)."""
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(PLANS)
    finally:
        await owner.close()
    conn = await connect(database, policy=PLANS_POLICY)
    try:
        with tenant(1):
            await conn.execute("UPDATE plans SET name = 'platinum' WHERE id = 7")
            await conn.execute("DELETE FROM subscriptions WHERE account_id = $1 AND id = 1", 1)
            await conn.execute("DELETE FROM accounts WHERE id = $1", 1)
    finally:
        await conn.close()
    assert await _subscriptions(database) == [(2, 7)]
