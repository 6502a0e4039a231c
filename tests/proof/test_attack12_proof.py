"""Round 12 attacks on the proof (issue 10), on a schema unlike the earlier ones: tenant column
`account_id bigint NOT NULL REFERENCES accounts (id)`, tables keyed `(account_id, id)` whose ids
repeat across accounts, composite foreign keys, a partitioned table, a domain and an enum.

Each leak is shown on PostgreSQL 15 by the rows it returns or changes: account 1's request
(`$1` = 1) reads or writes account 2's rows; each safe twin reads account 1's rows only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_schema import policy_for


def _codes(sql: str, policy: Policy) -> list[str]:
    return sorted(f.code for f in analyze_statement(sql, policy).findings)


def _policy(tmp_path: Path, schema: str) -> Policy:
    policy = policy_for(tmp_path, schema, tenant_column="account_id")
    assert isinstance(policy, Policy)
    return policy


# ---------------------------------------------------------------- class 7: what a composite key's
# pin stands on. `t.customer_id = c.id` from a pinned `t` pins `c` when t has FOREIGN KEY
# (account_id, customer_id) REFERENCES c (account_id, id) and `c.id` is unique by itself: the one
# `c` row is the row the key points at. The schema reader kept both facts through statements
# that end them on the server — a key dropped by the name PostgreSQL gave it, with its column,
# with its referenced table (CASCADE) or its referenced key (CASCADE), an index dropped (also
# after a rename), a foreign key made DEFERRABLE, a unique key DEFERRABLE (two rows share it
# until the commit), triggers disabled, a child by inheritance (its rows are read with the
# parent's, no key covers them), a name in two schemas (the keys are one table's, the search path
# reads the other). Each `c` below then holds account 2's customer that account 1's
# ticket points at (or that shares its id).
KEYS = """
CREATE SCHEMA billing;
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
"""
_PLAIN = (
    "CREATE TABLE cust_{v} (account_id bigint NOT NULL REFERENCES accounts (id), "
    "id bigint NOT NULL {unique}, name text, PRIMARY KEY (account_id, id));\n"
)
_TICKETS = (
    "CREATE TABLE tick_{v} (account_id bigint NOT NULL REFERENCES accounts (id), "
    "id bigint NOT NULL, customer_id bigint, PRIMARY KEY (account_id, id){fk});\n"
)
_FK = ", {name}FOREIGN KEY (account_id, customer_id) REFERENCES cust_{v} (account_id, id){extra}"


LONG = "l_a_rather_long_name_for_this_table_of_tickets"
WIDE = "x_a_rather_long_name_for_this_table_of_all_the_customers"


def _pair(v: str, after: str, unique: str = "UNIQUE", name: str = "", extra: str = "") -> str:
    fk = _FK.format(v=v, name=f"CONSTRAINT {name} " if name else "", extra=extra)
    return (
        _PLAIN.format(v=v, unique=unique)
        + _TICKETS.format(v=v, fk=fk if name != "-" else "")
        + after
        + "\n"
    )


KEYS += "".join(
    [
        # the foreign key dropped by the name PostgreSQL gave it
        _pair("u", "ALTER TABLE tick_u DROP CONSTRAINT tick_u_account_id_customer_id_fkey;"),
        _pair(
            "h",
            "ALTER TABLE tick_h ADD FOREIGN KEY (account_id, customer_id) REFERENCES cust_h "
            "(account_id, id);\nALTER TABLE tick_h DROP CONSTRAINT "
            "tick_h_account_id_customer_id_fkey;",
            name="-",
        ),
        # … by a name PostgreSQL shortened (the reader's guess of it is longer)
        _pair(
            LONG,
            f"ALTER TABLE tick_{LONG} DROP CONSTRAINT "
            "tick_l_a_rather_long_name_for_this__account_id_customer_id_fkey;",
        ),
        # … with its column (added again, without the key)
        _pair(
            "g",
            "ALTER TABLE tick_g DROP COLUMN customer_id;\n"
            "ALTER TABLE tick_g ADD COLUMN customer_id bigint;",
        ),
        # … with the table it references, dropped CASCADE and created again
        _pair(
            "i",
            "DROP TABLE cust_i CASCADE;\n" + _PLAIN.format(v="i", unique="UNIQUE"),
        ),
        # … with the key it references, dropped CASCADE (the unique id stays)
        _pair("q", "ALTER TABLE cust_q DROP CONSTRAINT cust_q_pkey CASCADE;"),
        # its triggers disabled (enabled again: the rows written meanwhile were not checked)
        _pair("k", "ALTER TABLE tick_k DISABLE TRIGGER ALL;"),
        # made DEFERRABLE: within a transaction the ticket may point anywhere
        _pair(
            "n",
            "ALTER TABLE tick_n ALTER CONSTRAINT tick_n_account_id_customer_id_fkey "
            "DEFERRABLE INITIALLY DEFERRED;",
        ),
        # the unique id: dropped as an index, renamed first, or deferrable
        _pair("b", "CREATE UNIQUE INDEX ON cust_b (id);\nDROP INDEX cust_b_id_idx;", unique=""),
        _pair(
            "f",
            "CREATE UNIQUE INDEX f_uniq ON cust_f (id);\nALTER INDEX f_uniq RENAME TO f_uniq2;\n"
            "DROP INDEX f_uniq2;",
            unique="",
        ),
        _pair(
            WIDE,
            f"CREATE UNIQUE INDEX ON cust_{WIDE} (id);\n"
            "DROP INDEX cust_x_a_rather_long_name_for_this_table_of_all_the_cust_id_idx;",
            unique="",
        ),
        _pair("d", "", unique="UNIQUE DEFERRABLE INITIALLY DEFERRED"),
        # a child by inheritance: its rows are read with the parent's, unique or not
        _pair("a", "CREATE TABLE cust_a_child () INHERITS (cust_a);"),
        _pair(
            "m",
            "CREATE TABLE cust_m_other (account_id bigint NOT NULL, id bigint NOT NULL, "
            "name text);\nALTER TABLE cust_m_other INHERIT cust_m;",
        ),
        # a name in two schemas: the unique id, or the foreign key, is the other table's
        "CREATE TABLE billing.cust_z (account_id bigint NOT NULL, id bigint NOT NULL UNIQUE, "
        "name text, PRIMARY KEY (account_id, id));\n" + _pair("z", "", unique=""),
        _pair("y", "", name="-")
        + "CREATE TABLE billing.tick_y (account_id bigint NOT NULL, id bigint NOT NULL, "
        "customer_id bigint, PRIMARY KEY (account_id, id), FOREIGN KEY (account_id, customer_id) "
        "REFERENCES public.cust_y (account_id, id));\n",
    ]
)
# the same keys, kept through what does not end them: proven, and the server refuses a ticket
# pointing at another account's customer
KEYS += "".join(
    [
        _pair(
            "s",
            "ALTER TABLE tick_s ADD CONSTRAINT positive CHECK (id > 0);\n"
            "ALTER TABLE tick_s DROP CONSTRAINT positive;\n"
            "CREATE INDEX ON tick_s (customer_id);\nDROP INDEX tick_s_customer_id_idx;\n"
            "ALTER TABLE tick_s RENAME CONSTRAINT tick_s_account_id_customer_id_fkey TO s_fk;\n"
            "ALTER TABLE tick_s ADD COLUMN note text;\nALTER TABLE tick_s DROP COLUMN note;\n"
            "ALTER TABLE cust_s ADD COLUMN note text;\nALTER TABLE cust_s DROP COLUMN note;\n"
            "CREATE TABLE unrelated (id bigint);\nDROP TABLE unrelated CASCADE;",
        ),
        # of two keys PostgreSQL named, the one dropped by its name goes, the other stays
        _pair(
            "w",
            "ALTER TABLE tick_w ADD COLUMN other_id bigint;\n"
            "ALTER TABLE tick_w ADD FOREIGN KEY (account_id, other_id) REFERENCES cust_w "
            "(account_id, id);\n"
            "ALTER TABLE tick_w DROP CONSTRAINT tick_w_account_id_other_id_fkey;",
        ),
        _pair(
            "r",
            "CREATE UNIQUE INDEX r_uniq ON cust_r (id);\nALTER INDEX r_uniq RENAME TO r_uniq2;\n"
            "ALTER TABLE tick_r ALTER CONSTRAINT r_fk NOT DEFERRABLE;",
            unique="",
            name="r_fk",
            extra=" DEFERRABLE",
        ),
        # a partitioned table's foreign key and unique keys hold for every partition
        "CREATE TABLE cust_p (account_id bigint NOT NULL REFERENCES accounts (id), "
        "id bigint NOT NULL UNIQUE, name text, PRIMARY KEY (account_id, id));\n"
        "CREATE TABLE tick_p (account_id bigint NOT NULL, id bigint NOT NULL, customer_id bigint, "
        "PRIMARY KEY (account_id, id), FOREIGN KEY (account_id, customer_id) REFERENCES cust_p "
        "(account_id, id)) PARTITION BY LIST (account_id);\n"
        "CREATE TABLE tick_p1 PARTITION OF tick_p FOR VALUES IN (1);\n"
        "CREATE TABLE tick_p2 (LIKE tick_p);\n"
        "ALTER TABLE tick_p ATTACH PARTITION tick_p2 FOR VALUES IN (2);\n",
    ]
)
KEY_JOIN = (
    "SELECT c.name FROM tick_{v} t JOIN cust_{v} c ON c.id = t.customer_id WHERE t.account_id = $1"
)
# (variant, rows written in one transaction before the read)
KEY_LEAKS = [
    ("u", "INSERT INTO tick_u VALUES (1, 1, 2)"),
    ("h", "INSERT INTO tick_h VALUES (1, 1, 2)"),
    (LONG, f"INSERT INTO tick_{LONG} VALUES (1, 1, 2)"),
    ("g", "INSERT INTO tick_g VALUES (1, 1, 2)"),
    ("i", "INSERT INTO tick_i VALUES (1, 1, 2)"),
    ("q", "INSERT INTO tick_q VALUES (1, 1, 2)"),
    ("k", ""),  # written while the triggers were off
    ("n", "INSERT INTO tick_n VALUES (1, 1, 2)"),
    ("b", "INSERT INTO cust_b VALUES (1, 2, 'own'); INSERT INTO tick_b VALUES (1, 1, 2)"),
    ("f", "INSERT INTO cust_f VALUES (1, 2, 'own'); INSERT INTO tick_f VALUES (1, 1, 2)"),
    (
        WIDE,
        f"INSERT INTO cust_{WIDE} VALUES (1, 2, 'own'); INSERT INTO tick_{WIDE} VALUES (1, 1, 2)",
    ),
    ("d", "INSERT INTO cust_d VALUES (1, 2, 'own'); INSERT INTO tick_d VALUES (1, 1, 2)"),
    ("z", "INSERT INTO cust_z VALUES (1, 2, 'own'); INSERT INTO tick_z VALUES (1, 1, 2)"),
    ("y", "INSERT INTO tick_y VALUES (1, 1, 2)"),
    ("a", "INSERT INTO cust_a VALUES (1, 3, 'own'); INSERT INTO tick_a VALUES (1, 1, 3)"),
    ("m", "INSERT INTO cust_m VALUES (1, 3, 'own'); INSERT INTO tick_m VALUES (1, 1, 3)"),
]
KEY_SAFE = ["s", "w", "r", "p"]
# written while tick_k's triggers are off; then they are on again (the schema says so too)
ENABLED = "INSERT INTO tick_k VALUES (1, 1, 2);\nALTER TABLE tick_k ENABLE TRIGGER ALL;\n"
KEY_DATA = "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');\n" + "".join(
    f"INSERT INTO cust_{v} VALUES (2, 2, 'VICTIM');\n" for v, _ in KEY_LEAKS if v not in ("a", "m")
)
KEY_DATA += (
    "INSERT INTO cust_a_child VALUES (2, 3, 'VICTIM');\n"
    "INSERT INTO cust_m_other VALUES (2, 3, 'VICTIM');\n"
)
KEY_DATA += "".join(
    f"INSERT INTO cust_{v} VALUES (1, 1, 'own'), (2, 2, 'VICTIM');\n"
    f"INSERT INTO tick_{v} VALUES (1, 1, 1);\n"
    for v in KEY_SAFE
)


def test_keys_the_server_no_longer_holds_pin_nothing(tmp_path: Path) -> None:
    policy = _policy(tmp_path, KEYS + ENABLED)
    for v, _ in KEY_LEAKS:
        assert _codes(KEY_JOIN.format(v=v), policy) == ["TG001"], v
    for v in KEY_SAFE:
        assert _codes(KEY_JOIN.format(v=v), policy) == [], v


async def test_the_key_joins_read_account_2s_customer_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(KEYS + KEY_DATA + ENABLED)
        for v, writes in KEY_LEAKS:
            transaction = conn.transaction()
            await transaction.start()
            try:
                if writes:
                    await conn.execute(writes)
                rows = [r[0] for r in await conn.fetch(KEY_JOIN.format(v=v), 1)]
            finally:
                await transaction.rollback()
            assert "VICTIM" in rows, (v, rows)
        for v in KEY_SAFE:
            assert [r[0] for r in await conn.fetch(KEY_JOIN.format(v=v), 1)] == ["own"], v
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(f"INSERT INTO tick_{v} VALUES (1, 9, 2)")
    finally:
        await conn.close()


# ---------------------------------------------------------------- the main schema of this round
SCHEMA = """
CREATE DOMAIN acct_id AS bigint CHECK (VALUE > 0);
CREATE TYPE ticket_state AS ENUM ('open', 'pending', 'closed');
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, slug text UNIQUE);
CREATE TABLE members (account_id bigint NOT NULL REFERENCES accounts (id), id bigint NOT NULL,
    email text, PRIMARY KEY (account_id, id));
