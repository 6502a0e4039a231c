"""TG013 side-effect-on-unfiltered-rows

## What it does
Finds a call with a side effect — `pg_notify`, `set_config`, `nextval`/`setval`, `dblink_exec`,
`dblink_connect`, the large-object functions (`lo_import`, `lo_export`, `lo_put`…), advisory
locks, `pg_sleep`, the pgsql-http extension's requests, the built-ins that change the server's
state (replication origins and slots, statistics resets, WAL switches, reloads: h37A,
`pg_replication_origin_create('probe')` per row fails at the second row, a count) —
that takes a column of a tenant table (or a whole row of one) — or, taking none, runs once per
row of one (`nextval('s')` counts the rows it runs on) — where PostgreSQL may evaluate it on rows
the tenant filter has not removed yet:

- in a WHERE or ON condition: the planner orders conditions as it likes, so the call may run
  before `tenant_id = $1` on every tenant's rows;
- in a derived table or CTE pinned only from outside (`WITH x AS MATERIALIZED (SELECT
  pg_notify(…, name) FROM patients) SELECT … FROM x WHERE tenant_id = $1`): a materialized CTE
  runs over every row before the outer filter, and so does any CTE whose body calls a volatile
  function (PostgreSQL never inlines one).

Also `set_config` of the tenant setting (its name in any case, or a name given by an
expression) in a statement that reads a view or function pinned inside by
`current_setting('app.tenant_id')` — or any relation that is not a tenant table, the registry
or a global table: PostgreSQL may run it first (a FROM item, a CTE, beside a scalar subquery),
and the view then reads the rows of the tenant the statement named. Set the tenant in a
statement of its own.

A view or function pinned inside by `current_setting('app.tenant_id')` (read as it is: it is
no tenant table) filters in its own WHERE, which PostgreSQL merges with the reader's: a call
in the reader's WHERE or ON may run first, on every tenant's rows. With schema sources, any
function of the schema or relation the schema shows as no table is read so; and so is, with
or without them, any view or function the runtime guard finds in the catalog filtering by the
setting (`Policy.setting_views`), whatever its name, and a derived table or CTE (not
MATERIALIZED) over one: PostgreSQL pushes its reader's condition into the view's scan (round
26).

An error is a side effect too: its message shows the value it failed on. A condition that
casts a tenant table's column to another type (`name::int = 5`: "invalid input syntax for type
integer: "Carla""), reads a setting, a time zone, a unit or a relation named by one
(`current_setting(name)`, `AT TIME ZONE name`, `date_trunc(name, …)`,
`has_table_privilege(name, …)`), parses it (`to_date`, `to_number`, `make_date`,
`convert_from`, `format(name, …)`) or runs a JSON path on it (`jsonb_path_exists`) — or
passes it to any other built-in, but those known to show no argument in their errors
(`lower`, `unaccent`, `to_tsvector('simple', …)`, `jsonb_typeof`…; a type's name called as a
function is a cast: `int4(name)`, `date(name)`, `regclass(name)`) — and that
PostgreSQL may evaluate before the tenant filter, shows other tenants' values to whoever sees
the error. So does a SQL function of the schema that PostgreSQL inlines (LANGUAGE sql, one
expression) whose body fails so (`SELECT t::int`). Other functions of the schema and those of
extensions are not read so (PL/pgSQL functions cost 100 units: PostgreSQL evaluates them after
a pin by a value) — but an extension's C function the runtime guard finds in the catalog
(`Policy.extension_functions`) is, at its cost there (1 by default, as a built-in): pgcrypto's
`digest('x', name)` fails with "Cannot use "carla": No such hash algorithm" (round 30; pg_trgm's
`similarity` and a few others fail on no value). Without schema sources, the runtime guard
reads the database's SQL and procedural functions in the catalog as the schema sources would
give them (`Policy.inlined_functions`: a SQL function's one statement, a function declared
cheaper than the default as one that may fail on anything). A call of a built-in's name that the
schema's functions share is one of either (PostgreSQL calls the schema's where its argument
types match better: `hr.lower(v varchar)` for `lower(email::varchar)`, h40A). A scalar subquery that is correlated to nothing and may return several rows
(a set operation, a VALUES list, a set-returning function in its select list, no LIMIT 1 nor
aggregate row) fails when a row first reaches its condition: "more than one row returned by a
subquery used as an expression" tells that one did (round 29). Control arguments count too: an encoding (`length(bytes, name)`), regular
expression flags, a text search configuration or dictionary given by a column. PostgreSQL evaluates a scan's conditions cheapest first (each function, operator
and cast costs about one unit; a column, a parameter, a literal or a COLLATE nothing, `now()` and
`current_date` one (evaluated on each row, not folded); a function of the schema's own what its
body costs where PostgreSQL inlines it (a SQL function of one expression), nothing where it is
declared cheap (`COST 0.01`: PostgreSQL takes it at its word) or the schema does not show it, its
default of 100 else), and a pin by a
parameter or a literal after every condition of the same cost: `tenant_id = $1 AND
current_setting(name) IS NULL` reads every tenant's names, and so does `tenant_id =
current_setting('app.tenant_id')::bigint AND name::int = 5` (the pin costs four units, the
cast three; `x BETWEEN a AND b` is two conditions, `x >= a` and `x <= b`, `(a, b) = (c, d)`
two, `a = c` and `b = d`, and `NOT (a OR b)` two, `NOT a` and `NOT b`, each placed by its own
cost; an integer tenant column compared with a numeric value — `tenant_id = 7.0`, `= 7e0`,
`= '7'::numeric`, or `= $1` where another use PostgreSQL may transform first types `$1`
numeric: `$1 + 0.5` in the select list, `points <> $1` of a numeric column, `$1::numeric`,
an argument of a function (`round($1, 2)`), a VALUES column, a CASE result or a row's item
beside a decimal (`$01` is `$1`; a window's PARTITION BY comes after the WHERE: h37B) —
is converted on every row, one unit more (h37A)). Such a condition is reported when its cost is at most its source's pin's; a
pin that is not a condition of the source's own scan (a composite foreign key, `IN (SELECT …)`,
a derived table pinned inside; a column of a VALUES list of several rows, or of a derived
table or CTE PostgreSQL keeps whole — a set operation, MATERIALIZED or read twice, DISTINCT,
GROUP BY, LIMIT/OFFSET, a volatile or set-returning call —, and `IN (VALUES (V), (V))`: a join
with a scan of its own, h39A) counts as evaluated after every condition. A part of a pin's
own form that PostgreSQL evaluates whole on every row — the WHEN tests or operand of a CASE
pin (`CASE WHEN 10 / n > 0 THEN tenant_id = $1 ELSE tenant_id = $1 END`), an AND's operand
written before the pin under IS TRUE or coalesce — runs before the pin, and so does a side
effect or random() there (`coalesce(random() < 2 AND name <> '' AND tenant_id = $1, FALSE)`:
the next random() tells how many rows the scan met; h39A); `NOT NOT c`,
`c = TRUE` and an OR of pins are simplified and split into conditions ordered by cost. A failing call in
the select list of a derived table PostgreSQL merges into its reader counts in the reader's
conditions that test its output (`(SELECT current_setting(name) AS s …) d WHERE d.s IS NULL`),
and so does one in a VALUES list of one row in FROM, pulled up alike (`LATERAL (VALUES (10 /
t.n)) x(r) … x.r IS NOT NULL`, h37B). A failing call in any FROM item (a function, `unnest`,
`ROWS FROM`, VALUES) over a source whose pin is no condition of its own scan runs for each of
its rows before the join that pins them (h37B). An aggregate's
argument that fails, under a HAVING pin PostgreSQL keeps in HAVING (one with a subquery, an
EXISTS conjunct among them: `HAVING EXISTS (SELECT 1 FROM tenants r WHERE r.id = $1 AND r.id =
tenant_id)`, h37A), ran
over every tenant's rows too. A division (`/`, `%`, `div`) by something a row computes fails
with "division by zero" exactly when the row makes it zero: `1/(CASE WHEN body LIKE $2 THEN 0
ELSE 1 END)` reads another tenant's text a prefix at a time (round 22). A joined table's scan
gets the pin's value only through an equivalence class — plain `=` all along, the root on the
bare column — so a chain from `tenant_id BETWEEN $1 AND $1`, `(tenant_id = $1) IS TRUE`,
`tenant_id::text = $1` or through IS NOT DISTINCT FROM, and a pin by a correlated subquery (a
SubPlan, evaluated last), count as evaluated after every condition. A function's domain counts (`sqrt`, `ln`,
`acos`, `cos` of an infinite value, `abs` of the least integer — of a value a row computes; `lpad(x, n)`, `repeat(x, n)` of a length it computes, and `repeat` of a row's text under a count the caller chooses (`repeat(name, $2)`: "requested length too large" past 1 GB tells the text's length); a
regular expression, a LIKE pattern or a JSON key it gives), and so does any call sqlglot reads as a typed node
that is not known to fail on no value (`make_timestamp`, `make_interval`, `date_bin`…; round 23).
A cast that may fail on some value of its operand's type fails so though it quotes nothing
(round 24): a narrowing (`n::int` of a bigint: "integer out of range", `x::numeric(3,0)`), a cast
of text or of a JSON value (`(j -> 'a')::int`: "cannot cast jsonb string to type integer"), a
date to a timestamp; a widening the schema's column types (or the operand's form) show
(`i::bigint`, `n::numeric`, `created_at::date`) fails on no value, nor does a cast to text
(`::varchar(2)` truncates). The type of a COALESCE, GREATEST, LEAST or CASE is its
branches' common type (`COALESCE(i, n)::int` of an int4 and an int8 narrows an int8), unknown
if any branch's is; NULLIF's is its first argument's. Arithmetic on a row's values overflows by
their size ("integer out of range", "date out of range", "interval out of range"): `i * i`,
`d + n`, `ts + n * interval '1 day'`, `n + 9223372036854775000`, a value a row computes plus
one — but not a column plus or minus a constant small for its type (`id + 1`, `ts - interval
'7 days'`, `coalesce(n, 0) + 1`: only a value at its type's very edge fails), numeric arithmetic of moderate
literals, or a sum of lengths. Small is told by the column's type (round 24b): an integer under
2**15 of a number or a date (a smallint plus an integer literal is int4 arithmetic), or
added to a column the schema does not type; an interval under 1000 years in all, its units counted (`'292 millennia 252 years'`,
`'P292252Y'`, `'100000000:00:00'` are not small; a form not read, `'150000-0'`, is not), of a
timestamp or an interval or an untyped column. Not small: `j - 1` of a jsonb (it deletes an
element: "cannot delete from object using integer index"), `d + interval '1 day'` of a date (a
timestamp: "date out of range for timestamp" past 294276 AD), `x * 1e131071` of a numeric
("value overflows numeric format"), nor a parameter or a constant the statement computes
(`x + $2::numeric`, `x + (repeat('9', 131072)::numeric - T)`: the caller puts numeric's edge at
T). A date is converted to a timestamp, failing so, by
`date_trunc`, `AT TIME ZONE`, `to_char`, `age` and a choice beside a timestamp
(`COALESCE(d, ts)`); a comparison with a timestamp converts none. `cot` of an infinite value
fails; so do `array_append`, `array_prepend`, `array_position(s)`, `array_remove` of a
multidimensional array (an `ARRAY[…]` of scalars has one dimension), `jsonb_array_length` of
what is no array, `#-` of a scalar, `justify_days`/`_hours`/`_interval` of a large interval.
to_char's format given by a row fails on a number or an interval ("multiple decimal points"),
on a timestamp never. A JSON path the
`jsonb_path_*` functions run fails on a row's value where it is `strict` (a missing key), does
arithmetic (`'$.a / ($.a - 2)'`: "division by zero") or converts (`.double()`, `.keyvalue()`,
`.datetime()`) outside a filter, and, for `jsonb_path_match`, where it is no predicate ("single
boolean result is expected"); a filter's errors (`? (@ / 0 > 1)`), the operators `@?` and `@@`
and `silent => true` fail on none (helper 119) — but a variable the path names that its `vars`
(a literal JSON object) does not hold fails in a filter and under `silent => true` alike ("could
not find jsonpath variable": `? (@.salary > 5000 && $x == 1)` reads `$x` only past the test).
Not seen: a subscript out of range; `arr || 1` of a multidimensional array (`||` is read as
text's); `date_part('epoch', d)` of a date (read as EXTRACT, which converts nothing); a date
column plus or minus an interval where the schema does not show its type (taken for a
timestamp); a cast of a column whose type the schema does not show is
read as one that may fail (a false alarm beside a pin by the tenant expression:
`created_at::date = current_date` without schema sources).

It is fine in the select list, ORDER BY, RETURNING or SET of a block that pins the source
itself (its rows are filtered before those are computed), on the rows of a MATERIALIZED
CTE that is pinned inside (whether or not it shows the tenant column), and in a SELECT CTE that
nothing in the statement names (PostgreSQL neither plans nor runs it). A condition on a derived
table or CTE that PostgreSQL inlines (one plain SELECT, row by row) is pushed into the scan of
its body's table and ordered by cost with the pin there: `WITH m AS (SELECT id, n FROM t WHERE
tenant_id = $1) … WHERE n::int IS NULL` may fail on another tenant's row (a tie goes to the
condition), `… WHERE n::int > 5` costs more than the pin and runs after it. A body that is a
set operation other than UNION ALL stays a subquery: a condition holding a SubPlan or a
semi-join (`IN (SELECT …)`, `= ANY (SELECT …)`, a correlated EXISTS or scalar subquery) is not
pushed into its branches, and tests their output rows, pinned — but a condition that is
itself an EXISTS, IN or `op ANY` of a subquery is pulled up into a semi-join, whose conditions
reading the reader's row and none of the subquery's own tables are pushed into the branches
(`EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL)`, `(d.s IS NULL) IN (SELECT true)`).

A constraint check is a read of every tenant's rows too (round 30): a unique key or an
exclusion constraint of a tenant table that does not hold the tenant column (`email text
UNIQUE`, a unique index on `lower(handle)`, `EXCLUDE USING gist (room WITH =, during WITH
&&)`) is checked over the whole table, so an INSERT, UPDATE, MERGE or `ON CONFLICT … DO UPDATE`
that gives one of its columns a value fails ("duplicate key value violates unique
constraint") — or an `ON CONFLICT DO NOTHING` skips its row — exactly when another tenant
holds the value. The runtime guard reads those keys in the catalog (`Policy.spanning_keys`),
the static check in the schema sources (a unique constraint or index, deferrable, partial or
on expressions too — the columns its expressions and predicate read —, an exclusion
constraint, those copied by `LIKE … INCLUDING INDEXES`, and the columns a generated column
among them is computed from; a DROP of the key's name, column or table drops it, a DROP of
a name the reader does not know drops none); the
primary key is not one (the rows' identity: applications give ids explicitly), nor is a key
that holds the tenant column — unless the tenant column compares loosely (citext, a
nondeterministic collation: 'acme' = 'ACME'), where a key holding it, the primary key too, is
checked across the tenants it merges (h35A). A key that spans tenants on purpose (a Facebook page routed to
one clinic) is still reported at each write: suppress it there, with the reason.
A foreign key's check is one too (helper h31a): a key referencing a tenant table by columns
without the tenant column (`email text REFERENCES members (email)`) is checked against the
referenced rows of every tenant, so a write giving one of its columns a value succeeds exactly
when another tenant holds the value ("violates foreign key constraint" when none does) — and
the row written points at another tenant's; and a DELETE of the referenced table (an UPDATE of
the referenced columns) fails ("is still referenced from table") exactly when another tenant's
row references one of its rows (through an updatable view of either table too). Not a key that
carries the row's own tenant column to the referenced one, nor one referencing the primary key
(as above), the registry or a global table.
A view's own condition that may fail is one too (helper h33a): a read of a view of the schema
sources pinned from outside has its pin pushed into the view's scan, where PostgreSQL runs the
cheapest conditions first (the view's own on a tie), so `SELECT * FROM v_ratio WHERE
workspace_id::text = $1` fails on another tenant's row when the view filters `100 / (points -
8) <> 0`. Reported where the pin costs more than the dearest the schema reader found to run
first (`Policy.failing_views`), or casts or calls a function on the column (not leakproof: a
security barrier view runs its own conditions before it whatever it costs). A function of
the schema without parameters read in FROM is judged alike: one SELECT of a STABLE or IMMUTABLE
SQL function is inlined as a view is, any other body runs whole before every pin. So is a
reader's condition on a view's column that an expression which may fail computes
(`Policy.failing_columns`: `WHERE r <> 0` of a view showing `100 / (points - 8) AS r`) beside
a pin dearer than the plain one (also through a derived table, CTE or view showing the
column): pushed into the view's scan, it runs first. So, whatever the pin costs, is a
reader's failing condition on a column a view, derived table, CTE or inlined SQL function
reads from a source of its query pinned only through a join (a key: `lessons l JOIN courses c
ON c.id = l.course_id`, the pin on `c.org_id`; `Policy.chained_columns` for a view or
function): PostgreSQL pulls the body up — or pushes the condition past DISTINCT, a grouping
key or a set operation — into that source's scan, on every tenant's rows (h38A).

## Why is this bad?
The query's result is pinned, but the side effect is not: `pg_notify` sends another tenant's
names to a channel, `set_config` leaves them in a setting, `nextval` and `pg_sleep` leak how many
rows other tenants have.

## Example
```sql
SELECT * FROM patients WHERE pg_notify('changes', name) IS NULL AND tenant_id = $1;
SELECT * FROM patients WHERE tenant_id = $1 AND current_setting(name) IS NULL;
```

## Use instead
```sql
WITH mine AS MATERIALIZED (SELECT * FROM patients WHERE tenant_id = $1)
SELECT pg_notify('changes', name) FROM mine;
```

## Options
`tenant_tables`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.costs import (
    NUMERIC_TYPES,
    UNBOUNDED,
    _cost,
    carries_tenant_rows,
    numeric_constant,
    pin_cost,
    pinned_after,
    pulled_up,
    split_condition,
)
from tenantguard.engine.failing import (
    DATE_CONVERTERS,
    SIDE_EFFECTS,
    body_may_fail,
    collapsed_intervals,
    converts_a_date,
    date_operands,
    fails_on_a_constant,
    is_cast,
    may_fail,
    may_hold_a_date,
    namesake_of,
    reads_a_column,
    revealing_parts,
    tenant_column_casts,
    total_cast,
    type_of,
    unbounded,
    varies,
)
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS
from tenantguard.engine.placement import (
    Locator,
    _placement,
    _position,
    catalog_relation,
    correlated_before_the_pin,
    filtered_before,
    held_above,
    join_filter_after_the_scan,
    moved_to_where,
    not_pulled_up,
    pinned_by_setting,
    pinned_inside,
    pinned_readers,
    pinned_with,
    pulled_up_before_the_pin,
    pulled_up_values,
    read_as,
    reprojected_before_the_pin,
    run_before_the_pin,
    setting_pinned_inside,
    sources_in,
    sources_of,
    tenant_sources,
    tests_of_column,
    values_column,
)
from tenantguard.engine.policy import ForeignKey, Policy, sql_name
from tenantguard.engine.proof import (
    Analysis,
    Block,
    Source,
    SourceKind,
    Span,
    build_proof,
    function_name,
)
from tenantguard.engine.proof.blocks import sets_tenant_setting
from tenantguard.engine.proof.pushdown import chained_scan_source
from tenantguard.engine.proof.syntax import (
    calls_volatile,
    identifier_name,
    is_row,
    is_table_name,
    is_within,
)
from tenantguard.engine.referencing_keys import referenced_writes, referencing_writes
from tenantguard.engine.spanning_keys import spanning_writes
from tenantguard.engine.subqueries import _correlated, several_rows, used_as_a_value

RULE = RuleInfo("TG013", "side-effect-on-unfiltered-rows", Severity.ERROR)


def check(ctx: Context) -> Iterator[Finding]:
    if "set_config" in ctx.lowered and ctx.tree is not None and not ctx.in_patch:
        yield from _setting_changed_before_read(ctx, ctx.tree)
    if ctx.in_patch or ctx.tree is None:
        return
    reported: set[tuple[int, int]] = set()  # the writes a key's check is reported at
    if ctx.policy.spanning_keys and ("insert" in ctx.lowered or "update" in ctx.lowered):
        for finding in _spanning_writes(ctx, ctx.tree):  # (a MERGE's actions spelled so too)
            reported.add((finding.line, finding.column))
            yield finding
    if ctx.policy.checked_foreign_keys and (
        "insert" in ctx.lowered or "update" in ctx.lowered or "delete" in ctx.lowered
    ):
        # a foreign key references a unique key: without the tenant column, a spanning one
        # too, whose finding at the same write says enough (one finding per write)
        for finding in _referencing_writes(ctx, ctx.tree):
            if (finding.line, finding.column) not in reported:
                yield finding
    analysis = ctx.builder
    if analysis is None:
        # no tenant table named: a view or function pinned inside by the tenant setting may
        # still be read (cheap screen first: the call's name in the text, or the name of one
        # known to be so pinned — whose conditions may fail before its filter too)
        if not (
            (ctx.policy.table_columns and any(n in ctx.lowered for n in SIDE_EFFECTS))
            or any(n in ctx.lowered for n in ctx.policy.setting_views)
        ):
            return
        analysis = build_proof(ctx.tree, ctx.policy)[1]
    revealed = _revealed(ctx, analysis)
    yield from _errors_before_the_pin(ctx, analysis, revealed)
    if ctx.policy.failing_views or ctx.policy.failing_columns:
        yield from _failing_views_before_the_pin(ctx, analysis)
    yield from _random_before_the_pin(ctx, analysis)
    yield from _failing_alike_before_the_pin(ctx, analysis, revealed)
    calls = analysis.model.calls
    found = [node for name in SIDE_EFFECTS.intersection(calls) for node in calls[name]]
    unread = analysis.model.unread_ctes() if found else set()
    for node in sorted(found, key=_position):
        if unread and analysis.model.inside(node, unread):
            continue  # in a CTE nothing names: PostgreSQL never runs it
        block, position, visible = _placement(analysis, node)
        if block is None:
            continue
        sources = tenant_sources(analysis, block, node, visible)
        # a call that reads no tenant row still runs once per row: `nextval('s')` counts them
        # (not a FROM item of its own: `FROM t, nextval('s')` runs it once)
        per_row = not sources
        if per_row and position == "from":
            continue
        if per_row:
            sources = [s for s in block.every_source if carries_tenant_rows(s)]
            if visible is not None:
                sources = [s for s in sources if s in visible]
        for source in sources:
            if pinned_by_setting(ctx.policy, source):
                if position == "after":
                    continue  # its own filter ran with the block's, before the select list
            elif filtered_before(analysis, source, block, position):
                continue
            if per_row:
                message = (
                    f"{function_name(node)}() runs once per row of {source.describe()} where "
                    "PostgreSQL may run it before the tenant filter: how many rows other "
                    "tenants have leaks"
                )
            else:
                message = (
                    f"{function_name(node)}() takes a column of {source.describe()} where "
                    "PostgreSQL may run it before the tenant filter, on other tenants' rows"
                )
            yield ctx.finding(
                RULE,
                node,
                message,
                f"pin {source.name or source.describe()} first (a MATERIALIZED CTE filtered by "
                "tenant) and call it in the select list of a block that reads those rows",
            )
            break


def _spanning_writes(ctx: Context, tree: exp.Expression) -> Iterator[Finding]:
    """A write giving a value to a column of a key the server checks across every tenant
    (`engine.spanning_keys`): its error, or an ON CONFLICT that skips, tells whether another
    tenant holds the value (round 30)."""
    for write in spanning_writes(tree, ctx.policy, ctx.inserts_and_updates()):
        key = ", ".join(sorted(write.key))
        yield ctx.finding(
            RULE,
            write.node,
            f"the value written to {write.table}.{write.column} is checked against every "
            f"tenant's rows: ({key}) is a unique key or an exclusion constraint without the "
            'tenant column, whose error ("duplicate key value", "conflicting key value"), '
            "or an ON CONFLICT that skips, tells whether another tenant holds the value",
            f"make the key hold {ctx.policy.tenant_column} (UNIQUE ({ctx.policy.tenant_column}, "
            f"…), EXCLUDE (… {ctx.policy.tenant_column} WITH =)), or write it in maintenance "
            "code (`with unscoped(reason):`)",
        )


def _referencing_writes(ctx: Context, tree: exp.Expression) -> Iterator[Finding]:
    """A write giving a value to a column of a foreign key the server checks against another
    tenant table's rows of every tenant (`engine.referencing_keys`): its error tells whether
    another tenant holds the value (helper h31a)."""
    tenant = ctx.policy.tenant_column
    for write in referencing_writes(tree, ctx.policy, ctx.inserts_and_updates()):
        key = write.key
        yield ctx.finding(
            RULE,
            write.node,
            f"the value written to {write.table}.{write.column} is checked against every "
            f"tenant's rows: {_foreign_key(write.table, key, tenant)}, whose error (\"violates foreign key "
            'constraint") or success tells whether another tenant holds the value',
            f"{_own_tenant_key(key, tenant)}, or write it in maintenance code "
            "(`with unscoped(reason):`)",
        )
    for written in referenced_writes(tree, ctx.policy):
        key = written.key
        yield ctx.finding(
            RULE,
            written.node,
            f"rows of another tenant may reference the rows this writes: "
            f'{_foreign_key(written.table, key, tenant)}, whose error ("is still referenced '
            "from table\") tells that another tenant's row references one (its ON "
            "DELETE / ON UPDATE action changes that row)",
            _own_tenant_key(key, tenant),
        )


def _foreign_key(table: str, key: ForeignKey, tenant: str) -> str:
    columns, referenced = ", ".join(key.columns), ", ".join(key.ref_columns)
    how = f"not from the row's own {tenant}" if tenant in key.ref_columns else f"without {tenant}"
    return f"the foreign key {table} ({columns}) references {key.ref_table} ({referenced}) {how}"


def _own_tenant_key(key: ForeignKey, tenant: str) -> str:
    columns = [c for c, r in zip(key.columns, key.ref_columns, strict=False) if r != tenant]
    referenced = [r for r in key.ref_columns if r != tenant]
    return (
        f"make the key carry the row's own {tenant} (FOREIGN KEY ({tenant}, "
        f"{', '.join(columns)}) REFERENCES {key.ref_table} ({tenant}, {', '.join(referenced)}))"
    )


_Revealed = list[tuple[exp.Expression, "list[exp.Expression] | None"]]


def _revealed(ctx: Context, analysis: Analysis) -> _Revealed:
    """Each call or cast that may fail (what the model's walk indexed: typed calls and casts,
    and calls by name) with the arguments its error may show (`revealing_parts`): read once
    for the checks of errors and of calls failing alike."""
    model = analysis.model
    column = ctx.policy.tenant_column
    nodes = [node for kind, found in model.index.items() if may_fail(kind) for node in found]
    nodes += [n for found in model.calls.values() for n in found]
    functions = ctx.policy.functions
    inlined = ctx.policy.inlined_functions
    # (not `functions & inlined.keys()`: a set at run time, which the compiled build refuses)
    if ctx.tree is not None and any(n in BUILTIN_FUNCTIONS and n in inlined for n in functions):
        # a typed call (`LOWER(x)`) of a name the schema's functions share, which the walk
        # does not index: PostgreSQL may call the schema's (h40A); only where one exists
        nodes += [
            n
            for n in ctx.tree.find_all(exp.Expression)
            if namesake_of(n, functions) in inlined and not may_fail(type(n))
        ]
    extensions = ctx.policy.extension_functions
    casts = tenant_column_casts(ctx.policy)
    return [
        (node, revealing_parts(node, column, functions, inlined, extensions, casts))
        for node in nodes
    ]


def _errors_before_the_pin(
    ctx: Context, analysis: Analysis, revealed: _Revealed
) -> Iterator[Finding]:
    """Conditions whose error shows a tenant row's value, evaluated before that row's pin."""
    model = analysis.model
    column = ctx.policy.tenant_column
    candidates = [
        (node, parts) for node, parts in revealed if parts is not None and reads_a_column(parts)
    ]
    # calls that convert a date to a timestamp, failing past 294276 AD: kept where the schema
    # shows a date (`converts_a_date`) — looked for where the statement may hold a date at all
    converting: set[int] = set()
    converters = [
        node for node, parts in revealed if parts is None and isinstance(node, DATE_CONVERTERS)
    ]
    if converters and may_hold_a_date(ctx):
        for converter in converters:
            dated = [p for p in date_operands(converter) if varies(p)]
            if dated and reads_a_column(dated):
                converting.add(id(converter))
                candidates.append((converter, dated))
    if not candidates:
        return
    unread = model.unread_ctes()
    reported: set[int] = set()
    costs: dict[int, float] = {}  # by condition: many failing calls may sit in one
    collapsed = (
        collapsed_intervals(ctx.lowered)
        if any(isinstance(node, _ARITHMETIC) for node, _ in candidates)
        else False
    )
    locate = Locator(analysis)
    for node, parts in sorted(candidates, key=lambda c: _position(c[0])):
        if unread and model.inside(node, unread):
            continue
        block, position, visible, conjunct, top = locate(node)
        if block is None:
            continue
        if position == "from":
            # a FROM item's value: run per row of the sources it reads (h37B)
            yield from _from_item_before_the_pin(ctx, analysis, block, node, parts, reported)
            continue
        if id(node) in converting and not converts_a_date(analysis, block, node, visible):
            continue
        if is_cast(node) and len(parts) == 1 and total_cast(analysis, block, node, visible):
            continue  # `created_at::date`, `date(created_at)`, `n::numeric`: fails on no value
        if isinstance(node, _ARITHMETIC) and unbounded(
            analysis, block, node, visible, collapsed=collapsed
        ):
            continue  # `x * 1.21` of a numeric `x`: numeric arithmetic does not overflow
        if isinstance(node, exp.TimeToStr) and type_of(analysis, block, node.this, visible) in (
            "timestamp",
            "timestamptz",
        ):
            continue  # to_char of a timestamp fails on no format (of a number, an interval: may)
        if position == "after" and moved_to_where(ctx, block, conjunct):
            # PostgreSQL moves a HAVING condition without aggregates, subqueries or volatile
            # calls to WHERE (no grouping sets): run in the scans, beside the pins (h28b)
            position = "filter"
        correlated = correlated_before_the_pin(analysis, locate, block, parts, visible)
        if correlated is not None:
            outer_source, outer_conjunct = correlated
            if id(outer_conjunct) not in reported:
                reported.add(id(outer_conjunct))
                yield ctx.finding(
                    RULE,
                    node,
                    f"this condition, in a subquery correlated to {outer_source.describe()}, "
                    "runs for each of its rows before the join that pins them (a SubPlan of its "
                    "scan): the error it raises shows another tenant's value",
                    "make the condition unable to fail (compare as text), or pin "
                    f"{outer_source.describe()} by its own tenant column (`{outer_source.name}."
                    f"{column} = $n`)",
                )
            continue
        if position == "after":
            yield from _before_a_having_pin(ctx, analysis, block, node, visible, reported)
            yield from _tested_outside(ctx, analysis, block, top, parts, visible, reported)
            continue
        if conjunct is None or id(conjunct) in reported:
            continue
        reading = pinned_readers(analysis, block, parts, visible, conjunct, locate)
        reading = [
            s
            for s in reading
            if not join_filter_after_the_scan(analysis, block, conjunct, s, locate)
        ]
        # (a condition PostgreSQL splits costs the part holding the node)
        key = id(node) if split_condition(conjunct) else id(conjunct)
        cost = costs.get(key)
        if cost is None:
            cost = costs[key] = _cost(conjunct, upper=False, policy=ctx.policy, within=node)  # type: ignore[arg-type]
        source = pinned_after(reading, cost, analysis)
        if source is None:  # in one form with the pin, evaluated whole in order (h39A)
            source = pinned_with(analysis, block, node, visible, locate)
        if source is None:
            # a condition of a subquery PostgreSQL pulls up, on an enclosing source (h37A)
            pulled = pulled_up_before_the_pin(analysis, locate, block, parts, visible, cost)
            source = pulled[0] if pulled is not None else None
        if source is None:
            source = reprojected_before_the_pin(analysis, block, parts, visible, cost)
        if source is None:  # pushed into a body's scan pinned through a join only (h38A)
            source = chained_scan_source(
                analysis.names,
                analysis.projections.row_by_row,
                block,
                parts,
                visible,
                functools.partial(_pinned_no_sooner, cost, analysis),
                ctx.policy.chained_columns,
            )
        if source is None and cost <= _SETTING_PIN_COST:
            # a view (or function) pinned inside by the tenant setting: its filter merges with
            # this WHERE, and costs a setting read, a cast and a comparison (round 22, helper 108)
            source = next(
                (
                    s
                    for s in sources_of(analysis, block, parts, visible)
                    if s.block is block
                    and (
                        pinned_by_setting(analysis.policy, s)
                        or setting_pinned_inside(analysis, s, frozenset())
                    )
                    and not catalog_relation(s)
                ),
                None,
            )
        if source is not None:
            reported.add(id(conjunct))
            if isinstance(node, exp.Div | exp.Mod | exp.IntDiv):
                shows = "tells whether another tenant's row makes it zero"
            elif isinstance(node, _ARITHMETIC) or is_cast(node):
                shows = "shows or bounds another tenant's value (out of range, invalid input)"
            else:
                shows = "shows another tenant's value"
            yield ctx.finding(
                RULE,
                node,
                f"this condition reads {source.describe()} where PostgreSQL may evaluate it "
                f"before the tenant filter (it costs no more than the pin): the error it raises "
                f"{shows}",
                "make the condition unable to fail (compare as text, `current_setting(…, "
                "true)`), or filter by tenant in a MATERIALIZED CTE and test the rows it keeps",
            )


def _pinned_no_sooner(cost: float, analysis: Analysis, source: Source) -> bool:
    """Whether a condition of `cost` may run before `source`'s pin in its scan."""
    return cost <= pin_cost(source, analysis)


