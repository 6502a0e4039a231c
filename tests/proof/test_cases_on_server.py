"""The verdicts of tests/cases/rules.yaml checked against a real PostgreSQL 15.

A case claims a statement is a leak (TG001, TG012, …) or safe (`expect: []`). Each runnable case
meets the server, on the schema and data of tests/fixtures/case_schema.sql (tenant 101 is the
request's tenant, tenant 202 the victim; their rows, and the rows of no tenant, are recognisable
by their values), over one connection to one database:

1. PostgreSQL must accept it: `PREPARE` succeeds and no run fails for a reason other than data
   (a case the server rejects proves nothing).
2. A safe case runs in transactions that are rolled back, every tenant pin of the proof bound to
   101 and every other parameter, by the type PostgreSQL infers, to a value of tenant 101, then
   of tenant 202 ("victim keys": an id, a dni of tenant 202's rows), then of tenant 202 only
   where it finds rows. It must return no value of tenant 202 or of no tenant, leave every row
   outside tenant 101 byte-identical and put none of their values into tenant 101's rows. A
   failure is a leak the analyzer calls safe.
3. A leak case (TG001, TG012, and TG002/3/4/8) is run the same way, then with a second tenant
   parameter bound to 202, then with every parameter after $1 bound to 202. The test passes
   where the generic data shows the leak and is skipped, with why, where it cannot (`-rs`);
   `pytest tests/proof/test_cases_on_server.py -s -k summary` lists both.

Not run: cases with other placeholders (%s, %(x)s, :name, ?), cases expecting TG005/TG006/TG007,
utility statements (DDL, COPY, CALL, DO, PREPARE, EXECUTE, SET, transaction control, …), and
cases marked `server: skip` with a `reason`. Cases expecting TG013 are prepared, never run:
their side effects (dblink_connect) would leave the transaction.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlglot
from sqlglot import exp

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import case_policy, read_cases

HERE = Path(__file__).parent.parent
CASES = read_cases("rules.yaml")
SCHEMA = HERE / "fixtures" / "case_schema.sql"

OWN, VICTIM = 101, 202
OWN_IDS, VICTIM_IDS, NO_TENANT_IDS = range(10100, 10200), range(20200, 20300), range(30300, 30400)
# a value of tenant 202, of no tenant: text marked so, or a timestamp in the year 2202, 3030
VICTIM_TEXT = re.compile(r"VICTIM|2202-\d\d-\d\d")
NO_TENANT_TEXT = re.compile(r"NOTENANT|3030-\d\d-\d\d")
# the tenant tables of the cases' policy, and the archive copy one case reads
TENANT_TABLES = (
    "patients",
    "appointments",
    "leads",
    "chat_messages",
    "professionals",
    "clinical_records",
    '"Audit Log"',
    "archive.clinical_records",
)
# SQLSTATE classes of errors that do not depend on the data: feature not supported, syntax error
# or access rule violation
NEVER_RUNS = {"0A", "42"}
NOT_RUN_CODES = {"TG005", "TG006", "TG007"}
UTILITY = {
    "CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "COMMENT", "TRUNCATE", "COPY", "CALL", "DO",
    "PREPARE", "EXECUTE", "DEALLOCATE", "SET", "RESET", "BEGIN", "START", "COMMIT", "ROLLBACK",
    "LOCK", "EXPLAIN", "VACUUM", "ANALYZE", "LISTEN", "NOTIFY", "UNLISTEN", "RELEASE",
}  # fmt: skip

_LITERAL = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
_OTHER_PLACEHOLDER = re.compile(r"%s|%\(|(?<![:\w]):[A-Za-z_]|\?")


def case_id(case: dict[str, Any]) -> str:
    return f"{case['rule']}-{case['name']}"


def not_run_reason(case: dict[str, Any]) -> str | None:
    """Why a case is neither prepared nor run on the server, or None."""
    if "server" in case:
        return f"server: {case['server']} ({case.get('reason')})"
    text = _LITERAL.sub(" ", case["sql"])
    if _OTHER_PLACEHOLDER.search(text):
        return "uses placeholders other than $n"
    codes = NOT_RUN_CODES.intersection(case["expect"])
    if codes:
        return f"expects {', '.join(sorted(codes))}"
    words = text.split()
    if words and words[0].upper().rstrip(";") in UTILITY:
        return f"{words[0].upper()} is a utility statement"
    return None


def is_leak_case(case: dict[str, Any]) -> bool:
    return bool(case["expect"]) and "TG013" not in case["expect"]


PREPARED = [c for c in CASES if not_run_reason(c) is None]
SAFE = [c for c in PREPARED if not c["expect"]]
LEAKS = [c for c in PREPARED if is_leak_case(c)]


# ---------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Slot:
    """What the SQL says of one parameter (over all its occurrences): the column it meets;
    `assigned`: it is only ever a value written (SET, an INSERT value outside the conflict key);
    `compared`: somewhere it is not written but compared, a key that finds rows."""

    column: str | None = None
    assigned: bool = False
    compared: bool = True


def parameter_slots(sql: str, constraints: dict[str, list[str]]) -> dict[int, Slot]:
    """$n -> its slot; `constraints` names the columns of each unique constraint (for ON
    CONFLICT ON CONSTRAINT)."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.SqlglotError:
        return {}
    seen: dict[int, list[tuple[str | None, bool, bool]]] = {}
    for node in tree.find_all(exp.Parameter):
        if isinstance(node.this, exp.Literal):
            seen.setdefault(int(node.this.name), []).append(_occurrence(node, constraints))
    return {
        number: Slot(
            next((column for column, _, _ in uses if column), None),
            all(assigned for _, assigned, _ in uses),
            any(not written for _, _, written in uses),
        )
        for number, uses in seen.items()
    }


