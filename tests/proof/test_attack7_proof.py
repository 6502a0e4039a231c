"""Round 7 attacks on the proof (issue 10): the reading of schema functions and relations
(class 5: a function pinned by its parameters is pinned only when the arguments at the call
site are; class 7: schema inference never drops a table, here one name in two schemas) and
SELECT INTO inside a set operation (class 10).

On a schema unlike Dentalogic's (tenant column `account_id`, registry `accounts` whose keys
cascade, a quoted schema-qualified table), each leak is shown by the analyzer's verdict and, on
a real PostgreSQL, by the rows a `tenant(1)` request gets (or changes) through the runtime guard
in enforce mode.
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

ACCOUNTS = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE SCHEMA billing;
CREATE TABLE billing."Invoices" (id bigint PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    memo text, UNIQUE (account_id, id));
CREATE TABLE notes (id bigint PRIMARY KEY,
    account_id bigint REFERENCES accounts (id) ON DELETE CASCADE, body text);
CREATE SCHEMA rpt;
-- overloads: the text one hands out every account's notes, the bigint one pins by its parameter
CREATE FUNCTION notes_of(a text) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes $$;
CREATE FUNCTION notes_of(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE account_id = a $$;
-- one name in two schemas: rpt's reads every account's notes
CREATE FUNCTION rpt.notes_for(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes $$;
CREATE FUNCTION public.notes_for(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE account_id = a $$;
-- an overload dropped again: the text one is left, and still hands out every note
CREATE FUNCTION notes_dropped(a text) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes $$;
CREATE FUNCTION notes_dropped(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE account_id = a $$;
DROP FUNCTION notes_dropped(bigint);
-- an unnamed parameter before the named one that pins: the pin is argument 2
CREATE FUNCTION notes_by(bigint, acct bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE account_id = acct $$;
-- two statements pinned by two parameters: both arguments must pin
CREATE FUNCTION purge_then_list(a bigint, b bigint) RETURNS SETOF notes LANGUAGE sql
    AS $$ DELETE FROM notes WHERE account_id = b; SELECT * FROM notes WHERE account_id = a $$;
-- CREATE OR REPLACE of the same function is the same function
CREATE FUNCTION notes_again(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes $$;
CREATE OR REPLACE FUNCTION notes_again(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE account_id = a $$;
"""

# class 7: one table or view name in two schemas. The proof knows a relation by its name only:
# dropping, renaming or altering the one in `rpt` must not forget the tenant table in `public`
SHADOWS = """
CREATE TABLE memos (id bigint, account_id bigint REFERENCES accounts (id), body text);
CREATE TABLE rpt.memos (id bigint, body text);
DROP TABLE rpt.memos;
CREATE TABLE tasks (id bigint, account_id bigint REFERENCES accounts (id), body text);
CREATE TABLE rpt.tasks (id bigint, body text);
ALTER TABLE rpt.tasks RENAME TO old_tasks;
CREATE TABLE tags (id bigint, account_id bigint REFERENCES accounts (id), body text);
CREATE TABLE rpt.tags (id bigint, account_id bigint, body text);
ALTER TABLE rpt.tags DROP COLUMN account_id;
CREATE TABLE pins (id bigint, account_id bigint REFERENCES accounts (id), body text);
CREATE TABLE rpt.pins (id bigint, account_id bigint, body text);
ALTER TABLE rpt.pins RENAME COLUMN account_id TO owner;
-- rpt's view pairs every account's notes with account 1's: not pinnable from outside
CREATE VIEW rpt.paired AS SELECT n.account_id, m.body FROM notes n JOIN notes m ON true;
CREATE VIEW public.paired AS SELECT account_id, body FROM notes;
CREATE VIEW rpt.plain AS SELECT account_id, body FROM notes WHERE body <> '';
CREATE VIEW public.plain AS SELECT account_id, body FROM notes;
-- class 2: ranked within each account, pinnable from outside (ranked across accounts is not)
CREATE VIEW ranked_notes AS
    SELECT account_id, body, row_number() OVER (PARTITION BY account_id ORDER BY id) AS r
    FROM notes;
CREATE VIEW next_notes AS
    SELECT account_id, lead(body) OVER (ORDER BY id) AS body FROM notes;
"""

DATA = """
INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO notes VALUES (10, 1, 'own note'), (20, 2, 'VICTIM note'), (30, NULL, 'NOTENANT');
INSERT INTO billing."Invoices" VALUES (11, 1, 'own invoice'), (21, 2, 'VICTIM invoice');
INSERT INTO memos VALUES (10, 1, 'own note'), (20, 2, 'VICTIM note');
INSERT INTO tasks VALUES (10, 1, 'own note'), (20, 2, 'VICTIM note');
INSERT INTO tags VALUES (10, 1, 'own note'), (20, 2, 'VICTIM note');
INSERT INTO pins VALUES (10, 1, 'own note'), (20, 2, 'VICTIM note');
"""

