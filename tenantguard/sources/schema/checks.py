"""What the policy asks of a read schema (`SchemaInfo`): views and columns that fail the tenant
column, tables views fill, leaky defaults and generated columns, implicit calls, triggers'
events, and the hidden writes of triggers, rules and views.

Relies on `reading` (for `SchemaInfo`), `records`, `relations` and `texts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.policy import (
    Policy,
    names_in_text,
    sql_name,
    table_name,
)
from tenantguard.sources.schema.reading import SchemaInfo
from tenantguard.sources.schema.records import TriggerInfo, ViewInfo
from tenantguard.sources.schema.relations import (
    _quoted,
    _reaching,
    _view_verdict,
    fixed_tenant_policy,
    reaches_tenant_rows,
)
from tenantguard.sources.schema.texts import _WORD, _normalized_dynamic


def _dearest_pin(column: str) -> str:
    """A pin of `v` TG013 reads as unbounded in cost (a subquery): the probe of whether a
    view's conditions may fail before some pin. (Not `IN ($1)`: PostgreSQL parses it as `=
    $1`, and TG013 costs it so — helper h33m.)"""
    return f"v.{column} = (SELECT $1)"


def view_facts(
    schema: SchemaInfo, policy: Policy
) -> tuple[dict[str, float], dict[str, set[str]], dict[str, set[str]]]:
    """TG013's facts of the schema's views and inlined functions — `failing_views`,
    `failing_columns`, `chained_columns` — each found knowing the others, to a fixed point (the
    policy's own kept beside them in the reading). A view whose own condition tests a failing
    or chained column of the view it reads is a failing view: `CREATE VIEW a_filter AS SELECT
    id, tenant_id, title FROM a_top WHERE r <> 0` over a view showing `100 / (points - 8) AS r`
    — found before the failing columns, it was not one, and `SELECT title FROM a_filter WHERE
    tenant_id::text = $1` raised DivisionByZeroError exactly when another tenant held a ticket
    of 8 points (h38W: `check` and the runtime guard both let it through)."""

    def names(facts: Mapping[str, AbstractSet[str]]) -> dict[str, set[str]]:
        return {sql_name(v): {sql_name(c) for c in cs} for v, cs in facts.items()}

    failing: dict[str, float] = {}
    tested: dict[str, set[str]] = {}
    chained: dict[str, set[str]] = {}
    for _ in range(len(schema.views) + len(schema.functions) + 2):
        reading = policy.replace(
            failing_views={
                **{sql_name(v): c for v, c in failing.items()},
                **{sql_name(v): c for v, c in policy.failing_views.items()},
            },
            failing_columns={**names(tested), **names(policy.failing_columns)},
            chained_columns={**names(chained), **names(policy.chained_columns)},
        )
        new_failing = failing_views(schema, reading)
        reading = reading.replace(
            failing_views={
                **{sql_name(v): c for v, c in new_failing.items()},
                **{sql_name(v): c for v, c in policy.failing_views.items()},
            }
        )
        new_tested = failing_columns(schema, reading)
        new_chained = chained_columns(schema, reading)
        if (new_failing, new_tested, new_chained) == (failing, tested, chained):
            break
        failing, tested, chained = new_failing, new_tested, new_chained
    return failing, tested, chained


def failing_views(schema: SchemaInfo, policy: Policy) -> dict[str, float]:
    """The views pinned from outside (`_view_verdict` ""), whose own conditions may fail on a
    row before a dear pin runs (TG013 with a pin read as unbounded in cost, `_dearest_pin`)
    -> the dearest pin known to run first. A read pinned dearer
    (`v.tenant_id::text = $1`, an array, a CASE…) has the view's `100 / (n - 8) <> 0` run on
    every tenant's rows first (round 33). That pin is found by proving the view pinned by
    `v.tenant_id = $1`, then by that parameter cast to bigint once, twice… (each cast costs
    more; TG013 compares the costs as it does for a derived table); the first pin that is not
    proven ends the search (a tenant column of another type: the plain pin's cost)."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.costs import condition_cost
    from tenantguard.engine.findings import Severity

    column = _quoted(policy.tenant_column)

    def proven(view: ViewInfo, pin: str, reading: Policy) -> bool | None:
        """True: no finding; False: TG013's; None: another finding."""
        listed = ", ".join(_quoted(c) for c in view.columns or ())
        alias = f"v({listed})" if listed else "v"
        query = f"SELECT * FROM ({view.query}) AS {alias} WHERE {pin}"
        findings = [
            f for f in analyze_statement(query, reading).findings if f.severity is Severity.ERROR
        ]
        if not findings:
            return True
        return False if any(f.code == "TG013" for f in findings) else None

    # what a read runs: a view's query (inlined), a function's queries without parameters
    # (one SELECT of a STABLE or IMMUTABLE SQL function is inlined; any other body runs whole,
    # on every tenant's rows, before the reader's pin: -1, every pin too dear)
    bodies: dict[str, tuple[list[ViewInfo], bool]] = {
        name: ([view], True)
        for name, view in schema.views.items()
        if name not in schema.materialized
    }
    for name, function in schema.functions.items():
        if name in bodies or function.parameters or function.overloads:
            continue
        statements = list(function.body if function.returned is None else function.returned)
        outputs = list(function.outputs) or None
        inlined = (
            function.returned is None
            and len(statements) == 1
            and table_name(sql_name(name)) in policy.stable_functions
        )
        bodies[name] = ([ViewInfo(q, outputs) for q in statements], inlined)
    found: dict[str, float] = {}
    fresh: set[str] | None = None  # found by the last pass (None: no pass yet)
    while fresh is None or fresh:  # a view over such a view is one too, in any order
        reading = policy.replace(failing_views={sql_name(v): c for v, c in found.items()})
        before = set(found)
        for name, (queries, inlined) in bodies.items():
            if (
                name in found
                or (fresh is not None and not _mentions((q.query for q in queries), fresh))
                or not policy.is_tenant_table(table_name(sql_name(name)))
                or policy.unpinnable.get(table_name(sql_name(name)))
                or not any(proven(q, _dearest_pin(column), reading) is False for q in queries)
            ):
                continue
            cost = 0.0 if inlined else -1.0
            for casts in range(8 if inlined else 0):
                pin = f"v.{column} = $1" + "::bigint" * casts
                if proven(queries[0], pin, reading) is not True:
                    break
                parsed = sqlglot.parse_one(pin, read="postgres")
                if isinstance(parsed, exp.Expression):
                    cost = condition_cost(parsed)
            found[name] = cost
        fresh = set(found) - before
    return found


def _mentions(texts: Iterable[str], names: AbstractSet[str]) -> bool:
    """Whether these queries may name one of these relations: a word of theirs is one's table
    name, case folded (a superset: a fixed point re-reads only the bodies a new fact can
    change, whose verdict is otherwise the one it had)."""
    words = {table_name(sql_name(n)).strip('"').lower() for n in names}
    text = " ".join(texts).lower()
    return any(
        re.search(rf"(?<![\w$]){re.escape(word)}(?![\w$])", text)
        if word.isidentifier()
        else word in text
        for word in words
    )


def failing_columns(schema: SchemaInfo, policy: Policy) -> dict[str, set[str]]:
    """The output columns of the views pinned from outside (and of the SQL functions inlined as
    views are) computed by an expression that may fail: TG013 when a reader tests one beside a pin read as unbounded in cost (`WHERE v.r IS
    NULL AND v.tenant_id = (SELECT $1)`), to a fixed point over views of views. A reader's condition on
    one is pushed into the view's scan, where it runs before any pin dearer than the plain one
    (round 33: `WHERE r <> 0 AND workspace_id::text = $1` of a view showing `100 / (points -
    8) AS r`)."""
    column = policy.tenant_column
    found: dict[str, set[str]] = {}
    queries = {name: view for name, view in schema.views.items() if name not in schema.materialized}
    for name, function in schema.functions.items():
        # one SELECT of a STABLE or IMMUTABLE SQL function without parameters: inlined as a
        # view is (its outputs by position)
        if (
            name not in queries
            and not function.parameters
            and not function.overloads
            and function.returned is None
            and len(function.body) == 1
            and table_name(sql_name(name)) in policy.stable_functions
        ):
            queries[name] = ViewInfo(function.body[0], list(function.outputs) or None)
    fresh: set[str] | None = None  # found by the last pass (None: no pass yet)
    while fresh is None or fresh:  # a view over such a view shows them too
        reading = policy.replace(
            failing_columns={sql_name(v): {sql_name(c) for c in cs} for v, cs in found.items()}
        )
        before = set(found)
        for name in sorted(queries.keys() - found.keys()):
            if fresh is None or _mentions([queries[name].query], fresh):
                _failing_columns_of(name, queries[name], reading, column, found)
        fresh = set(found) - before
    return found


def _failing_columns_of(
    name: str, view: ViewInfo, policy: Policy, column: str, found: dict[str, set[str]]
) -> bool:
    """`failing_columns` of one view, into `found`: whether it has some."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    relation = table_name(sql_name(name))
    # (columns unknown, `SELECT *` over another view: those that view's failing ones may be)
    shown = policy.table_columns.get(relation) or set().union(*found.values())
    if not policy.is_tenant_table(relation) or policy.unpinnable.get(relation) or not shown:
        return False
    listed = ", ".join(_quoted(c) for c in view.columns or ())
    alias = f"v({listed})" if listed else "v"

    def tested(names: list[str]) -> bool:
        """TG013 for a test of these columns beside the dearest pin."""
        test = " OR ".join(f"v.{_quoted(n)} IS NULL" for n in names)
        probe = (
            f"SELECT * FROM ({view.query}) AS {alias} WHERE ({test}) "
            f"AND {_dearest_pin(_quoted(column))}"
        )
        return any(
            f.code == "TG013" and f.severity is Severity.ERROR
            for f in analyze_statement(probe, policy).findings
        )

    others = sorted(shown - {column})
    if others and tested(others):  # (one probe for them all first: most views have none)
        found[name] = {n for n in others if tested([n])}
        return True
    return False


def chained_columns(schema: SchemaInfo, policy: Policy) -> dict[str, set[str]]:
    """The output columns of the views pinned from outside read from a source of the view's
    query pinned only through a join (a key: `lessons l JOIN courses c ON c.id =
    l.course_id`, the tenant column c's): a reader's condition on one runs in that source's
    scan, on every tenant's rows, before the join pins them — whatever the reader's pin costs
    (h38A: `v_lesson_org … WHERE org_id = $1 AND 600 / minutes > 0` failed exactly when
    another org held a lesson of 0 minutes). Found as TG013 finds it in a derived table
    (`engine.proof.pushdown`), by a failing test of each column beside the plain pin; to a
    fixed point over views of views. So too the SQL functions PostgreSQL inlines as it does views
    (one SELECT, STABLE or IMMUTABLE): without parameters, pinned from outside; with some,
    pinned inside by them (`lessons_in(o) … WHERE c.org_id = o`, read as `$1`), whose body
    PostgreSQL inlines with the argument, the reader's condition pushed down alike."""
    queries: dict[str, tuple[ViewInfo, bool]] = {
        name: (view, True) for name, view in schema.views.items() if name not in schema.materialized
    }
    for name, function in schema.functions.items():
        if (
            name in queries
            or function.overloads
            or function.returned is not None
            or len(function.body) != 1
            or table_name(sql_name(name)) not in policy.stable_functions
        ):
            continue
        outputs = list(function.outputs) or None
        if not function.parameters:
            queries[name] = (ViewInfo(function.body[0], outputs), True)
            continue
        query = _parameters_numbered(function.body[0], function.parameters)
        if query is not None:
            queries[name] = (ViewInfo(query, outputs), False)
    found: dict[str, set[str]] = {}
    fresh: set[str] | None = None
    while fresh is None or fresh:
        reading = policy.replace(
            chained_columns={sql_name(v): {sql_name(c) for c in cs} for v, cs in found.items()}
        )
        before = set(found)
        for name in sorted(queries.keys() - found.keys()):
            view, outside = queries[name]
            if fresh is None or _mentions([view.query], fresh):
                _chained_columns_of(name, view, reading, found, outside=outside)
        fresh = set(found) - before
    return found


def _parameters_numbered(query: str, parameters: list[str]) -> str | None:
    """A SQL function's query with its named parameters written `$n` (a bare column of that
    name: PostgreSQL reads a column of the body's tables first, which the probe then reads as
    the column too — the function then pinned by nothing, a finding of its own); None when
    the query cannot be read."""
    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except (SqlglotError, RecursionError):
        return None
    if not isinstance(tree, exp.Expression):
        return None
    places = {p.lower(): i + 1 for i, p in enumerate(parameters) if p}
    for node in list(tree.find_all(exp.Column)):
        if not node.table and node.name.lower() in places and node is not tree:
            node.replace(exp.Placeholder(this=str(places[node.name.lower()])))
    return tree.sql("postgres")


def _chained_columns_of(
    name: str, view: ViewInfo, policy: Policy, found: dict[str, set[str]], *, outside: bool
) -> None:
    """`chained_columns` of one view (or inlined function), into `found`; `outside`: pinned
    by its reader's pin on its tenant column (else inside, by its parameters)."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    relation = table_name(sql_name(name))
    shown = (
        policy.table_columns.get(relation)
        or set(view.columns or ())
        or _named(view.query)
        # (columns unknown, `SELECT *` over another view or function: those its chained ones
        # may be — h38B: `CREATE VIEW v_over AS SELECT * FROM v_lesson_org`)
        or set().union(*found.values())
    )
    if (
        not shown
        or policy.unpinnable.get(relation)
        or (outside and not policy.is_tenant_table(relation))
    ):
        return
    column = policy.view_tenant_names.get(relation, policy.tenant_column)
    listed = ", ".join(_quoted(c) for c in view.columns or ())
    alias = f"v({listed})" if listed else "v"
    pin = f"v.{_quoted(column)} = $1" if outside else "true"

    def codes(test: str) -> set[str]:
        probe = f"SELECT * FROM ({view.query}) AS {alias} WHERE {pin}{test}"
        return {
            f.code
            for f in analyze_statement(probe, policy).findings
            if f.severity is Severity.ERROR
        }

    others = sorted(set(shown) - {column})
    if not others or codes("") or "TG013" not in codes(_failing_tests(others)):
        return  # (one probe for them all first: most views have none)
    chained = {n for n in others if "TG013" in codes(_failing_tests([n]))}
    if chained:
        found[name] = chained


def _named(query: str) -> set[str]:
    """The output names of a query (its first branch's), where the schema reader has none (a
    set operation); empty when it cannot be read."""
    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except (SqlglotError, RecursionError):
        return set()
    if not isinstance(tree, exp.Query):
        return set()
    return {n for n in tree.named_selects if n and n != "*"}


def _failing_tests(names: list[str]) -> str:
    """Conditions that may fail on each of these columns of `v`, ANDed after the pin: each
    dearer than the pin (two operators), which PostgreSQL runs first in one scan."""
    return "".join(f" AND 1 / v.{_quoted(n)} > 0" for n in names)


def filled_tables(
    schema: SchemaInfo, policy: Policy, by_setting: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Tables a query filled when the schema made them (CREATE TABLE … AS, SELECT … INTO,
    with data) whose rows no pin on their tenant column selects: name -> why. Held to the view
    conditions, with one difference: the query ran once, under whatever tenant setting the
    migration had, so the tenant expression pins nothing there."""
    column = policy.tenant_column
    once = fixed_tenant_policy(policy, by_setting or {})
    found: dict[str, str] = {}
    for name, copy in schema.filled.items():
        if name in schema.views:
            continue
        reason = _view_verdict(copy, once, column)
        if reason:
            found[name] = f"it holds rows its query copied once, when the schema made it: {reason}"
    return found


# calls that run SQL given as text (TG006's): a default naming one is read too
_TEXT_RUNNERS = lazy_pattern(r"_to_xml|ts_stat|ts_rewrite|dblink|crosstab|connectby|select")


def leaky_defaults(schema: SchemaInfo, policy: Policy) -> dict[str, dict[str, str]]:
    """Column defaults that read tenant rows they do not pin (a schema function handing out
    every tenant's rows, a subquery): table -> column -> why, names as written in configuration.
    An INSERT that leaves the column out (or writes DEFAULT), an UPDATE that sets it to
    DEFAULT, evaluates it into the row it writes — every tenant's rows copied into it."""
    return _leaky_expressions(schema, schema.defaults, policy)


def _leaky_expressions(
    schema: SchemaInfo, expressions: dict[str, dict[str, str]], policy: Policy
) -> dict[str, dict[str, str]]:
    """`leaky_defaults` of these column expressions (defaults, or generated columns')."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    functions = {f.lower() for f in schema.functions}
    found: dict[str, dict[str, str]] = {}
    for table, defaults in expressions.items():
        for column, text in defaults.items():
            lowered = text.lower()
            words = set(_WORD.findall(lowered))
            if (
                not _TEXT_RUNNERS.search(lowered)
                and not functions & words
                and not words & policy.leaky_types.keys()  # a cast to such a domain
            ):
                continue  # built-ins only (now(), nextval(…), the tenant setting)
            verdict = analyze_statement(f"SELECT {text}", policy)
            errors = [f for f in verdict.findings if f.severity is Severity.ERROR]
            fixed = [p for p in verdict.pin_values if p.kind == "literal"]
            if errors or fixed:
                why = errors[0].message if errors else "it pins a fixed tenant"
                found.setdefault(sql_name(table), {})[sql_name(column)] = f"`{text}`: {why}"
    return found


def leaky_generated(
    schema: SchemaInfo, policy: Policy
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Tables with a stored generated column computed by a call that reads tenant rows it does
    not pin (a schema function, labelled IMMUTABLE or not, handing out every tenant's rows):
    table -> why (every row written holds that data, and keeps it: no pin selects it out), and
    those columns as `leaky_defaults` gives them (an INSERT computes them)."""
    computed = _leaky_expressions(schema, schema.generated_calls, policy)
    found: dict[str, str] = {}
    for table, reads in computed.items():
        column, why = sorted(reads.items())[0]
        found[table] = f"its generated column {column} is computed by {why}"
    return found, computed


def implicit_calls(
    schema: SchemaInfo, policy: Policy
) -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, str]]:
    """What the functions the server calls unnamed (`SchemaInfo.implicit_calls`,
    `domain_calls`, `aggregate_calls`) do, once the functions that reach tenant rows unpinned
    are known (`policy.unpinnable`, or pinned by arguments the server chooses): the writes that
    run one (relation -> INSERT, UPDATE -> why; a relation's ancestors and descendants too: a
    write of a parent is routed to its partitions, constraints and partitioned indexes are
    inherited), the domains a cast to which runs one, the aggregates that run one."""
    functions = set(schema.functions)
    leaky = {
        name: (
            policy.unpinnable.get(name)
            or "is pinned by its arguments, and the server passes it values of its choosing"
        )
        for name in functions
        if name in policy.unpinnable or name in policy.pinning_functions
    }

    def pinned_by_row(name: str, called: set[str], table: str | None) -> bool:
        """Is every call of `name` (pinned by its parameters) given the written row's own
        tenant column at each of them, on a tenant table (whose writes are pinned)? Then it
        reads the rows of the tenant the write is pinned to: harmless (round 15)."""
        pins = policy.pinning_functions.get(name)
        if table is None or pins is None or name in policy.unpinnable or not pins.positions:
            return False
        if table not in policy.tenant_tables:
            return False
        spelled = [c[len(name) + 1 : -1] for c in called if c.startswith(name + "(")]
        if not spelled:
            return False
        column = policy.tenant_column
        for arguments in spelled:
            given = arguments.split(",")
            if not all(p < len(given) and given[p] == column for p in pins.positions):
                return False
        return True

    def why(called: set[str], domains: Mapping[str, str], table: str | None = None) -> str | None:
        bad = sorted(n for n in called & leaky.keys() if not pinned_by_row(n, called, table))
        if bad:
            reason = leaky[bad[0]]
            return f"calls {bad[0]}, which reaches tenant rows unpinned ({reason})"
        cast = sorted(c[2:] for c in called if c.startswith("::") and c[2:] in domains)
        if cast:
            return f"casts to domain {cast[0]}, whose CHECK {domains[cast[0]]}"
        return None

    # the domains whose CHECK calls such a function or casts to such a domain (a fixed point)
    bad_domains: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for domain, called in schema.domain_calls.items():
            if domain not in bad_domains and (because := why(called, bad_domains)) is not None:
                bad_domains[domain] = because
                changed = True

    writes: dict[str, dict[str, str]] = {}
    when = re.compile(r"^the WHEN of trigger .* \(([A-Z, ]*)\)$")
    for relation, found in schema.implicit_calls.items():
        for what, called in sorted(found.items()):
            because = why(called, bad_domains, relation)
            if because is None:
                continue
            kin = {relation, *schema.descendants(relation), *schema.ancestors(relation)}
            fired = when.match(what)
            if fired is not None:  # a trigger's: its events, on its relation (partitions: clones)
                kinds: tuple[str, ...] = tuple(k for k in fired.group(1).split(", ") if k)
                kin = {relation, *schema.descendants(relation)}
            else:
                kinds = ("INSERT", "UPDATE")
            for table in kin:
                for kind in kinds:
                    writes.setdefault(table, {}).setdefault(kind, f"{what} {because}")
    types = {
        sql_name(domain): f"the CHECK of domain {domain} {because}"
        for domain, because in bad_domains.items()
    }
    aggregates = {
        name: f"aggregate {name} {because}"
        for name, called in schema.aggregate_calls.items()
        if (because := why(called, bad_domains)) is not None
    }
    leaky_domains = set(bad_domains)
    for function, domains in sorted(schema.function_domains.items()):
        bad = sorted(domains & leaky_domains)
        if not bad:
            continue
        because = f"names domain {bad[0]}, whose CHECK {bad_domains[bad[0]]}"
        if function in schema.functions:
            aggregates.setdefault(function, f"function {function} {because}")
        for trigger in schema.triggers:
            if trigger.function == function:
                for kind in trigger_events(schema, trigger):
                    writes.setdefault(trigger.relation, {}).setdefault(
                        kind, f"trigger {trigger.name} (function {function}) {because}"
                    )
    return writes, types, aggregates


def trigger_events(schema: SchemaInfo, trigger: TriggerInfo) -> tuple[str, ...]:
    """The kinds of write that fire `trigger` (`engine.cascades._fired`'s): its events, and
    any UPDATE when its `UPDATE OF` list names a stored generated column — PostgreSQL 15 fires
    it on every UPDATE of the table (measured, h35C: `UPDATE OF g`, g computed from
    phone_number, ran on `SET first_name = …`)."""
    generated = schema.generated.get(trigger.relation)
    if generated and any(
        event.startswith("UPDATE OF ") and event[10:] in generated for event in trigger.events
    ):
        return (*trigger.events, "UPDATE")
    return trigger.events


def view_bases(schema: SchemaInfo) -> dict[str, set[str]]:
    """The relations a write of each (not materialized) view may be a write of: those its
    query's outermost FROM names (an automatically updatable view has one; a view that is not
    cannot be written, but through its own triggers and rules)."""
    from tenantguard.engine.proof import identifier_name

    out: dict[str, set[str]] = {}
    for name, view in schema.views.items():
        if name in schema.materialized:
            continue
        try:
            tree = sqlglot.parse_one(view.query, read="postgres")
        except SqlglotError:
            tree = None
        if not isinstance(tree, exp.Select):
            out[name] = set(names_in_text(view.query, set(schema.columns) | set(schema.views)))
            continue
        found = set()
        sources = [tree.args.get("from_"), *(tree.args.get("joins") or ())]
        for source in sources:
            table = source.this if source is not None else None
            if isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier):
                found.add(identifier_name(table.this))
        out[name] = found
    return out


def through_views(
    schema: SchemaInfo, writes: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """`writes` (relation -> kind -> why: hidden writes, or leaky defaults by column) with each
    view's own beside those of the relations under it (to a fixed point: views of views)."""
    out = {t: dict(k) for t, k in writes.items()}
    bases = view_bases(schema)
    changed = True
    while changed:
        changed = False
        for view, under in bases.items():
            for base in sorted(under):
                for kind_under, why in out.get(base, {}).items():
                    # a trigger of `UPDATE OF note` under it: the view may show note by
                    # another name (`note AS n`: h35C, `UPDATE pv SET n = …` ran it unseen),
                    # so any UPDATE of the view
                    kind = "UPDATE" if kind_under.startswith("UPDATE OF ") else kind_under
                    mine = out.setdefault(view, {})
                    if kind not in mine:
                        mine[kind] = f"{why} (a write of view {view} writes {base})"
                        changed = True
    return out


def hidden_writes(
    schema: SchemaInfo, policy: Policy, seed: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """What a write runs beside itself that reaches tenant rows unpinned: relation -> the kind
    of write (INSERT, UPDATE, DELETE, TRUNCATE) -> what runs and why it is not pinned.

    A trigger's function (PL/pgSQL: its statements; any other language, or dynamic SQL: its
    text naming a tenant table) and a rule's actions are read like the statements of a
    function. On a tenant table, for each row, NEW and OLD are the rows the write changes:
    proven pinned to one tenant, they carry that tenant, so `NEW.tenant_id` (or OLD's) pins
    like the statement's own value — unless a trigger function assigns NEW's tenant column
    (or NEW whole: a row moved to another tenant). A trigger whose function no schema source
    defines (a built-in, an extension's) is not followed. A statement they run fires the
    triggers and rules of what it writes in turn: read to a fixed point."""
    start = {t: dict(k) for t, k in (seed or {}).items()}
    found: dict[str, dict[str, str]] = start
    for _ in range(len(schema.triggers) + len(schema.write_rules) + 1):
        again = _hidden_writes_once(schema, policy.replace(hidden_writes=found), start)
        if again == found:
            break
        found = again
    return found


def _hidden_writes_once(
    schema: SchemaInfo, policy: Policy, start: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """`hidden_writes`, the statements triggers and rules run read under `policy` (whose own
    hidden writes are those the round before found)."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    column = policy.tenant_column
    own = f"new.{sql_name(column)}"
    rows = policy.replace(tenant_expressions=(*policy.tenant_expressions, own))
    pattern = re.compile(
        rf"\b(?i:new|old)\s*\.\s*(?:(?i:{re.escape(column)})\b|\"{re.escape(column)}\")"
        if column == column.lower() and re.fullmatch(r"[a-z_][a-z0-9_$]*", column)
        else rf"\b(?i:new|old)\s*\.\s*\"{re.escape(column)}\""
    )

    def unpinned(
        statements: list[str],
        opaque: str,
        by_row: bool,
        transitions: tuple[str, ...] = (),
        copies: tuple[tuple[str, str], ...] = (),
        relation: str = "",
    ) -> str | None:
        named = reaches_tenant_rows(opaque, _reaching(policy))
        if named:
            return f"its text out of the proof's sight names {', '.join(sorted(named))}"
        # the transition tables of a write of a tenant table hold the rows it wrote: rows of
        # its one tenant, as NEW is (round 22, helper 98: an audit trigger's `INSERT … SELECT
        # n.tenant_id … FROM newrows n` was a finding)
        moved = (
            rows.replace(pinned_relations={sql_name(t): own for t in transitions})
            if transitions
            else rows
        )
        for statement in statements:
            # a table aliased `new` or `old` in the statement (`UPDATE patients AS new …`, with
            # `#variable_conflict use_column` the column wins): NEW is not read there
            plain = _ROW_ALIASED.search(statement) is not None
            if by_row and not plain and relation:
                statement = _row_star_listed(statement, relation, schema)
            text = pattern.sub(own, statement) if by_row and not plain else statement
            if by_row and not plain and copies:
                text = _row_copies_read(text, copies, column, own)
            if transitions and not by_row:
                verdict = analyze_statement(text, moved)
            else:
                verdict = analyze_statement(
                    text, (moved if transitions else rows) if by_row and not plain else policy
                )
            errors = [f for f in verdict.findings if f.severity is Severity.ERROR]
            short = " ".join(statement.split())
            short = short if len(short) <= 80 else short[:77] + "..."
            if errors:
                return f"`{short}`: {errors[0].message}"
            if any(p.kind == "literal" for p in verdict.pin_values):
                return f"`{short}` pins a fixed tenant, whoever writes"
        return None

    found: dict[str, dict[str, str]] = {t: dict(k) for t, k in start.items()}
    # a function shared by triggers declaring different transition tables (`IF TG_OP =
    # 'DELETE' THEN … FROM old_rows ELSE … FROM new_rows`): a branch naming another trigger's
    # runs only for that trigger — unless a relation of the name exists, which it would read
    # (round 22, helper 106)
    relations = set(schema.columns) | set(schema.views)
    shared: dict[str, tuple[str, ...]] = {}
    for trigger in schema.triggers:
        if policy.is_tenant_table(trigger.relation):
            names = set(shared.get(trigger.function, ())) | {
                t for t in trigger.transitions if t not in relations
            }
            shared[trigger.function] = tuple(sorted(names))
    for trigger in schema.triggers:
        function = schema.trigger_functions.get(trigger.function)
        if function is None:
            continue
        tenant_rows = trigger.row and policy.is_tenant_table(trigger.relation)
        assigned = schema.new_fields.get(trigger.function, set()) & {column, "*"}
        if tenant_rows and assigned:
            why: str | None = f"it assigns NEW.{'*' if '*' in assigned else column}"
        else:
            # TG_ARGV[n] is the trigger's argument n: a table named there is named (round 21)
            body, opaque = function.body, function.opaque
            if "tg_" in (opaque + " ".join(body)).lower():
                body = [_trigger_arguments(s, trigger) for s in body]
                opaque = _trigger_arguments(opaque, trigger)
            transitions = (
                trigger.transitions + shared.get(trigger.function, ())
                if policy.is_tenant_table(trigger.relation)
                else ()
            )
            why = unpinned(
                body, opaque, tenant_rows, transitions, function.row_copies, trigger.relation
            )
            if why is None:  # what the functions it calls run (helper h32h: PERFORM bump_all())
                called, hidden = _called_bodies(body, schema)
                why = unpinned(called, hidden, tenant_rows)
        if why is not None:
            what = f"trigger {trigger.name} (function {trigger.function}): {why}"
            for event in trigger_events(schema, trigger):
                found.setdefault(trigger.relation, {}).setdefault(event, what)
    for rule in schema.write_rules:
        stale = " ".join(rule.actions) if rule.stale else ""  # bound to a renamed column
        why = unpinned(rule.actions, stale, policy.is_tenant_table(rule.relation))
        if why is not None:
            found.setdefault(rule.relation, {}).setdefault(rule.event, f"rule {rule.name}: {why}")
    return found