def _strip(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    return node


def _name(node: exp.Expression) -> str | None:
    node = _strip(node)
    return node.name if isinstance(node, exp.Column) else None


def _occurrence(
    node: exp.Expression, constraints: dict[str, list[str]]
) -> tuple[str | None, bool, bool]:
    """(the column one occurrence meets, whether it is a value assigned, whether it is written:
    in a SET or an INSERT's VALUES)."""
    child: exp.Expression = node
    parent = node.parent
    while isinstance(parent, exp.Cast | exp.Paren | exp.Any | exp.Array):
        child, parent = parent, parent.parent
    index = -1
    if isinstance(parent, exp.Tuple):
        index = next((i for i, e in enumerate(parent.expressions) if e is child), -1)
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Values):
        column = _values_column(parent, index)
        insert = parent.parent
        if not isinstance(insert, exp.Insert):
            return column, False, False
        return column, column not in _conflict_key(insert, constraints), True
    column: str | None = None
    if isinstance(parent, exp.Binary):
        other = parent.expression if parent.this is child else parent.this
        column = _name(other) if index < 0 else _name(_item(other, index))
    elif isinstance(parent, exp.In | exp.Between):
        column = _name(parent.this) if index < 0 else _name(_item(parent.this, index))
    written = isinstance(parent, exp.EQ) and isinstance(parent.parent, exp.Update | exp.OnConflict)
    return column, written, written


def _item(row: exp.Expression, index: int) -> exp.Expression:
    row = _strip(row)
    if isinstance(row, exp.Tuple) and 0 <= index < len(row.expressions):
        return row.expressions[index]
    return exp.Null()


def _conflict_key(insert: exp.Insert, constraints: dict[str, list[str]]) -> set[str]:
    conflict = insert.args.get("conflict")
    if not isinstance(conflict, exp.OnConflict):
        return set()
    constraint = conflict.args.get("constraint")
    if constraint is not None:
        return set(constraints.get(constraint.name, []))
    return {_name(key.this) or "" for key in conflict.args.get("conflict_keys") or []}