def _failing_views_before_the_pin(ctx: Context, analysis: Analysis) -> Iterator[Finding]:
    """A read of a view whose own conditions may fail (`Policy.failing_views`), pinned by
    anything dearer than the plain `v.tenant_id = V` its proof had: the pin is pushed into the
    view's scan, where PostgreSQL runs the cheapest conditions first — the view's `100 /
    (points - 8) <> 0` before `v.tenant_id::text = $1`, on every tenant's rows (round 33)."""
    failing = ctx.policy.failing_views
    owners = {  # a derived table's or CTE's body -> that source
        id(body): source
        for block in analysis.model.blocks
        for source in block.every_source
        if source.kind in (SourceKind.DERIVED, SourceKind.CTE)
        for body in source.body
    }
    for block in analysis.model.blocks:
        for source in block.every_source:
            if source.kind is not SourceKind.TABLE or source.table is None or not source.pinned:
                continue
            # a condition of the reader on a column the view computes by an expression that
            # may fail runs in the view's scan too, costing more than the plain pin
            tested = _tests_a_failing_column(block, source, ctx.policy, owners)
            bound = _PLAIN_PIN_COST if tested else failing.get(source.table)
            if bound is None or (
                pin_cost(source, analysis) <= bound and not _pin_calls_on_the_column(source)
            ):
                continue
            yield ctx.finding(
                RULE,
                source.node,
                f"{source.describe()} is a view whose own condition may fail on a row, and "
                "PostgreSQL runs it in the view's scan before a pin that costs as much or more "
                "than it: the error shows another tenant's row",
                f"pin {source.name} by `{source.name}.{sql_name(ctx.policy.tenant_column)} = $n` alone",
            )