# statements the proof accepted that read or delete account 2's notes
LEAKS = [
    # PostgreSQL calls the text overload: every account's notes
    "SELECT * FROM notes_of($1::text)",
    "SELECT * FROM rpt.notes_for($1)",
    "SELECT * FROM notes_dropped($1::text)",
    # argument 2 pins, not argument 1
    "SELECT n.* FROM accounts a, LATERAL notes_by($1, a.id) n",
    # argument 2 deletes any account's notes
    "SELECT p.* FROM accounts a, LATERAL purge_then_list($1, a.id) p",
    "SELECT * FROM purge_then_list($1, (SELECT max(id) FROM accounts))",
    "SELECT body FROM memos WHERE id > $1",
    "SELECT body FROM tasks WHERE id > $1",
    "SELECT body FROM tags WHERE id > $1",
    "SELECT body FROM pins WHERE id > $1",
    "SELECT body FROM rpt.paired WHERE account_id = $1",
    "SELECT body FROM next_notes WHERE account_id = $1",
]

SAFE = [
    "SELECT * FROM notes_by(2, acct => $1)",
    "SELECT * FROM notes_by(2, $1)",
    "SELECT * FROM purge_then_list($1, $1)",
    "SELECT * FROM notes_again($1)",
    # a function that hands out every account's rows, filtered where it is read
    "SELECT * FROM notes_of('any') n WHERE n.account_id = $1",
    "SELECT * FROM rpt.notes_for($1) n WHERE n.account_id = $1",
    "SELECT body FROM memos WHERE account_id = $1",
    "SELECT body FROM rpt.plain WHERE account_id = $1",
    "SELECT body FROM ranked_notes WHERE account_id = $1",
]

# a call names no schema and no argument types: overloads are read as one function whose body
# cannot be read, so the overload that pins is not told apart (flagged; filter in FROM instead)
OVERLOADS_FLAGGED = [
    "SELECT * FROM notes_of($1::bigint)",
    "SELECT * FROM public.notes_for($1)",
    "SELECT body FROM public.paired WHERE account_id = $1",
]


def _policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, ACCOUNTS + SHADOWS, tenant_column="account_id")
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("sql", LEAKS + OVERLOADS_FLAGGED)
def test_a_call_or_a_relation_is_pinned_only_as_its_definitions_allow(
    tmp_path: Path, sql: str
) -> None:
    codes = [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings]
    assert codes == ["TG001"], sql


@pytest.mark.parametrize("sql", SAFE)
def test_calls_and_relations_pinned_as_every_definition_allows_pass(
    tmp_path: Path, sql: str
) -> None:
    assert analyze_statement(sql, _policy(tmp_path)).findings == (), sql


async def test_the_guard_does_not_hand_out_or_delete_another_accounts_notes(
    database: str, tmp_path: Path
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(ACCOUNTS + SHADOWS + DATA)
    finally:
        await owner.close()
    conn = await connect(database, policy=_policy(tmp_path))
    seen: list[str] = []
    try:
        for sql in LEAKS:
            argument: object = "1" if "::text" in sql else 1
            with tenant(1), contextlib.suppress(TenantIsolationError):
                seen += [r["body"] for r in await conn.fetch(sql, argument)]
        with tenant(1):  # the pinned calls still run, and see account 1's note only
            for sql in SAFE:
                argument = "1" if "::text" in sql else 1
                assert {r["body"] for r in await conn.fetch(sql, argument)} <= {"own note"}, sql
    finally:
        await conn.close()
    owner = await asyncpg.connect(database)
    try:
        left = {r["body"] for r in await owner.fetch("SELECT body FROM notes")}
    finally:
        await owner.close()
    assert not [body for body in seen if body != "own note"]
    assert {"VICTIM note", "NOTENANT"} <= left


# class 10: `SELECT … INTO t` as the first branch of a set operation creates a table as well
SELECT_INTO_UNION = [
    "SELECT body INTO TEMP t_union FROM notes WHERE account_id = $1 "
    'UNION SELECT memo FROM billing."Invoices" WHERE account_id = $1',
    "(SELECT body INTO TEMP t_union FROM notes WHERE account_id = $1) "
    'UNION ALL (SELECT memo FROM billing."Invoices" WHERE account_id = $1)',
]


@pytest.mark.parametrize("sql", SELECT_INTO_UNION)
async def test_select_into_in_a_set_operation_creates_a_table_and_is_flagged(
    database: str, tmp_path: Path, sql: str
) -> None:
    assert [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings] == ["TG007"]
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(ACCOUNTS + SHADOWS + DATA)
        await conn.execute(sql.replace("$1", "1"))
        rows = await conn.fetch("SELECT * FROM t_union")  # the table outlives the statement
    finally:
        await conn.close()
    assert sorted(r[0] for r in rows) == ["own invoice", "own note"]