def _values_column(values: exp.Values, index: int) -> str | None:
    """The column of position `index` in a VALUES row: its alias list, or the INSERT's columns."""
    alias = values.args.get("alias")
    columns = alias.columns if isinstance(alias, exp.TableAlias) else []
    if not columns and isinstance(values.parent, exp.Insert):
        target = values.parent.this
        columns = target.expressions if isinstance(target, exp.Schema) else []
    return columns[index].name if 0 <= index < len(columns) else None


@dataclass
class Samples:
    """Values of tenant 101 and tenant 202 per column name, read from the fixture's data."""

    own: dict[str, Any]
    victim: dict[str, Any]
    constraints: dict[str, list[str]]  # unique constraint -> its columns


# what a parameter is bound to: the tenant ids, or a value of tenant 101 / 202 for its column
TENANT, SECOND_TENANT, OWN_VALUE, VICTIM_VALUE = "tenant", "second tenant", "own", "victim"
# (name, what a tenant parameter after the first gets, what a key the caller chooses gets); a
# leak case is also run with every parameter after $1 bound to 202 ("others 202")
SAFE_STRATEGIES = (
    ("own values", TENANT, OWN_VALUE),
    ("victim keys", TENANT, VICTIM_VALUE),
    # only what finds rows names tenant 202, what is written is tenant 101's (an upsert's key
    # of tenant 202 fails on a global unique key before its subqueries run)
    ("victim filters", TENANT, VICTIM_VALUE),
)
LEAK_STRATEGIES = (
    *SAFE_STRATEGIES[:2],
    ("second tenant", SECOND_TENANT, OWN_VALUE),
    ("second tenant, victim keys", SECOND_TENANT, VICTIM_VALUE),
)


def _scalar(role: str, column: str | None, tenant_columns: set[str], samples: Samples) -> Any:
    if role in (TENANT, SECOND_TENANT):
        return OWN if role == TENANT else VICTIM
    mine = role == OWN_VALUE
    if column in tenant_columns:
        return OWN if mine else VICTIM
    values = samples.own if mine else samples.victim
    if column in values and values[column] is not None:
        return values[column]
    if column == "id" or (column or "").endswith("_id"):
        return OWN_IDS[0] if mine else VICTIM_IDS[0]
    return OWN if mine else VICTIM_IDS[0]


def typed_value(
    kind: Any, role: str, column: str | None, tenant_columns: set[str], samples: Samples
) -> Any:
    """A Python value asyncpg encodes for PostgreSQL type `kind` (a prepared parameter's type);
    an array holds the request's value, and the other tenant's too unless `role` is the own."""
    if kind.kind == "array":
        element = kind.name.removesuffix("[]").lstrip("_")
        first = TENANT if role in (TENANT, SECOND_TENANT) else OWN_VALUE
        items = [_scalar(first, column, tenant_columns, samples)]
        if role not in (TENANT, OWN_VALUE):
            items.append(_scalar(role, column, tenant_columns, samples))
        return [_convert(element, item) for item in items]
    if kind.name == "bool":
        return role in (TENANT, OWN_VALUE)
    return _convert(kind.name, _scalar(role, column, tenant_columns, samples))


def _convert(type_name: str, value: Any) -> Any:
    integral = (isinstance(value, int | Decimal) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.lstrip("-").isdigit()
    )
    if type_name in ("int2", "int4", "int8", "oid"):
        return int(value) if integral else OWN
    if type_name == "numeric":
        return Decimal(int(value)) if integral else Decimal(OWN)
    if type_name in ("float4", "float8"):
        return float(value) if integral else float(OWN)
    if type_name in ("timestamptz", "timestamp"):
        return value if isinstance(value, datetime) else datetime(2024, 1, 10, tzinfo=UTC)
    return str(value)