_CALL_ARGUMENTS = lazy_pattern(r"\(([^()]*)\)")


def _called_bodies(
    statements: list[str], schema: SchemaInfo, depth: int = 4
) -> tuple[list[str], str]:
    """The statements (and the text out of the proof's sight) of the schema's functions that
    `statements` call, and of those they call, `depth` calls deep (a trigger's `PERFORM
    bump_all()` running an unpinned UPDATE: helper h32h). A parameter is read as the call's
    argument when the arguments are plain (no parentheses, no commas in them): `PERFORM
    bump(NEW.ws_id)` pins the helper's `WHERE ws_id = ws` as NEW's own; otherwise the parameter
    pins nothing. Past `depth`, a call of a schema function is out of sight (its name)."""
    found: list[str] = []
    hidden: list[str] = []
    seen: set[tuple[str, str]] = set()
    columns = {c.lower() for known in schema.columns.values() for c in known}
    todo = [(s, 0) for s in statements]
    while todo:
        statement, level = todo.pop()
        for name, info in schema.functions.items():
            # (a name in any case, quoted or not, after a schema or not: read if it may be it)
            pattern = rf"(?<![\w$])\"?(?i:{re.escape(name)})\"?\s*(\()"
            for call in re.finditer(pattern, statement):
                if level >= depth:
                    hidden.append(name)
                    continue
                inner = _CALL_ARGUMENTS.match(statement, call.start(1))
                arguments = inner.group(1).split(",") if inner and inner.group(1).strip() else []
                key = (name, inner.group(0) if inner else "")
                if key in seen:
                    continue
                seen.add(key)
                hidden.append(info.opaque)
                plain = inner is not None and len(arguments) == len(info.parameters)
                for text in info.body:
                    for n, parameter in enumerate(info.parameters):
                        value = (
                            arguments[n].strip()
                            if plain and not info.overloads
                            else "pg_catalog.random()"
                        )
                        escaped = value.replace("\\", "\\\\")  # (a replacement string)
                        text = re.sub(rf"\${n + 1}(?!\d)", escaped, text)
                        # (a parameter named as a column: PostgreSQL reads the column in a SQL
                        # function's body, `WHERE ws_id = ws_id` every row: left as written)
                        if parameter and parameter.lower() not in columns:
                            text = re.sub(
                                rf"(?<![\w$.\"])(?i:{re.escape(parameter)})\b(?!\s*\()",
                                escaped,
                                text,
                            )
                    found.append(text)
                    todo.append((text, level + 1))
    return found, " ".join(h for h in hidden if h)


