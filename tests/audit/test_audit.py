"""`tenantguard audit` on a real PostgreSQL with pg_stat_statements.

Each catalog rule has databases that break it and databases that do not (a clean base plus one
change each); where a rule's finding is a leak, the leak is shown on the server with rows. The
traffic is a workload sent through plain asyncpg, some statements leaky and some fine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import rls_policy_sql
from tests.conftest import cluster_directory

APP = "tg_app"  # the application's role: no superuser, no BYPASSRLS, owns nothing
ISOLATED = ["--isolated"]  # no configuration file: the catalog alone says what is a tenant table

BASE = f"""
CREATE EXTENSION pg_stat_statements;
CREATE TABLE tenants (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE patients (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    name text NOT NULL,
    dni text,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, dni)
);
CREATE TABLE appointments (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    patient_id bigint NOT NULL,
    starts_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
INSERT INTO tenants (id, name) VALUES (1, 'North'), (2, 'South');
INSERT INTO patients (id, tenant_id, name, dni) VALUES (1, 1, 'Ana', '111'), (2, 2, 'Carla', '222');
SELECT setval('patients_id_seq', 2);
INSERT INTO appointments (tenant_id, patient_id) VALUES (1, 1), (2, 2);
{rls_policy_sql(["patients", "appointments"])}
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP};
"""


RESET = (
    "SELECT pg_stat_statements_reset(0::oid, "
    "(SELECT oid FROM pg_database WHERE datname = current_database()), 0::bigint)"
)


def tenant_table(name: str, *, index: bool = True, fk: str = "", nullable: bool = False) -> str:
    """A third tenant table, compliant unless told otherwise."""
    null = "" if nullable else " NOT NULL"
    key = ",\n    UNIQUE (tenant_id, id)" if index else ""
    return f"""