# ---------------------------------------------------------------- what a run shows
@dataclass
class Run:
    strategy: str
    args: list[Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    sqlstate: str = ""
    leaks: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    case: dict[str, Any]
    prepare_error: str | None = None
    runs: list[Run] = field(default_factory=list)

    @property
    def shown(self) -> Run | None:
        return next((run for run in self.runs if run.leaks), None)


def _marked(text: str, allow_shared: bool) -> bool:
    return bool(VICTIM_TEXT.search(text)) or (
        not allow_shared and bool(NO_TENANT_TEXT.search(text))
    )


def foreign_values(
    column: str, value: Any, bound: list[Any], tenant_columns: set[str], allow_shared: bool
) -> Iterator[str]:
    """Values of tenant 202 or of no tenant inside one returned value (arrays, records, text)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or any(item == b and type(item) is type(b) for b in bound):
            continue  # a value the caller bound comes back as it went in: not a leak
        if isinstance(item, asyncpg.Record):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int | Decimal | float) and _integral(item):
            number = int(item)
            if (
                number in VICTIM_IDS
                or (number in NO_TENANT_IDS and not allow_shared)
                or (column in tenant_columns and number == VICTIM)
            ):
                yield f"{column}={number}"
        elif _marked(str(item), allow_shared):
            yield f"{column}={item!r}"


def _integral(number: int | Decimal | float) -> bool:
    if isinstance(number, Decimal):
        return number.is_finite() and number == number.to_integral_value()
    return isinstance(number, int) or (math.isfinite(number) and number.is_integer())


# after a statement, in one round trip: a hash of each tenant table's rows outside tenant 101 and
# of its rows of tenant 101, and tenant 101's rows holding a value of another tenant
_CHECK = " UNION ALL ".join(
    [
        f"SELECT {kind!r} AS k, '{table}' AS t, "
        f"md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS v "
        f"FROM {table} r WHERE {where}"
        for table in TENANT_TABLES
        for kind, where in (
            ("others", f"r.tenant_id IS DISTINCT FROM {OWN}"),
            ("own", f"r.tenant_id = {OWN}"),
        )
    ]
    + [
        f"SELECT 'marked', '{table}', to_jsonb(r)::text FROM {table} r "
        f"WHERE r.tenant_id = {OWN} AND r::text ~ '{VICTIM_TEXT.pattern}|{NO_TENANT_TEXT.pattern}'"
        for table in TENANT_TABLES
    ]
)
# every run starts from the same sequence values, so that two runs can be compared
_RESET_SEQUENCES = "SELECT setval(oid, 50000, false) FROM pg_class WHERE relkind = 'S'"


@dataclass
class TableState:
    others: dict[str, str]  # table -> hash of its rows outside tenant 101
    own: dict[str, str]  # table -> hash of its rows of tenant 101
    marked: list[tuple[str, str]]  # (table, row as JSON): tenant 101's rows with foreign values


async def table_state(conn: asyncpg.Connection) -> TableState:
    state = TableState({}, {}, [])
    for kind, table, value in await conn.fetch(_CHECK):
        if kind == "marked":
            state.marked.append((table, value))
        else:
            getattr(state, kind)[table] = value
    return state


def _without_others(allow_shared: bool) -> str:
    """Removes every row of another tenant (and of no tenant, unless shared rows are allowed)."""
    where = f"tenant_id <> {OWN}" if allow_shared else f"tenant_id IS DISTINCT FROM {OWN}"
    return "; ".join(f"DELETE FROM {table} WHERE {where}" for table in TENANT_TABLES)


async def _execute(
    conn: asyncpg.Connection, statement: Any, args: list[Any], prelude: str
) -> tuple[list[asyncpg.Record] | asyncpg.PostgresError, TableState | None]:
    """In a transaction that is rolled back: the prelude, the statement, the tables' state."""
    await conn.execute(f"BEGIN; {_RESET_SEQUENCES}; {prelude}")
    try:
        try:
            records = await statement.fetch(*args)
        except asyncpg.PostgresError as error:
            return error, None
        return records, await table_state(conn)
    finally:
        await conn.execute("ROLLBACK")


def _digest(outcome: list[asyncpg.Record] | asyncpg.PostgresError, state: TableState | None) -> Any:
    """What a run gave tenant 101: its rows (in any order) and tenant 101's rows afterwards."""
    if isinstance(outcome, asyncpg.PostgresError):
        return outcome.sqlstate
    return sorted(repr(tuple(record.items())) for record in outcome), state and state.own


async def run_case(
    conn: asyncpg.Connection,
    statement: Any,
    strategy: str,
    args: list[Any],
    baseline: dict[str, str],
    tenant_columns: set[str],
    allow_shared: bool,
    echoes: bool = False,
) -> Run:
    """Runs the statement once in a transaction that is rolled back; records what leaked. With
    `echoes`, a returned value equal to a bound one is taken to come back as it went in (a leak
    case's run must not count `SELECT $2` as shown); a safe case gets no such excuse."""
    run = Run(strategy, args)
    bound = args if echoes else []
    outcome, state = await _execute(conn, statement, args, "")
    if isinstance(outcome, asyncpg.PostgresError):
        run.error = f"{type(outcome).__name__}: {outcome}"
        run.sqlstate = outcome.sqlstate or ""
        detail = f"{outcome} {getattr(outcome, 'detail', '') or ''}"
        # a global unique key's error names the value bound: that is not the statement's
        if _marked(detail, allow_shared) and not any(str(a) in detail for a in args):
            run.leaks.append(f"the error names another tenant's value: {detail}")
        return run
    assert state is not None
    run.rows = [dict(record) for record in outcome]
    for record in outcome:
        for column, value in record.items():
            run.leaks.extend(
                f"returned {found}"
                for found in foreign_values(column, value, bound, tenant_columns, allow_shared)
            )
    run.leaks.extend(
        f"changed rows of {table} outside tenant {OWN}"
        for table in TENANT_TABLES
        if state.others[table] != baseline[table]
    )
    for table, row in state.marked:
        values = [v for v in json.loads(row).values() if _marked(str(v), allow_shared=False)]
        if any(v not in args for v in values):  # a value bound is written as it came
            run.leaks.append(f"copied into tenant {OWN}'s {table}: {row}")
    if not run.leaks and strategy == "own values":
        # what tenant 101 gets must not depend on the other tenants' rows: run it without them
        # (with keys of tenant 101 only: a key of another tenant meets their rows in a global
        # unique index, which is the schema's doing, not the statement's)
        alone = await _execute(conn, statement, args, _without_others(allow_shared))
        if isinstance(alone[0], asyncpg.PostgresError):
            run.leaks.append(f"without the other tenants' rows it fails instead: {alone[0]}")
        else:
            rows, own = _digest(*alone)
            if rows != _digest(outcome, state)[0]:
                run.leaks.append(
                    f"returns other rows when the other tenants' rows are gone: {rows[:4]}"
                )
            if own != state.own:
                run.leaks.append(
                    f"leaves tenant {OWN}'s rows otherwise when the other tenants' rows are gone"
                )
    return run


# ---------------------------------------------------------------- all cases, one connection
async def _samples(conn: asyncpg.Connection) -> Samples:
    own: dict[str, Any] = {}
    victim: dict[str, Any] = {}
    for table in TENANT_TABLES:
        for tenant, into in ((OWN, own), (VICTIM, victim)):
            row = await conn.fetchrow(
                f"SELECT * FROM {table} WHERE tenant_id = $1 ORDER BY id LIMIT 1", tenant
            )
            for column, value in (row or {}).items():
                into.setdefault(column, value)
    constraints = await conn.fetch(
        "SELECT c.conname, array_agg(a.attname::text ORDER BY a.attnum) FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
        "WHERE c.contype IN ('p', 'u') GROUP BY c.conname"
    )
    return Samples(own, victim, {name: list(columns) for name, columns in constraints})


@dataclass
class Results:
    outcomes: dict[str, Outcome]
    fixture_problems: list[str]  # rows that break the data's conventions
    probes: dict[str, Run]  # statements that leak by construction, through the same checks
    state_kept: bool  # the rows are as loaded after every case ran (all rolled back)


# each leaks one way the checks must see (returned, changed, copied into tenant 101, counted)
PROBES = {
    "returns": "SELECT * FROM leads ORDER BY id",
    "counts": "SELECT count(*) AS n FROM patients WHERE tenant_id = 101 OR referrer_id = 10101",
    "changes": "UPDATE appointments SET status = 'x' WHERE patient_id = 20200",
    "copies": "INSERT INTO chat_messages (tenant_id, body) SELECT 101, note FROM clinical_records",
    "moves": "UPDATE professionals SET tenant_id = 101",
}


async def fixture_problems(conn: asyncpg.Connection) -> list[str]:
    """Rows of the fixture that break its conventions (which the checks rely on): tenant 101's
    rows hold nothing recognisable as another tenant's, the others' text and times say whose
    they are."""
    problems = []
    for table in TENANT_TABLES:
        for row in await conn.fetch(f"SELECT * FROM {table}"):
            tenant = row["tenant_id"]
            texts = [str(v) for v in row.values() if isinstance(v, str | datetime)]
            numbers = [v for v in row.values() if isinstance(v, int) and not isinstance(v, bool)]
            if tenant == OWN:
                wrong = (
                    row["id"] not in OWN_IDS
                    or any(_marked(t, allow_shared=False) for t in texts)
                    or any(n in VICTIM_IDS or n in NO_TENANT_IDS for n in numbers)
                )
            elif tenant == VICTIM:
                wrong = row["id"] not in VICTIM_IDS or not all(VICTIM_TEXT.search(t) for t in texts)
            else:
                wrong = (
                    tenant is not None
                    or row["id"] not in NO_TENANT_IDS
                    or not all(NO_TENANT_TEXT.search(t) for t in texts)
                )
            if wrong:
                problems.append(f"{table}: {dict(row)}")
    return problems


async def run_all(dsn: str) -> Results:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA.read_text(encoding="utf-8"))
        # the tenant expression of the cases' policy, and the setting of "other setting is no pin"
        await conn.execute(
            f"SET app.tenant_id = '{OWN}'; SET app.other = '{VICTIM}'; SET statement_timeout = '5s'"
        )
        problems = await fixture_problems(conn)
        loaded = await table_state(conn)
        baseline = loaded.others
        problems.extend(f"tenant {OWN}'s row holds a marked value: {row}" for row in loaded.marked)
        samples = await _samples(conn)
        probes = {
            name: await run_case(
                conn, await conn.prepare(sql), "own values", [], baseline, {"tenant_id"}, False
            )
            for name, sql in PROBES.items()
        }
        outcomes: dict[str, Outcome] = {}
        for case in PREPARED:
            outcome = outcomes[case_id(case)] = Outcome(case)
            try:
                statement = await conn.prepare(case["sql"])
            except asyncpg.PostgresError as error:
                outcome.prepare_error = f"{type(error).__name__}: {error}"
                continue
            if case["expect"] and not is_leak_case(case):
                continue
            await _run_strategies(conn, statement, case, outcome, samples, baseline)
        state_kept = (await table_state(conn)).others == baseline
        return Results(outcomes, problems, probes, state_kept)
    finally:
        await conn.close()


