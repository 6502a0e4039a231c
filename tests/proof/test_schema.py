"""The schema reader: every DDL form PostgreSQL accepts, read with its own parser (pglast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard import Policy
from tenantguard.config import Settings, build_policy
from tenantguard.engine.analyze import analyze_statement
from tenantguard.sources.schema.reading import SchemaInfo, read_schema


def schema_of(*texts: str) -> SchemaInfo:
    schema = SchemaInfo()
    for number, text in enumerate(texts, 1):
        schema.add_sql(text, f"{number:04d}.sql")
    return schema


def tenant_tables(*texts: str) -> set[str]:
    return schema_of(*texts).tables_with("tenant_id")


BASE = "CREATE TABLE patients (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, name text);\n"


@pytest.mark.parametrize(
    ("ddl", "table"),
    [
        ("CREATE TABLE p_1 PARTITION OF patients FOR VALUES IN (1);", "p_1"),
        ("CREATE TABLE p_copy (LIKE patients INCLUDING ALL);", "p_copy"),
        ("CREATE TABLE p_child (extra int) INHERITS (patients);", "p_child"),
        ("CREATE TABLE p_as AS SELECT * FROM patients;", "p_as"),
        ("CREATE TABLE p_named AS SELECT id, tenant_id FROM patients WHERE false;", "p_named"),
        ("CREATE TABLE p_cols (a, tenant_id) AS SELECT 1, 2;", "p_cols"),
        ('CREATE TABLE "AuditLog" (id int, tenant_id bigint);', "AuditLog"),
        ("CREATE TABLE tagged (tenant_id bigint, tags BIGINT ARRAY, ids int[]);", "tagged"),
        ("CREATE UNLOGGED TABLE IF NOT EXISTS u (tenant_id bigint);", "u"),
        ("CREATE SCHEMA app CREATE TABLE in_schema (tenant_id bigint);", "in_schema"),
        ("DO $$ BEGIN EXECUTE 'CREATE TABLE dyn (tenant_id bigint)'; END $$;", "dyn"),
        ("DO $$ BEGIN CREATE TABLE IF NOT EXISTS stat (tenant_id bigint); END $$;", "stat"),
    ],
)
def test_every_form_of_create_table_is_read(ddl: str, table: str) -> None:
    assert table in tenant_tables(BASE, ddl)


def test_quoted_names_keep_their_case() -> None:
    found = tenant_tables('CREATE TABLE "AuditLog" (tenant_id int); CREATE TABLE auditlog (x int);')
    assert "AuditLog" in found and "auditlog" not in found


def test_renames_move_tables_and_columns() -> None:
    found = tenant_tables(
        "CREATE TABLE a (owner bigint); CREATE TABLE b (tenant_id bigint);",
        "ALTER TABLE a RENAME COLUMN owner TO tenant_id; ALTER TABLE b RENAME TO c;",
    )
    assert found == {"a", "c"}
    dropped = tenant_tables(
        "CREATE TABLE a (tenant_id bigint);", "ALTER TABLE a DROP COLUMN tenant_id;"
    )
    assert dropped == set()


def test_drop_table_forgets_it() -> None:
    assert tenant_tables("CREATE TABLE a (tenant_id int);", "DROP TABLE IF EXISTS a;") == set()


def test_psql_meta_commands_are_skipped_and_the_rest_is_read() -> None:
    schema = schema_of(
        "\\set ON_ERROR_STOP on\n\\connect app\nCREATE TABLE a (tenant_id int);\n"
        "CREATE TABLE b (tenant_id int, note text DEFAULT :'greeting');\n"
    )
    assert schema.tables_with("tenant_id") == {"a", "b"} and schema.problems == []


def test_an_unreadable_statement_is_a_problem_and_fails_closed() -> None:
    schema = schema_of(
        "CREATE TABLE fine (tenant_id int);\n"
        "CREATE TABLE broken (tenant_id bigint, x int,);\n"
        "CREATE TABLE other (x int,);\n"
    )
    assert [(p.path, p.line, p.column) for p in schema.problems] == [
        ("0001.sql", 2, 46),
        ("0001.sql", 3, 27),
    ]
    # the table whose text holds the tenant column is a tenant table; the other is not
    assert schema.tables_with("tenant_id") == {"fine", "broken"}


def test_unique_keys_and_foreign_keys() -> None:
    schema = schema_of(
        "CREATE TABLE tenants (id bigserial PRIMARY KEY);\n"
        "CREATE TABLE patients (id bigserial PRIMARY KEY, tenant_id bigint REFERENCES tenants(id),"
        " UNIQUE (tenant_id, id));\n"
        "CREATE TABLE visits (id bigserial, tenant_id bigint NOT NULL REFERENCES tenants,"
        " patient_id bigint, FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id));\n"
        "CREATE TABLE late (tenant_id bigint, patient_id bigint);\n"
        "ALTER TABLE late ADD CONSTRAINT late_fk FOREIGN KEY (tenant_id, patient_id) "
        "REFERENCES patients (tenant_id, id) NOT VALID;\n"
        "CREATE TABLE deferred (tenant_id bigint, patient_id bigint, FOREIGN KEY (tenant_id,"
        " patient_id) REFERENCES patients (tenant_id, id) DEFERRABLE INITIALLY DEFERRED);\n"
        "CREATE UNIQUE INDEX v_ext ON visits (tenant_id, id);\n"
        "CREATE UNIQUE INDEX v_partial ON visits (id) WHERE tenant_id = 1;\n"
    )
    assert frozenset({"id"}) in schema.unique_keys["patients"]
    assert frozenset({"tenant_id", "id"}) in schema.unique_keys["visits"]
    assert frozenset({"id"}) not in schema.unique_keys["visits"]  # a partial index
    sound = schema.sound_foreign_keys()
    assert any(k.ref_table == "patients" for k in sound["visits"])
    assert "late" not in sound and "deferred" not in sound  # NOT VALID, deferrable
    assert schema.tenant_root("tenant_id") == ("tenants", "id")
    validated = schema_of(
        "CREATE TABLE patients (id int PRIMARY KEY, tenant_id int, UNIQUE (tenant_id, id));\n"
        "CREATE TABLE late (tenant_id int, patient_id int);\n"
        "ALTER TABLE late ADD CONSTRAINT late_fk FOREIGN KEY (tenant_id, patient_id) "
        "REFERENCES patients (tenant_id, id) NOT VALID;\n"
        "ALTER TABLE late VALIDATE CONSTRAINT late_fk;\n"
    )
    assert "late" in validated.sound_foreign_keys()


def test_no_root_when_the_tenant_column_references_two_tables() -> None:
    schema = schema_of(
        "CREATE TABLE orgs (id int PRIMARY KEY); CREATE TABLE accounts (id int PRIMARY KEY);\n"
        "CREATE TABLE a (tenant_id int REFERENCES orgs(id)); "
        "CREATE TABLE b (tenant_id int REFERENCES accounts(id));\n"
    )
    assert schema.tenant_root("tenant_id") is None


def test_sql_function_bodies_of_every_form() -> None:
    schema = schema_of(
        BASE,
        "CREATE FUNCTION n_of(p bigint) RETURNS bigint LANGUAGE sql "
        "RETURN (SELECT count(*) FROM patients WHERE tenant_id = p);\n"
        "CREATE FUNCTION all_of() RETURNS SETOF patients LANGUAGE sql "
        "BEGIN ATOMIC SELECT * FROM patients; END;\n",
    )
    assert set(schema.functions) == {"n_of", "all_of"}
    assert "patients" in schema.functions["all_of"].body[0]


def policy_for(tmp_path: Path, ddl: str, **settings: object) -> object:
    (tmp_path / "patches").mkdir(exist_ok=True)
    (tmp_path / "patches" / "0001.sql").write_text(ddl, encoding="utf-8")
    return build_policy(Settings(root=tmp_path, schema_paths=("patches",), **settings))  # type: ignore[arg-type]


SCHEMA = (
    "CREATE TABLE tenants (id bigserial PRIMARY KEY, name text);\n"
    "CREATE TABLE patients (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL "
    "REFERENCES tenants(id), name text, UNIQUE (tenant_id, id));\n"
    "CREATE TABLE visits (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES "
    "tenants(id), patient_id bigint, FOREIGN KEY (tenant_id, patient_id) REFERENCES "
    "patients (tenant_id, id));\n"
    "CREATE TABLE leads (id bigserial, tenant_id bigint NOT NULL REFERENCES tenants(id), "
    "external_id text, CONSTRAINT leads_tenant_external UNIQUE (tenant_id, external_id));\n"
)


def codes(sql: str, policy: object) -> list[str]:
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


def test_the_root_and_composite_keys_come_from_the_schema(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA)
    assert (
        codes(
            "SELECT * FROM tenants t JOIN patients p ON p.tenant_id = t.id WHERE t.id = $1", policy
        )
        == []
    )
    assert (
        codes(
            "SELECT * FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.tenant_id = $1",
            policy,
        )
        == []
    )
    # the other way round (round 30): visits' tenant column is NOT NULL, patients.id unique
    assert (
        codes(
            "SELECT * FROM patients p JOIN visits v ON v.patient_id = p.id WHERE p.tenant_id = $1",
            policy,
        )
        == []
    )
    assert codes(
        "SELECT * FROM patients p JOIN leads v ON v.id = p.id WHERE p.tenant_id = $1",
        policy,
    ) == ["TG001"]


def test_an_explicit_list_and_inference_give_the_same_verdicts(tmp_path: Path) -> None:
    inferred = policy_for(tmp_path, SCHEMA)
    listed = policy_for(
        tmp_path,
        SCHEMA,
        tenant_tables=("patients", "visits", "leads"),
        infer_tenant_tables=False,
    )
    statements = [
        "INSERT INTO leads (tenant_id, external_id) VALUES ($1, $2) ON CONFLICT ON CONSTRAINT "
        "leads_tenant_external DO UPDATE SET external_id = EXCLUDED.external_id",
        "SELECT * FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.tenant_id = $1",
        "SELECT * FROM patients p JOIN tenants t ON t.id = p.tenant_id WHERE tenant_id = $1",
        "SELECT * FROM patients NATURAL JOIN leads WHERE tenant_id = $1",
        "SELECT * FROM patients",
    ]
    for sql in statements:
        assert codes(sql, inferred) == codes(sql, listed), sql
    assert codes(statements[0], listed) == []


VIEWS = (
    SCHEMA
    + "CREATE VIEW named_patients AS SELECT id, tenant_id, name FROM patients WHERE name <> '';\n"
    "CREATE VIEW ranked AS SELECT tenant_id, name, rank() OVER (ORDER BY id) AS r FROM patients;\n"
    "CREATE VIEW per_tenant AS SELECT tenant_id, count(*) AS n FROM patients GROUP BY tenant_id;\n"
    "CREATE VIEW totals AS SELECT max(tenant_id) AS tenant_id, count(*) AS n FROM patients;\n"
    # the tenant column of a joined table, on a join that is not a tenant chain
    "CREATE VIEW borrowed AS SELECT l.tenant_id, p.name FROM patients p JOIN leads l "
    "ON l.external_id = p.name;\n"
    # through a composite foreign key the join is a tenant chain: pinnable from outside
    "CREATE VIEW visit_names AS SELECT v.tenant_id, p.name FROM visits v JOIN patients p "
    "ON p.id = v.patient_id;\n"
    "CREATE VIEW demo AS SELECT * FROM patients WHERE tenant_id = 7;\n"
    "CREATE VIEW mine AS SELECT * FROM patients "
    "WHERE tenant_id = current_setting('app.tenant_id')::bigint;\n"
    "CREATE FUNCTION patients_of(p_tenant bigint) RETURNS SETOF patients LANGUAGE sql "
    "AS $$ SELECT * FROM patients WHERE tenant_id = p_tenant $$;\n"
    "CREATE FUNCTION count_of(bigint) RETURNS bigint LANGUAGE sql "
    "AS $$ SELECT count(*) FROM patients WHERE tenant_id = $1 $$;\n"
    "CREATE FUNCTION demo_patients() RETURNS SETOF patients LANGUAGE sql "
    "AS $$ SELECT * FROM patients WHERE tenant_id = 7 $$;\n"
)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # a view that passes one table's tenant column through, row by row: pinned from outside
        ("SELECT * FROM named_patients WHERE tenant_id = $1", []),
        ("SELECT * FROM named_patients", ["TG001"]),
        # ranks, aggregates across tenants or takes the tenant column from a joined table:
        # never pinnable (grouped by the tenant column, each group is one tenant's)
        ("SELECT * FROM ranked WHERE tenant_id = $1", ["TG001"]),
        ("SELECT * FROM per_tenant WHERE tenant_id = $1", []),
        ("SELECT * FROM totals WHERE tenant_id = $1", ["TG001"]),
        ("SELECT * FROM borrowed WHERE tenant_id = $1", ["TG001"]),
        ("SELECT * FROM visit_names WHERE tenant_id = $1", []),
        # a view of one fixed tenant is that tenant for every reader
        ("SELECT * FROM demo", ["TG001"]),
        ("SELECT * FROM demo WHERE tenant_id = $1", ["TG001"]),
        ("SELECT * FROM mine", []),
        # functions pinned by a parameter: pinned by the argument given there
        ("SELECT * FROM patients_of($1)", []),
        ("SELECT * FROM tenants t, LATERAL patients_of(t.id) p", ["TG001"]),
        ("SELECT * FROM patients_of($1) WITH ORDINALITY AS x", []),
        ("SELECT t.id, count_of(t.id) FROM tenants t", ["TG001"]),
        ("SELECT count_of($1)", []),
        ("SELECT * FROM visits v WHERE v.tenant_id = $1 AND count_of(v.tenant_id) > 0", []),
        ("SELECT * FROM demo_patients()", ["TG001"]),
    ],
)
def test_views_and_functions_pin_only_as_their_bodies_allow(
    tmp_path: Path, sql: str, expected: list[str]
) -> None:
    assert codes(sql, policy_for(tmp_path, VIEWS)) == expected


def test_a_view_that_renames_the_tenant_column_says_so(tmp_path: Path) -> None:
    """`created_by AS admin_id` passes the tenant column through under another name: a pin on
    the new name is a pin (h33h; it was not, a false alarm); a view that renames it and cannot be
    pinned by the new name (it limits its rows) says why and what to do."""
    ddl = VIEWS + (
        "CREATE VIEW by_clinic AS SELECT p.id, p.tenant_id AS clinic_id, p.name "
        "FROM patients p;\n"
        "CREATE VIEW listed (id, clinic, name) AS SELECT id, tenant_id, name FROM patients;\n"
        "CREATE VIEW first_ten (id, clinic) AS SELECT id, tenant_id FROM patients LIMIT 10;\n"
    )
    policy = policy_for(tmp_path, ddl)
    for sql in (
        "SELECT * FROM by_clinic WHERE clinic_id = $1",
        "SELECT * FROM listed WHERE clinic = $1",
    ):
        assert analyze_statement(sql, policy).findings == (), sql  # type: ignore[arg-type]
    found = analyze_statement("SELECT * FROM first_ten WHERE clinic = $1", policy).findings  # type: ignore[arg-type]
    assert [f.code for f in found] == ["TG001"]
    assert "passes tenant_id through renamed clinic" in found[0].message, found[0].message
    # the generic reason stays for a view that aggregates across tenants
    found = analyze_statement("SELECT * FROM totals WHERE tenant_id = $1", policy).findings  # type: ignore[arg-type]
    assert "renamed" not in found[0].message


def test_read_schema_skips_missing_paths(tmp_path: Path) -> None:
    assert read_schema([tmp_path / "nowhere"]).files == []


def test_foreign_key_actions_say_what_a_write_reaches(tmp_path: Path) -> None:
    """ON DELETE / ON UPDATE actions of tenant tables' keys, in every spelling, reach the
    policy; keys of tables that are not tenant tables, and NO ACTION / RESTRICT, do not."""
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE tenants (id bigint PRIMARY KEY, name text);\n"
        "CREATE TABLE countries (code text PRIMARY KEY);\n"
        "CREATE TABLE plans (id int PRIMARY KEY);\n"
        "CREATE TABLE audit (id int, plan_id int REFERENCES plans ON DELETE CASCADE);\n"
        "CREATE TABLE patients (id bigint, tenant_id bigint REFERENCES tenants (id)\n"
        "    ON DELETE CASCADE, country text, plan_id int REFERENCES plans ON DELETE RESTRICT,\n"
        "    FOREIGN KEY (country) REFERENCES countries (code) ON UPDATE SET NULL);\n"
        "CREATE TABLE leads (tenant_id bigint);\n"
        "ALTER TABLE leads ADD CONSTRAINT leads_tenant FOREIGN KEY (tenant_id)\n"
        "    REFERENCES tenants ON UPDATE CASCADE ON DELETE SET DEFAULT;\n",
        encoding="utf-8",
    )
    schema = read_schema([tmp_path / "schema.sql"])
    assert SchemaInfo.from_json(schema.to_json()) == schema  # the schema cache keeps them
    policy = build_policy(Settings(root=tmp_path, schema_paths=("schema.sql",)))
    assert dict(policy.cascades) == {
        # REFERENCES tenants (the registry): leads' ON UPDATE CASCADE of the tenant column
        # carries the registry's key, reaching the written row's tenant's rows only (h42G);
        # its ON DELETE SET DEFAULT does not
        "tenants": {"DELETE": frozenset()},
        "countries": {"UPDATE": {"code"}},
    }

    def codes(sql: str) -> list[str]:
        return [f.code for f in analyze_statement(sql, policy).findings]

    assert codes("DELETE FROM tenants WHERE name = $1") == ["TG005"]
    # the registry's row of one tenant: leads' ON DELETE SET DEFAULT gives the deleted
    # tenant's leads the column's default (NULL here: every tenant's under shared_rows), as it
    # does from a tenant table (h42G: the registry is pinned by its key no more than one)
    assert codes("DELETE FROM tenants WHERE id = $1") == ["TG005"]
    assert codes("UPDATE tenants SET id = $2 WHERE id = $1") == []  # carried: CASCADE
    assert codes("UPDATE countries SET code = upper(code)") == ["TG005"]
    assert codes("DELETE FROM countries WHERE code = 'xx'") == []  # no ON DELETE action
    assert codes("DELETE FROM plans") == []  # RESTRICT, and audit is no tenant table


MIXED_CASE = (
    'CREATE TABLE "Leads" (id serial PRIMARY KEY, "userId" int NOT NULL, name text);\n'
    "CREATE TABLE notes (id serial PRIMARY KEY, body text);\n"
    # dynamic SQL names the table in a string: as an identifier (quoted) or as a value
    # (format's %I and quote_ident keep its case)
    'CREATE FUNCTION quoted_leads() RETURNS SETOF "Leads" LANGUAGE plpgsql AS $$ BEGIN '
    "RETURN QUERY EXECUTE 'SELECT * FROM \"Leads\"'; END $$;\n"
    'CREATE FUNCTION formatted_leads() RETURNS SETOF "Leads" LANGUAGE plpgsql AS $$ BEGIN '
    "RETURN QUERY EXECUTE format('SELECT * FROM %I', 'Leads'); END $$;\n"
    "CREATE FUNCTION identified_leads() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
    "BEGIN EXECUTE 'SELECT count(*) FROM ' || quote_ident('Leads') INTO n; RETURN n; END $$;\n"
    "CREATE FUNCTION note_count() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
    "BEGIN EXECUTE format('SELECT count(*) FROM %I', 'notes') INTO n; RETURN n; END $$;\n"
)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM quoted_leads()", ["TG001"]),
        ("SELECT * FROM formatted_leads()", ["TG001"]),
        ("SELECT identified_leads()", ["TG006"]),
        ("SELECT note_count()", []),
    ],
)
def test_dynamic_sql_naming_a_mixed_case_tenant_table(
    tmp_path: Path, sql: str, expected: list[str]
) -> None:
    """A function whose dynamic SQL names "Leads" in any spelling hands out every tenant's
    rows: its name inside a string is an identifier or a value given to %I / quote_ident."""
    policy = policy_for(tmp_path, MIXED_CASE, tenant_column='"userId"')
    assert codes(sql, policy) == expected


# every statement that creates a table is read, or is a problem at its file and line (issue 10,
# class 7; the account_id schema of the round-3 attack)

TYPES = (
    "CREATE TYPE acct_row AS (id bigint, tenant_id bigint, secret text);\n"
    "CREATE TYPE plain_row AS (id bigint, owner bigint);\n"
)
ITEMS = "CREATE TABLE items (tenant_id bigint, id bigint, label text);\n"


@pytest.mark.parametrize(
    ("ddl", "table"),
    [
        (TYPES + "CREATE TABLE typed OF acct_row;", "typed"),
        (TYPES + "CREATE TABLE typed OF acct_row (id WITH OPTIONS PRIMARY KEY);", "typed"),
        (
            TYPES + "CREATE TABLE typed_p OF acct_row PARTITION BY LIST (tenant_id);\n"
            "CREATE TABLE part PARTITION OF typed_p FOR VALUES IN (1);",
            "part",
        ),
        (
            TYPES + "CREATE TABLE late OF plain_row;\n"
            "ALTER TYPE plain_row ADD ATTRIBUTE tenant_id bigint CASCADE;",
            "late",
        ),
        (
            TYPES + "CREATE TABLE renamed OF plain_row;\n"
            "ALTER TYPE plain_row RENAME ATTRIBUTE owner TO tenant_id CASCADE;",
            "renamed",
        ),
        (ITEMS + "SELECT * INTO snap_into FROM items;", "snap_into"),
        (ITEMS + "SELECT * INTO TEMP snap_temp FROM items;", "snap_temp"),
        (
            ITEMS + "CREATE TABLE other (id bigint, note text);\n"
            "SELECT i.*, o.note INTO snap_join FROM items i JOIN other o USING (id);",
            "snap_join",
        ),
        (
            ITEMS + "SELECT * INTO snap_union FROM items UNION ALL SELECT * FROM items;",
            "snap_union",
        ),
        (
            ITEMS + "WITH c AS (SELECT * FROM items) SELECT * INTO snap_with FROM c;",
            "snap_with",
        ),
        (
            ITEMS + "CREATE TABLE other (id bigint, note text);\n"
            "CREATE TABLE joined AS SELECT * FROM items JOIN other USING (id);",
            "joined",
        ),
        (
            ITEMS + "PREPARE snapshot AS SELECT * FROM items;\n"
            "CREATE TABLE IF NOT EXISTS executed AS EXECUTE snapshot;",
            "executed",
        ),
        ("CREATE FOREIGN TABLE remote (tenant_id bigint) SERVER elsewhere;", "remote"),
        (
            "CREATE TABLE parent (id int, tenant_id bigint) PARTITION BY RANGE (id);\n"
            "CREATE FOREIGN TABLE far PARTITION OF parent FOR VALUES FROM (1) TO (9) SERVER s;",
            "far",
        ),
        (
            "CREATE TABLE parent (id int) PARTITION BY RANGE (id);\n"
            "CREATE TABLE child PARTITION OF parent FOR VALUES FROM (1) TO (10);\n"
            "ALTER TABLE parent ADD COLUMN tenant_id bigint;",
            "child",
        ),
        (
            "CREATE TABLE base (id int);\nCREATE TABLE heir (x int) INHERITS (base);\n"
            "ALTER TABLE base ADD COLUMN tenant_id bigint;",
            "heir",
        ),
        (
            "CREATE TABLE base (id int, owner bigint);\nCREATE TABLE heir () INHERITS (base);\n"
            "ALTER TABLE base RENAME COLUMN owner TO tenant_id;",
            "heir",
        ),
        ("CREATE UNLOGGED TABLE unlogged (tenant_id int);", "unlogged"),
        ("CREATE GLOBAL TEMPORARY TABLE temporary (tenant_id int);", "temporary"),
        ("DO $$ BEGIN CREATE FOREIGN TABLE dyn_far (tenant_id int) SERVER s; END $$;", "dyn_far"),
    ],
)
def test_every_statement_that_creates_a_table_is_read(ddl: str, table: str) -> None:
    schema = schema_of(ddl)
    assert table in schema.tables_with("tenant_id") and schema.problems == []


def test_a_composite_type_is_no_table() -> None:
    schema = schema_of(TYPES + "ALTER TYPE plain_row ADD ATTRIBUTE tenant_id bigint;\n")
    assert schema.tables_with("tenant_id") == set() and schema.columns == {}


@pytest.mark.parametrize(
    ("ddl", "line"),
    [
        ("IMPORT FOREIGN SCHEMA remote FROM SERVER elsewhere INTO public;", 2),
        ("CREATE TABLE IF NOT EXISTS unknown_exec AS EXECUTE nowhere(1);", 2),
        ("CREATE TABLE unknown_type OF nowhere_row;", 2),
    ],
)
def test_a_table_whose_columns_cannot_be_known_is_a_problem(ddl: str, line: int) -> None:
    """PostgreSQL's parser reads these, but the sources do not say the table's columns: an
    error at the statement's line, which a check of the file does not report itself."""
    schema = schema_of(ITEMS + ddl + "\n")
    assert [(p.path, p.line, p.column, p.parsed) for p in schema.problems] == [
        ("0001.sql", line, 1, True)
    ]
    assert "tenant_tables" in schema.problems[0].message


