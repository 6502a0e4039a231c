"""The records the schema reader keeps: views, functions, foreign keys, triggers, write rules,
and the statements it could not read (`SchemaProblem`).

Plain frozen dataclasses; they rely on nothing else of the reader.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ViewInfo:
    """A view (or materialized view) of the schema sources: its query, and its column list."""

    query: str
    columns: list[str] | None  # `CREATE VIEW v (a, b)`; None: the query's own names


@dataclass(frozen=True)
class _Volatility:
    """What `calls_volatile` reads of a policy, while the schema is read."""

    stable_functions: frozenset[str]
    functions: frozenset[str]
    volatile_views: frozenset[str]
    volatile_operators: frozenset[str]


@dataclass(frozen=True)
class FunctionInfo:
    """A SQL or PL/pgSQL function of the schema sources: the statements of its body the proof
    can read, the text of what it cannot (dynamic SQL), its parameter names, and its output
    columns if known."""

    body: list[str]
    opaque: str
    parameters: list[str]  # in call order; "" for a parameter without a name
    columns: set[str] | None
    # PL/pgSQL variables set once, where declared, and never written again: (name, value)
    constants: tuple[tuple[str, str], ...] = ()
    # positions (call order) of parameters whose type compares loosely or rounds (`real`,
    # `char(n)`, `citext`, a domain over one): the argument is converted before the body
    # compares it, so two tenants' ids can meet — such a parameter pins nothing; nor does one
    # a PL/pgSQL body writes (its queries compare what was put there)
    lossy: tuple[int, ...] = ()
    # its declared output columns in order (RETURNS TABLE, OUT, INOUT): the body's columns are
    # matched to them by position; empty when not declared so (RETURNS SETOF a table)
    outputs: tuple[str, ...] = ()
    # several functions of this name whose bodies are all readable: `body` holds every one's
    # queries, `opaque` their text (a call may run any of them; none pins by its parameters)
    overloads: bool = False
    # LANGUAGE sql returning one value, its body one statement: PostgreSQL may inline it into
    # the query that calls it (its cost and its errors are its body's)
    inlined: bool = False
    # declared `COST n` below PostgreSQL's default of 100 for such functions: evaluated before
    # dearer conditions (its errors and notices, on rows not filtered yet)
    cheap: bool = False
    # PL/pgSQL: the queries of its RETURN QUERY statements outside any loop, whose rows are the
    # function's own; the rows of its other queries go into variables (FOR … IN, INTO, cursors,
    # expressions), which may carry another tenant's value or a count of every tenant's rows
    # into the rows it returns (RETURN NEXT, a RETURN QUERY reading them). None: LANGUAGE sql
    returned: tuple[str, ...] | None = None
    # a trigger function's variables that only ever hold the written row (`r := coalesce(NEW,
    # OLD)`: "row") or its column f (`v := NEW.f`, `coalesce(NEW.f, OLD.f)`: "field:f")
    row_copies: tuple[tuple[str, str], ...] = ()
    # the parameters declared with a DEFAULT: (position in call order, the default's text); a
    # call that leaves the argument out is given the default, evaluated where it is called
    defaults: tuple[tuple[int, str], ...] = ()


@dataclass
class ForeignKeyInfo:
    """A foreign key of the schema sources, as declared."""

    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]  # empty: the referenced table's primary key
    valid: bool = True  # NOT VALID until a VALIDATE CONSTRAINT
    deferrable: bool = False
    # ON DELETE / ON UPDATE, as PostgreSQL's codes: a no action, r restrict, c cascade,
    # n set null, d set default
    on_delete: str = "a"
    on_update: str = "a"
    # `ON DELETE SET NULL (patient_id)` (PostgreSQL 15): the only columns the action sets
    on_delete_columns: tuple[str, ...] = ()


@dataclass
class TriggerInfo:
    """A trigger of the schema sources: the writes of its relation that fire it, the function
    it runs, and whether it runs for each row (NEW and OLD are the rows written)."""

    name: str
    relation: str
    events: tuple[str, ...]  # INSERT, UPDATE, DELETE, TRUNCATE
    function: str
    row: bool
    args: tuple[str, ...] = ()  # `EXECUTE FUNCTION f('notes')`: what the body reads as TG_ARGV
    # `REFERENCING NEW TABLE AS n OLD TABLE AS o`: the names its body reads the rows written by
    transitions: tuple[str, ...] = ()


@dataclass
class WriteRule:
    """A rule on a write (`CREATE RULE … AS ON INSERT | UPDATE | DELETE TO r DO …`): the
    statements it runs beside (or instead of) the write."""

    name: str
    relation: str
    event: str
    actions: list[str]
    # bound to a column renamed since (PostgreSQL binds a rule's actions when it is made):
    # read as text out of sight
    stale: bool = False


# CreateTrigStmt.events: the bits of the writes that fire a trigger
_TRIGGER_EVENTS = (("INSERT", 4), ("DELETE", 8), ("UPDATE", 16), ("TRUNCATE", 32))

_TRIGGER_AFTER = 0  # CreateTrigStmt.timing: TRIGGER_TYPE_BEFORE 2, AFTER 0, INSTEAD 64


@dataclass(frozen=True)
class _Renamed:
    """A relation's new name, in its schema (what `RENAME TO` leaves)."""

    relname: str
    schemaname: str | None


@dataclass(frozen=True)
class SchemaProblem:
    """A schema statement that could not be read: where, why, and the tables it may create."""

    path: str
    line: int
    column: int
    message: str
    text: str
    # PostgreSQL's parser read it, but what it creates is unknown: a check of the file, which
    # reports only statements that do not parse, does not report it
    parsed: bool = False