# the plain pin of a column by a value: one operator
_PLAIN_PIN_COST = 1.0


def _tests_a_failing_column(
    block: Block, source: Source, policy: Policy, owners: Mapping[int, Source]
) -> bool:
    """Whether a WHERE or join ON reads a column of `source` (a view) that the view computes by
    an expression that may fail (`Policy.failing_columns`): in its own block, or in the block
    of a derived table or CTE whose body shows that column (`*`, or an output reading it, under
    whatever name), and so on up — PostgreSQL pushes such a condition down into the view's
    scan. An unqualified column of such a name counts."""
    names: frozenset[str] | None = policy.failing_columns.get(source.table or "")
    if not names:
        return False
    name = source.name
    while True:
        for condition in _conditions(block):
            for column in condition.find_all(exp.Column):
                if column.table in ("", name) and (names is None or column.name in names):
                    return True
        owner = owners.get(id(block))
        if owner is None or not isinstance(block.node, exp.Select):
            return False
        shown: set[str] = set()
        for output in block.node.expressions:
            if isinstance(output, exp.Star) or (
                isinstance(output, exp.Column) and isinstance(output.this, exp.Star)
            ):
                shown |= names if names is not None else set()
            elif any(names is None or c.name in names for c in output.find_all(exp.Column)):
                shown.add(output.alias_or_name)
        if not shown and names is not None:
            return False
        # a column list renames by position: any column of the derived table may be one
        names = None if owner.column_names or names is None else frozenset(shown)
        block, name = owner.block, owner.name


