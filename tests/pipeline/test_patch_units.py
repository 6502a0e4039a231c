"""Pure parts of the patch pipeline: DSNs, the run plan, statement cutting, dump normalisation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tenantguard.patches.dsn import Dsn
from tenantguard.patches.dump import (
    TableContents,
    baseline_text,
    contents_diff,
    schema_diff,
    schema_objects,
)
from tenantguard.patches.files import PatchError, PatchFile, PatchUsageError
from tenantguard.patches.runner import AppliedPatch, _plan
from tenantguard.patches.statements import (
    concurrent_index,
    relations,
    split_patch,
    transaction_control,
)

# ---------------------------------------------------------------- DSNs


@pytest.mark.parametrize(
    ("text", "shown", "url"),
    [
        (
            "postgresql://app:s3cr%40t@db.local:6432/crm?sslmode=require",
            "postgresql://app:***@db.local:6432/crm?sslmode=require",
            "postgresql://app:s3cr%40t@db.local:6432/crm?sslmode=require",
        ),
        (
            "postgres://app@db.local/crm?password=s3cret&application_name=api",
            "postgresql://app:***@db.local/crm?application_name=api",
            "postgresql://app:s3cret@db.local/crm?application_name=api",
        ),
        (
            r"host=db.local port=6432 dbname=crm user=app password='it\'s' sslmode=require",
            "host=db.local port=6432 dbname=crm user=app password=*** sslmode=require",
            None,
        ),
        (
            r"host=/var/run/postgresql dbname=crm user=app password='a \' b'",
            "host=/var/run/postgresql dbname=crm user=app password=***",
            "postgresql://app:a%20%27%20b@/crm?host=%2Fvar%2Frun%2Fpostgresql",
        ),
        (
            "postgresql://[::1]:5433/crm",
            "postgresql://[::1]:5433/crm",
            "postgresql://[::1]:5433/crm",
        ),
        (
            "postgresql://u@h1:5432,h2:5433/crm",
            "postgresql://u@h1:5432,h2:5433/crm",
            "postgresql://u@h1:5432,h2:5433/crm",
        ),
    ],
)
def test_dsn_forms(text: str, shown: str, url: str | None) -> None:
    dsn = Dsn.parse(text)
    assert str(dsn) == shown
    if url is not None:
        assert dsn.url() == url
    assert "s3c" not in str(dsn) and "it'" not in str(dsn)
    assert dict(Dsn.parse(dsn.url()).params) == dict(
        dsn.params
    )  # the URL asyncpg gets says the same


def test_keyword_dsn_quoting() -> None:
    dsn = Dsn.parse(r"user=app password='it\'s a \\ secret' dbname = crm")
    assert dsn.password == "it's a \\ secret"
    assert dsn.get("dbname") == "crm"
    assert dict(Dsn.parse(dsn.url()).params)["password"] == "it's a \\ secret"
    assert "password='it\\'s a \\\\ secret'" in dsn.keywords()
    assert "password" not in dsn.without_password().keywords()


def test_dsn_with_database_and_redaction() -> None:
    dsn = Dsn.parse("postgresql://app:hunter22@db/crm")
    scratch = dsn.with_database("tg_scratch_1_x_ab")
    assert scratch.url() == "postgresql://app:hunter22@db/tg_scratch_1_x_ab"
    assert dsn.redact("FATAL: password hunter22 rejected") == "FATAL: password *** rejected"
    assert (
        Dsn.parse("postgresql://app:ab@db/crm").redact("a table") == "a table"
    )  # too short to mask


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "it is empty"),
        ("mysql://u@h/db", "the scheme is 'mysql'"),
        ("just-a-name", "write postgresql://"),
        ("postgresql://u@h:99999/db", "port 99999 is not a port number"),
        ("host=h port=0", "port 0 is not a port number"),
        ("host=h password='open", "no closing quote"),
        ("host=h nonsense", "expected keyword=value"),
    ],
)
def test_malformed_dsns_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(PatchUsageError, match=message):
        Dsn.parse(text)


# ---------------------------------------------------------------- the plan


def patch(name: str, text: str = "SELECT 1;") -> PatchFile:
    return PatchFile(
        int(name.split("_")[0]),
        name,
        Path(name),
        text,
        hashlib.sha256(text.encode()).hexdigest(),
        True,
    )


def applied(p: PatchFile, name: str | None = None, checksum: str | None = None) -> AppliedPatch:
    row_name = name or p.name
    return AppliedPatch(row_name, checksum or p.checksum, None, 1.0, int(row_name.split("_")[0]))


def test_plan_sorts_files_against_the_ledger() -> None:
    a, b, c = patch("0001_a.sql", "A;"), patch("0002_b.sql", "B;"), patch("0005_c.sql", "C;")
    renamed, late = patch("0003_seed_clinic.sql", "SEED;"), patch("0004_late.sql", "LATE;")
    ledger = {
        "0001_a.sql": applied(a),
        "0002_b.sql": applied(b, checksum="edited"),
        "0003_seed.sql": applied(renamed, name="0003_seed.sql"),
        "0009_gone.sql": applied(patch("0009_gone.sql", "GONE;")),
    }
    plan = _plan([a, b, renamed, late, c], ledger)
    assert [p.name for p in plan.skipped] == ["0001_a.sql"]
    assert [(p.name, row.name) for p, row in plan.changed] == [("0002_b.sql", "0002_b.sql")]
    assert [(row.name, p.name) for row, p in plan.renamed] == [
        ("0003_seed.sql", "0003_seed_clinic.sql")
    ]
    assert [p.name for p in plan.pending] == ["0004_late.sql", "0005_c.sql"]
    assert [row.name for row in plan.missing] == ["0009_gone.sql"]
    assert [(p.name, top, n) for p, top, n in plan.out_of_order] == [
        ("0004_late.sql", "0009_gone.sql", 9),
        ("0005_c.sql", "0009_gone.sql", 9),
    ]


def test_plan_pairs_one_rename_per_ledger_row() -> None:
    one, two = patch("0001_x.sql", "SAME;"), patch("0002_y.sql", "SAME;")
    plan = _plan([one, two], {"0001_old.sql": applied(one, name="0001_old.sql")})
    assert [(row.name, p.name) for row, p in plan.renamed] == [("0001_old.sql", "0001_x.sql")]
    assert [p.name for p in plan.pending] == ["0002_y.sql"] and plan.out_of_order == []


def test_plan_a_copy_under_a_new_name_is_a_new_patch() -> None:
    one, copy = patch("0001_x.sql", "SAME;"), patch("0002_x_again.sql", "SAME;")
    plan = _plan([one, copy], {"0001_x.sql": applied(one)})
    assert plan.renamed == [] and [p.name for p in plan.pending] == ["0002_x_again.sql"]


# ---------------------------------------------------------------- statements


def test_statements_keep_their_text_and_position() -> None:
    text = (
        "-- Añadir: ñandú\n"
        "CREATE TABLE IF NOT EXISTS a (id int);  -- trailing\n"
        "\n"
        "  CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\n"
        "  BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "COMMIT;\n"
    )
    statements = split_patch(text, "0001_x.sql")
    assert [(s.line, s.column) for s in statements] == [(2, 1), (4, 3), (6, 1)]
    assert statements[0].text == "CREATE TABLE IF NOT EXISTS a (id int)"
    assert statements[1].text.endswith("SELECT 2; END")
    assert [transaction_control(s) for s in statements] == [None, None, "COMMIT"]


def test_server_positions_map_into_the_file() -> None:
    from tenantguard.engine.sqltext import LineIndex

    text = "SELECT 1;\n\nSELECT ñ,\n       nosuch\nFROM t;\n"
    statement = split_patch(text, "x.sql")[1]
    assert statement.position_of("18", LineIndex(text)) == (4, 8)  # PostgreSQL counts characters
    assert statement.position_of(None, LineIndex(text)) == (3, 1)
    assert statement.position_of("9999", LineIndex(text)) == (3, 1)


def test_a_syntax_error_is_reported_where_it_is() -> None:
    with pytest.raises(
        PatchError, match=r"^x\.sql:3:11: PostgreSQL cannot parse this: syntax error"
    ):
        split_patch("SELECT 1;\n-- é\nSELECT 1 +;\n", "x.sql")


def test_concurrent_index_and_relations() -> None:
    [index] = split_patch("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS k ON s.t (a);", "x.sql")
    assert concurrent_index(index) == ("s", "k")
    [plain] = split_patch("CREATE INDEX IF NOT EXISTS k ON t (a);", "x.sql")
    assert concurrent_index(plain) is None
    [alter] = split_patch(
        "ALTER TABLE patients ADD CONSTRAINT f FOREIGN KEY (tenant_id, lead_id) REFERENCES public.leads (tenant_id, id);",
        "x.sql",
    )
    assert relations(alter) == ["patients", "public.leads"]
    [block] = split_patch(
        "DO $$ BEGIN IF to_regclass('x') IS NULL THEN ALTER TABLE appointments ADD COLUMN x int; END IF; END $$;",
        "x.sql",
    )
    assert relations(block) == ["appointments"]


# ---------------------------------------------------------------- dumps

DUMP = """--
-- PostgreSQL database dump
--