CREATE TABLE customers (account_id bigint NOT NULL REFERENCES accounts (id), id bigint NOT NULL,
    name text, owner_id bigint, PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, owner_id) REFERENCES members (account_id, id));
CREATE TABLE tickets (account_id bigint NOT NULL REFERENCES accounts (id), id bigint NOT NULL,
    customer_id bigint, subject text, state ticket_state NOT NULL DEFAULT 'open', priority int,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
CREATE TABLE comments (account_id bigint NOT NULL REFERENCES accounts (id), id bigint NOT NULL,
    ticket_id bigint, body text, PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, ticket_id) REFERENCES tickets (account_id, id));
CREATE TABLE tags (account_id bigint NOT NULL REFERENCES accounts (id), id bigint NOT NULL,
    label text, PRIMARY KEY (account_id, id), UNIQUE (account_id, label));
CREATE TABLE audit (account_id bigint NOT NULL REFERENCES accounts (id), id bigint NOT NULL,
    happened date NOT NULL, what text, PRIMARY KEY (account_id, id, happened))
    PARTITION BY RANGE (happened);
CREATE TABLE audit_2024 PARTITION OF audit FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE audit_rest PARTITION OF audit DEFAULT;
CREATE TABLE webhooks (id bigint PRIMARY KEY, account_id text NOT NULL, url text);
CREATE TABLE typed_notes (account_id acct_id NOT NULL REFERENCES accounts (id),
    id bigint NOT NULL, body text, PRIMARY KEY (account_id, id));