def _conditions(block: Block) -> list[exp.Expression]:
    """A block's WHERE and its joins' ON conditions."""
    found = [block.node.args.get("where")]
    found += [j.args.get("on") for j in block.node.args.get("joins") or ()]
    return [c for c in found if isinstance(c, exp.Expression)]


def _pin_calls_on_the_column(source: Source) -> bool:
    """Whether the pin of `source` (followed out of the bodies it was pushed into) runs a cast,
    array or function on a column (`v.tenant_id::text = $1`, `ARRAY[v.tenant_id] <@ …`): not
    known to be leakproof, so that a security barrier view runs its own conditions before it,
    whatever it costs; so does a value cast to numeric (compared by numeric_eq). A CASE, a
    parenthesis, an AND or OR or a row of columns is no call."""
    seen: set[int] = set()
    current: Source | None = source
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fact = current.pinned_by
        if fact is None:
            return current.passthrough  # (pinned by its body's branches: not read here)
        if isinstance(fact.conjunct, exp.Exists):  # a semi join's equivalence class, or none
            return not pulled_up(fact.conjunct)
        if not fact.pushed:
            return any(
                # a value cast to numeric: the column is compared through numeric_eq, not
                # leakproof (`v.tenant_id = $1::numeric`, helper h33m)
                (isinstance(node, exp.Cast) and node.to.this in NUMERIC_TYPES)
                or numeric_constant(node)  # `= 7.0`: numeric_eq too (h37A)
                or (
                    isinstance(node, exp.Cast | exp.Array | exp.Func | exp.Anonymous)
                    and not isinstance(node, exp.Case | exp.If | exp.Connector)  # AND, OR
                    and not (
                        isinstance(node, exp.Anonymous) and is_row(node)
                    )  # ROW(…): one `=` each
                    and node.find(exp.Column) is not None
                )
                for node in fact.conjunct.walk()
            )
        current = fact.other
    return True