CREATE TABLE {name} (
    id bigserial PRIMARY KEY,
    tenant_id bigint{null} REFERENCES tenants (id),
    patient_id bigint,
    body text{key}{fk}
);
{rls_policy_sql([name])}
GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {APP};
GRANT USAGE ON SEQUENCE {name}_id_seq TO {APP};
"""


@dataclass
class Server:
    postgres: ThrowawayPostgres
    numbers: Iterator[int]

    def dsn(self, database: str, user: str = "postgres") -> str:
        return self.postgres.dsn_for(database, user)

    def database(self, sql: str = "") -> str:
        """A copy of the base database, then `sql` (as the superuser); its name."""
        name = f"a{next(self.numbers)}"
        run(self._create(name, sql))
        return name

    async def _create(self, name: str, sql: str) -> None:
        admin = await asyncpg.connect(self.postgres.dsn)
        try:
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE audit_base")
        finally:
            await admin.close()
        if sql:
            await execute(self.dsn(name), sql)
        # what the test set up is not the traffic under audit
        conn = await asyncpg.connect(self.dsn(name))
        try:
            if await conn.fetchval(
                "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"
            ):
                await conn.execute(RESET)
        finally:
            await conn.close()


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


async def execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def rows_as(
    dsn: str, sql: str, *args: object, tenant: int | None = 1
) -> list[tuple[object, ...]]:
    """The rows a statement returns on a connection of the application, for `tenant`."""
    conn = await asyncpg.connect(dsn)
    try:
        if tenant is not None:
            await conn.execute(f"SET app.tenant_id = '{tenant}'")
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    postgres = ThrowawayPostgres(
        directory=cluster_directory(),
        settings={
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.max": "10000",
            "log_statement": "all",
            "logging_collector": "on",
            "log_destination": "csvlog,jsonlog",
            "log_directory": "log",
            "lc_messages": "C",
        },
    )
    postgres.start()
    try:
        run(execute(postgres.dsn, f"CREATE ROLE {APP} LOGIN"))
        run(execute(postgres.dsn, "CREATE DATABASE audit_base"))
        run(execute(postgres.dsn_for("audit_base"), BASE))
        yield Server(postgres, itertools.count(1))
    finally:
        postgres.stop()


def audit(
    capsys: pytest.CaptureFixture[str], dsn: str, *flags: str
) -> tuple[int, list[dict[str, object]], str]:
    code = main(["audit", "--dsn", dsn, "--format", "json", *ISOLATED, *flags])
    out, err = capsys.readouterr()
    findings = json.loads(out)["findings"] if out.strip().startswith("{") else []
    return code, findings, err


def codes(findings: list[dict[str, object]]) -> set[tuple[object, object]]:
    return {(f["rule"], f["path"]) for f in findings}


# ---------------------------------------------------------------- the clean base


def test_the_clean_base_passes_for_the_application_role(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert (code, findings) == (0, []), err
    # and it is clean for a reason: the application's role sees its own clinic only
    assert run(rows_as(server.dsn(name, APP), "SELECT name FROM patients")) == [("Ana",)]
    assert run(rows_as(server.dsn(name, APP), "SELECT name FROM patients", tenant=None)) == []


def test_the_connecting_superuser_is_reported_by_default(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    code, findings, _ = audit(capsys, server.dsn(name))
    assert code == 1
    assert codes(findings) == {("TG206", f"db:{name}")}
    assert "postgres is a superuser" in str(findings[0]["message"])


# ---------------------------------------------------------------- catalog rules


@dataclass(frozen=True)
class Case:
    id: str
    sql: str
    expected: set[tuple[str, str]]  # (rule, path) of every finding: no more, no less
    role: str = APP


def _roles(suffix: str, *statements: str) -> str:
    return "".join(s.format(r=f"tg_{suffix}") + ";\n" for s in statements)


BREAKING = [
    Case(
        "TG201",
        "ALTER TABLE appointments DISABLE ROW LEVEL SECURITY",
        {("TG201", "db:public.appointments")},
    ),
    Case(
        "TG201-partition",
        """
        CREATE TABLE events (tenant_id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE INDEX ON events (tenant_id, at);
        CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        """
        + rls_policy_sql(["events"]),
        {("TG201", "db:public.events_2026"), ("TG203", "db:public.events_2026")},
    ),
    Case(
        "TG202",
        "ALTER TABLE patients NO FORCE ROW LEVEL SECURITY",
        {("TG202", "db:public.patients")},
    ),
    Case("TG203", "DROP POLICY tenant_isolation ON patients", {("TG203", "db:public.patients")}),
    Case(
        "TG203-other-role",
        _roles("t203", "CREATE ROLE {r}") + "DROP POLICY tenant_isolation ON patients;"
        "CREATE POLICY tenant_isolation ON patients TO tg_t203 "
        "USING (tenant_id = current_setting('app.tenant_id')::bigint)",
        {("TG203", "db:public.patients")},
    ),
    Case(
        "TG203-another-setting",
        "DROP POLICY tenant_isolation ON patients;"
        "CREATE POLICY by_user ON patients USING (tenant_id = current_setting('app.user_id')::bigint)",
        {("TG203", "db:public.patients"), ("TG204", "db:public.patients")},
    ),
    Case(
        "TG204-true",
        "CREATE POLICY reporting ON patients FOR SELECT USING (true)",
        {("TG204", "db:public.patients")},
    ),
    Case(
        "TG204-fixed",
        "CREATE POLICY clinic_one ON patients USING (tenant_id = 1)",
        {("TG204", "db:public.patients")},
    ),
    Case(  # the policy is for a group the audited role belongs to
        "TG204-through-membership",
        "CREATE ROLE tg_r204 LOGIN; CREATE ROLE tg_g204; GRANT tg_g204 TO tg_r204;"
        "CREATE POLICY reporting ON patients FOR SELECT TO tg_g204 USING (true)",
        {("TG204", "db:public.patients")},
        role="tg_r204",
    ),
    Case(
        "TG204-insert",
        "CREATE POLICY import ON appointments FOR INSERT WITH CHECK (true)",
        {("TG204", "db:public.appointments")},
    ),
    Case(
        "TG204-or",
        "CREATE POLICY mine_or_shared ON patients USING "
        "(tenant_id = current_setting('app.tenant_id')::bigint OR dni IS NULL)",
        {("TG204", "db:public.patients")},
    ),
    Case("TG205", f"ALTER TABLE patients OWNER TO {APP}", {("TG205", "db:public.patients")}),
    Case(  # roles are the cluster's: the audited role of a membership case is its own
        "TG205-membership",
        "CREATE ROLE tg_r205 LOGIN; CREATE ROLE tg_o205; GRANT tg_o205 TO tg_r205;"
        "ALTER TABLE patients OWNER TO tg_o205",
        {("TG205", "db:public.patients")},
        role="tg_r205",
    ),
    Case(
        "TG206-bypassrls-membership",
        "CREATE ROLE tg_r206 LOGIN; CREATE ROLE tg_b206 BYPASSRLS; GRANT tg_b206 TO tg_r206",
        {("TG206", "db:{database}")},
        role="tg_r206",
    ),
    Case(
        "TG207",
        tenant_table("notes", fk=",\n    FOREIGN KEY (patient_id) REFERENCES patients (id)"),
        {("TG207", "db:public.notes")},
    ),
    Case(
        "TG207-nullable-match-simple",
        tenant_table(
            "notes",
            nullable=True,
            fk=",\n    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)",
        ),
        {("TG207", "db:public.notes"), ("TG209", "db:public.notes")},
    ),
    Case(
        "TG208",
        "CREATE UNIQUE INDEX patients_dni_key ON patients (dni)",
        {("TG208", "db:public.patients")},
    ),
    Case(
        "TG208-natural-primary-key",
        "CREATE TABLE codes (code text PRIMARY KEY, tenant_id bigint NOT NULL, UNIQUE (tenant_id, code));"
        + rls_policy_sql(["codes"]),
        {("TG208", "db:public.codes")},
    ),
    Case(
        "TG208-reason-missing",
        "CREATE UNIQUE INDEX patients_dni_key ON patients (dni);"
        "COMMENT ON INDEX patients_dni_key IS 'tenantguard: ignore[TG208]'",
        {("TG010", "db:public.patients")},
    ),
    Case(
        "TG011-unused",
        "COMMENT ON TABLE patients IS 'tenantguard: ignore[TG201] -- not needed'",
        {("TG011", "db:public.patients")},
    ),
    Case(
        "TG209",
        "ALTER TABLE patients ALTER COLUMN tenant_id DROP NOT NULL",
        {("TG209", "db:public.patients")},
    ),
    Case("TG210", tenant_table("notes", index=False), {("TG210", "db:public.notes")}),
    Case(
        "TG211",
        "CREATE VIEW upcoming AS SELECT a.id, p.name FROM appointments a JOIN patients p ON p.id = a.patient_id;"
        f"GRANT SELECT ON upcoming TO {APP}",
        {("TG211", "db:public.upcoming")},
    ),
    Case(
        "TG211-view-of-a-view",
        "CREATE VIEW named WITH (security_invoker) AS SELECT id, name FROM patients;"
        "CREATE VIEW names AS SELECT name FROM named",
        {("TG211", "db:public.names")},
    ),
    Case(
        "TG211-materialized",
        "CREATE MATERIALIZED VIEW counts AS SELECT tenant_id, count(*) FROM appointments GROUP BY 1",
        {("TG211", "db:public.counts")},
    ),
    Case(
        "TG212",
        "CREATE FUNCTION patient_by_dni(p_dni text) RETURNS SETOF patients LANGUAGE sql "
        "SECURITY DEFINER SET search_path = public, pg_temp "
        "AS $$ SELECT * FROM patients WHERE dni = p_dni $$",
        {("TG212", "db:public.patient_by_dni(text)")},
    ),
    Case(
        "TG212-pinned-by-its-argument",  # the caller names the clinic
        "CREATE FUNCTION patients_of(p_clinic bigint) RETURNS SETOF patients LANGUAGE sql "
        "SECURITY DEFINER SET search_path = public, pg_temp "
        "AS $$ SELECT * FROM patients WHERE tenant_id = p_clinic $$",
        {("TG212", "db:public.patients_of(bigint)")},
    ),
    Case(
        "TG212-pinned-by-a-parameter",
        "CREATE FUNCTION patients_of(bigint) RETURNS SETOF patients LANGUAGE sql "
        "SECURITY DEFINER SET search_path = public, pg_temp "
        "AS $$ SELECT * FROM patients WHERE tenant_id = $1 $$",
        {("TG212", "db:public.patients_of(bigint)")},
    ),
    Case(
        "TG212-dynamic",
        "CREATE FUNCTION count_of(p_table text) RETURNS bigint LANGUAGE plpgsql "
        "SECURITY DEFINER SET search_path = public, pg_temp AS $$ DECLARE n bigint; "
        "BEGIN EXECUTE format('SELECT count(*) FROM %I', p_table) INTO n; RETURN n; END $$",
        {("TG212", "db:public.count_of(text)")},
    ),
    Case(
        "TG213",
        "CREATE FUNCTION now_utc() RETURNS timestamptz LANGUAGE sql SECURITY DEFINER "
        "AS $$ SELECT now() $$",
        {("TG213", "db:public.now_utc()")},
    ),
    Case(
        "TG213-no-pg_temp",
        "CREATE FUNCTION now_utc() RETURNS timestamptz LANGUAGE sql SECURITY DEFINER "
        "SET search_path = public AS $$ SELECT now() $$",
        {("TG213", "db:public.now_utc()")},
    ),
    Case("TG214", "GRANT SELECT ON patients TO PUBLIC", {("TG214", "db:public.patients")}),
    Case(
        "TG214-column",
        "GRANT SELECT (name) ON patients TO PUBLIC",
        {("TG214", "db:public.patients")},
    ),
    Case(
        "TG216",
        "CREATE RULE appointments_move AS ON UPDATE TO appointments "
        "DO INSTEAD UPDATE patients SET name = NEW.tenant_id::text",
        {("TG216", "db:public.appointments")},
    ),
    Case(
        "TG216-suppressed-without-reason",
        "CREATE TABLE inbox (id int, body text);"
        "CREATE RULE inbox_to AS ON INSERT TO inbox DO INSTEAD "
        "UPDATE patients SET name = NEW.body;"
        "COMMENT ON RULE inbox_to ON inbox IS 'tenantguard: ignore[TG216]'",
        {("TG010", "db:public.inbox")},  # accepted, but the comment must say why
    ),
]

PASSING = [
    Case(
        "rules-that-leave-tenant-rows-alone",
        "CREATE RULE appointments_keep AS ON DELETE TO appointments DO INSTEAD NOTHING;"
        "CREATE TABLE countries (code text PRIMARY KEY, name text);"
        "CREATE TABLE country_log (code text, name text);"
        "CREATE RULE countries_log AS ON UPDATE TO countries "
        "DO ALSO INSERT INTO country_log VALUES (NEW.code, NEW.name);"
        "CREATE TABLE inbox (id int, body text);"
        "CREATE RULE inbox_to AS ON INSERT TO inbox DO INSTEAD "
        "UPDATE patients SET name = NEW.body;"
        "COMMENT ON RULE inbox_to ON inbox IS "
        "'tenantguard: ignore[TG216] -- a maintenance table the application never writes'",
        set(),
    ),
    Case(
        "policy-without-nullif",
        "DROP POLICY tenant_isolation ON patients;"
        "CREATE POLICY t ON patients USING (tenant_id = current_setting('app.tenant_id')::bigint)",
        set(),
    ),
    Case(
        "policy-text-cast",
        "DROP POLICY tenant_isolation ON patients;"
        "CREATE POLICY t ON patients USING (tenant_id::text = current_setting('app.tenant_id', true))",
        set(),
    ),
    Case(
        "widening-policy-for-another-role",
        _roles("p1", "CREATE ROLE {r}")
        + "CREATE POLICY reporting ON patients FOR SELECT TO tg_p1 USING (true)",
        set(),
    ),
    Case(
        "widening-policy-under-a-restrictive-pin",
        "CREATE POLICY reporting ON patients FOR SELECT USING (true);"
        "CREATE POLICY pin ON patients AS RESTRICTIVE "
        "USING (tenant_id = current_setting('app.tenant_id')::bigint)",
        set(),
    ),
    Case(
        "select-only-policy",
        "DROP POLICY tenant_isolation ON patients;"
        "CREATE POLICY reads ON patients FOR SELECT USING (tenant_id = current_setting('app.tenant_id')::bigint)",
        set(),
    ),
    Case(
        "owned-by-another-role",
        _roles("p2", "CREATE ROLE {r}", "ALTER TABLE patients OWNER TO {r}"),
        set(),
    ),
    Case(
        "composite-foreign-key",
        tenant_table(
            "notes",
            fk=",\n    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)",
        ),
        set(),
    ),
    Case(
        "unique-with-tenant",
        "CREATE UNIQUE INDEX patients_name_key ON patients (tenant_id, lower(name))",
        set(),
    ),
    Case(
        "cross-tenant-key-with-a-reason",
        "CREATE UNIQUE INDEX patients_dni_key ON patients (dni);"
        "COMMENT ON INDEX patients_dni_key IS 'tenantguard: ignore[TG208] -- national id, unique by law'",
        set(),
    ),
    Case(
        "identity-key",
        "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "tenant_id bigint NOT NULL, UNIQUE (tenant_id, id));" + rls_policy_sql(["notes"]),
        set(),
    ),
    Case(
        "invoker-view",
        "CREATE VIEW upcoming WITH (security_invoker = on) AS "
        "SELECT a.id, p.name FROM appointments a JOIN patients p ON p.id = a.patient_id",
        set(),
    ),
    Case("view-of-a-global-table", "CREATE VIEW clinic_names AS SELECT name FROM tenants", set()),
    Case(
        "definer-pinned-by-the-setting",
        "CREATE FUNCTION patient_by_dni(p_dni text) RETURNS SETOF patients LANGUAGE sql "
        "SECURITY DEFINER SET search_path = public, pg_temp AS $$ SELECT * FROM patients "
        "WHERE tenant_id = current_setting('app.tenant_id')::bigint AND dni = p_dni $$",
        set(),
    ),
    Case(
        "invoker-function",
        "CREATE FUNCTION patient_by_dni(p_dni text) RETURNS SETOF patients LANGUAGE sql "
        "AS $$ SELECT * FROM patients WHERE dni = p_dni $$",
        set(),
    ),
    Case(
        "definer-with-search-path",
        "CREATE FUNCTION now_utc() RETURNS timestamptz LANGUAGE sql SECURITY DEFINER "
        "SET search_path = pg_catalog, pg_temp AS $$ SELECT now() $$",
        set(),
    ),
    Case("grant-to-the-application", f"GRANT SELECT ON tenants TO {APP}", set()),
    Case(
        "a-tenants-table-without-rls",
        "CREATE TABLE countries (code text PRIMARY KEY, name text)",
        set(),
    ),
]


@pytest.mark.parametrize("case", BREAKING, ids=[c.id for c in BREAKING])
def test_a_database_that_breaks_the_rule(
    case: Case, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database(case.sql)
    code, findings, err = audit(capsys, server.dsn(name), "--role", case.role)
    expected = {(rule, path.format(database=name)) for rule, path in case.expected}
    assert codes(findings) == expected, err
    errors = any(f["severity"] == "error" for f in findings)
    assert code == (1 if errors else 0)


@pytest.mark.parametrize("case", PASSING, ids=[c.id for c in PASSING])
def test_a_database_that_does_not(
    case: Case, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database(case.sql)
    code, findings, err = audit(capsys, server.dsn(name), "--role", case.role)
    assert (code, findings) == (0, []), err


def test_a_suppression_comment_is_said_on_standard_error(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database(
        "CREATE UNIQUE INDEX patients_dni_key ON patients (dni);"
        "COMMENT ON INDEX patients_dni_key IS 'tenantguard: ignore[TG208] -- national id'"
    )
    code, _, err = audit(capsys, server.dsn(name), "--role", APP)
    assert code == 0
    assert "1 finding accepted by suppression comments in the database" in err


# ---------------------------------------------------------------- what the rules stand for, in rows


@dataclass(frozen=True)
class Leak:
    """`probe`, sent by the application's role for clinic 1, returns clinic 2's rows once
    `sql` broke the database — and none on the clean base."""

    id: str
    sql: str
    probe: str
    user: str = APP


LEAKS = [
    Leak(
        "TG201",
        "ALTER TABLE patients DISABLE ROW LEVEL SECURITY",
        "SELECT name FROM patients WHERE tenant_id = 2",
    ),
    Leak(
        "TG202",
        "ALTER TABLE patients OWNER TO tg_owner202; ALTER TABLE patients NO FORCE ROW LEVEL SECURITY",
        "SELECT name FROM patients WHERE tenant_id = 2",
        user="tg_owner202",
    ),
    Leak(
        "TG204",
        "CREATE POLICY reporting ON patients FOR SELECT USING (true)",
        "SELECT name FROM patients WHERE tenant_id = 2",
    ),
    Leak(
        "TG205",
        f"ALTER TABLE patients OWNER TO {APP}",
        # the owner switches RLS off itself, then reads
        "SELECT name FROM patients WHERE tenant_id = 2",
    ),
    Leak(
        "TG211",
        "CREATE VIEW everyone AS SELECT tenant_id, name FROM patients;"
        f"GRANT SELECT ON everyone TO {APP}",
        "SELECT name FROM everyone WHERE tenant_id = 2",
    ),
    Leak(
        "TG212",
        "CREATE FUNCTION patient_by_dni(p_dni text) RETURNS SETOF patients LANGUAGE sql "
        "SECURITY DEFINER SET search_path = public, pg_temp "
        "AS $$ SELECT * FROM patients WHERE dni = p_dni $$",
        "SELECT name FROM patient_by_dni('222')",
    ),
]


@pytest.mark.parametrize("leak", LEAKS, ids=[leak.id for leak in LEAKS])
def test_each_finding_is_a_leak_on_the_server(
    leak: Leak, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        execute(
            server.postgres.dsn,
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE "
            "rolname = 'tg_owner202') THEN CREATE ROLE tg_owner202 LOGIN; END IF; END $$",
        )
    )
    clean = server.database()
    broken = server.database(leak.sql)
    probe = leak.probe
    if leak.id == "TG205":
        run(execute(server.dsn(broken, APP), "ALTER TABLE patients NO FORCE ROW LEVEL SECURITY"))
    if leak.id not in ("TG211", "TG212"):  # the others' probes read what the base has too
        assert run(rows_as(server.dsn(clean, APP), probe)) == []
    assert run(rows_as(server.dsn(broken, leak.user), probe)) == [("Carla",)]
    _, findings, _ = audit(capsys, server.dsn(broken), "--role", leak.user)
    assert leak.id in {f["rule"] for f in findings}


def test_a_foreign_key_without_the_tenant_lets_a_row_point_at_another_clinic(
    server: Server,
) -> None:
    broken = server.database(
        tenant_table("notes", fk=",\n    FOREIGN KEY (patient_id) REFERENCES patients (id)")
    )
    fine = server.database(
        tenant_table(
            "notes",
            fk=",\n    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)",
        )
    )
    insert = (
        "INSERT INTO notes (tenant_id, patient_id, body) VALUES (1, 2, 'x') RETURNING patient_id"
    )
    assert run(rows_as(server.dsn(broken, APP), insert)) == [(2,)]  # clinic 1 points at Carla
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        run(rows_as(server.dsn(fine, APP), insert))


def test_a_unique_key_without_the_tenant_answers_across_clinics(server: Server) -> None:
    broken = server.database("CREATE UNIQUE INDEX patients_dni_key ON patients (dni)")
    insert = "INSERT INTO patients (tenant_id, name, dni) VALUES (1, 'Probe', $1) RETURNING id"
    # clinic 1 learns that some clinic has a patient with DNI 222 …
    with pytest.raises(asyncpg.UniqueViolationError):
        run(rows_as(server.dsn(broken, APP), insert, "222"))
    # … which the clean base does not tell it
    assert len(run(rows_as(server.dsn(server.database(), APP), insert, "222"))) == 1  # type: ignore[arg-type]


# ---------------------------------------------------------------- traffic


async def workload(dsn: str) -> None:
    """The application, through plain asyncpg: fine statements and leaky ones."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET app.tenant_id = '1'")
        for _ in range(3):
            await conn.fetch(
                "SELECT name FROM patients WHERE tenant_id = $1 AND dni = $2", 1, "111"
            )
            await conn.fetch(
                "SELECT a.id, p.name FROM appointments a JOIN patients p "
                "ON p.tenant_id = a.tenant_id AND p.id = a.patient_id WHERE a.tenant_id = $1",
                1,
            )
        await conn.execute("INSERT INTO appointments (tenant_id, patient_id) VALUES ($1, $2)", 1, 1)
        for _ in range(5):  # leaky, the most called
            await conn.fetch("SELECT name FROM patients WHERE dni = $1", "111")
        for _ in range(2):  # leaky
            await conn.execute("UPDATE appointments SET starts_at = now() WHERE id = $1", 1)
        # leaky, but accepted in the code with a reason
        await conn.fetch(
            "SELECT count(*) FROM patients  -- tenantguard: ignore[TG001] -- a count, nothing more"
        )
    finally:
        await conn.close()