ACCOUNT_SCHEMA = (
    "CREATE TABLE accounts (id bigint PRIMARY KEY, name text);\n"
    'CREATE TABLE "Invoices" (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts (id)'
    " ON DELETE CASCADE ON UPDATE CASCADE, total numeric, memo text);\n"
    "CREATE TABLE items (account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,"
    " id bigint, label text, PRIMARY KEY (account_id, id));\n"
    "CREATE TYPE acct_row AS (id bigint, account_id bigint, secret text);\n"
    "CREATE TABLE typed OF acct_row;\n"
    "SELECT * INTO snap_into FROM items;\n"
    "CREATE TABLE arr (id bigint, account_id bigint, tags text ARRAY, body text);\n"
)


def test_inference_and_a_list_agree_on_the_attack_schema(tmp_path: Path) -> None:
    tables = ("Invoices", "items", "typed", "snap_into", "arr")
    inferred = policy_for(tmp_path, ACCOUNT_SCHEMA, tenant_column="account_id")
    listed = policy_for(
        tmp_path,
        ACCOUNT_SCHEMA,
        tenant_column="account_id",
        tenant_tables=tuple(f'"{t}"' for t in tables),
        infer_tenant_tables=False,
    )
    for table in ('"Invoices"', "items", "typed", "snap_into", "arr"):
        for sql in (f"SELECT * FROM {table}", f"SELECT * FROM {table} WHERE account_id = $1"):
            assert codes(sql, inferred) == codes(sql, listed), sql
        assert codes(f"SELECT * FROM {table}", inferred) == ["TG001"], table
        assert codes(f"SELECT * FROM {table} WHERE account_id = $1", inferred) == [], table