# the session's random generator: each call of random() advances it, setseed() sets it, and the
# next random() of the session shows how often (or from what) — a count of the rows a condition
# calling it ran on, or a value of the last one
_RANDOM_NAMES = ("random", "random_normal", "setseed")


def _random_before_the_pin(ctx: Context, analysis: Analysis) -> Iterator[Finding]:
    """random()/setseed() in a condition that reads a tenant source's columns and that
    PostgreSQL may evaluate before that source's pin (it costs no more than the pin, or the pin
    is a join's: a composite key's): the generator then advances once per row of every tenant
    the condition ran on (`CASE WHEN p.first_name < 'M' THEN random() END`: how many of them
    sort before 'M'), which the session's next random() tells (outside review h28b). A call
    that reads no column runs above the joins, on the rows they kept; one evaluated after the
    filters (the select list, ORDER BY) on the filtered rows."""
    if ctx.tree is None:
        return
    model = analysis.model
    # (the model's walk indexed every random(): no walk of its own)
    nodes: list[exp.Expression] = list(model.index.get(exp.Rand, ()))
    nodes += [node for name in _RANDOM_NAMES for node in model.calls.get(name, ())]
    for node, source in run_before_the_pin(ctx, analysis, nodes):
        name = function_name(node) if isinstance(node, exp.Anonymous) else "random"
        yield ctx.finding(
            RULE,
            node,
            f"{name}() runs in a condition on {source.describe()} that PostgreSQL may evaluate "
            "before the tenant filter: the session's next random() tells how many of other "
            "tenants' rows it ran on (or a value of the last one)",
            f"pin {source.name or source.describe()} by its own tenant column, or call it in the "
            "select list",
        )