async def _run_strategies(
    conn: asyncpg.Connection,
    statement: Any,
    case: dict[str, Any],
    outcome: Outcome,
    samples: Samples,
    baseline: dict[str, str],
) -> None:
    config = case.get("config", {})
    verdict = analyze_statement(case["sql"], case_policy(**config))
    pins = {p.key for p in verdict.pin_values if p.kind == "parameter"}
    tenant_columns = {"tenant_id", config.get("tenant_column", "tenant_id")}
    allow_shared = bool(config.get("shared_rows"))
    slots = parameter_slots(case["sql"], samples.constraints)
    kinds = statement.get_parameters()
    # where the application puts its tenant: the proof's pins, and what meets a tenant column
    tenant_places = pins | {n for n, slot in slots.items() if slot.column in tenant_columns}
    if config.get("allow_multi_tenant"):
        pins = tenant_places  # the caller may name several tenants: those it names are its own

    def bind(role_of: Any) -> list[Any]:
        return [
            typed_value(kind, role_of(n, slots.get(n, Slot())), slots.get(n, Slot()).column,
                        tenant_columns, samples)
            for n, kind in enumerate(kinds, 1)
        ]  # fmt: skip

    # a safe case: every pin of the proof is 101, any other parameter may be anything; a leak
    # case: where the application puts its tenant it puts 101 (or, after the first, 202)
    places = pins if not case["expect"] else tenant_places
    # the first place holds the request's tenant, unless a tenant expression does
    by_expression = any(p.kind == "expression" for p in verdict.pin_values)
    first = None if by_expression else min(places, default=None)

    def role(n: int, slot: Slot, strategy: tuple[str, str, str]) -> str:
        name, second, keys = strategy
        if n in places:
            # an array of tenants holds the request's tenant, and the second one if any
            alone = n == first and kinds[n - 1].kind != "array"
            return TENANT if alone else second
        if name == "victim filters" and not slot.compared:
            return OWN_VALUE
        return OWN_VALUE if slot.assigned and case["expect"] else keys

    plans = SAFE_STRATEGIES if not case["expect"] else LEAK_STRATEGIES
    strategies = {plan[0]: bind(lambda n, slot, plan=plan: role(n, slot, plan)) for plan in plans}
    if case["expect"]:
        strategies["others 202"] = bind(lambda n, slot: TENANT if n == 1 else SECOND_TENANT)
    tried: list[list[Any]] = []
    for strategy, args in strategies.items():
        if args in tried:
            continue
        tried.append(args)
        run = await run_case(
            conn, statement, strategy, args, baseline, tenant_columns, allow_shared,
            echoes=bool(case["expect"]),
        )  # fmt: skip
        outcome.runs.append(run)
        if case["expect"] and run.leaks:
            break  # the leak is shown