CREATE TABLE countries (code text PRIMARY KEY, name text);
CREATE VIEW open_tickets AS
    SELECT t.account_id, t.id, t.subject, t.state FROM tickets t WHERE t.state <> 'closed';
CREATE VIEW ticket_counts AS SELECT account_id, state, count(*) AS n FROM tickets
    GROUP BY account_id, state;
CREATE FUNCTION customer_tickets(acct bigint) RETURNS TABLE (id bigint, subject text)
    LANGUAGE sql STABLE AS $$ SELECT t.id, t.subject FROM tickets t WHERE t.account_id = acct $$;
CREATE FUNCTION all_tags() RETURNS SETOF tags LANGUAGE sql STABLE AS $$ SELECT * FROM tags $$;
CREATE FUNCTION tickets_of(acct bigint) RETURNS SETOF tickets LANGUAGE plpgsql STABLE AS $f$
BEGIN
    RETURN QUERY SELECT * FROM tickets WHERE account_id = acct;
END $f$;
"""

DATA = """
INSERT INTO accounts VALUES (1, 'own', 'own'), (2, 'VICTIM', 'victim');
INSERT INTO members VALUES (1, 1, 'own@a'), (2, 1, 'VICTIM@b');
INSERT INTO customers VALUES (1, 1, 'own', 1), (2, 1, 'VICTIM', 1);
INSERT INTO tickets VALUES (1, 1, 1, 'own', 'open', 1), (2, 1, 1, 'VICTIM', 'open', 1);
INSERT INTO comments VALUES (1, 1, 1, 'own'), (2, 1, 1, 'VICTIM');
INSERT INTO tags VALUES (1, 1, 'own'), (2, 1, 'VICTIM');
INSERT INTO audit VALUES (1, 1, '2024-05-01', 'own'), (2, 1, '2024-05-01', 'VICTIM');
INSERT INTO webhooks VALUES (1, '1', 'own'), (2, '2', 'VICTIM');
INSERT INTO typed_notes VALUES (1, 1, 'own'), (2, 1, 'VICTIM');
INSERT INTO countries VALUES ('ES', 'Spain');
"""


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "account_id"\nschema_paths = ["schema"]\n', encoding="utf-8"
    )
    for name, text in {"schema/0001.sql": SCHEMA, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _check(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *paths: str
) -> list[tuple[str, int, str]]:
    """The error findings of `tenantguard check` on paths of a project: (path, line, rule)."""
    from tenantguard.cli import main

    monkeypatch.chdir(root)
    code = main(["check", "--format", "json", *paths])
    found = json.loads(capsys.readouterr().out)["findings"]
    errors = [(f["path"], f["line"], f["rule"]) for f in found if f["severity"] == "error"]
    assert code == (1 if errors else 0)
    return errors


# ---------------------------------------------------------------- class 8: psql runs what the
# script does not show. A .sql file is read with psql's meta-commands skipped; but `\gexec`
# runs each value its query returns as a statement, `\!` runs a shell command (psql -c …), and a
# psql variable pastes text (`:name`) or a quoted name (`:"name"`) into the statement. Each of
# these passed with no finding, and changed or read account 2's ticket.
PSQL_LEAKS = {
    "gexec.sql": "SELECT 'UPDATE tickets SET subject = ''hacked'' WHERE id = 1' \\gexec\n",
    "shell.sql": "\\! psql -c \"UPDATE tickets SET subject = 'hacked' WHERE id = 1\"\n",
    "pasted.sql": "\\set victim tickets\nUPDATE :victim SET subject = 'hacked' WHERE id = 1;\n",
    "named.sql": "\\set victim tickets\nUPDATE :\"victim\" SET subject = 'hacked' WHERE id = 1;\n",
    "where.sql": (
        "\\set acct '1 OR true'\n"
        "UPDATE tickets SET subject = 'hacked' WHERE id = 1 AND account_id = :acct;\n"
    ),
    "gset.sql": (
        "SELECT '1 OR true' AS acct \\gset\n"
        "UPDATE tickets SET subject = 'hacked' WHERE id = 1 AND account_id = :acct;\n"
    ),
}
# a psql variable's value as a literal (`:'acct'`), a variable the script sets to a number only
# or leaves to the caller (`-v acct=1`, a parameter's value), and a driver's `:acct` bind in a
# file that is no psql script, pin; `::` is a cast
PSQL_SAFE = {
    "number.sql": (
        "\\set acct 1\nUPDATE tickets SET subject = 'mine' WHERE id = 1 AND account_id = :acct;\n"
    ),
    "caller.sql": (
        "\\echo mine\nUPDATE tickets SET subject = 'mine' WHERE id = 1 AND account_id = :acct;\n"
    ),
    "literal.sql": (
        "\\set acct 1\n"
        "UPDATE tickets SET subject = 'mine' WHERE id = 1 AND account_id = :'acct'::bigint;\n"
    ),
    "bind.sql": "UPDATE tickets SET subject = 'mine' WHERE id = 1 AND account_id = :acct;\n",
}


def test_what_psql_runs_beyond_the_text_is_unprovable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, {f"app/{n}": t for n, t in {**PSQL_LEAKS, **PSQL_SAFE}.items()})
    found = _check(root, monkeypatch, capsys, "app")
    for name, text in PSQL_LEAKS.items():
        line = 1 if text.startswith(("\\!", "SELECT 'UPDATE")) else 2
        assert (f"app/{name}", line, "TG006") in found, (name, found)
    assert not [f for f in found if f[0] in {f"app/{n}" for n in PSQL_SAFE}], found
    # a schema source whose `\gexec` creates what the reader cannot see
    (root / "schema/0002.sql").write_text(PSQL_LEAKS["gexec.sql"], encoding="utf-8")
    assert _check(root, monkeypatch, capsys, "schema") == [("schema/0002.sql", 1, "TG006")]


async def test_psql_changes_account_2s_ticket_on_the_server(database: str) -> None:
    import subprocess
    from urllib.parse import urlsplit

    from tenantguard.embedded import find_postgres_bin

    bindir = find_postgres_bin()
    assert bindir is not None
    where = urlsplit(database)  # for the psql that `\!` starts, too
    env = {
        **os.environ,
        "PATH": f"{bindir}:{os.environ.get('PATH', '')}",
        "PGHOST": str(where.hostname),
        "PGPORT": str(where.port),
        "PGUSER": str(where.username),
        "PGDATABASE": where.path.lstrip("/"),
    }
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for name, script in {**PSQL_LEAKS, **PSQL_SAFE}.items():
            await conn.execute("UPDATE tickets SET subject = 'VICTIM' WHERE account_id = 2")
            run = subprocess.run(
                [str(bindir / "psql"), "-X", "-q", "-v", "acct=1"],
                input=script,
                capture_output=True,
                text=True,
                check=False,
                env=env,
            )
            assert run.returncode == 0 and not run.stderr, (name, run.stderr)
            victim = await conn.fetchval("SELECT subject FROM tickets WHERE account_id = 2")
            assert victim == ("hacked" if name in PSQL_LEAKS else "VICTIM"), name
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 8: a placeholder where a
# relation's name goes. sqlglot reads `FROM %s`, `JOIN $1 u`, `UPDATE :t` as a table named by
# a placeholder, which the proof skipped. No driver binds a value there (PostgreSQL refuses
# `FROM $1`): such a statement runs only once code pastes text in — a template kept in a .sql
# file and filled with `%`, or a wrapper's `replace` — and then reads whatever relation it names.
PASTED = [
    ("SELECT subject FROM %s WHERE id = $1", "tickets"),
    ("SELECT c.name FROM countries o, %s c WHERE c.id = $1", "customers"),
    ("UPDATE %s SET subject = 'hacked' WHERE id = $1 RETURNING subject", "tickets"),
]


def test_a_placeholder_naming_a_relation_is_unprovable(tmp_path: Path) -> None:
    policy = _policy(tmp_path, SCHEMA)
    for template, _ in PASTED:
        assert _codes(template, policy) == ["TG006"], template
    assert _codes("SELECT name FROM %s.customers WHERE account_id = $1", policy) == []


async def test_the_pasted_relation_reads_account_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        with pytest.raises(asyncpg.PostgresSyntaxError):  # never bound as a value
            await conn.fetch("SELECT subject FROM $1 WHERE id = $2", "tickets", 1)
        for template, relation in PASTED:
            transaction = conn.transaction()
            await transaction.start()
            try:
                rows = [r[0] for r in await conn.fetch(template % relation, 1)]
            finally:
                await transaction.rollback()
            assert len(rows) == 2, (template, rows)  # row 1 of both accounts
            if "RETURNING" not in template:
                assert sorted(rows) == ["VICTIM", "own"], (template, rows)
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 5/7: what a write runs
# beside itself. A write of a relation also runs its triggers' functions and its rules'
# actions, which the proof did not read: INSERT INTO signups (a global table) passed and its
# rule updated every account's ticket; a trigger's function can do the same from any write, or
# move the row written to another account (`NEW.account_id := 2`); a trigger pinned to the row it
# fires on may write a table whose own trigger is not. Each leak below is proven by itself
# (pinned to account 1, or on a global table) and changed account 2's rows.
HOOKS = """
CREATE TABLE signups (email text, plan text);
CREATE RULE signups_touch AS ON INSERT TO signups DO ALSO
    UPDATE tickets SET subject = 'hacked' WHERE id = 1;