def _failing_alike_before_the_pin(
    ctx: Context, analysis: Analysis, revealed: _Revealed
) -> Iterator[Finding]:
    """A call that fails whatever the row's value (`split_part(p.first_name, ',', 0)`,
    `json_build_object(NULL, p.first_name)`: a constant its domain rejects) in a condition
    PostgreSQL may evaluate before the pin: a branch a row's value decides (`p.first_name <
    'C' OR …`, a CASE), or a cheaper condition on the same scan evaluated before it, runs it
    on some rows only, and whether it failed says whether another tenant has such a row — a
    search of their values (outside review h28b). A call of constants alone is folded when
    the statement is planned (it fails every time)."""
    if ctx.tree is None:
        return
    model = analysis.model
    column = ctx.policy.tenant_column
    alike = [
        node
        for node, parts in revealed
        # (the cheap test first: few calls fail on a constant; the walk for a column is last)
        if fails_on_a_constant(node, parts) and node.find(exp.Column) is not None
    ]
    # an uncorrelated scalar subquery that may return several rows: PostgreSQL runs it when
    # the condition first needs its value ("more than one row returned by a subquery used as
    # an expression"), so only if a row reaches the condition
    subqueries = [n for n in model.index.get(exp.Subquery, ()) if isinstance(n, exp.Subquery)]
    alike += [
        node
        for node in subqueries
        if used_as_a_value(node)
        and (several_rows(analysis, node) or body_may_fail(node, column, ctx.policy))
        and not _correlated(analysis, node)
    ]
    for node, source in run_before_the_pin(ctx, analysis, alike, _decided_by_a_row):
        yield ctx.finding(
            RULE,
            node,
            "this fails whatever the row's value (a constant its domain rejects, a subquery of "
            f"several rows), in a condition on {source.describe()} that PostgreSQL may "
            "evaluate before the tenant filter, where a row's value decides whether it runs: "
            "whether it fails tells whether another tenant has such a row",
            "pass arguments the function accepts, or pin "
            f"{source.name or source.describe()} by its own tenant column",
        )
    # such a call or subquery in the select list of a derived table or CTE PostgreSQL merges
    # into its reader, its output tested there: a condition of the scan of the body's table
    # (round 29)
    locate: Locator | None = None
    reported: set[int] = set()
    for node in alike:
        locate = locate or Locator(analysis)
        block, position, visible, _, top = locate(node)
        if block is None or position != "after" or not analysis.model.readers.get(id(block)):
            continue
        cte = block.node.parent
        if not (isinstance(cte, exp.CTE) and cte.args.get("materialized")):  # (not merged)
            parts: list[exp.Expression] = list(top.find_all(exp.Column))
            yield from _tested_outside(ctx, analysis, block, top, parts, visible, reported)


