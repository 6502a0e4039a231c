"""A realistic corpus of application SQL over the Dentalogic schema, for the benchmarks.

Every statement's text is distinct (a running number in its literals), so no verdict is served
from the analyzer's per-text cache: each one is parsed and proven. The mix, by statement:

  46 %  short OLTP statements (look-ups, inserts, upserts, deletes; some leak);
  15 %  long statements: 20-40 output columns with CASE and functions, 8-16 AND-ed filters;
  12 %  CTE chains of 3 to 8 CTEs, each reading the one before, joined at the end;
  12 %  join chains of 4 to 10 tables pinned on the last table only (the pin travels back
        through the tenant equalities);
  14 %  DML: UPDATE ... FROM, DELETE ... USING, INSERT ... SELECT, upserts with RETURNING;
   1 %  derived tables nested 20 to 40 deep, pinned outside the outermost.

About one statement in twenty leaks (a findings path, as in a real tree). Files hold a header
comment and statements separated by blank lines, as written by hand.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["CONFIG", "generate_python", "generate_sql", "statements", "write_config"]

CONFIG = """[tool.tenantguard]
tenant_column = "tenant_id"
schema_paths = ["schema"]
global_tables = ["tenants"]
"""

SHORT = [
    "SELECT a.id, a.starts_at, p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id AND p.tenant_id = a.tenant_id WHERE a.tenant_id = $1 AND a.professional_id = {n} ORDER BY a.starts_at",
    "SELECT id, first_name, last_name FROM patients WHERE tenant_id = $1 AND dni = '{n}'",
    "SELECT p.id FROM patients p WHERE p.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.tenant_id = p.tenant_id AND a.patient_id = p.id AND a.starts_at > now() - interval '{n} days')",
    "WITH m AS (SELECT * FROM appointments WHERE tenant_id = $1 AND professional_id = {n}) SELECT pr.full_name, count(*) FROM m JOIN professionals pr ON pr.id = m.professional_id AND pr.tenant_id = m.tenant_id GROUP BY pr.full_name",
    "UPDATE patients SET status = 'active', phone_number = $3 WHERE tenant_id = $1 AND id = {n}",
    "INSERT INTO chat_messages (tenant_id, patient_id, direction, body) VALUES ($1, {n}, 'inbound', $2)",
    "INSERT INTO leads (tenant_id, external_id, name) VALUES ($1, 'wa-{n}', $2) ON CONFLICT (tenant_id, external_id) DO UPDATE SET name = EXCLUDED.name",
    "DELETE FROM chat_messages WHERE tenant_id = $1 AND patient_id = {n}",
    "SELECT l.name, p.status FROM leads l LEFT JOIN patients p ON p.id = l.patient_id AND p.tenant_id = l.tenant_id WHERE l.tenant_id = $1 AND l.id > {n}",
    "SELECT id FROM patients WHERE tenant_id = $1 AND id = {n} UNION ALL SELECT patient_id FROM appointments WHERE tenant_id = $1 AND id = {n}",
    "SELECT count(*) FROM tenants WHERE id = {n}",
    "SELECT u.email, u.role FROM users u WHERE u.tenant_id = $1 AND u.status = 'active' AND u.id <> {n}",
]
LEAKS = [
    "SELECT * FROM patients WHERE phone_number = '{n}'",
    "SELECT m.body FROM chat_messages m WHERE m.tenant_id = $1 AND m.patient_id IN (SELECT id FROM patients WHERE dni = '{n}')",
    "UPDATE appointments SET status = 'cancelled' WHERE id = {n}",
    "SELECT o.stage, t.amount FROM opportunities o JOIN transactions t ON t.opportunity_id = o.id WHERE o.tenant_id = $1 AND t.amount > {n}",
]
# (table, its column that holds a patient's id): a join chain walks these
BY_PATIENT = [
    ("appointments", "patient_id"),
    ("chat_messages", "patient_id"),
    ("leads", "patient_id"),
    ("opportunities", "patient_id"),
    ("clinical_records", "patient_id"),
]
PATIENT_COLUMNS = ["id", "first_name", "last_name", "dni", "phone_number", "status", "created_at"]
FUNCTIONS = [
    "upper({c})",
    "coalesce({c}, '')",
    "length({c})",
    "btrim({c})",
    "nullif({c}, '')",
    "lower({c})",
]


def _short(rng: random.Random, n: int) -> str:
    return rng.choice(SHORT).format(n=n)


def _leak(rng: random.Random, n: int) -> str:
    return rng.choice(LEAKS).format(n=n)


def _long(rng: random.Random, n: int) -> str:
    columns = []
    for i in range(rng.randint(20, 40)):
        column = f"p.{rng.choice(PATIENT_COLUMNS[1:6])}"
        kind = rng.random()
        if kind < 0.3:
            columns.append(f"{rng.choice(FUNCTIONS).format(c=column)} AS c{i}")
        elif kind < 0.5:
            columns.append(
                f"CASE WHEN a.status = 's{n % 7}' THEN {column} WHEN a.starts_at > now() "
                f"THEN 'upcoming' ELSE 'x{i}' END AS c{i}"
            )
        else:
            columns.append(f"{column} AS c{i}")
    filters = ["p.tenant_id = $1", "a.tenant_id = p.tenant_id"]
    for i in range(rng.randint(6, 14)):
        kind = i % 4
        if kind == 0:
            filters.append(f"a.starts_at >= now() - interval '{n % 90 + i} days'")
        elif kind == 1:
            filters.append(f"p.status IN ('active', 'guest', 's{n}')")
        elif kind == 2:
            filters.append(f"coalesce(p.dni, '') <> '{n}-{i}'")
        else:
            filters.append(f"(a.professional_id = {n + i} OR a.professional_id IS NULL)")
    selected = ",\n       ".join(columns)
    where = "\n  AND ".join(filters)
    return (
        f"SELECT {selected}\nFROM patients p\nJOIN appointments a ON a.patient_id = p.id\n"
        f"WHERE {where}\nORDER BY a.starts_at DESC, p.last_name\nLIMIT {n % 500 + 10}"
    )


def _cte_chain(rng: random.Random, n: int) -> str:
    length = rng.randint(3, 8)
    ctes = [
        f"c0 AS (SELECT id, tenant_id, patient_id, professional_id, starts_at, status "
        f"FROM appointments WHERE tenant_id = $1 AND starts_at > now() - interval '{n % 365} days')"
    ]
    for i in range(1, length):
        if i % 3 == 1:
            ctes.append(
                f"c{i} AS (SELECT c.id, c.tenant_id, c.patient_id, c.professional_id, c.starts_at, "
                f"c.status FROM c{i - 1} c WHERE c.status <> 'cancelled-{n}-{i}')"
            )
        elif i % 3 == 2:
            ctes.append(
                f"c{i} AS (SELECT c.id, c.tenant_id, c.patient_id, c.professional_id, c.starts_at, "
                f"c.status FROM c{i - 1} c JOIN patients p ON p.id = c.patient_id "
                f"AND p.tenant_id = c.tenant_id WHERE p.status = 'active')"
            )
        else:
            ctes.append(
                f"c{i} AS (SELECT max(id) AS id, tenant_id, patient_id, professional_id, "
                f"max(starts_at) AS starts_at, min(status) AS status FROM c{i - 1} "
                f"GROUP BY tenant_id, patient_id, professional_id HAVING count(*) > {i})"
            )
    last = length - 1
    chain = ",\n     ".join(ctes)
    return (
        f"WITH {chain}\n"
        f"SELECT pr.full_name, count(*) AS visits, max(x.starts_at) AS last_visit\n"
        f"FROM c{last} x JOIN professionals pr ON pr.id = x.professional_id "
        f"AND pr.tenant_id = x.tenant_id\nGROUP BY pr.full_name\nORDER BY visits DESC LIMIT {n % 50 + 5}"
    )


def _join_chain(rng: random.Random, n: int, *, leak: bool = False) -> str:
    length = rng.randint(4, 10)
    joins = []
    previous = "p"
    for i in range(1, length):
        table, column = BY_PATIENT[(i + n) % len(BY_PATIENT)]
        alias = f"t{i}"
        on = f"{alias}.{column} = p.id AND {alias}.tenant_id = {previous}.tenant_id"
        joins.append(f"JOIN {table} {alias} ON {on}")
        previous = alias
    pin = f"{previous}.status <> 'x'" if leak else f"{previous}.tenant_id = $1"
    return (
        f"SELECT p.id, p.first_name, {previous}.id AS last_id\nFROM patients p\n"
        + "\n".join(joins)
        + f"\nWHERE {pin} AND p.id > {n}"
    )


def _dml(rng: random.Random, n: int) -> str:
    return rng.choice(
        [
            f"UPDATE appointments a SET status = 'confirmed' FROM patients p WHERE p.id = a.patient_id AND p.tenant_id = a.tenant_id AND a.tenant_id = $1 AND p.dni = '{n}' RETURNING a.id, a.status",
            f"DELETE FROM chat_messages m USING patients p WHERE m.patient_id = p.id AND m.tenant_id = p.tenant_id AND p.tenant_id = $1 AND p.status = 'guest' AND m.created_at < now() - interval '{n % 400} days'",
            f"INSERT INTO audit_log (tenant_id, user_id, action, entity, entity_id) SELECT u.tenant_id, u.id, 'export-{n}', 'patients', p.id FROM users u JOIN patients p ON p.tenant_id = u.tenant_id WHERE u.tenant_id = $1 AND u.id = $2",
            f"INSERT INTO patients (tenant_id, first_name, last_name, dni, phone_number) VALUES ($1, $2, $3, '{n}', $4) ON CONFLICT (tenant_id, phone_number) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name RETURNING id",
            f"UPDATE leads SET patient_id = $2, source = 'merged-{n}' WHERE tenant_id = $1 AND external_id = $3 AND patient_id IS NULL RETURNING id",
        ]
    )


def _nested(rng: random.Random, n: int) -> str:
    depth = rng.randint(20, 40)
    sql = f"SELECT id, tenant_id, patient_id, status FROM appointments WHERE status <> 'n{n}'"
    for level in range(depth):
        sql = f"SELECT * FROM ({sql}) d{level}"
    return f"{sql} WHERE d{depth - 1}.tenant_id = $1"


FAMILIES: list[tuple[float, Callable[[random.Random, int], str]]] = [
    (0.42, _short),
    (0.04, _leak),
    (0.15, _long),
    (0.12, _cte_chain),
    (0.11, _join_chain),
    (0.01, lambda rng, n: _join_chain(rng, n, leak=True)),
    (0.14, _dml),
    (0.01, _nested),
]


def statements(count: int, seed: int = 7, start: int = 0) -> Iterator[str]:
    """`count` distinct statements of the mix (deterministic for a seed)."""
    rng = random.Random(seed)
    weights = [w for w, _ in FAMILIES]
    makers = [m for _, m in FAMILIES]
    for number in range(start, start + count):
        (make,) = rng.choices(makers, weights)
        yield make(rng, 100_000 + number)


def write_config(root: Path, schema_from: Path) -> None:
    """The project's configuration, with the Dentalogic schema (patches and baseline) copied in
    as its schema source, so that the policy is inferred as in a real project."""
    schema = root / "schema"
    schema.mkdir(parents=True, exist_ok=True)
    for file in sorted(schema_from.glob("patches/*.sql")):
        (schema / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    baseline = schema_from / "db" / "init" / "dentalogic_schema.sql"
    (schema / "9999_baseline.sql").write_text(baseline.read_text(encoding="utf-8"), "utf-8")
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")


def generate_sql(root: Path, count: int, per_file: int = 100, seed: int = 7) -> list[Path]:
    """`count` statements in files of `per_file` under root/app; returns the files."""
    folder = root / "app"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    source = statements(count, seed)
    for index in range(0, count, per_file):
        chunk = [next(source) for _ in range(min(per_file, count - index))]
        path = folder / f"queries_{index // per_file:05d}.sql"
        body = ";\n\n".join(chunk)
        path.write_text(f"-- generated queries {index}\n\n{body};\n", encoding="utf-8")
        files.append(path)
    return files


PY_TEMPLATE = '''"""Generated service module {f}."""

import asyncpg

HEADER = "SELECT id, first_name FROM patients "


async def handler_{f}(conn: asyncpg.Connection, tenant: int, value: str) -> object:
{calls}
    return None
'''


def generate_python(root: Path, files: int, per_file: int = 8, seed: int = 11) -> list[str]:
    """`files` Python modules of `per_file` asyncpg calls each; returns their SQL strings."""
    root.mkdir(parents=True, exist_ok=True)
    source = statements(files * per_file, seed, start=10_000_000)
    found: list[str] = []
    for f in range(files):
        calls = []
        for _ in range(per_file):
            sql = next(source)
            found.append(sql)
            calls.append(f"    await conn.fetch({sql!r}, tenant, value)")
        (root / f"service_{f:04d}.py").write_text(
            PY_TEMPLATE.format(f=f, calls="\n".join(calls)), encoding="utf-8"
        )
    return found