CREATE TABLE pings (id bigint PRIMARY KEY, n int);
CREATE FUNCTION pings_touch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE tickets SET subject = 'hacked' WHERE id = NEW.id;
    RETURN NEW;
END $f$;
CREATE TRIGGER pings_touch AFTER INSERT OR UPDATE OR DELETE ON pings
    FOR EACH ROW EXECUTE FUNCTION pings_touch();
CREATE FUNCTION wipe_all() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'UPDATE ' || 'tickets SET subject = ''hacked'' WHERE id = 1';
    RETURN NULL;
END $f$;
CREATE TRIGGER wipe_all AFTER TRUNCATE ON pings FOR EACH STATEMENT EXECUTE FUNCTION wipe_all();
-- on a tenant table: the customer of that id in every account, a fixed account, the row moved
CREATE FUNCTION touch_customer() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE customers SET name = 'hacked' WHERE id = NEW.customer_id;
    RETURN NEW;
END $f$;
CREATE TRIGGER touch_customer AFTER UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION touch_customer();
CREATE FUNCTION count_tag() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE tags SET label = 'hacked' WHERE account_id = 2 AND id = NEW.ticket_id;
    RETURN NEW;
END $f$;
CREATE TRIGGER count_tag AFTER INSERT ON comments FOR EACH ROW EXECUTE FUNCTION count_tag();
CREATE FUNCTION move_note() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    NEW.account_id := NEW.account_id + 1;
    RETURN NEW;