_BRANCHING = (exp.Or, exp.And, exp.Case, exp.If, exp.Coalesce, exp.Nullif)


def _decided_by_a_row(
    analysis: Analysis, node: exp.Expression, conjunct: exp.Expr, block: Block, source: Source
) -> bool:
    """Does a row's value decide whether `node` runs: a branch of its condition (OR, CASE,
    coalesce…), or another condition of the block — or another part of its own that
    PostgreSQL splits off (`split_condition`) — on the same source's columns that is no pin
    of it (PostgreSQL runs the conditions of a scan in order, the cheaper first, each on the
    rows the ones before kept)? One that always runs fails on the first row whatever it is."""
    if node is not conjunct:
        current: exp.Expr | None = node
        while current is not None and current is not conjunct:
            current = current.parent
            if isinstance(current, _BRANCHING):
                return True
    # a part of a condition PostgreSQL splits is a condition of its own
    for _, part in split_condition(conjunct) or ():
        if not any(is_within(node, o) for o in part) and source in sources_in(
            analysis, block, list(part), None
        ):
            return True
    pins = {id(f.conjunct) for f in source.facts}
    for items, _, clause, _ in block.filters:
        # a join's ON is "ON of JOIN t", a MERGE's "MERGE ON" (an aggregate's FILTER is none)
        if clause not in ("WHERE", "HAVING", "MERGE ON") and not clause.startswith("ON of "):
            continue
        for other in items:
            if other is conjunct or id(other) in pins:
                continue
            if source in sources_in(analysis, block, [other], None):
                return True
    return False


def _from_item_before_the_pin(
    ctx: Context,
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    parts: list[exp.Expression],
    reported: set[int],
) -> Iterator[Finding]:
    """A failing call in a FROM item (a function in FROM, `unnest`, `ROWS FROM`, a VALUES
    list), computed from a source before it (h37B), that PostgreSQL runs before that source's
    pin:

    - a VALUES list of one row that PostgreSQL pulls up (`pulled_up_values`): a condition that
      tests its value (in the WHERE, an inner join's ON, or any block it is pulled up into) is
      a condition of the source's scan, ordered by cost with the pin;
    - any FROM item over a source whose pin is no condition of its own scan (a composite
      foreign key's join, an `IN (SELECT …)`, a HAVING): the item runs for each of its rows
      in a nested loop the planner may make before the join that pins them (`items i, LATERAL
      abs(10 / i.estimate) x` of items pinned by a note's key divided by another account's
      zero)."""
    read = [
        s for s in sources_of(analysis, block, parts, None) if s.pinned and carries_tenant_rows(s)
    ]
    if not read:
        return
    values = node.find_ancestor(exp.Values, exp.Select)
    holder = values.parent if isinstance(values, exp.Values) else None
    item_source = None
    for candidate in (values, holder, holder.parent if holder is not None else None):
        if candidate is not None:
            item_source = analysis.model.source_of_node.get(id(candidate)) or item_source
    items = pulled_up_values(analysis, item_source) if item_source is not None else None
    if item_source is not None and items is not None:
        index = next((i for i, item in enumerate(items) if is_within(node, item)), None)
        if index is not None:
            extra = _cost(items[index], upper=False, policy=ctx.policy)
            name = values_column(item_source, index)
            for conjunct in tests_of_column(analysis, item_source, name):
                if id(conjunct) in reported:
                    continue
                cost = _cost(conjunct, upper=False, policy=ctx.policy) + extra  # type: ignore[arg-type]
                source = pinned_after(read, cost, analysis)
                if source is not None:
                    reported.add(id(conjunct))
                    yield ctx.finding(
                        RULE,
                        conjunct,  # type: ignore[arg-type]
                        f"this condition tests {item_source.name or 'a VALUES list'}.{name}, "
                        f"computed from {source.describe()} by a call that can fail: PostgreSQL "
                        "pulls the VALUES row up into this scan and may evaluate the condition "
                        "before the tenant filter, and the error shows another tenant's value",
                        "test the value in a block that reads rows already pinned (a "
                        "MATERIALIZED CTE filtered by tenant), or make the call unable to fail",
                    )
    key = node.find_ancestor(exp.Join, exp.From) or node  # one finding per FROM item
    if id(key) in reported:
        return
    for source in read:
        if (
            source.block is block
            and not pinned_inside(source)
            and pin_cost(source, analysis) == UNBOUNDED
        ):
            reported.add(id(key))
            yield ctx.finding(
                RULE,
                node,
                f"this FROM item reads {source.describe()}, whose pin is no condition of its own "
                "scan: PostgreSQL may run the item for each of its rows before the join that "
                "pins them, and the error it raises shows another tenant's value",
                f"pin {source.name or source.describe()} by its own tenant column "
                f"(`{source.name}.{ctx.policy.tenant_column} = $n`), or make the call unable "
                "to fail",
            )
            return


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Neg)