def test_a_checked_schema_file_reports_what_postgresql_cannot_read_or_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checking a schema file: DDL sqlglot fails on but PostgreSQL's parser reads (`bigint
    ARRAY` before another column) is no finding; DDL PostgreSQL rejects is TG006 at its line; a
    table whose columns the sources do not show is TG006 at its line, whether the file is
    checked or not."""
    import json

    from tenantguard.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\nschema_paths = ["db"]\ntenant_column = "account_id"\n',
        encoding="utf-8",
    )
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(
        "CREATE TABLE items (account_id bigint, id bigint);\n"
        "CREATE TABLE a4 (id bigint, account_id bigint, t bigint ARRAY, body text);\n"
        "CREATE TABLE arr (id bigint, account_id bigint, tags text ARRAY, body text);\n"
        "IMPORT FOREIGN SCHEMA remote FROM SERVER elsewhere INTO public;\n"
        "CREATE TABLE broken (account_id bigint, x int,, y int);\n",
        encoding="utf-8",
    )
    (tmp_path / "app.sql").write_text("SELECT * FROM a4 WHERE account_id = $1;\n", "utf-8")

    def found(*paths: str) -> list[tuple[str, int, str]]:
        main(["check", "--no-cache", "--format", "json", *paths])
        data = json.loads(capsys.readouterr().out)
        return sorted((f["path"], f["line"], f["rule"]) for f in data["findings"])

    expected = [("db/schema.sql", 4, "TG006"), ("db/schema.sql", 5, "TG006")]
    assert found("db") == expected
    assert found("app.sql") == expected
    assert found(".") == expected


# ---------------------------------------------------------------- functions in other languages
# PL/Python, PL/Perl, C: the proof cannot read their queries. One whose text names a tenant table
# hands out every tenant's rows (pinned only in FROM by its tenant column); any of them may change
# the tenant setting, so a statement calling one is not pinned by the tenant expression.
OTHER_LANGUAGES = """
CREATE TABLE tenants (id bigint PRIMARY KEY);
CREATE TABLE patients (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id),
    name text);
CREATE FUNCTION all_patients() RETURNS SETOF patients LANGUAGE plpython3u AS $$
return plpy.execute("SELECT * FROM patients")
$$;
CREATE FUNCTION shout(t text) RETURNS text LANGUAGE plpython3u AS $$ return t.upper() $$;
CREATE FUNCTION lib_f(int) RETURNS int LANGUAGE c AS 'mylib', 'lib_f';
CREATE FUNCTION quiet(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION on_write() RETURNS trigger LANGUAGE plpython3u AS $$ return None $$;
"""
SETTING = "current_setting('app.tenant_id')::bigint"


@pytest.mark.parametrize(
    ("sql", "codes"),
    [
        ("SELECT * FROM all_patients()", ["TG001"]),
        # its query is out of sight: whether its tenant_id is its rows' own cannot be shown
        ("SELECT * FROM all_patients() p WHERE p.tenant_id = $1", ["TG001"]),
        ("SELECT shout(name) FROM patients WHERE tenant_id = $1", []),
        (f"SELECT shout(name) FROM patients WHERE tenant_id = {SETTING}", ["TG001"]),
        (f"SELECT name FROM patients WHERE lib_f(1) = 1 AND tenant_id = {SETTING}", ["TG001"]),
        (f"SELECT quiet(name) FROM patients WHERE tenant_id = {SETTING}", []),  # SQL: read
        (f"SELECT name FROM patients WHERE tenant_id = {SETTING}", []),
    ],
)
def test_functions_in_other_languages_are_out_of_sight(
    tmp_path: Path, sql: str, codes: list[str]
) -> None:
    policy = policy_for(tmp_path, OTHER_LANGUAGES)
    assert isinstance(policy, Policy)
    assert [f.code for f in analyze_statement(sql, policy).findings] == codes


def test_undo_sections_of_a_migration_are_not_schema() -> None:
    text = (
        "-- migrate:up\nCREATE TABLE a (id int, tenant_id int);\n"
        "-- migrate:down\nDROP TABLE a;\n"
        "-- migrate:up\nCREATE TABLE b (id int, tenant_id int);\n"
        "-- +goose Down\nDROP TABLE b;\nCREATE TABLE c (id int, tenant_id int);\n"
        "-- +GOOSE UP\nCREATE TABLE d (id int, tenant_id int);\nDROP TABLE d;\n"
    )
    assert tenant_tables(text) == {"a", "b"}
    # the undo text is blanked, not cut: a problem after it keeps its line
    schema = schema_of("-- +goose Down\nDROP TABLE a;\n-- +goose Up\nCREATE TABLE;\n")
    assert [p.line for p in schema.problems] == [4]


@pytest.mark.parametrize(
    ("name", "undo"),
    [
        ("down.sql", True),
        ("000002_add_tags.down.sql", True),
        ("U3__drop_tags.sql", True),
        ("revert/tags.sql", True),
        ("up.sql", False),
        ("000002_add_tags.up.sql", False),
        ("V3__tags.sql", False),
        ("0004_lock_down.sql", False),
        ("slowdown.sql", False),
        ("deploy/tags.sql", False),
    ],
)
def test_undo_scripts_are_known_by_their_names(name: str, undo: bool) -> None:
    from tenantguard.sources.schema.texts import is_undo_script

    assert is_undo_script(Path("db") / name) is undo


# ---------------------------------------------------------------- alembic revisions in chain order
ADD_TENANT = '''"""add the tenant"""
from alembic import op
import sqlalchemy as sa

revision: str = "a9f0c1"
down_revision: str | None = "c3d2e1"


def upgrade() -> None:
    op.execute("ALTER TABLE notes RENAME COLUMN owner_id TO tenant_id")
'''
CREATE_NOTES = '''"""create notes"""
from alembic import op
import sqlalchemy as sa

revision = "c3d2e1"
down_revision = None


def upgrade():
    op.create_table(
        "notes",
        sa.Column("id", sa.BigInteger()),
        sa.Column("owner_id", sa.BigInteger()),
        sa.Column("body", sa.Text()),
    )
'''
MERGE_HEADS = """revision = "ffff00"
down_revision = ("a9f0c1", "0b1e2d")


def upgrade():
    op.execute("ALTER TABLE tags ADD COLUMN tenant_id bigint")
"""
CREATE_TAGS = """revision = "0b1e2d"
down_revision = "c3d2e1"


def upgrade():
    op.execute("CREATE TABLE tags (id bigint, name text)")
"""


def test_alembic_revisions_are_read_in_their_chain_order(tmp_path: Path) -> None:
    """Revision files are named by random ids: read by name, the RENAME of `owner_id` to the
    tenant column came before the CREATE TABLE, and `notes` was no tenant table (its queries
    passed unchecked)."""
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    (versions / "a9f0c1_add_tenant.py").write_text(ADD_TENANT, encoding="utf-8")
    (versions / "c3d2e1_create_notes.py").write_text(CREATE_NOTES, encoding="utf-8")
    (versions / "ffff00_merge.py").write_text(MERGE_HEADS, encoding="utf-8")
    (versions / "0b1e2d_create_tags.py").write_text(CREATE_TAGS, encoding="utf-8")
    policy = build_policy(Settings(root=tmp_path, schema_paths=("alembic/versions",)))
    assert [f.code for f in analyze_statement("SELECT * FROM notes", policy).findings] == ["TG001"]
    schema = read_schema([versions])
    assert schema.tables_with("tenant_id") == {"notes", "tags"}
    assert [f.name for f in schema.files] == [
        "c3d2e1_create_notes.py",
        "0b1e2d_create_tags.py",
        "a9f0c1_add_tenant.py",
        "ffff00_merge.py",
    ]
