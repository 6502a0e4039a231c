"""Writes that reach tables they do not name: a DELETE or UPDATE of a table that tenant tables
reference with an action (`ON DELETE CASCADE`, `SET NULL`, `SET DEFAULT`; the same `ON UPDATE`
for a change of the referenced columns) acts on every tenant's rows that reference the rows it
changes. The tenant registry's row pinned to one tenant (`DELETE FROM tenants WHERE id = $1`)
reaches that tenant's rows only: its value is a pin of the statement, checked at run time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlglot import exp

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof import PinValue, conjuncts, identifier_name, pin_value
from tenantguard.engine.proof.values import lossy_parameters

__all__ = ["CascadingWrite", "HiddenWrite", "cascading_writes", "hidden_writes", "root_writes"]


@dataclass(frozen=True, slots=True)
class CascadingWrite:
    """A DELETE or UPDATE whose foreign-key actions reach the rows of tenant tables."""

    kind: str  # "DELETE" or "UPDATE" ("LOCK": a row lock of the registry, `root_writes`)
    table: exp.Table  # the table written, as the statement names it
    name: str
    pin: PinValue | None  # the registry's key equal to a pinning value; None: every tenant


def cascading_writes(tree: exp.Expression, sql: str, policy: Policy) -> list[CascadingWrite]:
    """The statement's DELETEs and UPDATEs (in CTEs too) whose foreign-key actions reach tenant
    tables."""
    if not policy.cascades:
        return []
    lowered = sql.lower()
    if not any(name.lower() in lowered for name in policy.cascades):
        return []  # a few substring tests before any walk
    found = []
    for node in tree.find_all(exp.Delete, exp.Update, exp.Merge, exp.Insert):
        table = node.this
        if isinstance(node, exp.Insert) and isinstance(table, exp.Schema):
            table = table.this
        if not isinstance(table, exp.Table):
            continue  # a MERGE's own UPDATE action, an INSERT into a function…
        name = identifier_name(table.this)
        kinds = policy.cascades.get(name)
        if not kinds:
            continue
        for kind, assignments, _, _ in _actions(node):
            if kind not in kinds:
                continue
            if kind == "UPDATE" and not _changes(assignments, kinds["UPDATE"]):
                continue  # the referenced columns keep their values
            # no pin, the registry's row of one tenant neither: the keys by which its row
            # reaches that tenant's rows only (a tenant table's tenant column referencing its
            # key) are not in `Policy.cascades`; those listed reach other tenants' rows (h42G:
            # `visits.referred_by REFERENCES clinics ON DELETE CASCADE`, and clinic 1's
            # `DELETE FROM clinics WHERE id = $1` deleted clinic 2's visit it referred). Its
            # pin is the registry write's (`root_writes`)
            found.append(CascadingWrite(kind, table, name, None))
    return found


def root_writes(
    tree: exp.Expression,
    sql: str,
    policy: Policy,
    locked_pin: Callable[[exp.Table], PinValue | None] | None = None,
) -> list[CascadingWrite]:
    """The statement's UPDATEs, DELETEs (a MERGE's too) and row locks (`SELECT … FOR UPDATE /
    NO KEY UPDATE / SHARE / KEY SHARE`, kind "LOCK") of the tenant registry, each with the
    value its key is pinned to, if any: a tenant's row of the registry is that tenant's to
    change or to lock (round 26, outside attack: clinic 1 renamed clinic 2, and held its row
    FOR UPDATE, which makes every INSERT of clinic 2's rows wait on the foreign key's check).
    The value is a pin of the statement, checked at run time against the request's tenant.
    `locked_pin`: the proof's pin of a locked registry table, for a lock its conditions do
    not pin in one step (`t.id = u.tenant_id AND u.tenant_id = p.tenant_id AND p.tenant_id =
    $1`: round 27)."""
    root = policy.tenant_root
    if root is None or root.lower() not in sql.lower():
        return []
    found = []
    lossy = None
    actions: list[tuple[str, list[exp.Expression], exp.Expression | None, bool, exp.Table]]
    for node in tree.find_all(exp.Delete, exp.Update, exp.Merge, exp.Select, exp.Insert):
        if isinstance(node, exp.Insert):
            # an upsert's DO UPDATE changes the registry row its new row collides with: one
            # tenant's when the conflict is on the key and the key inserted is one value
            upsert = _root_upsert(node, root, policy)
            if upsert is not None:
                found.append(upsert)
            continue
        if isinstance(node, exp.Select):
            actions = [("LOCK", [], _lock_condition(node), True, t) for t in _locked(node, root)]
        else:
            table = node.this
            if not isinstance(table, exp.Table) or identifier_name(table.this) != root:
                continue
            actions = [(*action, table) for action in _actions(node)]
        for kind, _, condition, pinnable, table in actions:
            pin = _root_pin(condition, table, policy) if pinnable else None
            if pin is None and kind == "LOCK" and locked_pin is not None:
                pin = locked_pin(table)
            if pin is not None:
                lossy = lossy_parameters(tree, policy) if lossy is None else lossy
                if pin in lossy:
                    pin = None
            found.append(CascadingWrite(kind, table, root, pin))
    return found


def _root_upsert(insert: exp.Insert, root: str, policy: Policy) -> CascadingWrite | None:
    """`INSERT INTO tenants … ON CONFLICT … DO UPDATE`: an UPDATE of the registry row the new
    row collides with, pinned to the key's value when the conflict target holds the key
    (`(id)`, `(id, name)`, or a constraint the schema shows on such columns) and one row of
    VALUES gives it (round 26: the registry's rows written by another tenant)."""
    conflict = insert.args.get("conflict")
    if not isinstance(conflict, exp.OnConflict) or "UPDATE" not in str(
        conflict.args.get("action")
    ).upper().replace("NOTHING", ""):
        return None
    target = insert.this
    columns = (
        [identifier_name(c) for c in target.expressions] if isinstance(target, exp.Schema) else []
    )
    table = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(table, exp.Table) or identifier_name(table.this) != root:
        return None
    pin = None
    keys = [
        identifier_name(k.this.this if isinstance(k, exp.Ordered) else k.this)
        for k in conflict.args.get("conflict_keys") or []
    ]
    constraint = conflict.args.get("constraint")
    if constraint is not None:  # `ON CONSTRAINT tenants_pkey`: its columns, from the schema
        named = policy.constraint_columns.get(identifier_name(constraint))
        keys = sorted(named) if named is not None else []
    rows = insert.expression
    key = policy.tenant_root_key
    # the row it collides with equals the new row on every column of the conflict target:
    # a target holding the key (alone or with others) is that row, whose key is the new one's
    if (
        key in keys
        and key in columns
        and isinstance(rows, exp.Values)
        and len(rows.expressions) == 1
        and isinstance(rows.expressions[0], exp.Tuple)
        and len(rows.expressions[0].expressions) == len(columns)
    ):
        pin = pin_value(rows.expressions[0].expressions[columns.index(key)], policy)
    return CascadingWrite("UPDATE", table, root, pin)


def _lock_condition(select: exp.Select) -> exp.Expression | None:
    """What picks the rows a SELECT locks: its WHERE and its inner joins' ON conditions (an
    outer join's keeps the rows of the side it preserves)."""
    parts: list[exp.Expression] = []
    where = select.args.get("where")
    if isinstance(where, exp.Where):
        parts.append(where.this)
    for join in select.args.get("joins") or []:
        on = join.args.get("on")
        inner = str(join.args.get("kind") or "INNER").upper() == "INNER"
        if isinstance(on, exp.Expression) and not join.side and inner:
            parts.append(on)
    if not parts:
        return None
    condition: exp.Expression = parts[0]
    for part in parts[1:]:
        condition = exp.And(this=condition, expression=part)
    return condition


def _locked(select: exp.Select, root: str) -> list[exp.Table]:
    """The registry's tables a SELECT locks: those its locking clauses name (`FOR UPDATE OF
    t`), or every table of its FROM and JOINs for a clause naming none."""
    locks = select.args.get("locks") or []
    if not locks:
        return []
    tables = [
        t
        for part in (select.args.get("from_"), *(select.args.get("joins") or []))
        if part is not None
        for t in [part.this]
        if isinstance(t, exp.Table)
    ]
    named: set[str] = set()
    every = False
    for lock in locks:
        targets = lock.expressions
        if not targets:
            every = True
        for target in targets:
            if isinstance(target, exp.Table | exp.Column):
                named.add(identifier_name(target.this))
    return [
        t
        for t in tables
        if identifier_name(t.this) == root
        and (every or t.alias_or_name in named or identifier_name(t.this) in named)
    ]


_Action = tuple[str, list[exp.Expression], exp.Expression | None, bool]


def _actions(node: exp.Expression) -> list[_Action]:
    """What a statement does to its target's rows: (DELETE or UPDATE, the assignments, the
    condition that picks the rows, whether that condition can pin them)."""
    if isinstance(node, exp.Delete):
        where = node.args.get("where")
        return [("DELETE", [], where.this if where else None, True)]
    if isinstance(node, exp.Update):
        where = node.args.get("where")
        return [("UPDATE", node.expressions, where.this if where else None, True)]
    if isinstance(node, exp.Merge):
        whens = node.args.get("whens")
        out: list[_Action] = []
        for when in whens.expressions if whens is not None else ():
            if not when.args.get("matched"):
                continue  # INSERT of a new row
            # WHEN NOT MATCHED BY SOURCE acts on the target rows the ON does not pick
            pinnable = not when.args.get("source")
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                out.append(("UPDATE", then.expressions, node.args.get("on"), pinnable))
            elif isinstance(then, exp.Var) and then.name.upper() == "DELETE":
                out.append(("DELETE", [], node.args.get("on"), pinnable))
        return out
    conflict = node.args.get("conflict")
    if (
        isinstance(conflict, exp.OnConflict)
        and "UPDATE" in str(conflict.args.get("action")).upper()
    ):
        # the row updated is the one the new row collides with: not pinned by a filter
        return [("UPDATE", conflict.expressions, None, False)]
    return []


def _changes(assignments: list[exp.Expression], referenced: frozenset[str]) -> bool:
    changed: set[str] = set()
    for assignment in assignments:
        if not isinstance(assignment, exp.EQ):
            return True  # a form not read: it may change anything
        for name in _set_targets(assignment):
            if name is None:
                return True  # a target not read: it may be any column
            changed.add(name)
    return "*" in referenced or bool(changed & referenced)


def _set_targets(assignment: exp.Expression) -> list[str | None]:
    """The columns an assignment of a SET list writes, as PostgreSQL names them (None for a
    target not read): a field or an element of a column is a write of the column (`SET
    note.x = …`, which sqlglot reads as column x of a table note; `SET tags[1] = …`, `SET
    note.z[1] = …`), and so is a parenthesised one (`SET (id) = ROW(…)`). Helper h35R: a
    field named as the column ran a `BEFORE UPDATE OF note` trigger unseen."""
    target = assignment.this if isinstance(assignment, exp.EQ) else None
    out: list[str | None] = []
    for column in target.expressions if isinstance(target, exp.Tuple) else [target]:
        while isinstance(column, exp.Paren | exp.Bracket | exp.Dot):
            column = column.this
        first = column.parts[0] if isinstance(column, exp.Column) else None
        out.append(identifier_name(first) if isinstance(first, exp.Identifier) else None)
    return out


def _root_pin(
    condition: exp.Expression | None, table: exp.Table, policy: Policy
) -> PinValue | None:
    """`id = V` (the registry's key equal to a pinning value) picking the registry's row."""
    if condition is None:
        return None
    names = {identifier_name(table.this), table.alias_or_name}
    key = policy.tenant_root_key
    equalities = [c for c in conjuncts(condition) if isinstance(c, exp.EQ)]
    for conjunct in equalities:
        pair = (conjunct.this, conjunct.expression)
        for side, other in (pair, pair[::-1]):
            if (
                isinstance(side, exp.Column)
                and identifier_name(side.this) == key
                and (not side.table or side.table in names)
            ):
                value = pin_value(other, policy)
                if value is None and isinstance(other, exp.Column) and other.table:
                    # `t.id = p.tenant_id AND p.tenant_id = V`: one step along the chain
                    value = _column_pin(other, equalities, policy)
                if value is not None:
                    return value
    return None


def _column_pin(column: exp.Column, equalities: list[exp.EQ], policy: Policy) -> PinValue | None:
    """The pinning value a qualified column is set equal to among the conjuncts."""
    for equality in equalities:
        pair = (equality.this, equality.expression)
        for side, other in (pair, pair[::-1]):
            if (
                isinstance(side, exp.Column)
                and side.table == column.table
                and identifier_name(side.this) == identifier_name(column.this)
            ):
                value = pin_value(other, policy)
                if value is not None:
                    return value
    return None


@dataclass(frozen=True, slots=True)
class HiddenWrite:
    """A write whose relation's triggers or rules reach tenant rows the statement does not pin."""

    kind: str  # INSERT, UPDATE, DELETE or TRUNCATE ("INSERT and UPDATE": an upsert)
    table: exp.Table
    name: str
    what: str  # the trigger or rule, and why it is not pinned


def hidden_writes(tree: exp.Expression, sql: str, policy: Policy) -> list[HiddenWrite]:
    """The statement's writes (in CTEs too; COPY … FROM fires INSERT triggers) of relations
    whose triggers or rules (`policy.hidden_writes`) reach tenant rows unpinned, or that
    evaluate a column default reading them (`policy.leaky_defaults`)."""
    known, defaults = policy.hidden_writes, policy.leaky_defaults
    if not known and not defaults:
        return []
    lowered = sql.lower()
    if not any(name.lower() in lowered for name in (*known, *defaults)):
        return []  # a few substring tests before any walk
    found = []
    for node in tree.find_all(
        exp.Delete, exp.Update, exp.Merge, exp.Insert, exp.TruncateTable, exp.Copy
    ):
        targets = node.expressions if isinstance(node, exp.TruncateTable) else [node.this]
        for target in targets:
            table = target.this if isinstance(target, exp.Schema) else target
            if not isinstance(table, exp.Table):
                continue
            name = identifier_name(table.this)
            leaky = defaults.get(name)
            if leaky:
                for column in _defaulted(node, target, leaky, policy.columns_of(name)):
                    found.append(
                        HiddenWrite(
                            "INSERT" if not isinstance(node, exp.Update) else "UPDATE",
                            table,
                            name,
                            f"the default of {column}, {leaky[column]}",
                        )
                    )
            kinds = known.get(name)
            if not kinds:
                continue
            fired: dict[str, list[str]] = {}  # what runs -> the kinds of write that run it
            for kind in _fired(node):
                if kind == "UPDATE OF *":  # a column not named: any `UPDATE OF` runs
                    for known_kind, what in kinds.items():
                        if known_kind.startswith("UPDATE OF "):
                            fired.setdefault(what, []).append(known_kind)
                elif kind in kinds:
                    fired.setdefault(kinds[kind], []).append(kind)
            for what, written in fired.items():
                found.append(HiddenWrite(" and ".join(written), table, name, what))
    return found


def _fired(node: exp.Expression) -> list[str]:
    """The kinds of write a statement does to its target, as triggers and rules see them."""
    if isinstance(node, exp.TruncateTable):
        return ["TRUNCATE"]
    if isinstance(node, exp.Copy):
        return ["INSERT"] if node.args.get("kind") else []  # FROM: rows inserted; TO: read
    if isinstance(node, exp.Insert):
        kinds = ["INSERT"]
        conflict = node.args.get("conflict")
        if conflict is not None and "UPDATE" in str(conflict.args.get("action")).upper():
            kinds += ["UPDATE", *_set_columns(conflict)]
        return kinds
    if isinstance(node, exp.Merge):
        whens = node.args.get("whens")
        kinds = []
        for when in whens.expressions if whens is not None else ():
            then = when.args.get("then")
            if isinstance(then, exp.Insert):
                kinds.append("INSERT")
            elif isinstance(then, exp.Update):
                kinds += ["UPDATE", *_set_columns(then)]
            elif isinstance(then, exp.Var) and then.name.upper() == "DELETE":
                kinds.append("DELETE")
        return kinds
    if isinstance(node, exp.Delete):
        return ["DELETE"]
    return ["UPDATE", *_set_columns(node)]


def _set_columns(node: exp.Expression) -> list[str]:
    """`UPDATE OF column` for each column an UPDATE sets (lower-cased), `UPDATE OF *` for a
    target it cannot name: setting a partitioned table's key moves the row to another
    partition, running that one's INSERT triggers and the first one's DELETE triggers."""
    return [
        "UPDATE OF *" if name is None else f"UPDATE OF {name.lower()}"
        for item in node.expressions
        for name in _set_targets(item)
    ]


def _is_default(item: exp.Expression) -> bool:
    """The keyword DEFAULT where a value goes (sqlglot reads it as a variable in VALUES, as a
    column named DEFAULT in a SET list or a MERGE's INSERT)."""
    if type(item) is exp.Var:
        return str(item.this).upper() == "DEFAULT"
    return (
        type(item) is exp.Column
        and not item.args.get("table")
        and isinstance(item.this, exp.Identifier)
        and not item.this.quoted
        and item.this.name.upper() == "DEFAULT"
    )


def _defaulted(
    node: exp.Expression,
    target: exp.Expression,
    leaky: Mapping[str, str],
    columns: frozenset[str] | None,
) -> list[str]:
    """The columns of `leaky` whose default a write evaluates: those an INSERT or COPY FROM
    leaves out or gives DEFAULT, those an UPDATE (or a MERGE's actions) sets to DEFAULT. An
    INSERT without a column list whose rows may be shorter than the table: all of them."""
    if isinstance(node, exp.Merge):
        whens = node.args.get("whens")
        out: list[str] = []
        for when in whens.expressions if whens is not None else ():
            then = when.args.get("then")
            if isinstance(then, exp.Insert | exp.Update):
                out.extend(c for c in _defaulted(then, then.this, leaky, columns) if c not in out)
        return out
    if isinstance(node, exp.Update):
        return [
            name
            for assignment in node.expressions
            if isinstance(assignment, exp.EQ)
            and isinstance(assignment.this, exp.Column)
            and _is_default(assignment.expression)
            and (name := identifier_name(assignment.this.this)) in leaky
        ]
    if isinstance(node, exp.Copy):
        if not node.args.get("kind") or not isinstance(target, exp.Schema):
            return []  # COPY … TO reads; COPY t FROM gives every column
        listed = {identifier_name(c) for c in target.expressions}
        return [c for c in leaky if c not in listed]
    if not isinstance(node, exp.Insert):
        return []
    named: list[str] | None = None
    if isinstance(target, exp.Schema | exp.Tuple):  # a column list (a MERGE's: a tuple)
        named = [
            identifier_name(c.this if isinstance(c, exp.Column) else c) for c in target.expressions
        ]
        if named == ["DEFAULT"] or named == ["default"]:  # a MERGE's INSERT DEFAULT VALUES
            return list(leaky)
    rows = node.expression
    while isinstance(rows, exp.Subquery | exp.Paren):
        rows = rows.this
    tuples = (
        rows.expressions if isinstance(rows, exp.Values) else [rows] if isinstance(rows, exp.Tuple)
        else []
    )  # fmt: skip
    items = [t.expressions if isinstance(t, exp.Tuple) else [t] for t in tuples]
    if named is None:
        if columns is None or not items or any(len(r) < len(columns) for r in items):
            # DEFAULT VALUES, a query's rows, rows shorter than the table: defaults
            return list(leaky)
        if any(_is_default(i) for r in items for i in r):
            return list(leaky)  # DEFAULT at a position the proof cannot name
        return []
    out = [c for c in leaky if c not in named]
    for row in items:
        for column, item in zip(named, row, strict=False):
            if column in leaky and column not in out and _is_default(item):
                out.append(column)
    return out
