"""Round 17, from an outside attack: where PostgreSQL evaluates a body over every tenant's rows
although the proof pushed the outer pin into it — shown by `1 / (org - 2)` dividing by zero on
tenant 2's row while tenant 1's statement runs —, and the proof now agreeing:

* a set operation with an EXCEPT in it, or whose branches' columns are not all of the output's
  type (`int` beside `bigint`): PostgreSQL pushes no filter into it (allpaths.c);
* a CTE calling a schema function sqlglot reads as a node of its own (`lpad`, `mod`: an overload
  of a built-in's name), using a schema operator (`||`, `+`) or cast of a volatile function.

Each leak has its twin the server folds (no error), which the proof accepts. `check` (the
schema files) and `audit` (the catalog) agree.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.audit.test_audit_parity import _agree, _policies
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
CREATE TABLE notes (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
CREATE TABLE legacy (id bigint PRIMARY KEY, org int NOT NULL, title text);
CREATE FUNCTION lpad(n bigint, width int) RETURNS text LANGUAGE sql
    AS $$ SELECT lpad(n::text, width, '0') $$;
CREATE FUNCTION mod(a bigint, b int) RETURNS bigint LANGUAGE sql AS $$ SELECT a % b::bigint $$;
CREATE FUNCTION cat_int(a text, b bigint) RETURNS text LANGUAGE sql AS $$ SELECT a || b::text $$;
CREATE OPERATOR || (LEFTARG = text, RIGHTARG = bigint, FUNCTION = cat_int);
CREATE TYPE mood AS ENUM ('ok', 'bad');
CREATE FUNCTION to_mood(n bigint) RETURNS mood LANGUAGE sql AS $$ SELECT 'ok'::mood $$;
CREATE CAST (bigint AS mood) WITH FUNCTION to_mood(bigint);
CREATE FUNCTION vol_eq(a bigint, b bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT a = b $$;
CREATE OPERATOR === (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = vol_eq);
-- two domains under one name (renamed, then made again), one domain written two ways
CREATE DOMAIN okey AS bigint;
CREATE TABLE old_keyed (id bigint PRIMARY KEY, org okey NOT NULL, title text);
ALTER DOMAIN okey RENAME TO okey_before;
CREATE DOMAIN okey AS bigint;
CREATE TABLE new_keyed (id bigint PRIMARY KEY, org okey NOT NULL, title text);
CREATE DOMAIN tkey AS bigint;
CREATE TABLE keyed (id bigint PRIMARY KEY, org public.tkey NOT NULL, title text);
CREATE TABLE keyed_too (id bigint PRIMARY KEY, org tkey NOT NULL, title text);
"""
DATA = """
INSERT INTO tasks VALUES (1, 1, 'mine'), (2, 2, 'theirs');
INSERT INTO notes VALUES (1, 1, 'mine'), (2, 2, 'theirs');
INSERT INTO legacy VALUES (1, 1, 'mine'), (2, 2, 'theirs');
INSERT INTO old_keyed VALUES (1, 1, 'mine'), (2, 2, 'theirs');
INSERT INTO new_keyed VALUES (1, 1, 'mine'), (2, 2, 'theirs');
INSERT INTO keyed VALUES (1, 1, 'mine'), (2, 2, 'theirs');
INSERT INTO keyed_too VALUES (1, 1, 'mine'), (2, 2, 'theirs');
"""
BOOM = "(1 / (org - 2))::text"
# (statement, the server folds it: the pin filters before the body runs)
STATEMENTS = [
    (
        f"SELECT t FROM (SELECT org, title AS t FROM tasks UNION ALL "
        f"SELECT org, title || {BOOM} FROM notes) d WHERE d.org = $1",
        True,
    ),
    (
        f"SELECT t FROM (SELECT org, title AS t FROM tasks UNION ALL "
        f"SELECT org, title || {BOOM} FROM legacy) d WHERE d.org = $1",
        False,
    ),
    (
        f"SELECT t FROM (SELECT org, title AS t FROM tasks EXCEPT "
        f"SELECT org, title || {BOOM} FROM notes) d WHERE d.org = $1",
        False,
    ),
    (
        f"SELECT t FROM (SELECT org AS o, title AS t FROM tasks UNION "
        f"SELECT org, title || {BOOM} FROM notes) d WHERE d.o = $1",
        True,
    ),
    (
        f"SELECT t FROM (SELECT org AS o, title AS t FROM tasks EXCEPT "
        f"SELECT org, title || {BOOM} FROM notes) d WHERE d.o = $1",
        False,
    ),
    (
        f"WITH x AS (SELECT org, {BOOM} AS t, lpad(id, 6) AS c FROM tasks) "
        "SELECT t FROM x WHERE org = $1",
        False,
    ),
    (
        f"WITH x AS (SELECT org, {BOOM} AS t, mod(id, 7) AS c FROM tasks) "
        "SELECT t FROM x WHERE org = $1",
        False,
    ),
    (
        f"WITH x AS (SELECT org, {BOOM} AS t, title || id AS c FROM tasks) "
        "SELECT t FROM x WHERE org = $1",
        False,
    ),
    (
        f"WITH x AS (SELECT org, {BOOM} AS t, CAST(id AS mood) AS c FROM tasks) "
        "SELECT t FROM x WHERE org = $1",
        False,
    ),
    # third attack: one branch that would not take the filter keeps it from all; a schema
    # operator named bare; an array cast of a volatile cast; one domain name for two types
    (
        f"SELECT t FROM (SELECT org, title || {BOOM} AS t FROM tasks UNION "
        "(SELECT org, title FROM notes WHERE org = $1 LIMIT 5)) d WHERE d.org = $1",
        False,
    ),
    (
        f"SELECT t FROM (SELECT org, title || {BOOM} AS t, 0::bigint AS r FROM tasks UNION "
        "SELECT org, title, row_number() OVER (ORDER BY id) FROM notes WHERE org = $1) d "
        "WHERE d.org = $1",
        False,
    ),
    (
        f"SELECT t FROM ((SELECT org, title || {BOOM} AS t FROM tasks UNION "
        "SELECT org, title FROM notes ORDER BY 1) UNION SELECT org, title FROM tasks) d "
        "WHERE d.org = $1",
        False,
    ),
    (
        f"WITH x AS (SELECT org, {BOOM} AS t, id OPERATOR(===) 1 AS c FROM tasks) "
        "SELECT t FROM x WHERE org = $1",
        False,
    ),
    (
        f"WITH x AS (SELECT org, {BOOM} AS t, ARRAY[id]::mood[] AS c FROM tasks) "
        "SELECT t FROM x WHERE org = $1",
        False,
    ),
    (
        f"SELECT t FROM (SELECT org, title || {BOOM} AS t FROM old_keyed UNION "
        "SELECT org, title FROM new_keyed) d WHERE d.org = $1",
        False,
    ),
    (
        f"SELECT t FROM (SELECT org, title || {BOOM} AS t FROM keyed UNION "
        "SELECT org, title FROM keyed_too) d WHERE d.org = $1",
        True,
    ),
    (
        f"WITH x AS (SELECT org, {BOOM} AS t, lpad(title, 6) AS c FROM tasks) "
        "SELECT t FROM x WHERE org = $1",
        True,
    ),
]
# the proof calls these volatile though the server picks the built-in here (text, not bigint):
# which overload runs is a matter of types it does not read
CONSERVATIVE = {STATEMENTS[-1][0]}