_ROW_ALIASED = lazy_pattern(
    r"(?:\bAS\s+|\b(?:FROM|JOIN|UPDATE|INTO|USING|ONLY)\s+[\w.\"]+\s+|,\s*[\w.\"]+\s+)"
    r"(?:new|old)\b(?!\s*\.\s*\w+\s*(?::=|=))",
    re.IGNORECASE,
)

_TG_ARGV = lazy_pattern(r"\btg_argv\s*\[\s*(\d+)\s*\]", re.IGNORECASE)

_TG_RELATION = lazy_pattern(
    r"\b(?:tg_table_name|tg_relname|tg_relid(?:\s*::\s*regclass)?)\b", re.IGNORECASE
)

_ROW_STAR_INSERT = lazy_pattern(
    r"^\s*INSERT\s+INTO\s+((?:[\w$]+|\"(?:[^\"]|\"\")+\")(?:\s*\.\s*(?:[\w$]+|\"(?:[^\"]|\"\")+\"))?)"
    r"\s+(SELECT\s+|VALUES\s*\(\s*)\(?\s*(NEW|OLD)\s*\)?\s*\.\s*\*",
    re.IGNORECASE,
)


def _row_star_listed(statement: str, relation: str, schema: SchemaInfo) -> str:
    """`INSERT INTO h SELECT OLD.*, now()` (a history table `LIKE` the trigger's, no column
    list): with the column lists the schema shows — h's first columns the relation's, in order
    — written out, so that the row's tenant column is read where it lands (round 22, helper
    108: TG002 "no column list" at every write of the audited table)."""
    match = _ROW_STAR_INSERT.match(statement)
    if match is None:
        return statement
    target = match.group(1).split(".")[-1].strip()
    target = target[1:-1].replace('""', '"') if target.startswith('"') else target.lower()
    own_columns = schema.order.get(relation)
    target_columns = schema.order.get(target)
    if not own_columns or not target_columns or target_columns[: len(own_columns)] != own_columns:
        return statement
    row = match.group(3)
    listed = ", ".join(_quoted(c) for c in target_columns)
    values = ", ".join(f"{row}.{_quoted(c)}" for c in own_columns)
    return (
        f"INSERT INTO {match.group(1)} ({listed}) {match.group(2)}{values}"
        + statement[match.end() :]
    )


