"""TG002 insert-without-tenant-value

## What it does
Finds an INSERT into a tenant table (also the INSERT action of a MERGE) that does not give the
tenant column a pinning value in every row: the column list lacks the tenant column, a VALUES row
puts something else there (a subquery, an expression, `DEFAULT` where the column's default is
not a tenant expression), the `INSERT … SELECT` projects
something other than a pinning value or the tenant column of a pinned source (the key of the
tenant registry pinned by `r.id = $1` is one), or there is no column list at all — unless the
schema sources show the target table's columns in order (its own, parents' first; forgotten at a
dropped column, a typed table, `CREATE TABLE AS`, a name in two schemas; never a view): then the
row's item at the tenant column's place is held to the same rules, and `SELECT *` of one table
whose tenant column stands at that same place passes it on (`INSERT INTO archive SELECT * FROM
moved WHERE tenant_id = $1`; not when `moved` has it elsewhere: another column's value lands in
the tenant column). A column list
may leave the tenant column out when the schema sources give it a tenant expression as its
default (`tenant_id bigint NOT NULL DEFAULT current_setting('app.tenant_id')::bigint`, an exact
cast; kept through SET/DROP DEFAULT, renames and drops; not for a name in two schemas): the row
gets the setting's tenant, and the statement is pinned by that expression — so does the keyword
`DEFAULT` in its place, and `INSERT … DEFAULT VALUES` (every other default: TG002). An
automatically updatable view of such a table (one table, no aggregate, DISTINCT, LIMIT or set
operation) takes that default, as PostgreSQL gives it to the base column an INSERT into the view
leaves out — not a view that shows the tenant column renamed (`tenant_id AS t`), sets a default
of its own on it, or has a trigger or a rule (they write what they like). Where the schema
sources generate the tenant column as a copy of one column (`org uuid GENERATED ALWAYS AS
(owner) STORED`, or an exact cast of it, `owner::uuid`), the column list may name that column
in its stead, held to the same rules: the row's tenant is the value it gets. Not when the
expression is anything else (`coalesce(fallback, owner)`, `owner + 1`), when `owner` is of a
lossy type anywhere in the schema (a float8 `owner` is sent rounded: 9007199254740993 is
written as tenant 9007199254740992), nor after `DROP EXPRESSION`, a rename of either column or
of the table, or a type change (forgotten, fail closed); kept through `LIKE … INCLUDING
GENERATED`, `INHERITS` and `PARTITION OF` (PostgreSQL 15 gives children the parent's
expression), not a name in two schemas. A tenant
expression is no pinning value in a statement that calls `set_config` on its setting, or a
function or view of the schema sources that may change it. The tenant column of a source NULL-extended by an outer join does not count
(nor a `VALUES` column there): it may be NULL, a row of no tenant, as `VALUES (NULL, …)` writes.
Nor does a key of ROLLUP, CUBE or GROUPING SETS (a tenant column, a parameter) unless it is a
plain key of the GROUP BY, in every set: NULL in the rows of a set without it (`ROLLUP
(tenant_id)` adds a total row whose tenant_id is NULL).
An INSERT or a MERGE INSERT into an updatable view of the schema sources (a view of such views
too) that shows another column of its table under the tenant column's name (`CREATE VIEW v (id,
tenant_id) AS SELECT tenant_id, id …`, or `id AS tenant_id`) is reported when it names that
column — in its list, in its ON CONFLICT target, or every column with no list —, whatever pins
the view (its own WHERE on the setting too): the value lands in another column, and the
conflict target infers the table's index on other columns.
With `shared_rows`, neither does the tenant column of a source read with its shared rows
(`tenant_id = $1 OR tenant_id IS NULL`): a row of no tenant is public to every tenant.

## Why is this bad?
A row written without the tenant's id either fails at run time (NOT NULL) or, worse, lands in a
default tenant or in the tenant of whatever row a subquery happened to pick: another clinic then
sees it.

## Example
```sql
INSERT INTO patients (first_name, phone_number) VALUES ($1, $2);
INSERT INTO patients SELECT * FROM leads WHERE tenant_id = $1;
```

## Use instead
```sql
INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, $3);
INSERT INTO patients (tenant_id, first_name) SELECT l.tenant_id, l.name FROM leads l
WHERE l.tenant_id = $1;
```

## Options
`tenant_column`, `tenant_tables`, `tenant_expressions`, `tenant_root`, `shared_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name
from tenantguard.engine.proof import conflict_key_names, identifier_name, set_branches
from tenantguard.engine.proof.model import Block, Source
from tenantguard.engine.proof.syntax import positional_item

RULE = RuleInfo("TG002", "insert-without-tenant-value", Severity.ERROR)
NEEDS = (exp.Insert, exp.Merge)  # the node kinds check() looks at


def _insert_target(node: exp.Insert) -> tuple[exp.Table | None, list[str] | None]:
    target = node.this
    if isinstance(target, exp.Schema):
        table = target.this if isinstance(target.this, exp.Table) else None
        return table, [identifier_name(c) for c in target.expressions]
    return (target if isinstance(target, exp.Table) else None), None


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.policy.renaming_views and ctx.tree is not None and not ctx.in_patch:
        yield from _renaming_targets(ctx)
    proof, builder = ctx.proof, ctx.builder
    if proof is None or builder is None or ctx.in_patch:
        return
    column = ctx.policy.tenant_column
    columns: list[str] | None  # declared: mypyc infers None from the narrowing further down
    for node in proof.find(exp.Insert):
        if not isinstance(node, exp.Insert) or isinstance(node.parent, exp.When):
            continue
        table, columns = _insert_target(node)
        if table is None:
            continue
        name = identifier_name(table.this)
        shown = ctx.policy.write_views.get(name)
        if shown is None:
            if not ctx.policy.is_tenant_relation(table):
                continue
        elif _through_renaming(ctx, node, name, columns):
            continue  # `_renaming_targets`
        elif set(shown) - {column}:  # the view shows the table's tenant column renamed
            if _names_renamed(node, shown, columns):
                yield _renamed_target(ctx, table, name, shown, "INSERT")
                continue
            if column not in shown:
                continue
        fix = (
            f"list {sql_name(column)} in the column list and give it a pinning value ($n) in "
            "every row"
        )
        if _through_renaming(ctx, node, name, columns):
            continue  # `_renaming_targets`
        if node.args.get("default"):  # `DEFAULT VALUES`: every column its default
            if builder.default_pin(node) is None:
                yield ctx.finding(
                    RULE,
                    table,
                    f"INSERT into {name} with DEFAULT VALUES does not set {column} (its default "
                    "is not the tenant expression)",
                    fix,
                )
            continue
        place = builder.insert_place(node, columns) if columns is None and shown is None else None
        if columns is None and place is None:
            yield ctx.finding(
                RULE,
                table,
                f"INSERT into {name} has no column list: the {column} value cannot be shown",
                fix,
            )
            continue
        # no column list: the tenant column's place among the table's (round 35, h35B)
        index = place if columns is None else builder.tenant_position(node, columns)
        if index is None:
            if builder.default_pin(node) is None:  # not written by a tenant-expression default
                yield ctx.finding(RULE, table, f"INSERT into {name} does not set {column}", fix)
            continue
        written = column if columns is None else _written(column, columns[index])
        source = node.expression
        while isinstance(source, exp.Paren | exp.Subquery) and not isinstance(source, exp.Values):
            source = source.this
        if isinstance(source, exp.Values):
            for row_number, row in enumerate(source.expressions, 1):
                row_number = row.meta.get("row", row_number)  # as written (bulk_values)
                items = row.expressions if isinstance(row, exp.Tuple) else [row]
                value = positional_item(items, index)  # none past an expanded `x.*`
                if value is None or builder.written_value(node, value) is None:
                    yield ctx.finding(
                        RULE,
                        value if value is not None else table,
                        f"row {row_number} of the INSERT into {name} gives {written} a value "
                        "that is not a pinning value",
                        "put a parameter ($n), a literal or the tenant expression there",
                    )
            continue
        branches = [builder.block_of.get(id(b)) for b in set_branches(source)] if source else []
        if not branches or any(
            b is None
            or not builder.projection_pinned(b, column, index)
            or _public(ctx, b, column, index)
            for b in branches
        ):
            yield ctx.finding(
                RULE,
                table,
                f"the query of the INSERT into {name} does not project a pinned value for "
                f"{written} (column {index + 1} of its select list)",
                f"select a pinning value or the {column} of a pinned source in that position",
            )
    yield from _merge_inserts(ctx)


def _merge_inserts(ctx: Context) -> Iterator[Finding]:
    proof, builder = ctx.proof, ctx.builder
    assert proof is not None and builder is not None
    column = ctx.policy.tenant_column
    for merge in proof.find(exp.Merge):
        target = merge.this
        if not isinstance(target, exp.Table):
            continue
        name = identifier_name(target.this)
        shown = ctx.policy.write_views.get(name)
        if shown is not None and set(shown) - {column}:
            for when in _merge_whens(merge):
                action = when.args.get("then")
                if isinstance(action, exp.Insert) and _names_renamed(
                    action, shown, _merge_insert_columns(action)
                ):
                    yield _renamed_target(ctx, action, name, shown, "MERGE INSERT")
            continue
        if shown is None and not ctx.policy.is_tenant_relation(target):
            continue
        block = builder.block_of.get(id(merge))
        whens = merge.args.get("whens")
        for when in whens.expressions if isinstance(whens, exp.Whens) else []:
            action = when.args.get("then")
            if not isinstance(action, exp.Insert):
                continue
            listed = _merge_insert_columns(action)
            values = (
                action.expression.expressions if isinstance(action.expression, exp.Tuple) else []
            )
            if _through_renaming(ctx, action, name, listed):
                continue  # `_renaming_targets`
            # no column list: the tenant column's place where the schema shows it (h36B)
            index = builder.insert_place(action, listed)
            if index is None and builder.default_pin(action) is not None:
                continue  # the column's default writes the tenant expression's tenant
            if index is None or index >= len(values):
                yield ctx.finding(
                    RULE,
                    action,
                    f"the MERGE INSERT into {name} does not set {column}",
                    f"list {column} in the INSERT of the WHEN NOT MATCHED clause",
                )
                continue
            value = positional_item(values, index)
            if value is None:  # `VALUES (s.*, $1)`: s's columns come first, one per column
                yield ctx.finding(
                    RULE,
                    action,
                    f"the MERGE INSERT into {name} gives {column} a column of an expanded "
                    "`x.*`, not the value written at its place",
                    "write each value of the INSERT's VALUES by itself",
                )
                continue
            bare = value.this if isinstance(value, exp.Paren) else value
            owner = (
                builder.resolve(block, bare)
                if isinstance(bare, exp.Column) and identifier_name(bare.this) == column
                else None
            )
            if (
                builder.written_value(action, value) is None
                and builder.facts.values_pin(block, value, output=True) is None
                and (owner is None or not owner.pinned or _public_source(ctx, owner))
            ):
                yield ctx.finding(
                    RULE,
                    value,
                    f"the MERGE INSERT into {name} gives {column} a value that is not pinned",
                    "use a pinning value or the tenant column of the pinned MERGE source",
                )


def _merge_whens(merge: exp.Expression) -> list[exp.Expression]:
    whens = merge.args.get("whens")
    return list(whens.expressions) if isinstance(whens, exp.Whens) else []


def _names_renamed(node: exp.Expression, shown: tuple[str, ...], columns: list[str] | None) -> bool:
    """Does an INSERT into a view showing the tenant column under `shown` (other names than the
    column's; "?": unknown) write it: no column list, one of them in it, or in its ON CONFLICT
    target? With the names unknown, any INSERT may."""
    if "?" in shown:
        return True
    conflict = node.args.get("conflict")
    named = conflict_key_names(conflict) if isinstance(conflict, exp.OnConflict) else []
    return columns is None or any(n in columns or n in named for n in shown)


def _renamed_target(
    ctx: Context, table: exp.Expression, name: str, shown: tuple[str, ...], verb: str
) -> Finding:
    column = ctx.policy.tenant_column
    under = (
        "under a name the schema sources do not show (a column list over `*`, a column "
        "renamed since)"
        if "?" in shown
        else f"under the name {' and '.join(n for n in shown if n != column) or column}"
    )
    return ctx.finding(
        RULE,
        table,
        f"{verb} into {name} writes its table's {column} {under}: PostgreSQL "
        f"does not filter what a write through a view stores by the view's WHERE, and the "
        f"proof does not follow the rename",
        f"write into the table itself with its {column} pinned, or show {column} under its "
        "own name in the view",
    )


def _merge_insert_columns(action: exp.Expression) -> list[str] | None:
    """The column list of a MERGE's `INSERT (a, b) VALUES …` (None: no list)."""
    listed = action.this.expressions if isinstance(action.this, exp.Tuple) else None
    if listed is None:
        return None
    return [identifier_name(c.this if isinstance(c, exp.Column) else c) for c in listed]


def _renaming_targets(ctx: Context) -> Iterator[Finding]:
    """INSERTs (and MERGE INSERTs) into views that show another column under the tenant
    column's name, whether or not the view is a tenant relation (one pinned inside by the
    setting is not; its table's rows are written all the same)."""
    assert ctx.tree is not None
    lowered = ctx.lowered
    if not any(v.lower() in lowered for v in ctx.policy.renaming_views):
        return
    for node in ctx.tree.find_all(exp.Insert):
        if isinstance(node.parent, exp.When):
            merge = node.find_ancestor(exp.Merge)
            target = merge.this if merge is not None else None
            columns = _merge_insert_columns(node)
            verb = "MERGE INSERT"
        else:
            target, columns = _insert_target(node)
            verb = "INSERT"
        if not isinstance(target, exp.Table):
            continue
        name = identifier_name(target.this)
        if _through_renaming(ctx, node, name, columns):
            yield _unpinnable_target(ctx, target, name, verb)


def _through_renaming(
    ctx: Context, node: exp.Expression, name: str, columns: list[str] | None
) -> bool:
    """An INSERT into an updatable view of the schema sources that shows another column of its
    table under the tenant column's name (`CREATE VIEW v (id, tenant_id) AS SELECT tenant_id,
    id …`), naming that column — in its list, in its ON CONFLICT target, or every column, with
    no list: the value written under the name lands in another column, and the conflict target
    infers the table's index on other columns."""
    policy = ctx.policy
    if name not in policy.renaming_views:
        return False
    column = policy.tenant_column
    conflict = node.args.get("conflict")
    named = conflict_key_names(conflict) if isinstance(conflict, exp.OnConflict) else []
    return columns is None or column in columns or column in named


def _unpinnable_target(ctx: Context, table: exp.Expression, name: str, verb: str) -> Finding:
    column = ctx.policy.tenant_column
    return ctx.finding(
        RULE,
        table,
        f"{verb} into {name}: the view shows another column of its table under the name "
        f"{column}, so the value written as its {column} is not the row's tenant",
        f"write into the table itself, with its tenant column, or give the view its table's "
        f"{column} under that name",
    )


def _written(column: str, listed: str) -> str:
    """What an INSERT's column list writes the tenant through: the tenant column, or the
    column it is generated from."""
    return column if listed == column else f"{listed} ({column} is generated from it)"


def _public(ctx: Context, block: Block, column: str, index: int | None) -> bool:
    """May what `block` projects as the tenant column (at `index`) be NULL (see `_public_source`),
    or the row of a grouping set without it (ROLLUP's total of every row, tenant_id NULL)?"""
    builder = ctx.builder
    assert builder is not None
    item, owner = builder.projections.item_and_owner(block, column, index)
    if item is not None and builder.projections.grouping_null(block, item):
        return True
    return _public_source(ctx, owner)


def _public_source(ctx: Context, owner: Source | None) -> bool:
    """May a source's tenant column be NULL — NULL-extended by an outer join, projected by a
    grouping set without it, or, with shared rows, read with them? Copied, it writes rows of no
    tenant (which, with shared rows, every tenant reads), as VALUES (NULL, …) would."""
    if owner is None:
        return False
    if ctx.policy.shared_rows and owner.maybe_null:
        return True
    builder = ctx.builder
    assert builder is not None
    projections = builder.projections
    # through derived tables and CTEs that pass a tenant column through, down to its source
    stack: list[Source | None] = [owner]
    seen: set[int] = set()
    while stack:
        source = stack.pop()
        if source is None or id(source) in seen:
            continue
        seen.add(id(source))
        if source.nullable:
            return True
        if source.passthrough and source.body:
            _, index = projections.branch_index(source)
            for body in source.body:
                item, inner = projections.item_and_owner(body, ctx.policy.tenant_column, index)
                if item is not None and projections.grouping_null(body, item):
                    return True
                stack.append(inner)
    return False