@pytest.fixture(scope="module")
def results(postgres: ThrowawayPostgres) -> Iterator[Results]:
    """Every runnable case, prepared and run on one database over one connection."""
    name = f"cases_{os.getpid()}"

    async def setup() -> None:
        admin = await asyncpg.connect(postgres.dsn)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name}")
            await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()

    async def teardown() -> None:
        admin = await asyncpg.connect(postgres.dsn)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()

    asyncio.run(setup())
    try:
        yield asyncio.run(run_all(postgres.dsn_for(name)))
    finally:
        asyncio.run(teardown())


# ---------------------------------------------------------------- the tests
def _describe(run: Run) -> str:
    rows = "\n      ".join(repr(row) for row in run.rows[:8]) or "(no rows)"
    return (
        f"  [{run.strategy}] args={run.args!r}\n    leaks: {run.leaks}\n    error: {run.error}\n"
        f"    rows:\n      {rows}"
    )


def test_a_case_kept_off_the_server_says_why() -> None:
    marked = [c for c in CASES if "server" in c or "reason" in c]
    assert marked, "no case is kept off the server: drop this test and the `server` key"
    for case in marked:
        assert case.get("server") == "skip" and len(case.get("reason", "")) > 20, case_id(case)


def test_the_data_follows_its_conventions(results: Results) -> None:
    """The checks below rely on them: a value of another tenant is recognisable on sight."""
    assert not results.fixture_problems, "\n".join(results.fixture_problems)
    assert results.state_kept, "a case's changes outlived its rolled-back transaction"


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_the_checks_see_a_leak(probe: str, results: Results) -> None:
    """Statements that leak by construction are caught: the checks can fail."""
    run = results.probes[probe]
    assert run.error is None
    assert run.leaks, f"{PROBES[probe]} leaks but the checks saw nothing"