# `tenant_id = current_setting('app.tenant_id')::bigint` inside a view: the call, the cast from
# text (an output and an input function) and the comparison
_SETTING_PIN_COST = 4.0


def _tested_outside(
    ctx: Context,
    analysis: Analysis,
    body: Block,
    item: exp.Expr,
    parts: list[exp.Expression],
    visible: Span | None,
    reported: set[int],
) -> Iterator[Finding]:
    """A failing call (or scalar subquery) in the select list of a derived table or CTE that
    PostgreSQL merges into its reader (one plain SELECT working row by row), its output tested
    by the reader's WHERE:
    `(SELECT tenant_id, current_setting(name) AS s FROM patients) d WHERE d.tenant_id = $1 AND
    d.s IS NULL` — merged, the test is a condition of the scan of `patients`, costed with the
    call, and may run before the pin."""
    readers = analysis.model.readers.get(id(body))
    if not readers or not analysis.projections.row_by_row(body):
        return
    if item.arg_key != "expressions" or item.parent is not body.node:
        return  # not a select-list item (`item`: the child of the block holding the call)
    position = next(i for i, e in enumerate(body.node.expressions) if e is item)
    # the body's own sources, and the reader's block's, whose row a LATERAL body reads (h37A:
    # `tasks t, LATERAL (SELECT 10 / t.estimate AS r) x WHERE t.tenant_key = $1 AND x.r IS
    # NOT NULL` — pulled up, the test is a condition of the scan of `tasks`)
    reader_blocks = {id(r.block) for r in readers}
    sources = [
        s
        for s in sources_of(analysis, body, parts, visible)
        if (s.block is body or id(s.block) in reader_blocks) and s.pinned
    ]
    if not sources and isinstance(item.this if isinstance(item, exp.Alias) else item, exp.Subquery):
        # a subquery reading none of them fails on the first row that reaches the test
        sources = [s for s in body.every_source if s.pinned]
    if not sources:
        return
    computed = item.this if isinstance(item, exp.Alias) else item
    extra = _cost(computed, upper=False, policy=ctx.policy)  # type: ignore[arg-type]
    kept_whole = not_pulled_up(body.node)
    for reader in readers:
        outer = reader.block
        name = read_as(reader, position)
        if not name:
            continue
        for items, _, _, seen in outer.filters:
            for conjunct in items:
                if id(conjunct) in reported or not any(
                    identifier_name(c.this) == name and analysis.resolve(outer, c, seen) is reader
                    for c in conjunct.find_all(exp.Column)
                ):
                    continue
                if kept_whole and held_above(analysis, conjunct):
                    continue  # tested on the set operation's output rows (pinned)
                source = pinned_after(
                    sources, _cost(conjunct, upper=False, policy=ctx.policy) + extra
                )
                if source is not None:
                    reported.add(id(conjunct))
                    yield ctx.finding(
                        RULE,
                        conjunct,
                        f"this condition tests {reader.name or reader.describe()}.{name}, "
                        f"computed from "
                        f"{source.describe()} by a call that can fail: PostgreSQL merges the "
                        "two and may evaluate it before the tenant filter, and the error shows "
                        "another tenant's value",
                        "test the value in a block that reads rows already pinned (a "
                        "MATERIALIZED CTE filtered by tenant), or make the call unable to fail",
                    )


def _before_a_having_pin(
    ctx: Context,
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    visible: Span | None,
    reported: set[int],
) -> Iterator[Finding]:
    """A failing call computed after the block's filters (an aggregate's argument) over rows
    pinned by a HAVING condition PostgreSQL keeps in HAVING — one with a subquery or a
    volatile call, which it does not move to WHERE: the aggregate ran over every tenant's
    rows first. (Outside an aggregate, a select list is computed after HAVING.)"""
    if not any(s.pinned_by is not None and s.pinned_by.in_having for s in block.every_source):
        return  # (the cheap test first)
    if not isinstance(node.find_ancestor(exp.AggFunc, exp.Select), exp.AggFunc):
        return
    for source in tenant_sources(analysis, block, node, visible):
        fact = source.pinned_by
        if source.block is not block or fact is None or not fact.in_having:
            continue
        conjunct = fact.conjunct
        kept = conjunct.find(exp.Subquery, exp.Select) is not None or calls_volatile(
            conjunct, ctx.policy
        )
        if not kept or id(node) in reported:
            continue
        reported.add(id(node))
        yield ctx.finding(
            RULE,
            node,
            f"this expression reads {source.describe()} before its HAVING pin (PostgreSQL keeps "
            "a condition with a subquery in HAVING, after the aggregates ran over every "
            "tenant's rows): the error it raises shows another tenant's value",
            "pin the rows in WHERE, before they are grouped",
        )
        return


def _setting_changed_before_read(ctx: Context, tree: exp.Expression) -> Iterator[Finding]:
    """`set_config` of the tenant setting beside a read of a relation that is not a tenant
    table (a view the schema shows pinned inside by `current_setting(…)` is none, nor is a
    table the schema does not show) or of a function of the schema: one pinned by the setting
    reads its rows by the new value. Tenant tables are proven by their own pins (a pin by the
    tenant expression counts for nothing in such a statement)."""
    policy = ctx.policy
    setters = [n for n in tree.find_all(exp.Anonymous) if identifier_name(n.this) == "set_config"]
    if not setters or not sets_tenant_setting(setters, policy):
        return
    ctes = {identifier_name(c.args.get("alias")) for c in tree.find_all(exp.CTE)}
    read: str | None = None
    for node in tree.find_all(exp.Table, exp.Anonymous):
        if isinstance(node, exp.Table):
            if not is_table_name(node):
                continue  # a function in FROM: its call is visited as an Anonymous
            name = identifier_name(node.this)
            if node.args.get("db") is None and name in ctes:
                continue  # a CTE: its body's reads are visited themselves
        else:
            name = identifier_name(node.this)
            if name not in policy.functions:
                continue
        if (
            policy.is_tenant_table(name)
            or name in policy.global_tables
            or policy.is_root_table(name)
            or name in policy.pinning_functions
        ):
            continue
        read = name
        break
    if read is None:
        return
    yield ctx.finding(
        RULE,
        setters[0],
        f"set_config() may change the tenant setting before {read} is read: a view or "
        "function pinned by current_setting(…) then reads another tenant's rows",
        "set the tenant setting in a statement of its own, before this one",
    )