def _row_copies_read(text: str, copies: tuple[tuple[str, str], ...], column: str, own: str) -> str:
    """The statement with the trigger function's copies of the written row read as NEW: `r.
    tenant_id` of a record holding the row, a variable holding its tenant column, as the row's
    own tenant (`_row_copies`)."""
    for name, kind in copies:
        if kind == "row":
            text = re.sub(
                rf"(?<![\w$.\"])\b{re.escape(name)}\s*\.\s*{re.escape(column)}\b",
                own,
                text,
                flags=re.IGNORECASE,
            )
        elif kind == f"field:{column}":
            text = re.sub(
                rf"(?<![\w$.\"])\b{re.escape(name)}\b(?!\s*\.)", own, text, flags=re.IGNORECASE
            )
    return text


def _trigger_arguments(text: str, trigger: TriggerInfo) -> str:
    """The text with what a trigger's function reads of the trigger as literals: `TG_ARGV[n]`
    its argument n (NULL past the last), `TG_TABLE_NAME` / `TG_RELID` its relation — a table a
    dynamic statement names so is named (round 21)."""
    args = trigger.args

    def literal(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return "'" + args[index].replace("'", "''") + "'" if index < len(args) else "NULL"

    relation = "'" + trigger.relation.replace("'", "''") + "'"
    text = _TG_RELATION.sub(relation, _TG_ARGV.sub(literal, text))
    # the names they make, whole: `'audit_' || TG_TABLE_NAME`, `format('%s%s', TG_ARGV[0],
    # TG_ARGV[1])` (round 22, helper 102: 'no' and 'tes' were searched apart)
    return _normalized_dynamic(text)[0]
