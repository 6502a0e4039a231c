"""What the policy is built from (`tenant_relations`): the tenant tables, views and functions a
schema's relations make, their verdicts (a view's tenant column, a function's pins), and
`pin_of` a pinning expression.

Relies on `records`, `nodes` and `texts`; not on `SchemaInfo`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard.engine.policy import (
    FunctionPins,
    Policy,
    names_in_text,
    sql_name,
)
from tenantguard.engine.proof import PinValue, identifier_name
from tenantguard.engine.sqltext import operators_in
from tenantguard.sources.schema.nodes import _named_outputs
from tenantguard.sources.schema.records import FunctionInfo, ViewInfo
from tenantguard.sources.schema.texts import COMPUTED_SQL, _output_columns


def _reaching(policy: Policy) -> AbstractSet[str]:
    """The relations whose writes reach tenant rows: the tenant tables, and those whose
    triggers or rules write tenant rows unpinned (helper 109: dynamic SQL updating such a
    table)."""
    if not policy.hidden_writes:
        return policy.tenant_tables
    return policy.tenant_tables | policy.hidden_writes.keys()


def reaches_tenant_rows(opaque: str, tenant_tables: AbstractSet[str]) -> set[str]:
    """The tenant tables a function's or trigger's opaque text may reach: those it names, and
    when it builds SQL at run time (COMPUTED_SQL), a description of that."""
    named = names_in_text(opaque, tenant_tables) if opaque else set()
    if COMPUTED_SQL in opaque:
        named.add("a table chosen at run time (SQL built from values)")
    return named


# which views and functions hand out tenant rows


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class Relations:
    """What the views and functions of the schema are to the proof."""

    __slots__ = (
        "by_setting",
        "operators",
        "pinned_by_arguments",
        "renamed",
        "tenant",
        "unpinnable",
    )

    def __init__(self) -> None:
        # read like tenant tables, with their columns if known
        self.tenant: dict[str, set[str] | None] = {}
        # of those, the ones that cannot be pinned from outside: every read is a finding (and why)
        self.unpinnable: dict[str, str] = {}
        # pinned by some of their parameters: a call is pinned when those arguments are
        self.pinned_by_arguments: dict[str, FunctionPins] = {}
        # safe as they are, pinned inside by the tenant setting: read by a query that ran once
        # (a materialized view's), they hand out the rows of that session's tenant — "" when a
        # pin on their tenant column selects the rows, else why none does
        self.by_setting: dict[str, str] = {}
        # the schema's operators whose function reaches tenant rows (hands them out, or is
        # pinned by its arguments — an operator's operands are no pin): symbol -> function
        self.operators: dict[str, str] = {}
        # views pinned from outside by the one column they show the tenant column as, another
        # name (`v (email, org_id) AS SELECT org_id, email …`: `email`), when not unpinnable
        self.renamed: dict[str, str] = {}

    def tenant_names(self) -> dict[str, str]:
        """`renamed`, less the views found unpinnable since (names as written in SQL)."""
        return {
            sql_name(n): sql_name(r) for n, r in self.renamed.items() if n not in self.unpinnable
        }


def tenant_relations(
    views: Mapping[str, ViewInfo],
    functions: Mapping[str, FunctionInfo],
    policy: Policy,
    materialized: Iterable[str] = (),
    stale: Iterable[str] = (),
    *,
    copies: bool = True,
    operators: Iterable[tuple[str, str]] = (),
) -> Relations:
    """Sorts the views and functions of the schema for the proof, to a fixed point (a view of
    a view is read under what the first one turned out to be). `copies`: the schema has
    relations filled by a query that ran once (materialized views, CREATE TABLE … AS, views
    bound to a renamed column): each view and function is then also judged as they read it.

    - A view or function whose every query pins its rows by the tenant expression is safe to
      read as it is.
    - A view whose query passes one source's tenant column through, row by row (the pushdown
      conditions of TG001), is read like a tenant table: a pin on its tenant column is pushed
      into it. One that aggregates, ranks, takes its tenant column from a joined table or pins
      a fixed tenant cannot be pinned from outside: every read of it is a finding.
    - A function whose queries pin their rows by its parameters (or by `$n`) is pinned by the
      arguments given there: `patients_of($1)` is, `patients_of(a.id)` over every `a` is not.
      A parameter named like a column of a relation its text names (of a view: also of the
      relations the view's query names), of a function's output, or of a column
      the body names itself (an alias, `(…) AS x(o)`) is that column in a SQL function: it
      does not count. A PL/pgSQL variable given a pinning value where declared and never written
      again counts like the value.
    - Any other function whose queries read tenant rows hands out every tenant's rows: a tenant
      table (pinned in FROM by its tenant column; called elsewhere, TG006). A body it cannot
      read (dynamic SQL) is opaque: naming a tenant table is enough.
    """
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    # the columns of each relation a body may read: a table's, a view's (and those of the
    # relations its query names: a `*` there hides them), to a fixed point through views
    columns_of: dict[str, set[str]] = {t: set(c) for t, c in policy.table_columns.items()}
    for name, view in views.items():
        columns_of.setdefault(name, set()).update(view.columns or (), _named_outputs(view.query))
    relations = set(columns_of)
    under = {name: names_in_text(view.query, relations) - {name} for name, view in views.items()}
    changed = True
    while changed:
        changed = False
        for name, named in under.items():
            extra = set().union(*(columns_of[r] for r in named)) - columns_of[name]
            if extra:
                columns_of[name] |= extra
                changed = True
    # a set-returning function's output columns (RETURNS TABLE, OUT, INOUT) are columns of a
    # body that reads it, of no other: a body that may name the function (a superset, read in
    # its text) has them shadow its parameters (fp14: another function's `OUT ws` hid `ws`)
    outputs = {name: f.columns for name, f in functions.items() if f.columns}
    shadowing: dict[str, set[str]] = {}
    for name, function in functions.items():
        text = "\n".join((*function.body, function.opaque))
        read = names_in_text(text, outputs.keys()) if outputs else set()
        # a parameter is shadowed by a column of a relation its query reads, of no other
        # (round 15: a typed table's column `w` elsewhere hid every function's `w`)
        tables = names_in_text(text, relations)
        shadowing[name] = set().union(*(columns_of[r] for r in tables), *(outputs[r] for r in read))
    stored = set(materialized)
    # views bound to a column renamed since: read without the tenant setting (a filter inside
    # may be on the old column), and never pinned from outside
    bound = set(stale)
    found = Relations()
    handing_out: set[str] = set()  # functions whose own queries read tenant rows unpinned
    changed = True
    while changed:
        changed = False
        current = policy.replace(  # exact names, quoted so that the policy keeps their case
            tenant_tables={sql_name(t) for t in policy.tenant_tables | found.tenant.keys()},
            unpinnable={**policy.unpinnable, **found.unpinnable},  # loose tables stay
            pinning_functions=found.pinned_by_arguments,
            view_tenant_names=found.tenant_names(),
        )
        once = fixed_tenant_policy(current, found.by_setting)
        for symbol, called in operators:
            if symbol not in found.operators and (
                called in found.tenant
                or called in found.pinned_by_arguments
                or current.is_tenant_table(called)
            ):
                found.operators[symbol] = called
                changed = True
        for name, view in views.items():
            if name in policy.global_tables or found.unpinnable.get(name):
                continue  # (reported at every read already: no verdict is worse)
            # a materialized view's rows are its query's under the setting it was refreshed
            # with: the tenant expression pins nothing there
            reading = once if name in stored or name in bound else current
            # judged again in every pass, under what the views and functions its query reads
            # turned out to be (judged once, a view joining `v_patients` before that view was
            # known passed every tenant's rows: round 20); a verdict only gets worse
            reason = _view_verdict(view, reading, policy.tenant_column)
            if reason == "" and name in bound:
                reason = STALE_VIEW
            if reason and name not in bound and name not in policy.tenant_tables:
                renamed = _renamed_pin(view, reading, policy.tenant_column)
                if renamed is not None:
                    found.renamed[name] = renamed
                    reason = ""
            if name in policy.tenant_tables:  # a table of this name in another schema
                if name not in found.tenant:
                    found.tenant[name] = None  # read as both: the table's columns stay
                    changed = True
                if reason and name not in found.unpinnable:
                    found.unpinnable[name] = reason
                    changed = True
                continue
            if (
                copies
                and reading is current
                and reason != STALE_VIEW
                and not found.unpinnable.get(name)
            ):
                # read by a query that ran once (a materialized view's), under another tenant's
                # setting: safe as it is, or pinned from outside for a request — a copy of it may
                # not be (it reads a view pinned inside by the setting: helper-88)
                fixed = _view_verdict(view, once, policy.tenant_column)
                if (reason is None or (fixed and not reason)) and _setting_pinned(
                    name, fixed, found
                ):
                    changed = True
            if reason is None:
                continue
            if name in found.tenant:
                if reason and name not in found.unpinnable:  # no longer pinnable from outside
                    found.unpinnable[name] = reason
                    changed = True
                continue
            changed = True
            found.tenant[name] = _view_columns(view)
            if reason:
                found.unpinnable[name] = reason
        for name, function in functions.items():
            if name in policy.global_tables:
                continue
            if name in policy.tenant_tables or name in found.tenant:
                # a table of this name in another schema, or a view of this name (read as both),
                # or a function handing out every tenant's rows: judged again whether it can be
                # pinned from outside
                if name not in found.tenant:
                    found.tenant[name] = None
                    changed = True
                if name not in found.unpinnable:  # (at the worst verdict: not judged again)
                    reason = _function_verdict(function, current, policy.tenant_column)
                    if reason:
                        found.unpinnable[name] = reason
                        changed = True
                if (
                    copies
                    and not found.unpinnable.get(name)
                    and _setting_pinned(
                        name, _function_verdict(function, once, policy.tenant_column) or None, found
                    )
                ):
                    changed = True  # pinnable from outside for a request, not in a copy
            if name in handing_out:
                continue
            # a body pinned by its parameter is judged again in each pass too, also when a view
            # of its name made the name a tenant relation (helper-87: `qx($1)` whose body also
            # read `y()`, known to hand out every tenant's rows only after a first pass)
            defined = _columns_defined(function.body)
            parameters = [
                p
                for i, p in enumerate(function.parameters)
                if p
                and i not in function.lossy  # converted first: two tenants' ids may meet
                and p != policy.tenant_column
                and p not in shadowing[name]
                and p not in defined
            ]
            # a function that may set the tenant setting itself reads the tenant it set, not the
            # caller's: the tenant expression pins nothing in it (helper-88)
            own = (
                current.replace(tenant_expressions=())
                if name in policy.setting_functions
                else current
            )
            first = len(own.tenant_expressions)  # the parameters' expressions start there
            pinned_by = own.replace(tenant_expressions=(*own.tenant_expressions, *parameters))
            # a variable set once pins like the value it was set from: the tenant expression,
            # a parameter (that parameter's argument), or a literal (a fixed tenant)
            given: dict[str, str | None] = {}
            for variable, value in function.constants:
                if variable == policy.tenant_column or variable in shadowing[name] | defined:
                    continue
                pin = pin_of(value, pinned_by)
                if pin is None:
                    continue
                if pin.kind == "expression" and isinstance(pin.key, int):
                    given[variable] = pinned_by.tenant_expressions[pin.key]
                elif pin.kind == "literal":
                    given[variable] = None
            if given:
                pinned_by = pinned_by.replace(
                    tenant_expressions=(*pinned_by.tenant_expressions, *given)
                )
            # a word in dynamic SQL is an identifier (folded as PostgreSQL folds it) or a value
            # given to %I or quote_ident (kept as written): either counts
            unpinned = bool(reaches_tenant_rows(function.opaque, _reaching(current)))
            if found.operators and not unpinned:
                # an operator whose function reaches tenant rows (helper 109: `IF p <<< 0`)
                unpinned = bool(
                    operators_in("\n".join((*function.body, function.opaque)), found.operators)
                )
            positions: set[int] = set()
            names: set[str] = set()
            for statement in function.body:
                verdict = analyze_statement(statement, pinned_by)
                if any(f.severity is Severity.ERROR for f in verdict.findings):
                    unpinned = True
                    break
                for pin in verdict.pin_values:
                    if pin.kind == "parameter" and isinstance(pin.key, int) and pin.key >= 1:
                        if pin.key - 1 in function.lossy:
                            unpinned = True  # `$1` of a `real` parameter: no pin
                            continue
                        positions.add(pin.key - 1)
                        if (
                            pin.key - 1 < len(function.parameters)
                            and function.parameters[pin.key - 1]
                        ):
                            names.add(function.parameters[pin.key - 1])
                    elif pin.kind == "expression" and isinstance(pin.key, int) and pin.key >= first:
                        label: str | None = pinned_by.tenant_expressions[pin.key]
                        if label in given:  # a constant: what it was given from
                            label = given[label]
                            if label is None:
                                unpinned = True  # a fixed tenant, whoever calls it
                                continue
                        if label in function.parameters:
                            positions.add(function.parameters.index(label))
                            names.add(label)
                    elif pin.kind == "literal":
                        unpinned = True  # a fixed tenant, whoever calls it
            if unpinned:
                # (judged pinned by its arguments in an earlier pass, before a view or function
                # its body reads was known to hand out every tenant's rows: round 20)
                handing_out.add(name)
                found.pinned_by_arguments.pop(name, None)
                if name not in found.tenant:
                    found.tenant[name] = function.columns
                elif found.tenant[name] != function.columns:
                    found.tenant[name] = None  # a view's of this name too: either's columns
                reason = _function_verdict(function, current, policy.tenant_column)
                if reason:
                    found.unpinnable[name] = reason
                changed = True
            else:
                if positions:
                    # every position must be given a pin (facts.py): an earlier pass's stay
                    earlier = found.pinned_by_arguments.get(name)
                    pins = FunctionPins(
                        frozenset(positions),
                        frozenset(names),
                        _tenant_defaults_of(function, positions, current),
                    )
                    if earlier is not None:
                        pins = FunctionPins(
                            earlier.positions | pins.positions,
                            earlier.names | pins.names,
                            earlier.defaults & pins.defaults,
                        )
                    if pins != earlier:
                        found.pinned_by_arguments[name] = pins
                        changed = True
                # safe as it is (pinned by the tenant setting, or reading no tenant rows), or
                # pinned by its arguments: in a copy made by another tenant's session, a view or
                # function pinned by the setting that it reads hands out that tenant's rows
                by_arguments = once.replace(tenant_expressions=tuple(parameters))
                if copies and any(
                    f.severity is Severity.ERROR
                    for statement in function.body
                    for f in analyze_statement(statement, by_arguments).findings
                ):
                    copied = _function_verdict(function, once, policy.tenant_column)
                    if (copied or not positions) and _setting_pinned(name, copied, found):
                        changed = True
    return found


def _tenant_defaults_of(
    function: FunctionInfo, positions: set[int], policy: Policy
) -> frozenset[tuple[int, str, int]]:
    """The pinning parameters (`positions`) whose DEFAULT is a tenant expression of `policy`
    (`t uuid DEFAULT current_setting('app.tenant_id')::uuid`): (position, name, the
    expression's index). A call that leaves the argument out is given that expression,
    evaluated in the caller's statement (h32i). A default that is a literal is a fixed tenant,
    a parameter's no value of the call: neither is kept."""
    found: set[tuple[int, str, int]] = set()
    for position, text in function.defaults:
        if position not in positions:
            continue
        pin = pin_of(text, policy)
        if (
            pin is not None
            and pin.kind == "expression"
            and isinstance(pin.key, int)
            and pin.key < len(policy.tenant_expressions)
        ):
            found.add((position, function.parameters[position], pin.key))
    return frozenset(found)


def fixed_tenant_policy(policy: Policy, by_setting: Mapping[str, str]) -> Policy:
    """`policy` for a query that ran once, under whatever tenant setting its session had (a
    materialized view's, a table's filled by a query): the tenant expression pins nothing, and the
    views and functions pinned inside by it (`by_setting`) hand out that one tenant's rows —
    tenant relations, pinned from outside by their tenant column where they pass it through."""
    if not by_setting:
        return policy.replace(tenant_expressions=())
    return policy.replace(
        tenant_expressions=(),
        tenant_tables={sql_name(t) for t in policy.tenant_tables | by_setting.keys()},
        unpinnable={**policy.unpinnable, **{n: r for n, r in by_setting.items() if r}},
    )


def _setting_pinned(name: str, reason: str | None, found: Relations) -> bool:
    """Records that `name`, safe under the tenant setting, reads tenant rows without it
    (`reason`: its verdict then; None: it reads none); True when that is new or worse."""
    if reason is None:
        return False
    earlier = found.by_setting.get(name)
    if earlier is not None and (earlier or not reason):
        return False
    found.by_setting[name] = reason
    return True


def _columns_defined(statements: list[str]) -> set[str]:
    """The names the statements give to columns of their own: aliases, a derived table's or a
    function's alias and column list (`(…) AS x(o)`, `unnest(…) AS o`). In a SQL function such a
    column wins over a parameter of the same name (PL/pgSQL calls the clash an error)."""
    names: set[str] = set()
    for statement in statements:
        try:
            trees = sqlglot.parse(statement, read="postgres")
        except (SqlglotError, RecursionError):
            continue  # the proof reports what it cannot read
        for tree in trees:
            if tree is None:
                continue
            for node in tree.find_all(exp.TableAlias, exp.Alias):
                if isinstance(node, exp.Alias):
                    names.add(identifier_name(node.args.get("alias")))
                    continue
                names.add(identifier_name(node.this))
                names.update(identifier_name(c) for c in node.args.get("columns") or ())
    names.discard("")
    return names


STALE_VIEW = (
    "a column of a table it reads was renamed after it was made, and PostgreSQL keeps the view "
    "on that column under the name it had (its text now names another column, or none): "
    "make it again (CREATE OR REPLACE VIEW) after the rename"
)


def _view_verdict(view: ViewInfo, policy: Policy, column: str) -> str | None:
    """None: safe as it is (pinned inside by the tenant expression, or no tenant rows); "": a
    tenant table, pinned from outside; otherwise why it cannot be pinned from outside."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    verdict = analyze_statement(view.query, policy)
    errors = [f for f in verdict.findings if f.severity is Severity.ERROR]
    fixed = [p for p in verdict.pin_values if p.kind == "literal"]
    if not errors and not fixed:
        return None
    columns = f" AS v({', '.join(_quoted(c) for c in view.columns)})" if view.columns else " AS v"
    wrapped = f"SELECT * FROM ({view.query}){columns} WHERE v.{_quoted(column)} = $1"
    outside = analyze_statement(wrapped, policy)
    blocking = [f for f in outside.findings if f.severity is Severity.ERROR]
    if not blocking:
        return ""
    if fixed:
        return "its query pins a fixed tenant"
    renamed = _renamed_tenant_column(view, column)
    if renamed is not None:
        return (
            f"its query passes {column} through renamed {renamed}, and only a column named "
            f"{column} pins a view from outside: keep the name {column} in the view, or pin "
            "its rows inside it"
        )
    return (
        f"its query does not pass the {column} of the rows it reads through row by row "
        "(it aggregates, ranks, limits, or takes the column from another table)"
    )


def _renamed_pin(view: ViewInfo, policy: Policy, column: str) -> str | None:
    """The name a view shows its one tenant column under when that is another name, and a pin
    on it from outside selects the rows (`CREATE VIEW v (email, org_id) AS SELECT org_id, email
    FROM users`: `v.email = $1`, h32n); None otherwise."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    renamed = _renamed_tenant_column(view, column, kept=True)
    if renamed is None or renamed == column:
        return None
    columns = f" AS v({', '.join(_quoted(c) for c in view.columns)})" if view.columns else " AS v"
    wrapped = f"SELECT * FROM ({view.query}){columns} WHERE v.{_quoted(renamed)} = $1"
    verdict = analyze_statement(wrapped, policy)
    if any(f.severity is Severity.ERROR for f in verdict.findings):
        return None
    return renamed


def _function_verdict(function: FunctionInfo, policy: Policy, column: str) -> str:
    """ "": a function whose rows a pin on its tenant column selects (each query that reads
    tenant rows unpinned passes their tenant column through row by row, at that column's
    position among the declared outputs); otherwise why a pin from outside does not."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    if function.opaque and not function.overloads:  # dynamic SQL, another language
        return (
            f"its queries are out of the proof's sight (dynamic SQL, a language other than SQL "
            f"and PL/pgSQL): whether its {column} is the rows' own cannot be shown"
        )
    aliases = f"({', '.join(_quoted(c) for c in function.outputs)})" if function.outputs else ""
    for statement in function.body:
        verdict = analyze_statement(statement, policy)
        if not any(f.severity is Severity.ERROR for f in verdict.findings):
            continue  # reads no tenant row unpinned
        if function.returned is not None and statement not in function.returned:
            return (
                "a query of it reads every tenant's rows into variables (FOR … IN, INTO, a "
                "cursor, a loop's RETURN QUERY), which may carry another tenant's value or a "
                f"count of every tenant's rows into the rows it returns: a pin on its {column} "
                "does not show they are the rows' own (pin that query inside it)"
            )
        wrapped = f"SELECT * FROM ({statement}) AS v{aliases} WHERE v.{_quoted(column)} = $1"
        outside = analyze_statement(wrapped, policy)
        if any(f.severity is Severity.ERROR for f in outside.findings):
            return (
                f"its query does not pass the {column} of the rows it reads through row by row "
                "to its own output of that name (it aggregates, ranks, limits, or takes the "
                "column from another table)"
            )
    return ""


def _renamed_tenant_column(view: ViewInfo, column: str, kept: bool = False) -> str | None:
    """The name a view gives the tenant column it selects under another name (`created_by AS
    admin_id`, or a column list), when none of its columns keeps the tenant column's name (with
    `kept`, also when one does: another column then)."""
    from tenantguard.engine.proof import identifier_name

    try:
        tree = sqlglot.parse_one(view.query, read="postgres")
    except SqlglotError:
        return None
    if not isinstance(tree, exp.Select):
        return None
    names = [e.alias_or_name for e in tree.expressions]
    if view.columns:
        names = [*view.columns, *names[len(view.columns) :]]
    if column in names and not kept:
        return None
    for index, item in enumerate(tree.expressions):
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(inner, exp.Column) and identifier_name(inner.this) == column:
            return names[index] if index < len(names) else None
    return None


def _quoted(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def pin_of(expression: str, policy: Policy) -> PinValue | None:
    """This expression as a pinning value (a parameter, a literal, the tenant expression)."""
    from tenantguard.engine.proof import pin_value

    try:
        tree = sqlglot.parse_one(f"SELECT {expression}", read="postgres")
    except (SqlglotError, RecursionError):
        return None
    items = tree.expressions if isinstance(tree, exp.Select) else []
    return pin_value(items[0], policy) if len(items) == 1 else None


def _view_columns(view: ViewInfo) -> set[str] | None:
    return set(view.columns) if view.columns else _output_columns(view.query)
