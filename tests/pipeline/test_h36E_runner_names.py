"""Round 36 (helper h36E): the runner's own queries run in the patch's session, on the patch's
search_path. Every name they use — type, function, operator, catalog table — is written with its
schema (`pg_catalog.text`, `pg_catalog.now()`, `OPERATOR(pg_catalog.=)`, `pg_catalog.pg_class`),
so that a type, function, operator or table of the same name in `public`, in a schema put first
(`app, pg_catalog`), or in `pg_temp` (searched before pg_catalog for types and tables) is never
what the runner runs or reads. A static check keeps it so; the server tests shadow each kind.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import asyncpg
import pglast
import pytest
from pglast.visitors import Visitor

from tenantguard.patches import dump, locking, runner, verify
from tenantguard.patches.runner import LEDGER, apply_patches
from tests.pipeline.test_pipeline_faults import fetchval, write

# (and verify's reads, session 37: tests/pipeline/test_s37_verify_names.py)
_MODULES = (runner, locking, dump, verify)


async def _read(dsn: str, sql: str) -> object:
    """The test's own reads, on pg_catalog's names (the database's path has the shadows)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "pg_catalog, public"})
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


_FORMAT_FIELD = re.compile(r"(?<![\w.])\{[A-Za-z_][\w.\[\]'\"]*(?:![rsa])?(?::[^{}]*)?\}")


def _sql_strings(module: object) -> list[tuple[str, str]]:
    """(where, text) of every string of the module that parses as SQL: module-level constants
    as Python built them (f-strings joined), and literals inside functions (`{x}` of an
    f-string or `.format` read as a qualified name)."""
    path = Path(module.__file__)  # type: ignore[attr-defined]
    found = [
        (f"{path.name}:{name}", value)
        for name, value in vars(module).items()
        if isinstance(value, str) and not name.startswith("__")
    ]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside_f = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in inside_f:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((f"{path.name}:{node.lineno}", node.value))
        elif isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(str(v.value))
                else:  # a name's tail (`pg_advisory_unlock{suffix}`) or a whole name
                    parts.append("x" if parts and re.search(r"[\w.]$", parts[-1]) else '"x"."y"')
            found.append((f"{path.name}:{node.lineno}", "".join(parts)))
    out = []
    for where, text in found:
        text = _FORMAT_FIELD.sub('"x"."y"', text)
        try:
            if pglast.parse_sql(text):
                out.append((where, text))
        except pglast.parser.ParseError:
            continue
    return out


class _Unqualified(Visitor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.names: list[str] = []
        self.ctes: set[str] = set()

    def visit_CommonTableExpr(self, ancestors: object, node: object) -> None:
        self.ctes.add(node.ctename)  # type: ignore[attr-defined]

    def visit_FuncCall(self, ancestors: object, node: object) -> None:
        if len(node.funcname) < 2:  # type: ignore[attr-defined]
            self.names.append(f"function {node.funcname[-1].sval}")  # type: ignore[attr-defined]

    def visit_TypeName(self, ancestors: object, node: object) -> None:
        if node.names and len(node.names) < 2:  # type: ignore[attr-defined]
            self.names.append(f"type {node.names[-1].sval}")  # type: ignore[attr-defined]

    def visit_A_Expr(self, ancestors: object, node: object) -> None:
        # IN, LIKE, BETWEEN, IS DISTINCT FROM, NULLIF look their operator up on the path too
        if node.name and len(node.name) < 2:  # type: ignore[attr-defined]
            kind = node.kind.name  # type: ignore[attr-defined]
            self.names.append(f"operator {node.name[-1].sval} ({kind})")  # type: ignore[attr-defined]

    def visit_SubLink(self, ancestors: object, node: object) -> None:
        # `x IN (SELECT …)` has no operator name in the tree: `=`, looked up on the path
        kind = node.subLinkType.name  # type: ignore[attr-defined]
        name = node.operName or ()  # type: ignore[attr-defined]
        if kind in ("ANY_SUBLINK", "ALL_SUBLINK", "ROWCOMPARE_SUBLINK") and len(name) < 2:
            self.names.append(f"operator {name[-1].sval if name else '='} (x IN (SELECT …))")

    def visit_CaseExpr(self, ancestors: object, node: object) -> None:
        if node.arg is not None:  # type: ignore[attr-defined]
            self.names.append("operator = (CASE x WHEN …)")

    def visit_RangeVar(self, ancestors: object, node: object) -> None:
        if node.schemaname is None:  # type: ignore[attr-defined]
            self.names.append(f"table {node.relname}")  # type: ignore[attr-defined]


def unqualified_names(sql: str) -> list[str]:
    visitor = _Unqualified()
    for statement in pglast.parse_sql(sql):
        visitor(statement)
    return [n for n in visitor.names if n.removeprefix("table ") not in visitor.ctes]


def test_the_checker_sees_each_kind() -> None:
    sql = (
        "WITH w AS (SELECT 1) SELECT now(), x::text, a = b, c IN (1), d LIKE 'e', "
        "f IS DISTINCT FROM g, CASE h WHEN 1 THEN 2 END, i IN (SELECT 1) FROM pg_class, w"
    )
    assert sorted(unqualified_names(sql)) == sorted(
        [
            "function now",
            "type text",
            "operator = (AEXPR_OP)",
            "operator = (AEXPR_IN)",
            "operator ~~ (AEXPR_LIKE)",
            "operator = (AEXPR_DISTINCT)",
            "operator = (CASE x WHEN …)",
            "operator = (x IN (SELECT …))",
            "table pg_class",
        ]
    )
    qualified = (
        "SELECT pg_catalog.now(), x::pg_catalog.text, x::int, a OPERATOR(pg_catalog.=) b "
        "FROM pg_catalog.pg_class"
    )
    assert unqualified_names(qualified) == []


@pytest.mark.parametrize("module", _MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_the_runner_s_sql_leaves_no_name_to_the_search_path(module: object) -> None:
    strings = _sql_strings(module)
    assert len(strings) >= 4  # the check reads the queries
    left = {
        f"{where}: {name}"
        for where, sql in strings
        for name in unqualified_names(sql)
        # the ledger and the patch's own index or table: names the runner quotes and qualifies
        if name != "table y"
    }
    assert sorted(left) == []


def _shape(tree: object) -> object:
    """A parse tree as JSON data without locations, each name by its last part."""
    if isinstance(tree, dict):
        shape = {k: _shape(v) for k, v in tree.items() if "location" not in k and k != "stmt_len"}
        for key in ("name", "funcname", "names", "operName"):
            if isinstance(shape.get(key), list):
                shape[key] = shape[key][-1:]
        return {k: v for k, v in shape.items() if not k.startswith("rexpr_list_")}
    if isinstance(tree, list):
        return [_shape(v) for v in tree]
    return tree


@pytest.mark.parametrize("module", _MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_qualified_operators_keep_the_precedence_of_the_plain_ones(module: object) -> None:
    """`OPERATOR(pg_catalog.-)` has the precedence of "any other operator", whatever its name:
    `a OPERATOR(pg_catalog.<) now() OPERATOR(pg_catalog.-) b` is `(a < now()) - b` ('operator
    does not exist: boolean - interval' in the lock holder report). Each query parses to the
    same tree with its operators written plain."""
    import json

    changed = []
    for where, sql in _sql_strings(module):
        plain = re.sub(r"OPERATOR\(pg_catalog\.([^)]+)\)", r"\1", sql)
        trees = [json.loads(pglast.parser.parse_sql_json(text)) for text in (sql, plain)]
        if _shape(trees[0]) != _shape(trees[1]):
            changed.append(where)
    assert changed == []


# Shadows: a function, type, operator, cast and catalog table of pg_catalog's names, in app and
# public (made by the first patch), and in pg_temp (made by the patch under test). Each shadow
# function raises: had the runner called one, the patch would fail; each shadow table is empty:
# had the runner read one, it would not find its lock, its ledger or its settings.
_BOOM = "BEGIN RAISE EXCEPTION 'shadow % called', '{name}'; END"
_SHADOWS = (
    "CREATE SCHEMA app;\n"
    + "".join(
        f"CREATE FUNCTION {schema}.{name}({args}) RETURNS {ret} LANGUAGE plpgsql AS "
        f"$f${_BOOM.format(name=f'{schema}.{name}')}$f$;\n"
        for schema in ("app", "public")
        for name, args, ret in [
            ("to_regclass", "text", "regclass"),
            ("now", "", "timestamptz"),
            ("current_schema", "", "name"),
            ("pg_backend_pid", "", "int"),
            ("quote_ident", "text", "text"),
            ("md5", "text", "text"),
            ("md5", "bytea", "text"),
            ("pg_try_advisory_lock", "bigint", "bool"),
            ("pg_advisory_unlock", "bigint", "bool"),
            ("concat_ws", "text, text", "text"),
            ("set_config", "text, text, bool", "text"),
            ("current_setting", "text", "text"),
            ("eq_oid", "oid, oid", "bool"),
            ("eq_text", "text, text", "bool"),
            ("eq_name", "name, name", "bool"),
            ("eq_char", '"char", "char"', "bool"),
            ("eq_int", "int, int", "bool"),
            ("ne_oid", "oid, oid", "bool"),
            ("ne_char", '"char", "char"', "bool"),
            ("cat_text", "text, text", "text"),
        ]
    )
    + "".join(
        f"CREATE OPERATOR {schema}.{op} (LEFTARG = {left}, RIGHTARG = {left}, FUNCTION = {schema}.{fn});\n"
        for schema in ("app", "public")
        for op, left, fn in [
            ("=", "oid", "eq_oid"),
            ("=", "text", "eq_text"),
            ("=", "name", "eq_name"),
            ("=", '"char"', "eq_char"),
            ("=", "int", "eq_int"),
            ("<>", "oid", "ne_oid"),
            ("<>", '"char"', "ne_char"),
        ]
    )
    + "".join(
        f"CREATE DOMAIN {schema}.{name} AS pg_catalog.{name} CHECK ({schema}.md5(VALUE::text) IS NULL);\n"
        for schema in ("app", "public")
        for name in ("text", "bool", "regclass", "oid", "timestamptz")
    )
    + "".join(
        f"CREATE TABLE {schema}.{name} (x int);\n"
        for schema in ("app", "public")
        for name in ("pg_class", "pg_namespace", "pg_locks", "pg_settings", "pg_index", "pg_proc")
    )
    + (
        # a cast to a type of app's from a built-in one, by a function that raises
        "CREATE TYPE app.mood AS ENUM ('a');\n"
        "CREATE FUNCTION app.to_mood(int) RETURNS app.mood LANGUAGE plpgsql AS "
        "$f$ BEGIN RAISE EXCEPTION 'shadow cast called'; END $f$;\n"
        "CREATE CAST (int AS app.mood) WITH FUNCTION app.to_mood(int) AS ASSIGNMENT;\n"
        "CREATE TABLE public.t (id int, note text, at timestamptz);\n"
    )
)
_TEMP_SHADOWS = "".join(
    f"CREATE DOMAIN pg_temp.{name} AS pg_catalog.{name} CHECK (app.md5(VALUE::pg_catalog.text) IS NULL);\n"
    for name in ("text", "bool", "regclass", "oid", "timestamptz")
) + "".join(
    f"CREATE TABLE pg_temp.{name} (x int);\n"
    for name in ("pg_class", "pg_namespace", "pg_locks", "pg_settings", "pg_index", "pg_proc")
)
# the shadowing schemas before pg_catalog: the patch's own path, and the database's
_PATHS = ["app, public, pg_temp, pg_catalog", "public, app, pg_catalog"]


@pytest.mark.parametrize("path", _PATHS, ids=["app_public_temp_first", "public_app_first"])
@pytest.mark.parametrize("where", ["patch", "database"])
async def test_shadows_on_the_path_are_not_what_the_runner_runs(
    database: str, tmp_path: Path, path: str, where: str
) -> None:
    write(tmp_path, "0001_shadows.sql", _SHADOWS)
    first = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert first.applied == ["0001_shadows.sql"]
    if where == "database":
        dbname = database.rsplit("/", 1)[1]
        await fetchval(database, f'ALTER DATABASE "{dbname}" SET search_path = {path}')
        head = ""
    else:
        head = f"SET LOCAL search_path = {path};\n"
    write(
        tmp_path,
        "0002_under_shadows.sql",
        head + _TEMP_SHADOWS + "INSERT INTO public.t (id, note) VALUES (1, 'x'::pg_catalog.text);\n"
        "CREATE TABLE public.made (id int);\n"
        "CREATE INDEX made_id ON public.made (id);\n",
    )
    write(
        tmp_path,
        "0003_no_transaction.sql",
        "-- tenantguard: no-transaction\nCREATE INDEX CONCURRENTLY t_id ON public.t (id);\n",
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_under_shadows.sql", "0003_no_transaction.sql"]
    assert await _read(database, f"SELECT array_agg(name ORDER BY number) FROM {LEDGER}") == [
        "0001_shadows.sql",
        "0002_under_shadows.sql",
        "0003_no_transaction.sql",
    ]
    assert await _read(database, "SELECT count(*) FROM public.t WHERE note = 'x'") == 1
    assert await _read(database, "SELECT to_regclass('public.made') IS NOT NULL")
    assert await _read(
        database,
        "SELECT indisvalid FROM pg_catalog.pg_index WHERE indexrelid = 'public.t_id'::regclass",
    )
    # and a run with nothing to do, under the same shadows, reads the ledger as it is
    again = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert again.applied == []
    assert len(again.skipped) == 3
    # the ledger's columns are pg_catalog's types, whatever the path said when it was made
    types = await _read(
        database,
        "SELECT string_agg(t.typnamespace::regnamespace::text, ',') FROM pg_attribute a "
        "JOIN pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = '{LEDGER}'::regclass AND a.attnum > 0",
    )
    assert set(str(types).split(",")) == {"pg_catalog"}


@pytest.mark.parametrize(
    "setting",
    [
        "SET LOCAL TimeZone = 'Asia/Tokyo';",
        "SET LOCAL DateStyle = 'SQL, DMY';",
        "SET LOCAL extra_float_digits = -3;",
        "SET LOCAL IntervalStyle = 'iso_8601';",
        "SET LOCAL bytea_output = 'escape';",
        "SET LOCAL standard_conforming_strings = off;",
    ],
    ids=["timezone", "datestyle", "float_digits", "interval_style", "bytea", "escapes"],
)
async def test_a_patch_s_output_settings_are_not_a_change_of_the_ledger(
    database: str, tmp_path: Path, setting: str
) -> None:
    """The ledger check compares the ledger's rows before and after the patch, in the patch's
    session: read as text, a patch's `SET LOCAL TimeZone` printed applied_at otherwise and the
    patch was refused as having changed the ledger's rows (a false refusal, rolled back). The
    rows are compared in their binary form now: applied, t 1 row, the ledger 2 rows."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int);\n")
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_set.sql", setting + "\nINSERT INTO t VALUES (1);\n")
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_set.sql"]
    assert await _read(database, "SELECT count(*) FROM t") == 1
    assert await _read(database, f"SELECT count(*) FROM {LEDGER}") == 2