@pytest.mark.parametrize("case", PREPARED, ids=[case_id(c) for c in PREPARED])
def test_postgres_accepts_the_case(case: dict[str, Any], results: Results) -> None:
    """PREPARE succeeds, and the statement does not fail at run time whatever the data (a FULL
    JOIN on a condition that is not an equality of the two sides prepares, and never runs)."""
    outcome = results.outcomes[case_id(case)]
    error = outcome.prepare_error or next(
        (run.error for run in outcome.runs[:1] if run.sqlstate[:2] in NEVER_RUNS), None
    )
    assert error is None, f"PostgreSQL rejects case {case_id(case)!r}: {error}\n  {case['sql']}"


@pytest.mark.parametrize("case", SAFE, ids=[case_id(c) for c in SAFE])
def test_a_safe_case_touches_only_its_tenant(case: dict[str, Any], results: Results) -> None:
    outcome = results.outcomes[case_id(case)]
    if outcome.prepare_error:
        pytest.fail(f"not run: PostgreSQL rejects it: {outcome.prepare_error}")
    own = outcome.runs[0]
    assert own.error is None, f"could not run {case['sql']!r}:\n{_describe(own)}"
    leaking = [run for run in outcome.runs if run.leaks]
    assert not leaking, (
        f"ANALYZER BUG: case {case_id(case)!r} is proven safe but on PostgreSQL it reaches "
        f"another tenant's rows:\n  {case['sql']}\n" + "\n".join(map(_describe, leaking))
    )