END $f$;
CREATE TRIGGER move_note BEFORE INSERT ON typed_notes
    FOR EACH ROW EXECUTE FUNCTION move_note();
-- pinned to the row written, but its UPDATE of tickets fires touch_customer in turn
CREATE FUNCTION bump_ticket() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE tickets SET priority = priority + 1
        WHERE account_id = NEW.account_id AND id = NEW.ticket_id;
    RETURN NEW;
END $f$;
CREATE TRIGGER bump_ticket AFTER UPDATE ON comments FOR EACH ROW EXECUTE FUNCTION bump_ticket();
-- a trigger renamed, on a table renamed: still fired
CREATE TABLE old_visits (id bigint, account_id bigint NOT NULL REFERENCES accounts (id));
CREATE FUNCTION visit_touch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE tickets SET subject = 'hacked' WHERE id = NEW.id;
    RETURN NEW;
END $f$;
CREATE TRIGGER visit_touch AFTER INSERT ON old_visits FOR EACH ROW EXECUTE FUNCTION visit_touch();
ALTER TABLE old_visits RENAME TO visits;
ALTER FUNCTION visit_touch() RENAME TO visit_touched;
ALTER TRIGGER visit_touch ON visits RENAME TO touched;
-- pinned to the rows written (NEW, OLD) or the setting; a built-in's; dropped: proven
CREATE FUNCTION keep_audit() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO audit (account_id, id, happened, what)
        VALUES (New.account_id, NEW.id, '2024-06-01', 'tag ' || NEW.label);
    RETURN NEW;