\\restrict AbCdEf

-- Dumped from database version 15.18
-- Dumped by pg_dump version 15.18

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: t; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.t (
    id integer
);

--
-- Name: TABLE t; Type: ACL; Schema: public; Owner: -
--

GRANT ALL ON TABLE public.t TO PUBLIC;

--
-- PostgreSQL database dump complete
--

\\unrestrict AbCdEf

"""


def test_baseline_text_drops_what_changes_between_runs() -> None:
    text = baseline_text(DUMP, "-- header\n")
    assert text.startswith("-- header\n\nSET statement_timeout = 0;\n\n--\n-- Name: t; Type: TABLE")
    assert text.endswith("GRANT ALL ON TABLE public.t TO PUBLIC;\n")
    for gone in ("restrict", "Dumped", "set_config('search_path'", "dump complete"):
        assert gone not in text


def test_schema_objects_and_their_difference() -> None:
    objects = schema_objects(DUMP)
    assert objects == {
        "TABLE public.t": ["CREATE TABLE public.t (", "    id integer", ");"],
        "ACL public.TABLE t": ["GRANT ALL ON TABLE public.t TO PUBLIC;"],
    }
    other = dict(objects, **{"TABLE public.t": ["CREATE TABLE public.t (", "    id bigint", ");"]})
    del other["ACL public.TABLE t"]
    assert schema_diff(objects, other, "pipeline", "baseline") == (
        "ACL public.TABLE t: only in pipeline\n"
        "  - GRANT ALL ON TABLE public.t TO PUBLIC;\n"
        "TABLE public.t: differs (- pipeline, + baseline)\n"
        "  -     id integer\n"
        "  +     id bigint"
    )
    assert schema_diff(objects, objects, "a", "b") == ""


def test_contents_diff_names_tables_and_rows() -> None:
    one = {
        "public.c": TableContents(1, "aa", ("(1,x)",)),
        "public.same": TableContents(0, "zz", ()),
    }
    two = {
        "public.c": TableContents(2, "bb", ("(1,x)", "(2,x)")),
        "public.same": TableContents(0, "zz", ()),
    }
    assert (
        contents_diff(one, two, "once", "twice")
        == "table public.c: 1 row once, 2 rows twice\n  + (2,x)"
    )
    repeated = {"public.c": TableContents(2, "cc", ("(1,x)", "(1,x)"))}
    assert contents_diff(one, repeated, "once", "twice") == (
        "table public.c: 1 row once, 2 rows twice\n  (1,x) (1 -> 2)"
    )