@pytest.mark.parametrize("case", LEAKS, ids=[case_id(c) for c in LEAKS])
def test_a_leak_case_on_the_server(case: dict[str, Any], results: Results) -> None:
    """Passes where the generic data shows the leak (a run returned, changed or copied a value
    of another tenant); skipped, with why, where it cannot: best effort, not a verdict."""
    outcome = results.outcomes[case_id(case)]
    if outcome.prepare_error:
        pytest.fail(f"not run: PostgreSQL rejects it: {outcome.prepare_error}")
    if outcome.shown is None:
        errors = {run.strategy: run.error for run in outcome.runs if run.error}
        pytest.skip(
            f"the generic data does not show this leak{f' (errors: {errors})' if errors else ''}"
        )


def test_summary(results: Results) -> None:
    """Counts, and the leak cases the generic data shows or cannot show (`pytest -s`)."""
    outcomes = results.outcomes
    accepted = [o for o in outcomes.values() if o.prepare_error is None]
    safe = [o for o in accepted if not o.case["expect"]]
    leaks = [o for o in accepted if is_leak_case(o.case)]
    shown = [o for o in leaks if o.shown]
    clean = [o for o in safe if o.runs and not o.runs[0].error and not any(r.leaks for r in o.runs)]
    print(
        f"\n{len(CASES)} cases: {len(PREPARED)} prepared, {len(accepted)} accepted by PostgreSQL; "
        f"{len(safe)} safe cases run, {len(clean)} of them touched only tenant {OWN}; "
        f"{len(leaks)} leak cases run: {len(shown)} shown, {len(leaks) - len(shown)} not shown "
        "by the generic data"
    )
    for title, group in (("shown", shown), ("not shown", [o for o in leaks if not o.shown])):
        print(f"-- leaks {title}:")
        for o in group:
            errors = sorted({run.error.splitlines()[0] for run in o.runs if run.error})
            how = f"  [{o.shown.strategy}] {o.shown.leaks[0]}" if o.shown else "; ".join(errors)
            print(f"   {case_id(o.case)} {sorted(o.case['expect'])}{how}")
    assert set(outcomes) == {case_id(c) for c in PREPARED}