async def test_the_server_runs_each_body_where_the_proof_says(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql, folded in STATEMENTS:
            if folded:
                assert [r[0] for r in await conn.fetch(sql, 1)], sql  # tenant 1's rows
            else:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, 1)  # tenant 2's row, before the pin
    finally:
        await conn.close()


def test_the_proof_pushes_the_pin_only_where_the_server_does(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org")
    for sql, folded in STATEMENTS:
        expected = [] if folded and sql not in CONSERVATIVE else ["TG001"]
        codes = _codes(sql, policy)
        assert sorted(set(codes)) == expected, sql


async def test_audit_and_check_agree(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, SCHEMA, "org")
    # what the files show, the catalog shows alike; the catalog tells the renamed domain apart
    assert static.tenant_column_types.items() <= live.tenant_column_types.items()
    assert live.tenant_column_types["old_keyed"] != live.tenant_column_types["new_keyed"]
    assert static.tenant_column_types["legacy"] == "int4"
    assert static.tenant_column_types["keyed"] == "domain:tkey"
    assert "old_keyed" not in static.tenant_column_types  # okey: two domains, one name
    assert static.volatile_operators == live.volatile_operators == {"||", "===", "cast:mood"}
    for sql, folded in STATEMENTS:
        _agree(static, live, [sql], None if folded and sql not in CONSERVATIVE else "TG001")