END $f$;
CREATE TRIGGER keep_audit AFTER INSERT OR UPDATE ON tags
    FOR EACH ROW EXECUTE FUNCTION keep_audit();
CREATE FUNCTION forget_comments() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    DELETE FROM comments WHERE account_id = OLD.account_id AND ticket_id = OLD.id;
    RETURN OLD;
END $f$;
CREATE TRIGGER forget_comments BEFORE DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION forget_comments();
CREATE TRIGGER unchanged BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
CREATE RULE log_member AS ON INSERT TO members DO ALSO
    INSERT INTO audit (account_id, id, happened, what)
    VALUES (NEW.account_id, NEW.id, '2024-07-01', 'member');
CREATE TABLE quiet (id bigint);
CREATE TRIGGER quiet_touch AFTER INSERT ON quiet FOR EACH ROW EXECUTE FUNCTION pings_touch();
DROP TRIGGER quiet_touch ON quiet;
"""
# (statement, what it fires)
HOOK_LEAKS = [
    ("INSERT INTO signups (email, plan) VALUES ('a@b', $1)", "rule"),
    ("INSERT INTO pings (id, n) VALUES (1, $1)", "trigger"),
    ("INSERT INTO pings (id, n) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET n = 2", "upsert"),
    ("COPY pings (id, n) FROM STDIN", "copy"),
    ("TRUNCATE pings", "truncate"),
    (
        "MERGE INTO pings p USING (SELECT 1 AS id) s ON p.id = s.id "
        "WHEN NOT MATCHED THEN INSERT (id, n) VALUES (s.id, $1)",
        "merge",
    ),
    ("UPDATE tickets SET priority = 5 WHERE account_id = $1 AND id = 1", "customer"),
    ("INSERT INTO comments (account_id, id, ticket_id, body) VALUES ($1, 9, 1, 'x')", "fixed"),
    ("INSERT INTO typed_notes (account_id, id, body) VALUES ($1, 9, 'mine')", "moved"),
    ("INSERT INTO visits (id, account_id) VALUES (1, $1)", "renamed"),
    ("UPDATE comments SET body = 'x' WHERE account_id = $1 AND id = 1", "chained"),
]
HOOK_SAFE = [
    "INSERT INTO tags (account_id, id, label) VALUES ($1, 5, 'new')",
    "UPDATE tags SET label = 'x' WHERE account_id = $1 AND id = 1",
    "DELETE FROM tickets WHERE account_id = $1 AND id = 1",
    "UPDATE customers SET name = 'x' WHERE account_id = $1 AND id = 1",
    "INSERT INTO members (account_id, id, email) VALUES ($1, 7, 'x')",
    "INSERT INTO quiet (id) VALUES (1)",
]


def test_writes_that_fire_unpinned_triggers_or_rules_are_reported(tmp_path: Path) -> None:
    policy = _policy(tmp_path, SCHEMA + HOOKS)
    for sql, _ in HOOK_LEAKS:
        assert _codes(sql, policy) == ["TG005"], sql
    for sql in HOOK_SAFE:
        assert _codes(sql, policy) == [], sql
    # kept in the schema cache as read
    from tenantguard.sources.schema.reading import SchemaInfo

    schema = SchemaInfo()
    schema.add_sql(SCHEMA + HOOKS)
    back = SchemaInfo.from_json(json.loads(json.dumps(schema.to_json())))
    assert (back.triggers, back.write_rules, back.new_fields) == (
        schema.triggers,
        schema.write_rules,
        schema.new_fields,
    )
    assert {n: f.body for n, f in back.trigger_functions.items()} == {
        n: f.body for n, f in schema.trigger_functions.items()
    }


async def test_the_triggers_and_rules_change_account_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA + HOOKS)
        await conn.execute(  # a row for the UPDATE of an upsert, written with no trigger
            "SET session_replication_role = replica; INSERT INTO pings VALUES (1, 0); "
            "RESET session_replication_role"
        )
        snapshot = (
            "SELECT (SELECT subject FROM tickets WHERE account_id = 2 AND id = 1), "
            "(SELECT name FROM customers WHERE account_id = 2 AND id = 1), "
            "(SELECT label FROM tags WHERE account_id = 2 AND id = 1), "
            "(SELECT count(*) FROM typed_notes WHERE account_id = 2), "
            "(SELECT count(*) FROM audit WHERE account_id = 2)"
        )
        before = tuple(await conn.fetchrow(snapshot))
        for sql, what in HOOK_LEAKS:
            transaction = conn.transaction()
            await transaction.start()
            try:
                if what in ("copy", "trigger", "merge"):  # (its AFTER DELETE changes nothing)
                    await conn.execute("DELETE FROM pings")
                if what == "copy":
                    await conn.copy_to_table("pings", source=_Rows(b"1\t1\n"), columns=["id", "n"])
                elif what == "truncate":
                    await conn.execute(sql)
                else:
                    await conn.execute(
                        sql, *(["1"] if what == "rule" else [1] if "$1" in sql else [])
                    )
                after = tuple(await conn.fetchrow(snapshot))
            finally:
                await transaction.rollback()
            assert after != before, (sql, after)  # one of account 2's rows changed or added
        for sql in HOOK_SAFE:
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(sql, *([1] if "$1" in sql else []))
                assert tuple(await conn.fetchrow(snapshot)) == before, sql
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


class _Rows:
    """The rows COPY … FROM STDIN reads (asyncpg's copy_to_table takes an async iterable)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __aiter__(self) -> _Rows:
        return self

    async def __anext__(self) -> bytes:
        if not self.data:
            raise StopAsyncIteration
        data, self.data = self.data, b""
        return data


# ---------------------------------------------------------------- class 7: a table a query filled.
# CREATE TABLE … AS and SELECT … INTO in the schema sources make a table whose columns the reader
# kept, and whose rows the query copied once: every account's, without their account_id (a
# global table to the proof), or one account's chosen by the migration's tenant setting. A
# materialized view of the same query was held to the view conditions; such a table was not.
# And a materialized view pinned inside by the tenant setting was read as safe, like a view,
# though it holds the rows of the session that refreshed it.
COPIES = """
CREATE TABLE ticket_stats AS
    SELECT state, count(*) AS n, string_agg(subject, ',') AS subjects FROM tickets GROUP BY state;
SELECT id, subject INTO subject_copy FROM tickets;
CREATE TABLE mine AS
    SELECT subject FROM tickets WHERE account_id = current_setting('app.tenant_id')::bigint;
CREATE TABLE ticket_copy AS SELECT account_id, id, subject FROM tickets;
CREATE TABLE empty_stats AS
    SELECT state, string_agg(subject, ',') AS subjects FROM tickets GROUP BY state WITH NO DATA;
CREATE TABLE emptied AS SELECT id, subject FROM tickets;
TRUNCATE emptied;
CREATE MATERIALIZED VIEW my_subjects AS
    SELECT subject FROM tickets WHERE account_id = current_setting('app.tenant_id')::bigint;
CREATE VIEW my_view AS
    SELECT subject FROM tickets WHERE account_id = current_setting('app.tenant_id')::bigint;
"""
COPY_LEAKS = [
    "SELECT subjects FROM ticket_stats",
    "SELECT subject FROM subject_copy WHERE id = 1",
    "SELECT subject FROM mine",
    "SELECT subject FROM my_subjects",
]
COPY_SAFE = [
    "SELECT subject FROM ticket_copy WHERE account_id = $1",
    "SELECT subjects FROM empty_stats",
    "SELECT subject FROM emptied",
    "SELECT subject FROM my_view",  # a plain view reads under the reader's setting
]


def test_tables_a_query_filled_with_every_accounts_rows_are_reported(tmp_path: Path) -> None:
    policy = _policy(tmp_path, SCHEMA + COPIES)
    for sql in COPY_LEAKS:
        assert _codes(sql, policy) == ["TG001"], sql
    for sql in COPY_SAFE:
        assert _codes(sql, policy) == [], sql
    from tenantguard.sources.schema.reading import SchemaInfo

    schema = SchemaInfo()
    schema.add_sql(SCHEMA + COPIES)
    assert SchemaInfo.from_json(json.loads(json.dumps(schema.to_json()))).filled == schema.filled


async def test_the_copies_hold_account_2s_rows_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        await conn.execute("SET app.tenant_id = '2'")  # the migration's session, say
        await conn.execute(COPIES)
        await conn.execute("RESET app.tenant_id")
        for sql in COPY_LEAKS:
            rows = [str(r[0]) for r in await conn.fetch(sql)]
            assert any("VICTIM" in r for r in rows), (sql, rows)
        await conn.execute("SET app.tenant_id = '1'")  # the request's session
        for sql in COPY_SAFE:
            rows = [str(r[0]) for r in await conn.fetch(sql, *([1] if "$1" in sql else []))]
            assert not any("VICTIM" in r for r in rows), (sql, rows)
        assert [r[0] for r in await conn.fetch("SELECT subject FROM my_view")] == ["own"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 6: a parameter typed by a
# catalog's column. PostgreSQL types `$1` once for the statement: compared with a catalog column
# of type "char" (pg_class.relkind: one byte) or name (pg_namespace.nspname: 63 bytes), or with
# a name-valued function (`current_user`), it is that type everywhere, and `w.account_id = $1`
# compares the cut value. The text tenant column of webhooks holds '2' and a 63-letter id;
# '2nd-tenant' and that id with a letter more read those rows. The catalogs' columns are in no
# schema source: the proof now holds those of a lossy type (and those functions) lossy.
LONG_ID = "n" * 63
CATALOG_TYPED = [
    (
        "SELECT url FROM webhooks w WHERE EXISTS (SELECT 1 FROM pg_class c "
        "WHERE c.relkind = $1 OR true) AND w.account_id = $1",
        "2nd-tenant",
    ),
    (
        "SELECT url FROM webhooks w WHERE EXISTS (SELECT 1 FROM pg_namespace n "
        "WHERE n.nspname = $1 OR true) AND w.account_id = $1",
        LONG_ID + "x",
    ),
    (
        "SELECT url FROM webhooks w WHERE ($1 = current_user OR true) AND w.account_id = $1",
        LONG_ID + "x",
    ),
]
# another parameter compared with the catalog: the tenant's own stays exact
CATALOG_SAFE = (
    "SELECT url FROM webhooks w WHERE w.account_id = $1 AND EXISTS (SELECT 1 FROM pg_class c "
    "WHERE c.relkind = $2 OR true) AND current_user IS NOT NULL"
)


def test_a_parameter_typed_by_a_catalog_column_pins_nothing(tmp_path: Path) -> None:
    policy = _policy(tmp_path, SCHEMA)
    for sql, _ in CATALOG_TYPED:
        assert _codes(sql, policy) == ["TG001"], sql
    assert _codes(CATALOG_SAFE, policy) == []


async def test_the_cut_parameter_reads_another_tenant_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        await conn.execute(f"INSERT INTO webhooks VALUES (3, '{LONG_ID}', 'VICTIM long')")
        for number, (sql, own) in enumerate(CATALOG_TYPED):
            # sent as text, as most drivers send a string (asyncpg wants bytes for "char")
            await conn.execute(f"PREPARE typed{number} AS {sql}")
            rows = [r[0] for r in await conn.fetch(f"EXECUTE typed{number}('{own}')")]
            assert rows and all(r.startswith("VICTIM") for r in rows), (sql, rows)
        await conn.execute(f"PREPARE safe AS {CATALOG_SAFE}")
        assert [r[0] for r in await conn.fetch("EXECUTE safe('1', 'r')")] == ["own"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 5/7: a column's default.
# An INSERT that leaves a column out (or writes DEFAULT, or DEFAULT VALUES), an UPDATE that sets
# it to DEFAULT, a MERGE's INSERT, evaluate its default (its domain's, when it has none of its
# own): one calling a schema function that reads every account's subjects copies them into the
# row written, and RETURNING hands them out.
DEFAULTS = """
CREATE FUNCTION all_subjects() RETURNS text LANGUAGE sql STABLE
    AS $f$ SELECT string_agg(subject, ',' ORDER BY subject) FROM tickets $f$;
CREATE TABLE drafts (id bigint PRIMARY KEY, body text DEFAULT all_subjects(),
    made timestamptz DEFAULT now());
CREATE TABLE memos (id bigint PRIMARY KEY, body text);
ALTER TABLE memos ALTER COLUMN body SET DEFAULT upper(all_subjects());
CREATE TABLE scraps (note text DEFAULT all_subjects());
CREATE DOMAIN filled AS text;
ALTER DOMAIN filled SET DEFAULT all_subjects();
CREATE TABLE sheets (id bigint, body filled);
CREATE TABLE own_drafts (id bigint, account_id bigint NOT NULL
    DEFAULT current_setting('app.tenant_id')::bigint, body text DEFAULT 'empty');
"""
DEFAULT_LEAKS = [
    "INSERT INTO drafts (id) VALUES ($1) RETURNING body",
    "INSERT INTO drafts (id, body) VALUES ($1, DEFAULT) RETURNING body",
    "INSERT INTO drafts VALUES ($1) RETURNING body",
    "INSERT INTO memos (id) VALUES ($1) RETURNING body",
    "INSERT INTO scraps DEFAULT VALUES RETURNING note",
    "INSERT INTO sheets (id) VALUES ($1) RETURNING body",  # its domain's default
    "UPDATE drafts SET body = DEFAULT WHERE id = $1 RETURNING body",
    "MERGE INTO drafts d USING (SELECT $1::bigint AS id) s ON d.id = s.id "
    "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
]
DEFAULT_SAFE = [
    "INSERT INTO drafts (id, body) VALUES ($1, 'mine') RETURNING body",
    "INSERT INTO drafts VALUES ($1, 'mine', now()) RETURNING body",
    "UPDATE drafts SET body = 'mine' WHERE id = $1 RETURNING body",
    "INSERT INTO own_drafts (id) VALUES ($1) RETURNING body",
]


def test_a_write_evaluating_a_default_that_reads_every_account_is_reported(
    tmp_path: Path,
) -> None:
    policy = _policy(tmp_path, SCHEMA + DEFAULTS)
    for sql in DEFAULT_LEAKS:
        assert _codes(sql, policy) == ["TG005"], sql
    for sql in DEFAULT_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_defaults_copy_account_2s_rows_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA + DEFAULTS)
        for sql in [*DEFAULT_LEAKS, *DEFAULT_SAFE]:
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute("SET LOCAL app.tenant_id = '1'")
                await conn.execute("INSERT INTO drafts (id, body) VALUES (7, 'mine')")
                args = [7 if "UPDATE" in sql else 8] if "$1" in sql else []
                returned = [str(r[0]) for r in await conn.fetch(sql, *args)]
                written = [
                    str(r[0])
                    for r in await conn.fetch(
                        "SELECT body FROM drafts UNION ALL SELECT body FROM memos "
                        "UNION ALL SELECT body FROM own_drafts UNION ALL SELECT note FROM scraps "
                        "UNION ALL SELECT body FROM sheets"
                    )
                ]
            finally:
                await transaction.rollback()
            leaked = any("VICTIM" in r for r in [*returned, *written])
            assert leaked == (sql in DEFAULT_LEAKS), (sql, returned, written)
    finally:
        await conn.close()