def test_traffic_findings_are_the_leaky_statements_ranked_by_calls(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    run(workload(server.dsn(name, APP)))
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert code == 1, err
    traffic = [f for f in findings if str(f["path"]).startswith("db:pg_stat_statements/")]
    assert [f["rule"] for f in traffic] == ["TG001", "TG001"]
    assert "SELECT name FROM patients WHERE dni = $1" in str(traffic[0]["message"])
    assert "5 calls" in str(traffic[0]["message"]) and f"by {APP}" in str(traffic[0]["message"])
    assert "UPDATE appointments SET starts_at = now() WHERE id = $1" in str(traffic[1]["message"])
    assert "2 calls" in str(traffic[1]["message"])
    # the queryid in the path finds the statement again
    queryid = int(str(traffic[0]["path"]).rsplit("/", 1)[1])
    found = run(
        rows_as(
            server.dsn(name),
            "SELECT query FROM pg_stat_statements WHERE queryid = $1",
            queryid,
            tenant=None,
        )
    )
    assert found == [("SELECT name FROM patients WHERE dni = $1",)]
    assert f"WHERE queryid = {queryid}" in str(traffic[0]["message"])
    assert (traffic[0]["line"], traffic[0]["column"]) == (1, 18)  # `patients` in the statement
    assert [f for f in findings if not str(f["path"]).startswith("db:pg_stat")] == []


def test_schema_changes_in_traffic_are_left_to_the_catalog(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    run(
        execute(
            server.dsn(name),
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
        )
    )
    for change in (
        "CREATE INDEX patients_name_idx ON patients (tenant_id, name)",
        "ALTER TABLE patients ADD COLUMN note text",
        "VACUUM patients",
    ):
        run(execute(server.dsn(name), change))
    code, findings, _ = audit(capsys, server.dsn(name), "--role", APP)
    assert (code, findings) == (0, [])
    # what a schema change reads is still traffic: a copy of every clinic's rows
    run(execute(server.dsn(name), "CREATE TABLE dump AS SELECT name FROM patients"))
    code, findings, _ = audit(capsys, server.dsn(name), "--role", APP)
    assert code == 1 and [f["rule"] for f in findings] == ["TG001"]


def test_an_audit_leaves_no_finding_in_the_next_audit(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    for _ in range(2):
        code, findings, _ = audit(capsys, server.dsn(name), "--role", APP)
        assert (code, findings) == (0, [])
    calls = run(
        rows_as(
            server.dsn(name),
            "SELECT count(*) FROM pg_stat_statements s JOIN pg_database d "
            "ON d.oid = s.dbid WHERE d.datname = current_database()",
            tenant=None,
        )
    )
    assert calls[0][0] > 10  # type: ignore[index]  (the audits' own statements were read)


def test_statements_other_roles_sent_that_the_auditor_cannot_read_are_not_passed(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    run(workload(server.dsn(name, APP)))
    run(execute(server.dsn(name), "SELECT count(*) FROM appointments"))  # as postgres
    code, findings, _ = audit(capsys, server.dsn(name, APP))  # the auditor: not a superuser
    unreadable = [f for f in findings if f["path"] == "db:pg_stat_statements"]
    assert code == 1 and len(unreadable) == 1 and unreadable[0]["rule"] == "TG006"
    assert "<insufficient privilege>" in str(unreadable[0]["message"])


def test_without_pg_stat_statements_the_catalog_is_audited_and_it_is_said(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database("DROP EXTENSION pg_stat_statements")
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert (code, findings) == (0, [])
    assert "pg_stat_statements is not installed in database" in err
    assert "--statements FILE" in err


def _log_file(server: Server, suffix: str, marker: str) -> Path:
    """The server's current log of this format, once the collector has written `marker`."""
    directory = server.postgres.directory / "data" / "log"
    deadline = time.monotonic() + 10
    while True:
        files = sorted(directory.glob(f"*.{suffix}"), key=lambda p: p.stat().st_mtime)
        if files and marker in files[-1].read_text(encoding="utf-8", errors="replace"):
            return files[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker} not in the server's .{suffix} log")
        time.sleep(0.05)


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_a_statement_log_is_read_like_pg_stat_statements(
    suffix: str, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database("DROP EXTENSION pg_stat_statements")
    run(workload(server.dsn(name, APP)))
    marker = f"SELECT 'end of {name}'"
    run(execute(server.dsn(name), marker))
    log = _log_file(server, suffix, marker)
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP, "--statements", str(log))
    assert code == 1, err
    assert [f["rule"] for f in findings] == ["TG001", "TG001"]
    first = findings[0]
    assert first["path"] == str(log) or str(first["path"]).endswith(log.name)
    assert "5 calls in the log" in str(first["message"])
    # its line is where the statement was first logged
    lines = log.read_text(encoding="utf-8").splitlines()
    assert "SELECT name FROM patients WHERE dni = $1" in lines[int(first["line"]) - 1]  # type: ignore[call-overload]
    assert "statements of other databases skipped" in err


def test_the_audit_reads_in_one_read_only_transaction(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    audit(capsys, server.dsn(name), "--role", APP)
    marker = f"SELECT 'after the audit of {name}'"
    run(execute(server.dsn(name), marker))
    log = _log_file(server, "json", marker)
    sent = []
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("dbname") == name and record.get("application_name") == "tenantguard audit":
            message = str(record.get("message", ""))
            if message.startswith(("statement: ", "execute ")):
                sent.append(message.split(": ", 1)[1].strip().split()[0].upper())
    assert sent[:2] == ["BEGIN", "SET"] and sent[-1] == "ROLLBACK"
    assert set(sent) <= {"BEGIN", "SET", "SELECT", "SAVEPOINT", "ROLLBACK"}
    text = log.read_text(encoding="utf-8")
    assert "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" in text


# ---------------------------------------------------------------- bad input


def test_no_database_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["audit"]) == 2
    assert "pass --dsn postgresql://… or set DATABASE_URL" in capsys.readouterr().err


def test_dsn_from_database_url(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    monkeypatch.setenv("DATABASE_URL", server.dsn(name))
    assert main(["audit", "--isolated", "--role", APP]) == 0
    assert f"No findings in database {name}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dsn", "mysql://x/y"], "the scheme is 'mysql'"),
        (
            ["--dsn", "postgresql://u:s3cret-pw@127.0.0.1:1/db"],
            "database postgresql://u:***@127.0.0.1:1/db",
        ),
        (["--dsn", "postgresql://127.0.0.1:1/db", "--jobs", "0"], "--jobs must be at least 1"),
        (
            ["--dsn", "postgresql://127.0.0.1:1/db", "--statements", "/nonexistent.csv"],
            "/nonexistent.csv: no such file",
        ),
    ],
)
def test_bad_input_is_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "s3cret-pw" not in err


def test_an_unknown_role_is_exit_2(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    name = server.database()
    assert main(["audit", "--dsn", server.dsn(name), "--role", "nobody_here"]) == 2
    assert "role nobody_here does not exist" in capsys.readouterr().err


def test_a_database_without_tenant_tables_is_exit_2(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    run(execute(server.postgres.dsn, "CREATE DATABASE empty_one"))
    assert main(["audit", "--dsn", server.dsn("empty_one"), *ISOLATED]) == 2
    assert "no tenant tables in database empty_one" in capsys.readouterr().err


def test_the_configurations_rule_selection_applies(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database(
        tenant_table("notes", index=False) + "ALTER TABLE patients DISABLE ROW LEVEL SECURITY"
    )
    code, findings, _ = audit(capsys, server.dsn(name), "--role", APP)
    assert codes(findings) == {("TG210", "db:public.notes"), ("TG201", "db:public.patients")}
    config = tmp_path / "tenantguard.toml"
    config.write_text(
        'ignore = ["TG210"]\nper_file_ignores = {"db:public.patients" = ["rls-disabled"]}\n'
    )
    code = main(["audit", "--dsn", server.dsn(name), "--role", APP, "--config", str(config)])
    assert code == 0
    assert capsys.readouterr().out.startswith(f"No findings in database {name} (3 tenant tables;")


def test_a_file_that_is_not_a_log_is_exit_2_at_its_place(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    bad = tmp_path / "server.json"
    bad.write_text(
        '{"message": "statement: SELECT 1", "error_severity": "LOG"}\n'
        '{"message": "statement: SELECT\n'
    )
    assert main(["audit", "--dsn", server.dsn(name), "--statements", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:13: not a jsonlog record: Unterminated string" in err, err


@pytest.mark.parametrize("fmt", ["text", "sarif", "github"])
def test_every_format_renders_audit_findings(
    fmt: str, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database("ALTER TABLE patients DISABLE ROW LEVEL SECURITY")
    code = main(["audit", "--dsn", server.dsn(name), "--role", APP, "--format", fmt, *ISOLATED])
    out = capsys.readouterr().out
    assert code == 1
    assert "TG201" in out
    if fmt == "text":
        assert out.startswith("db:public.patients:1:1: TG201 Row-Level Security is not enabled")
        assert f"Found 1 error and 0 warnings in database {name} (2 tenant tables; " in out
    if fmt == "sarif":
        assert json.loads(out)["runs"][0]["results"][0]["ruleId"] == "TG201"
    if fmt == "github":
        assert out.startswith("::error file=db%3Apublic.patients,line=1,")


# ---------------------------------------------------------------- the shipped pipeline

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("source", ["patches", "baseline"])
def test_the_dentalogic_schema_passes_its_own_audit(
    source: str, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Built by the patch pipeline or loaded from the baseline, served to a clinic application
    role: no finding, and RLS keeps each clinic to its rows."""
    from tenantguard.patches.runner import apply_patches
    from tenantguard.runtime import connect, tenant

    name = f"dentalogic_{source}"
    app = f"clinic_{source}"
    run(execute(server.postgres.dsn, f"CREATE DATABASE {name}"))
    dsn = server.dsn(name)

    async def build() -> None:
        if source == "patches":
            await apply_patches(dsn, REPO / "patches")
        else:
            await execute(dsn, (REPO / "db" / "init" / "dentalogic_schema.sql").read_text())
        await execute(
            dsn,
            f"""
            CREATE EXTENSION pg_stat_statements;
            CREATE ROLE {app} LOGIN;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app};
            INSERT INTO tenants (id, name) VALUES (1, 'North'), (2, 'South');
            INSERT INTO patients (tenant_id, first_name, phone_number)
                VALUES (1, 'Ana', '111'), (2, 'Carla', '221');
            {RESET};
            """,
        )

    async def serve() -> None:
        conn = await connect(server.dsn(name, app), policy=None, set_tenant_setting=True)
        try:
            with tenant(1):
                await conn.fetch("SELECT first_name FROM patients WHERE tenant_id = $1", 1)
                await conn.execute(
                    "INSERT INTO leads (tenant_id, external_id, name, source) "
                    "VALUES ($1, $2, $3, $4)",
                    1,
                    "wa-1",
                    "Ana",
                    "WhatsApp",
                )
                await conn.fetch(
                    "SELECT l.name, p.first_name FROM leads l LEFT JOIN patients p "
                    "ON p.tenant_id = l.tenant_id AND p.id = l.patient_id WHERE l.tenant_id = $1",
                    1,
                )
        finally:
            await conn.close()

    async def contained() -> list[str]:
        """What the guard would block, RLS still contains."""
        plain = await asyncpg.connect(server.dsn(name, app))
        try:
            await plain.execute("SET app.tenant_id = '1'")
            seen = [r[0] for r in await plain.fetch("SELECT first_name FROM patients")]
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await plain.execute(
                    "INSERT INTO patients (tenant_id, first_name, phone_number) "
                    "VALUES (2, 'Intruder', '999')"
                )
            return seen
        finally:
            await plain.close()

    run(build())
    run(serve())
    code, findings, err = audit(capsys, dsn, "--role", app)
    assert (code, findings) == (0, []), err
    assert "1 finding accepted by suppression comments" in err  # the page key (TG208)
    # the repository's configuration (tenants is global) gives the same verdict
    assert main(["audit", "--dsn", dsn, "--role", app, "--format", "json"]) == 0
    capsys.readouterr()
    assert run(contained()) == ["Ana"]


def statements_flagged_tg001(capsys: pytest.CaptureFixture[str], dsn: str) -> list[str]:
    """The messages of audit's TG001 findings on the statements pg_stat_statements saw (the
    audit must exit 1)."""
    code, findings, err = audit(capsys, dsn, "--role", APP)
    assert code == 1, err
    return [
        str(f["message"])
        for f in findings
        if str(f["path"]).startswith("db:pg_stat_statements/") and f["rule"] == "TG001"
    ]


LOOSE = f"""
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN ci_slug AS text COLLATE ci;
CREATE TABLE labels (id bigserial PRIMARY KEY, tenant_id ci_slug NOT NULL, body text);
CREATE TABLE tags (id bigserial PRIMARY KEY, tenant_id text NOT NULL, body text);
INSERT INTO labels (tenant_id, body) VALUES ('n1', 'own'), ('N1', 'VICTIM');
INSERT INTO tags (tenant_id, body) VALUES ('n1', 'own'), ('N1', 'other');
GRANT SELECT ON labels, tags TO {APP};
"""


def test_a_loose_tenant_column_of_the_catalog_pins_nothing(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tenant column whose `=` folds values (a nondeterministic collation, here through a
    domain) is read from the catalog as the schema reader reads it from files: `tenant_id = $1`
    on it is no pin (the server returns the other tenant's row), on an exact column it is."""
    name = server.database(LOOSE)
    query = "SELECT body FROM {} WHERE tenant_id = $1"
    assert run(rows_as(server.dsn(name), query.format("labels"), "n1", tenant=None)) == [
        ("own",),
        ("VICTIM",),
    ]

    async def traffic() -> None:
        conn = await asyncpg.connect(server.dsn(name, APP))
        try:
            await conn.fetch(query.format("labels"), "n1")
            await conn.fetch(query.format("tags"), "n1")
        finally:
            await conn.close()

    run(traffic())
    flagged = statements_flagged_tg001(capsys, server.dsn(name))
    assert any(query.format("labels") in m for m in flagged), flagged
    assert not any(query.format("tags") in m for m in flagged), flagged


LOSSY = f"""
CREATE DOMAIN rating AS real;
CREATE TABLE scores (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, score rating,
    body text);
INSERT INTO scores (tenant_id, score, body) VALUES (16777217, 1, 'own'), (16777216, 1, 'VICTIM');
GRANT SELECT ON scores TO {APP};
"""


def test_a_parameter_typed_by_a_lossy_column_of_the_catalog_pins_nothing(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """A column of a rounding type (here real, through a domain) is read from the catalog as
    the schema reader reads it from files: `score < $1` types $1 real for the statement, and
    `tenant_id = $1` then reads the tenant float4 rounds 16777217 to (the server's rows)."""
    name = server.database(LOSSY)
    leak = "SELECT body FROM scores WHERE score < $1 AND tenant_id = $1"
    twin = "SELECT body FROM scores WHERE score < $2 AND tenant_id = $1"
    assert run(rows_as(server.dsn(name), leak, 16777217, tenant=None)) == [("VICTIM",)]

    async def traffic() -> None:
        conn = await asyncpg.connect(server.dsn(name, APP))
        try:
            await conn.fetch(leak, 16777217)
            assert [r[0] for r in await conn.fetch(twin, 16777217, 5)] == ["own"]
        finally:
            await conn.close()

    run(traffic())
    flagged = statements_flagged_tg001(capsys, server.dsn(name))
    assert any(leak in m for m in flagged), flagged
    assert not any(twin in m for m in flagged), flagged
