"""The statements of a patch, cut and read by PostgreSQL's own parser (pglast).

The runner executes a patch statement by statement so that an error points into the file: the
statement's text is sent exactly as written, and PostgreSQL's error position (a character offset
into that text) maps back to the file's line and column.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pglast
from pglast import ast
from pglast.enums import TransactionStmtKind

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.sqltext import LineIndex
from tenantguard.patches.files import PatchError

if TYPE_CHECKING:
    from tenantguard.patches.files import PatchFile

__all__ = [
    "ANY_WRITE",
    "COMMITS_IN_TRANSACTION",
    "SWALLOWED_WHY",
    "TRANSACTION_WORDS",
    "PatchFunction",
    "Runs",
    "SqlStatement",
    "altered_role",
    "body_commits",
    "check_patch_statements",
    "commits_on_its_own",
    "concurrent_index",
    "created_roles",
    "fired",
    "function_runs",
    "outside_transaction_only",
    "patch_functions",
    "patch_triggers",
    "reached",
    "refuse_swallowed_retries",
    "relations",
    "role_attributes",
    "role_memberships",
    "role_statements",
    "runs_of",
    "split_patch",
    "swallowed_in_patch",
    "swallowing_handlers",
    "transaction_control",
    "without_memberships",
]

TRANSACTION_WORDS = {
    TransactionStmtKind.TRANS_STMT_BEGIN: "BEGIN",
    TransactionStmtKind.TRANS_STMT_START: "START TRANSACTION",
    TransactionStmtKind.TRANS_STMT_COMMIT: "COMMIT",
    TransactionStmtKind.TRANS_STMT_ROLLBACK: "ROLLBACK",
    TransactionStmtKind.TRANS_STMT_SAVEPOINT: "SAVEPOINT",
    TransactionStmtKind.TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
    TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
    TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}


@dataclass(frozen=True)
class SqlStatement:
    """One statement of a patch file: its text as written, where it starts, its parse tree."""

    text: str
    offset: int  # character offset of the first token in the file
    line: int
    column: int
    node: Any  # a pglast.ast statement node

    def position_of(self, server_position: str | int | None, lines: LineIndex) -> tuple[int, int]:
        """The file's (line, column) of PostgreSQL's 1-based error position in this text."""
        try:
            index = int(server_position or 0) - 1
        except ValueError:
            index = -1
        if not 0 <= index < len(self.text):
            return self.line, self.column
        return lines.position(self.offset + index)


def split_patch(text: str, path: str) -> list[SqlStatement]:
    """The statements of `text`; a PatchError at the error's line and column when it does not parse."""
    lines = LineIndex(text)
    try:
        raw_statements = pglast.parse_sql(text)
    except pglast.parser.ParseError as error:
        message = error.args[0] if error.args else str(error)
        location = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else 0
        line, column = lines.position(min(max(location, 0), len(text)))
        before = text[: text.rfind("\n", 0, max(location, 0)) + 1]  # up to the error's line
        if _COPY_FROM_STDIN.search(before):
            # rows of a `COPY … FROM stdin;` as psql and pg_dump's data section write them:
            # psql reads them from the file, PostgreSQL never sees them as SQL (round 29, h29d)
            message += (
                ": the rows of the COPY … FROM stdin before it, which psql sends as COPY data "
                f"and the runner reads as SQL. {_COPY_ROWS}"
            )
        raise PatchError(
            f"{path}:{line}:{column}: PostgreSQL cannot parse this: {message}"
        ) from error
    statements: list[SqlStatement] = []
    for raw in raw_statements:
        start = raw.stmt_location or 0  # pglast gives character offsets of the first token
        end = start + raw.stmt_len if raw.stmt_len else len(text)
        line, column = lines.position(start)
        statements.append(SqlStatement(text[start:end].rstrip(), start, line, column, raw.stmt))
    return statements


def transaction_control(statement: SqlStatement) -> str | None:
    """`COMMIT`, `BEGIN`, … when the statement is transaction control; None otherwise."""
    node = statement.node
    if isinstance(node, ast.TransactionStmt):
        return TRANSACTION_WORDS.get(node.kind, "transaction control") if node.kind else "BEGIN"
    return None


_OUTSIDE_TRANSACTION_ONLY = {
    ast.CreatedbStmt: "CREATE DATABASE",
    ast.DropdbStmt: "DROP DATABASE",
    ast.AlterSystemStmt: "ALTER SYSTEM",
    ast.CreateTableSpaceStmt: "CREATE TABLESPACE",
    ast.DropTableSpaceStmt: "DROP TABLESPACE",
}


def outside_transaction_only(node: Any) -> str | None:
    """What the statement is, when PostgreSQL refuses to run it inside a transaction block."""
    for kind, name in _OUTSIDE_TRANSACTION_ONLY.items():
        if isinstance(node, kind):
            return name
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd:  # ANALYZE alone is fine
        return "VACUUM"
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt):
        if any(getattr(p, "defname", "") == "concurrently" for p in node.params or ()):
            return "REINDEX CONCURRENTLY"
        many = _REINDEX_MANY.get(getattr(node.kind, "name", ""))
        if many is not None:  # each table in a transaction of its own
            return many
    if isinstance(node, ast.DiscardStmt) and getattr(node.target, "name", "") == "DISCARD_ALL":
        return "DISCARD ALL"
    if isinstance(node, ast.ClusterStmt) and node.relation is None:
        return "CLUSTER of every clustered table"  # each in a transaction of its own
    if isinstance(node, ast.AlterDatabaseStmt) and any(
        getattr(o, "defname", "") == "tablespace" for o in node.options or ()
    ):
        return "ALTER DATABASE … SET TABLESPACE"
    return None


_REINDEX_MANY = {
    "REINDEX_OBJECT_SCHEMA": "REINDEX SCHEMA",
    "REINDEX_OBJECT_SYSTEM": "REINDEX SYSTEM",
    "REINDEX_OBJECT_DATABASE": "REINDEX DATABASE",
}


_NEAR_MARKER = lazy_pattern(r"tenantguard.{0,3}no.?transaction", re.IGNORECASE)


def _refuse_outside_transaction_only(patch: PatchFile, statements: list[SqlStatement]) -> None:
    """A statement PostgreSQL refuses in a transaction block, in a patch the runner applies in
    one, is refused before any patch runs — saying so when the patch has a line that looks
    like the marker but is not it (round 28, helper h28d: `-- tenantguard: no-transaction (the
    table is big)` was not seen, the patches before it were applied, and the run failed on
    'cannot run inside a transaction block')."""
    for statement in statements:
        name = outside_transaction_only(statement.node)
        if name is None and concurrent_detach(statement) is not None:
            name = "DETACH PARTITION … CONCURRENTLY"
        if name is None:
            continue
        near = next(
            (
                (number, line.strip())
                for number, line in enumerate(patch.text.splitlines(), start=1)
                if _NEAR_MARKER.search(line)
            ),
            None,
        )
        seen = (
            f" Line {near[0]} says `{near[1]}`, which is not the runner's marker: the marker is "
            "a line comment alone on its line."
            if near is not None
            else ""
        )
        raise PatchError(
            f"{patch.path}:{statement.line}:{statement.column}: {name} cannot run inside the "
            f"transaction the runner applies this patch in.{seen} Put it alone in a patch that "
            "has the line `-- tenantguard: no-transaction`; nothing was applied"
        )


_COPY_ROWS = (
    "Write the rows as INSERT … ON CONFLICT DO NOTHING (a patch runs again on a new install), "
    "or load them outside the patches"
)
# the line after which pg_dump and psql put COPY's rows (round 29, helper h29d)
_COPY_FROM_STDIN = lazy_pattern(r"\bFROM\s+stdin\b[^;\n]*;\s*\Z", re.IGNORECASE)


# the errors the runner retries — its own lock_timeout (so that the application's queries do
# not queue behind a patch's DDL), a deadlock's victim, a serialization failure — by the
# conditions of PL/pgSQL that catch them: the condition, its class, their SQLSTATEs, OTHERS
_RETRIED_CONDITIONS = {
    "others": "every error",
    "lock_not_available": "lock_not_available",
    "55p03": "lock_not_available",
    "object_not_in_prerequisite_state": "lock_not_available (its class 55)",
    "55000": "lock_not_available (its class 55)",
    "deadlock_detected": "deadlock_detected",
    "40p01": "deadlock_detected",
    "serialization_failure": "serialization_failure",
    "40001": "serialization_failure",
    "transaction_rollback": "deadlocks and serialization failures (class 40)",
    "40000": "deadlocks and serialization failures (class 40)",
}
_ERROR_LEVEL = 21  # PL/pgSQL's elog_level of RAISE EXCEPTION and of a bare RAISE


_RETRIED_SQLSTATES = {"55p03", "55000", "40p01", "40001", "40000"}
_SQLSTATE_EXCEPT = lazy_pattern(
    r"\A\s*SQLSTATE\s*(?:<>|!=)\s*'(\w{5})'\s*\Z"
    r"|\A\s*SQLSTATE\s+NOT\s+IN\s*\(((?:\s*'\w{5}'\s*,?)+)\)\s*\Z",
    re.IGNORECASE,
)


def _raises_for_retried(condition: str) -> bool:
    """Does an IF's condition hold for every error the runner retries: `SQLSTATE <> 'x'` or
    `SQLSTATE NOT IN ('x', …)` leaving out none of them? Other conditions cannot be decided."""
    match = _SQLSTATE_EXCEPT.match(condition)
    if match is None:
        return False
    codes = {c.lower() for c in re.findall(r"'(\w{5})'", condition)}
    return not codes & _RETRIED_SQLSTATES


def _raises(action: Any) -> bool:
    """Does a handler's action always RAISE an error (a bare `RAISE;` re-raises) — reached
    whatever the error: in its own statements before any RETURN, or in every branch of an IF
    with an ELSE, or in a nested block that raises? (Round 32, helper h32l: a RAISE anywhere
    counted, and `WHEN OTHERS THEN IF SQLSTATE = '42701' THEN RAISE; END IF;` — re-raising one
    error and swallowing the rest, the lock_timeout among them — passed.)"""
    for statement in action if isinstance(action, list) else [action]:
        if not isinstance(statement, dict):
            continue
        kind, value = next(iter(statement.items()), ("", None))
        if not isinstance(value, dict):
            continue
        if kind == "PLpgSQL_stmt_raise" and int(value.get("elog_level", 0)) >= _ERROR_LEVEL:
            return True
        if (
            kind == "PLpgSQL_stmt_if"
            and not value.get("else_body")
            and not value.get("elsif_list")
            and _raises(value.get("then_body") or [])
            and _raises_for_retried(
                str((value.get("cond") or {}).get("PLpgSQL_expr", {}).get("query", ""))
            )
        ):
            return True  # `IF SQLSTATE <> '42710' THEN RAISE; END IF;`: all but one re-raised
        if kind == "PLpgSQL_stmt_if" and value.get("else_body"):
            branches = [value.get("then_body") or [], value.get("else_body") or []]
            branches += [
                (e.get("PLpgSQL_if_elsif") or {}).get("stmts") or []
                for e in value.get("elsif_list") or ()
                if isinstance(e, dict)
            ]
            if all(_raises(branch) for branch in branches):
                return True
        if kind == "PLpgSQL_stmt_block" and _raises(value.get("body") or []):
            handlers = ((value.get("exceptions") or {}).get("PLpgSQL_exception_block") or {}).get(
                "exc_list"
            ) or []
            if all(
                _raises((h.get("PLpgSQL_exception") or {}).get("action") or [])
                for h in handlers
                if isinstance(h, dict)
            ):
                return True
        if kind in ("PLpgSQL_stmt_return", "PLpgSQL_stmt_exit"):
            return False
    return False


def swallowed_retries(statement: SqlStatement) -> list[tuple[int, str, str]]:
    """(offset in the statement's text, condition, what it catches) of each EXCEPTION handler
    of a DO block that catches an error the runner retries and does not raise it again (round
    31, helper h31f: `EXCEPTION WHEN others THEN RAISE NOTICE 'already there'` around an `ALTER
    TABLE … ADD CONSTRAINT` caught the runner's lock_timeout while the application held the
    table: the patch was recorded as applied, exit 0, and the constraint was never made)."""
    node = statement.node
    if not isinstance(node, ast.DoStmt):
        return []
    body = _body_of(node.args)
    start = max(statement.text.find(body), 0)
    return [(start + offset, c, what) for offset, c, what in _swallowing_handlers(body)]


def _swallowing_handlers(body: str, definition: str | None = None) -> list[tuple[int, str, str]]:
    """(offset in `body`, condition, what it catches) of each EXCEPTION handler of a PL/pgSQL
    body (of a function: its `definition`) that catches an error the runner retries and does not
    raise it again. (A function's body read as a DO block's failed on `RETURN 1`, and the
    function was taken for one without handlers; round 32, helper h32e.)"""
    items = _plpgsql_items(body, definition)
    if not items:
        return []
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", body)]
    found: list[tuple[int, str, str]] = []
    for key, value in items:
        if key != "PLpgSQL_exception" or not isinstance(value, dict):
            continue
        names = [
            str(c.get("PLpgSQL_condition", {}).get("condname", "")).lower()
            for c in value.get("conditions") or ()
            if isinstance(c, dict)
        ]
        caught = next((n for n in names if n in _RETRIED_CONDITIONS), None)
        if caught is None or _raises(value.get("action")):
            continue
        # where: its WHEN, on the line of its first action or above (a `NULL;` has no line)
        action_lines = [
            int(a[k]["lineno"])
            for a in value.get("action") or ()
            if isinstance(a, dict)
            for k in a
            if isinstance(a[k], dict) and "lineno" in a[k]
        ]
        last = min(action_lines[0], len(line_starts)) if action_lines else len(line_starts)
        end = line_starts[last] if last < len(line_starts) else len(body)
        whens = list(
            re.finditer(rf"\bWHEN\b[^;]*?\b{re.escape(caught)}\b", body[:end], re.IGNORECASE)
        )
        found.append((whens[-1].start() if whens else 0, caught, _RETRIED_CONDITIONS[caught]))
    return found


def _created_plpgsql(statement: SqlStatement) -> tuple[str, str] | None:
    """(name, body) of the PL/pgSQL function or procedure a `CREATE FUNCTION/PROCEDURE` makes."""
    node = statement.node
    if not isinstance(node, ast.CreateFunctionStmt) or not node.funcname:
        return None
    language = next(
        (str(o.arg.sval).lower() for o in node.options or () if o.defname == "language"), "sql"
    )
    if language != "plpgsql":
        return None
    return str(node.funcname[-1].sval), _body_of(node.options)


def swallowed_in_patch(
    statements: list[SqlStatement],
) -> list[tuple[SqlStatement, int, str, str, str | None]]:
    """(statement, offset in its text, condition, what it catches, function) of each handler
    that swallows an error the runner retries and runs while the patch does: in a DO block
    (function None), or in a PL/pgSQL function or procedure the patch creates and a later
    statement runs — called (as the parse tree shows: round 32, helper h32l, a `COMMENT ON
    FUNCTION f()` or 'f()' in a string was a call), through the patch's other functions, or as
    the trigger of a table the statement writes to (round 32, helper h32e: `CREATE FUNCTION
    add_b() … EXCEPTION WHEN OTHERS THEN RAISE NOTICE …` then `SELECT add_b();` escaped the
    DO-block check: recorded as applied, the column never made)."""
    found: list[tuple[SqlStatement, int, str, str, str | None]] = []
    reported: set[str] = set()
    for statement, made, triggers in _with_made_before(statements):
        for offset, condition, what in swallowed_retries(statement):
            found.append((statement, offset, condition, what, None))
        if not made:
            continue
        for name in reached(runs_of([statement]), made, triggers):
            function = made.get(name)
            if function is None or not function.handlers or name in reported:
                continue
            reported.add(name)
            maker = statements[function.index]
            start = max(maker.text.find(function.body), 0)
            for offset, condition, what in function.handlers:
                found.append((maker, start + offset, condition, what, name))
    return found


@dataclass
class Runs:
    """What a piece of SQL runs: the functions it calls and the tables it writes to (their
    triggers run), by name as the catalog spells it, each with the offset (in the patch's
    text) of its first statement that does."""

    calls: dict[str, int] = field(default_factory=dict)
    # names of `calls` called with a schema other than pg_catalog (`app.now()`): not the
    # built-in of the same last name (round 36, helper h36E)
    qualified: set[str] = field(default_factory=set)
    writes: dict[str, int] = field(default_factory=dict)
    # the events of the writes, by table, as pg_trigger.tgtype's bits (INSERT 4, DELETE 8,
    # UPDATE 16, TRUNCATE 32): a trigger fires for its events only
    events: dict[str, int] = field(default_factory=dict)

    def write(self, table: str, events: int, offset: int) -> None:
        self.writes.setdefault(table, offset)
        self.events[table] = self.events.get(table, 0) | events


@dataclass
class PatchFunction:
    """A function or procedure a patch creates: its swallowing handlers and what it runs."""

    index: int  # of the statement that creates it
    body: str
    handlers: list[tuple[int, str, str]]
    runs: Runs
    commits: bool = False  # says COMMIT or ROLLBACK (a procedure's batches)


_WRITES = {"InsertStmt": 4, "UpdateStmt": 16, "DeleteStmt": 8, "MergeStmt": 4 | 8 | 16}
ANY_WRITE = 4 | 8 | 16 | 32
# a PL/pgSQL expression's query as pglast gives it: a statement (mode 0), an expression (2),
# an assignment `target := expression` (3 to 5)
_ASSIGNED = lazy_pattern(r"\A[^:=]*:?=(?!=)", re.DOTALL)
_NAMED_CALL = lazy_pattern(r'(?<![\w$"])("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*\(')
_QUOTED = lazy_pattern(r"'(?:[^']|'')*'|\$(\w*)\$.*?\$\1\$", re.DOTALL)


def _note_runs(nodes: Iterable[Any], runs: Runs, offset: int) -> None:
    for node in nodes:
        kind = type(node).__name__
        if kind == "FuncCall" and node.funcname:
            runs.calls.setdefault(str(node.funcname[-1].sval), offset)
            if len(node.funcname) > 1 and str(node.funcname[-2].sval) != "pg_catalog":
                runs.qualified.add(str(node.funcname[-1].sval))
        elif (kind in _WRITES or (kind == "CopyStmt" and node.is_from)) and getattr(
            node, "relation", None
        ) is not None:
            events = _WRITES.get(kind, 4)
            if kind == "InsertStmt" and node.onConflictClause is not None:
                events |= 16  # ON CONFLICT DO UPDATE
            runs.write(str(node.relation.relname), events, offset)
        elif kind == "TruncateStmt":
            for relation in node.relations or ():
                runs.write(str(relation.relname), 32, offset)


# what a statement makes but does not run: a function's body runs when called, a view's,
# a policy's or a rule's query when a later statement reads or writes through it
_NOT_RUN = (
    ast.CreateFunctionStmt,
    ast.ViewStmt,
    ast.CreatePolicyStmt,
    ast.AlterPolicyStmt,
    ast.RuleStmt,
)


def _walk_running(node: Any) -> Iterator[Any]:
    """The nodes of a tree that run when it does (round 32, helper h32l: `CREATE VIEW v AS
    SELECT add_b()` was refused as a call of the swallowing add_b())."""
    return _walk(node, _NOT_RUN)


def _note_sql(text: str, runs: Runs, offset: int) -> None:
    """A text run as SQL (dynamic SQL, a PL/pgSQL expression): its parse, else a name followed
    by `(` outside quotes and comments (a text built at run time cannot be read otherwise)."""
    for attempt in (text, "SELECT " + text, "SELECT " + _ASSIGNED.sub("", text, count=1)):
        try:
            tree = pglast.parse_sql(attempt)
        except Exception:  # pglast raises several types for text it cannot read
            continue
        for raw in tree:
            _note_runs(_walk_running(raw.stmt), runs, offset)
        return
    bare = _QUOTED.sub(" ", _SQL_COMMENT.sub(" ", text))
    for match in _NAMED_CALL.finditer(bare):
        word = match.group(1)
        name = word[1:-1].replace('""', '"') if word.startswith('"') else word.lower()
        runs.calls.setdefault(name, offset)
    _note_literal_calls(text, runs, offset)


def _note_literal_calls(text: str, runs: Runs, offset: int) -> None:
    """A name followed by `(` in the literals of a dynamic SQL text built at run time, and the
    table an INSERT, UPDATE, DELETE, MERGE or COPY there names."""
    for literal in re.findall(r"'((?:[^']|'')*)'", text):
        literal = literal.replace("''", "'")
        for match in _NAMED_CALL.finditer(literal):
            runs.calls.setdefault(match.group(1).strip('"').lower(), offset)
        for match in _WRITTEN.finditer(literal):
            table = match.group(1).rsplit(".", 1)[-1]
            name = table[1:-1] if table.startswith('"') else table.lower()
            runs.write(name, ANY_WRITE, offset)  # (its kind is not read: any trigger)


_WRITTEN = lazy_pattern(
    r"\b(?:INSERT\s+INTO|UPDATE(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?|MERGE\s+INTO|COPY)\s+"
    r'((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?)',
    re.IGNORECASE,
)


def _note_plpgsql(body: str, definition: str | None, runs: Runs, offset: int) -> None:
    items = _plpgsql_items(body, definition)
    if items is None:  # unreadable: its text
        _note_sql(body, runs, offset)
        return
    for key, value in items:
        if key == "PLpgSQL_expr" and isinstance(value, dict):
            _note_sql(str(value.get("query", "")), runs, offset)
    for text in _dynamic_texts(body, definition):
        joined, _escaped = _read_dynamic(text)
        constant = re.fullmatch(r"'((?:[^']|'')*)'", joined)
        if constant is not None:  # EXECUTE 'SELECT f()': the text's own parse
            _note_sql(constant.group(1).replace("''", "'"), runs, offset)
        else:  # built at run time ('SELECT ' || f || '()'): what its literals name
            _note_literal_calls(joined, runs, offset)


def function_runs(node: Any) -> Runs:
    """What a `CREATE FUNCTION/PROCEDURE` node's body runs when called (PL/pgSQL or SQL, `BEGIN
    ATOMIC` included; offsets 0)."""
    runs = Runs()
    language = next(
        (str(o.arg.sval).lower() for o in node.options or () if o.defname == "language"), "sql"
    )
    body = _body_of(node.options)
    if language == "plpgsql":
        _note_plpgsql(body, _definition(node), runs, 0)
    elif language == "sql":
        if getattr(node, "sql_body", None) is not None:
            _note_runs(_walk_running(node.sql_body), runs, 0)
        elif body:
            _note_sql(body, runs, 0)
    return runs


def runs_of(statements: list[SqlStatement]) -> Runs:
    """What statements run: their calls and writes, in DO blocks and dynamic SQL too; not what
    a `CREATE FUNCTION` holds, nor a trigger's function named by `CREATE TRIGGER`."""
    runs = Runs()
    for statement in statements:
        node = statement.node
        if isinstance(node, ast.DoStmt):
            _note_plpgsql(_body_of(node.args), None, runs, statement.offset)
        elif not isinstance(node, (ast.CreateFunctionStmt, ast.CreateTrigStmt)):
            _note_runs(_walk_running(node), runs, statement.offset)
    return runs


def _with_made_before(
    statements: list[SqlStatement],
) -> Iterator[tuple[SqlStatement, dict[str, PatchFunction], dict[str, dict[str, int]]]]:
    """Each statement with the functions and the triggers the statements before it made (one
    pass: a seed patch of 20,000 INSERTs was read in quadratic time, 2 minutes)."""
    made: dict[str, PatchFunction] = {}
    triggers: dict[str, dict[str, int]] = {}
    for index, statement in enumerate(statements):
        yield statement, made, triggers
        _note_made(index, statement, made, triggers)


def _note_made(
    index: int,
    statement: SqlStatement,
    made: dict[str, PatchFunction],
    triggers: dict[str, dict[str, int]],
) -> None:
    node = statement.node
    if isinstance(node, ast.CreateTrigStmt) and node.relation is not None and node.funcname:
        table = str(node.relation.relname)
        on = triggers.setdefault(table, {})
        function = str(node.funcname[-1].sval)
        on[function] = on.get(function, 0) | int(node.events or ANY_WRITE)
    if not isinstance(node, ast.CreateFunctionStmt) or not node.funcname:
        return
    created = _created_plpgsql(statement)
    body = _body_of(node.options)
    handlers = _swallowing_handlers(body, statement.text) if created is not None else []
    commits = created is not None and body_commits(body, statement.text)
    made[str(node.funcname[-1].sval)] = PatchFunction(
        index, body, handlers, function_runs(node), commits
    )


def patch_functions(statements: list[SqlStatement]) -> dict[str, PatchFunction]:
    """The functions and procedures the statements create, by name (the last one made)."""
    made: dict[str, PatchFunction] = {}
    for index, statement in enumerate(statements):
        _note_made(index, statement, made, {})
    return made


def patch_triggers(statements: list[SqlStatement]) -> dict[str, dict[str, int]]:
    """The functions of the triggers the statements create, by the table they are on, with the
    events they fire for (pg_trigger.tgtype's bits)."""
    triggers: dict[str, dict[str, int]] = {}
    for index, statement in enumerate(statements):
        if isinstance(statement.node, ast.CreateTrigStmt):
            _note_made(index, statement, {}, triggers)
    return triggers


_REACH_DEPTH = 8  # calls followed from a patch: a deeper chain is not looked for


def fired(runs: Runs, triggers: dict[str, dict[str, int]]) -> set[str]:
    """The trigger functions the writes of `runs` fire."""
    return {
        function
        for table in runs.writes
        for function, events in triggers.get(table, {}).items()
        if events & runs.events.get(table, ANY_WRITE)
    }


def reached(
    runs: Runs, made: dict[str, PatchFunction], triggers: dict[str, dict[str, int]]
) -> set[str]:
    """The patch's functions what `runs` runs reaches (calls, and triggers of written tables),
    transitively through them; with the names not made by the patch (the database's)."""
    seen: set[str] = set()
    frontier = set(runs.calls) | fired(runs, triggers)
    for _ in range(_REACH_DEPTH):
        frontier -= seen
        if not frontier:
            break
        seen |= frontier
        following: set[str] = set()
        for name in frontier:
            function = made.get(name)
            if function is not None:
                following |= set(function.runs.calls) | fired(function.runs, triggers)
        frontier = following
    return seen


def commits_on_its_own(statement: SqlStatement) -> str | None:
    """'DO block' when the statement is a DO block that says COMMIT or ROLLBACK, 'procedure'
    when it CALLs one (which may), else None: run outside a transaction, what it committed
    before an error stays."""
    node = statement.node
    if isinstance(node, ast.CallStmt):
        return "procedure"
    if isinstance(node, ast.DoStmt):
        items = _plpgsql_items(_body_of(node.args)) or []
        if any(key in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback") for key, _ in items):
            return "DO block"
    return None


def body_commits(body: str, definition: str | None = None) -> bool:
    """Does a PL/pgSQL body (a function's: its `definition`) say COMMIT or ROLLBACK?"""
    items = _plpgsql_items(body, definition) or []
    return any(key in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback") for key, _ in items)


COMMITS_IN_TRANSACTION = (
    "the runner applies the patch in one transaction with its ledger row, and PostgreSQL "
    "refuses to end it inside (invalid transaction termination). Remove it; or, for a backfill "
    "that must commit in batches, make it a patch of its own with the line `-- tenantguard: "
    "no-transaction` (what it commits before an error then stays, and the next run runs it "
    "again: it must be idempotent); nothing was applied"
)


def _refuse_do_block_commits(patch: PatchFile, statements: list[SqlStatement]) -> None:
    """A COMMIT or ROLLBACK in a DO block of a transactional patch: PostgreSQL refuses it in
    the runner's transaction ('invalid transaction termination') — after the patches before it
    in the run were applied. Refused before anything runs, as top-level COMMIT is; so is a call
    of a procedure the patch creates that commits (round 32, helper h32l: `CALL batches();`
    failed at run time, lint passed it; the database's procedures: the runner's
    `_refuse_swallowing_calls`)."""
    for statement, made, triggers in _with_made_before(statements):
        if not any(function.commits for function in made.values()):
            continue
        for name in sorted(reached(runs_of([statement]), made, triggers)):
            if name in made and made[name].commits:
                raise PatchError(
                    f"{patch.path}:{statement.line}:{statement.column}: the patch runs "
                    f"{name}(), which it creates and which says COMMIT or ROLLBACK, in a "
                    f"transactional patch: {COMMITS_IN_TRANSACTION}"
                )
    for statement in statements:
        if not isinstance(statement.node, ast.DoStmt) or not commits_on_its_own(statement):
            continue
        raise PatchError(
            f"{patch.path}:{statement.line}:{statement.column}: COMMIT or ROLLBACK in a DO block "
            "of a transactional patch: the runner applies the patch in one transaction with its "
            "ledger row, and PostgreSQL refuses to end it inside (invalid transaction "
            "termination). Remove it; or, for a backfill that must commit in batches, make it a "
            "patch of its own with the line `-- tenantguard: no-transaction` (what it commits "
            "before an error then stays, and the next run runs it again: it must be "
            "idempotent); nothing was applied"
        )


def refuse_swallowed_retries(patch: PatchFile, statements: list[SqlStatement]) -> None:
    """Refuses a patch whose DO block, or a function it creates and calls, swallows an error the
    runner retries (`swallowed_in_patch`). The runner asks it of the pending patches of a
    database with applied patches — where the application runs and may hold the tables; on a
    new database (no patch applied: a new install, verify's scratch databases) such a patch
    runs without the runner's lock_timeout instead, so that a patch applied long ago elsewhere
    does not stop every new install."""
    lines = LineIndex(patch.text)
    for statement, offset, condition, what, function in swallowed_in_patch(statements):
        line, column = lines.position(statement.offset + offset)
        where = (
            "the DO block's"
            if function is None
            else f"function {function}(), which the patch creates and calls: its"
        )
        raise PatchError(
            f"{patch.path}:{line}:{column}: {where} EXCEPTION WHEN {condition} catches "
            f"{what} and does not raise it again. {SWALLOWED_WHY}"
        )


SWALLOWED_WHY = (
    "The runner ends a statement that waits for a table's lock with its lock_timeout (so that "
    "the application's queries do not queue behind the patch) and retries the patch — so also "
    "a deadlock's victim: caught here, the patch's change is skipped and the patch recorded as "
    "applied. Name the conditions the block expects (WHEN duplicate_object, WHEN "
    "duplicate_table, …), re-raise the others (WHEN OTHERS THEN RAISE;), or guard with a "
    "catalog check (IF NOT EXISTS (SELECT 1 FROM pg_… WHERE …)); nothing was applied"
)


def swallowing_handlers(body: str, definition: str) -> list[tuple[int, str, str]]:
    """(offset, condition, what it catches) of each handler of a PL/pgSQL function's body (its
    `CREATE FUNCTION` definition given) that swallows an error the runner retries."""
    return _swallowing_handlers(body, definition)


def check_patch_statements(patch: PatchFile, statements: list[SqlStatement]) -> None:
    """Refuses what the runner cannot run safely, before anything of the patch runs."""
    if not patch.text.strip():
        raise PatchError(
            f"{patch.path}: the patch is empty (a truncated file?): recorded as applied, its "
            "real content would later be refused as an edit. Write its SQL, or a comment "
            "saying why it holds none"
        )
    if not patch.transactional and len(statements) != 1:
        raise PatchError(
            f"{patch.path}: a no-transaction patch holds exactly one statement "
            f"(found {len(statements)})"
        )
    _refuse_session_only(patch, statements)
    _refuse_reset_before_work(patch, statements)
    if patch.transactional:
        _refuse_outside_transaction_only(patch, statements)
        _refuse_do_block_commits(patch, statements)
        _refuse_late_transaction_settings(patch, statements)
    for statement in statements:
        refused = top_level_only_in_do_block(statement)
        if refused is not None:
            raise PatchError(
                f"{patch.path}:{statement.line}:{statement.column}: the DO block runs "
                f"{refused}, which PostgreSQL runs only as a statement of its own ('cannot be "
                "executed from a function'), in a no-transaction patch too: it would fail "
                "after the patches before it were applied. Write it as the one statement of a "
                "patch that has the line `-- tenantguard: no-transaction`; nothing was applied"
            )
    for statement in statements:
        node = statement.node
        # (STDIN: no file name; FROM PROGRAM names its command there)
        if isinstance(node, ast.CopyStmt) and node.is_from and not node.filename:
            raise PatchError(
                f"{patch.path}:{statement.line}:{statement.column}: COPY … FROM STDIN "
                "waits for rows from the client, and the runner sends none: it would hang "
                "with its transaction open and the patch lock held (every replica waiting). "
                f"{_COPY_ROWS}; nothing was applied"
            )
        word = transaction_control(statement)
        if word is None:
            continue
        if patch.transactional:
            raise PatchError(
                f"{patch.path}:{statement.line}:{statement.column}: {word} in a transactional "
                "patch: the runner commits each patch with its ledger row in one transaction, "
                f"and a {word} inside would make part of it permanent while the rest rolls back. "
                "Remove it; split the patch in two if its parts must commit separately"
            )
        raise PatchError(
            f"{patch.path}:{statement.line}:{statement.column}: {word} as a no-transaction "
            "patch does nothing: the patch's one statement runs on its own"
        )


# statements that change the session they run in and nothing else: settings (SET, SET LOCAL,
# SET TRANSACTION, RESET), LISTEN, PREPARE, LOAD (DISCARD is TG108's)
_SESSION_ONLY = (
    ast.VariableSetStmt,
    ast.VariableShowStmt,
    ast.ListenStmt,
    ast.UnlistenStmt,
    ast.PrepareStmt,
    ast.DeallocateStmt,
    ast.LoadStmt,
)


def _refuse_session_only(patch: PatchFile, statements: list[SqlStatement]) -> None:
    """A patch whose every statement only changes its own session changes nothing that stays:
    the runner cleans the session before each patch (RESET ALL), and outside a transaction
    `SET LOCAL` and `SET TRANSACTION` are a WARNING. It was recorded as applied, exit 0, and
    its author believed the next patch ran with the setting (round 34, helper h34G: a
    no-transaction patch `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;`)."""
    if not statements or not all(_only_sets_session(s.node) for s in statements):
        return
    raise session_only_error(patch, statements[0])


def session_only_error(patch: PatchFile, first: SqlStatement, through: str = "") -> PatchError:
    """The refusal of a patch that only sets its session (`through`: the functions it calls
    that do)."""
    shown = " ".join(first.text.split())[:80]
    return PatchError(
        f"{patch.path}:{first.line}:{first.column}: the patch only sets the session it runs "
        f"in (`{shown}`{through}), which the runner cleans before each patch: it would be recorded as "
        "applied and change nothing, and no setting carries over to the next patch. Put the "
        "setting in the patch whose statements need it (`SET LOCAL …` first in a "
        "transactional patch); a no-transaction statement that needs one gets it from the "
        "runner's role or DSN (`ALTER ROLE … SET …`, `options=-c …`); nothing was applied"
    )


def session_setting_calls(statements: list[SqlStatement]) -> list[str] | None:
    """The functions a patch calls when its statements do nothing but call them (`SELECT f(…)`,
    `SELECT * FROM f(…)`, `CALL p(…)`, `PERFORM f(…)` in a DO block, a cast of a call) or set
    the session: whether it only sets its session then depends on their bodies
    (`body_only_sets_session`; round 35, helper h35U: the spellings other than `SELECT f();`
    were applied and recorded). set_config, current_setting and pure built-ins aside. None
    otherwise."""
    names: list[str] = []
    for statement in statements:
        found = _only_calls(statement.node)
        if found is None:
            return None
        names.extend(found)
    return names or None


# built-ins that change nothing lasting: beside set_config (in its arguments) they are no work
PURE_CALLS = frozenset(
    {
        "now",
        "current_setting",
        "lower",
        "upper",
        "trim",
        "btrim",
        "length",
        "replace",
        "concat",
        "concat_ws",
        "format",
        "md5",
        "to_regclass",
        "coalesce",
        "nullif",
        "gen_random_uuid",
        "jsonb_build_object",
        "json_build_object",
        "to_jsonb",
        "array_agg",
        "count",
        "min",
        "max",
        "sum",
        "regexp_replace",
        "left",
        "right",
        "substring",
        "clock_timestamp",
        "current_date",
        "date_trunc",
        "to_char",
        "split_part",
        "row_number",
        "current_database",
        "current_schema",
        "current_user",
        "session_user",
        "quote_ident",
        "quote_literal",
    }
)

_SETTING_CALLS = frozenset({"set_config", "current_setting"})


def _tree_calls(node: Any) -> list[Any] | None:
    """The function calls in an expression tree; None when it holds a subquery."""
    calls: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (list, tuple)):
            stack.extend(current)
            continue
        if not isinstance(current, ast.Node):
            continue
        if isinstance(current, (ast.SubLink, ast.SelectStmt)) and current is not node:
            return None
        if isinstance(current, ast.FuncCall):
            calls.append(current)
        stack.extend(getattr(current, slot, None) for slot in getattr(current, "__slots__", ()))
    return calls


def _call_name(call: Any) -> str:
    return str(call.funcname[-1].sval) if call.funcname else ""


def _only_calls(node: Any) -> list[str] | None:
    """The functions (other than set_config and pure built-ins) a statement calls when it does
    nothing but call functions or set its session ([] for a statement that only sets it); None
    for a statement that does other work."""
    if isinstance(node, ast.SelectStmt):
        if (
            node.intoClause
            or node.larg
            or node.valuesLists
            or node.withClause
            or node.lockingClause
            or not node.targetList
            or any(not isinstance(item, ast.RangeFunction) for item in node.fromClause or ())
        ):
            return None
        calls = _tree_calls(node)
        if not calls:
            return None
    elif isinstance(node, ast.CallStmt) and node.funccall is not None:
        calls = _tree_calls(node.funccall)
    elif isinstance(node, ast.DoStmt):
        return _do_only_calls(node)
    else:
        return [] if _only_sets_session(node) else None
    if calls is None:
        return None
    names = [_call_name(call) for call in calls]
    if not any(name.lower() in _SETTING_CALLS for name in names) and all(
        name.lower() in PURE_CALLS for name in names
    ):
        return None  # `SELECT now()`: reads, sets nothing
    return [name for name in names if name.lower() not in _SETTING_CALLS | PURE_CALLS]


def _do_only_calls(node: ast.DoStmt) -> list[str] | None:
    """`_only_calls` of a DO block: every statement of its body a `PERFORM f()`, a `CALL`, or
    one that sets the session."""
    body_arg = next((d for d in node.args or () if d.defname == "as"), None)
    items = _plpgsql_items(body_arg.arg.sval if body_arg is not None else "")
    names: list[str] = []
    found = False
    for key, value in items or ():
        if not key.startswith("PLpgSQL_stmt_") or key in _PLPGSQL_FRAMES:
            continue
        expr = next((v for k, v in value.items() if k in ("sqlstmt", "expr", "query")), None)
        query = str((expr or {}).get("PLpgSQL_expr", {}).get("query", ""))
        if key == "PLpgSQL_stmt_dynexecute":
            query = _constant_text(query) or ""
        elif key not in ("PLpgSQL_stmt_execsql", "PLpgSQL_stmt_perform", "PLpgSQL_stmt_call"):
            return None
        try:
            parsed = [raw.stmt for raw in pglast.parse_sql(query)]
        except pglast.parser.ParseError:
            return None
        for statement in parsed:
            called = _only_calls(statement)
            if called is None:
                return None
            names.extend(called)
        found = found or bool(parsed)
    return names if found else None


def made_bodies(statements: list[SqlStatement]) -> dict[str, list[tuple[str, str]]]:
    """(language, body) of each function the statements create, by name."""
    out: dict[str, list[tuple[str, str]]] = {}
    for statement in statements:
        node = statement.node
        if not isinstance(node, ast.CreateFunctionStmt) or not node.funcname:
            continue
        language = next(
            (
                str(getattr(o.arg, "sval", "")).lower()
                for o in node.options or ()
                if o.defname == "language"
            ),
            "",
        )
        name = str(node.funcname[-1].sval)
        out.setdefault(name, []).append((language, _body_of(node.options)))
    return out


def body_only_sets_session(language: str, body: str) -> bool:
    """Does a function's body set its session and nothing else (`PERFORM set_config(…)`, `SET
    …`, `EXECUTE 'RESET ALL'`)? Round 35, helper h35E: a patch `SELECT app.configure();` whose
    function only did set_config(…, false) was recorded as applied, changing nothing lasting."""
    if language == "plpgsql":
        return _do_only_sets_session(
            ast.DoStmt(args=(ast.DefElem(defname="as", arg=ast.String(sval=body)),))
        )
    if language == "sql":
        try:
            parsed = [raw.stmt for raw in pglast.parse_sql(body)]
        except pglast.parser.ParseError:
            return False
        return bool(parsed) and all(_only_sets_session(node) for node in parsed)
    return False


def _only_sets_session(node: Any) -> bool:
    """Does the statement change its own session and nothing else? A SET / RESET / LISTEN …, a
    `SELECT set_config(…)` with no FROM, or a DO block of nothing but those (round 34, helper
    h34I: a patch `SELECT set_config('statement_timeout', '5min', false);`, or `DO $$ BEGIN
    SET search_path = app, public; END $$;`, was recorded as applied, exit 0, and changed
    nothing the next patch saw — the spellings the SET-only refusal did not read)."""
    if isinstance(node, _SESSION_ONLY):
        return True
    if isinstance(node, ast.SelectStmt):
        return _selects_only_settings(node)
    if isinstance(node, ast.DoStmt):
        return _do_only_sets_session(node)
    return False


def _selects_only_settings(node: ast.SelectStmt) -> bool:
    """`SELECT set_config(…), current_setting(…)` with no FROM, INTO or set operation."""
    if node.fromClause or node.intoClause or node.larg or node.valuesLists:
        return False
    targets: tuple[Any, ...] = node.targetList or ()
    calls = [target.val for target in targets]
    if not calls or not all(
        isinstance(call, ast.FuncCall)
        and str((call.funcname or ())[-1].sval).lower() in ("set_config", "current_setting")
        for call in calls
    ):
        return False
    # `set_config('app.done', app.backfill('2028'), false)`: the work is in its argument
    # (round 35, helper h35U: refused as only setting the session)
    nested = _tree_calls(node.targetList)
    return nested is not None and all(
        _call_name(call).lower() in _SETTING_CALLS | PURE_CALLS for call in nested
    )


def _do_only_sets_session(node: ast.DoStmt) -> bool:
    """A DO block whose every statement sets its session: `SET …`, `PERFORM set_config(…)`,
    `EXECUTE 'RESET ALL'` (a constant text); anything else (an assignment, an IF, a RAISE) is
    work, and the block is not."""
    body_arg = next((d for d in node.args or () if d.defname == "as"), None)
    items = _plpgsql_items(body_arg.arg.sval if body_arg is not None else "")
    found = False
    for key, value in items or ():
        if not key.startswith("PLpgSQL_stmt_") or key in _PLPGSQL_FRAMES:
            continue
        expr = next((v for k, v in value.items() if k in ("sqlstmt", "expr", "query")), None)
        query = str((expr or {}).get("PLpgSQL_expr", {}).get("query", ""))
        if key == "PLpgSQL_stmt_dynexecute":
            query = _constant_text(query) or ""
        elif key not in ("PLpgSQL_stmt_execsql", "PLpgSQL_stmt_perform"):
            return False
        try:
            parsed = [raw.stmt for raw in pglast.parse_sql(query)]
        except pglast.parser.ParseError:
            return False
        if not parsed or not all(_only_sets_session(statement) for statement in parsed):
            return False
        found = True
    return found


_PLPGSQL_FRAMES = frozenset({"PLpgSQL_stmt_block", "PLpgSQL_stmt_return"})


def _refuse_reset_before_work(patch: PatchFile, statements: list[SqlStatement]) -> None:
    """A DO block whose `RESET ALL` (`RESET lock_timeout`, `SET lock_timeout TO DEFAULT`, also
    run by `EXECUTE` of a constant text) comes before other work of the same block, with no
    `SET lock_timeout` between: the runner puts its settings back after each statement, not
    inside one, and the block's DDL ran with the database's lock_timeout (0) — behind an open
    transaction of the application it waited without end, the patch lock held and the
    application's queries on the table queued behind it (round 35, helper h35E; a
    no-transaction patch's DO block the same)."""
    for statement in statements:
        if not isinstance(statement.node, ast.DoStmt) or not _SAYS_RESET.search(statement.text):
            continue
        said = _reset_before_work(statement.node)
        if said is None:
            continue
        raise PatchError(
            f"{patch.path}:{statement.line}:{statement.column}: the DO block says `{said}` and "
            "then runs more statements: after it the block's own statements run with the "
            "database's lock_timeout (often 0), not the runner's, and its DDL would wait behind "
            "the application's transactions without end, holding the patch lock while the "
            "application's queries on the table queue behind it. Put the reset in a statement "
            "of its own (the runner puts its lock_timeout back after each statement), or say "
            "`SET LOCAL lock_timeout = '…'` right after it; nothing was applied"
        )


def _reset_before_work(node: ast.DoStmt, resetting: Collection[str] = ()) -> str | None:
    """The reset (as written) a DO block runs before more of its statements, or None; a call
    of a function named in `resetting` (one whose body resets: `body_resets`) is a reset."""
    body_arg = next((d for d in node.args or () if d.defname == "as"), None)
    items = _plpgsql_items(body_arg.arg.sval if body_arg is not None else "")
    return _resets_in(items or (), resetting)[0]


def _resets_in(
    items: Iterable[tuple[str, Any]], resetting: Collection[str] = ()
) -> tuple[str | None, str | None]:
    """(the reset a PL/pgSQL body runs before more of its statements, or None; the reset still
    in force when it ends, or None)."""
    pending: str | None = None
    for key, value in items:
        if not key.startswith("PLpgSQL_stmt_") or key in _PLPGSQL_FRAMES:
            continue
        expr = next((v for k, v in value.items() if k in ("sqlstmt", "expr", "query")), None)
        query = str((expr or {}).get("PLpgSQL_expr", {}).get("query", ""))
        if key == "PLpgSQL_stmt_dynexecute":
            query = _constant_text(query) or query
        try:
            parsed = [raw.stmt for raw in pglast.parse_sql(query)] if query else []
        except pglast.parser.ParseError:
            parsed = []  # an expression, or a dynamic text built at run time
        for statement in parsed:
            if isinstance(statement, ast.VariableSetStmt):
                kind = getattr(statement.kind, "name", "")
                name = str(statement.name or "").lower()
                if kind == "VAR_RESET_ALL" or (
                    kind in ("VAR_RESET", "VAR_SET_DEFAULT") and name == "lock_timeout"
                ):
                    pending = " ".join(query.split())
                elif name == "lock_timeout":
                    pending = None  # the block's own lock_timeout: its choice
                continue
            calls = _tree_calls(statement) or [] if resetting else []
            if any(_call_name(call) in resetting for call in calls):
                # `PERFORM reset_settings()`: the reset its function makes (round 35, h35U)
                pending = " ".join(query.split())
                continue
            if pending is not None and not _only_sets_session(statement):
                return pending, pending
        if (
            pending is not None
            and not parsed
            and key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_execsql")
        ):
            return pending, pending  # a statement built at run time, after the reset
    return None, pending


def body_resets(language: str, body: str) -> tuple[str | None, str | None]:
    """`_resets_in` of a function's body (PL/pgSQL, or SQL statements): what its callers'
    lock_timeout becomes inside the call (round 35, helper h35U: a DO block that called a
    function saying `RESET lock_timeout`, then its ALTER TABLE, waited without end behind the
    application; so did `SELECT migrate()` whose body said `EXECUTE 'RESET ALL'` before it)."""
    if language == "plpgsql":
        items = _plpgsql_items(body)
        if items is None:  # `RETURN x` is no DO block's
            items = _plpgsql_items(
                body,
                f"CREATE FUNCTION tg_body() RETURNS text LANGUAGE plpgsql AS $tg_body$ {body} "
                "$tg_body$",
            )
        return _resets_in(items or ())
    if language == "sql":
        try:
            parsed = [raw.stmt for raw in pglast.parse_sql(body)]
        except pglast.parser.ParseError:
            return None, None
        items = [
            ("PLpgSQL_stmt_execsql", {"sqlstmt": {"PLpgSQL_expr": {"query": _deparse(s)}}})
            for s in parsed
        ]
        return _resets_in(items)
    return None, None


def _deparse(node: Any) -> str:
    from pglast.stream import RawStream

    try:
        return str(RawStream()(node))
    except Exception:  # pglast's printer raises several types for nodes it cannot print
        return ""


def statement_calls(statement: SqlStatement) -> set[str]:
    """The names of the functions a statement calls (in DO bodies too)."""
    return {
        str(node.funcname[-1].sval)
        for node in _nodes(statement)
        if isinstance(node, ast.FuncCall) and node.funcname
    }


def reset_call_error(
    patch: PatchFile,
    statement: SqlStatement,
    resetting: dict[str, str],
    resets_first: dict[str, str],
) -> PatchError | None:
    """The refusal of a statement that calls a function that resets the runner's lock_timeout
    and then runs DDL itself (`resets_first`), or of a DO block that calls one that resets
    (`resetting`) before more of its statements; None otherwise."""
    said: str | None = None
    called = statement_calls(statement)
    first = sorted(called & set(resets_first))
    if first:
        said = f"{first[0]}(), which says `{resets_first[first[0]]}` before more statements"
    elif isinstance(statement.node, ast.DoStmt) and called & set(resetting):
        reset = _reset_before_work(statement.node, set(resetting))
        if reset is not None:
            said = f"`{reset}` (its function says `RESET …`) and then runs more statements"
    if said is None:
        return None
    return PatchError(
        f"{patch.path}:{statement.line}:{statement.column}: the statement calls {said}: after "
        "the reset, the rest of the statement runs with the database's lock_timeout (often 0), "
        "not the runner's, and its DDL would wait behind the application's transactions "
        "without end, holding the patch lock. Call the resetting function in a statement of "
        "its own (the runner puts its lock_timeout back after each statement), or say `SET "
        "LOCAL lock_timeout = '…'` right after the reset; nothing was applied"
    )


def _constant_text(expression: str) -> str | None:
    """The text of an EXECUTE whose expression is one string constant (`'RESET ALL'`)."""
    try:
        parsed = pglast.parse_sql(f"SELECT {expression}")
    except pglast.parser.ParseError:
        return None
    select = parsed[0].stmt if len(parsed) == 1 else None
    targets: list[Any] = list(getattr(select, "targetList", None) or ())
    value = getattr(targets[0].val, "val", None) if len(targets) == 1 else None
    return str(value.sval) if isinstance(value, ast.String) else None


def _refuse_late_transaction_settings(patch: PatchFile, statements: list[SqlStatement]) -> None:
    """`SET TRANSACTION ISOLATION LEVEL …` (or `[NOT] DEFERRABLE`, `SET LOCAL
    transaction_isolation`) below the patch's first statement that is not one: PostgreSQL takes
    it only before any query of the transaction, and the runner applies the patch in one (its
    leading ones run right after BEGIN). The patches before it were applied, then it failed —
    every run (round 34, helper h34G). READ ONLY is named where it stops the ledger row."""
    leading = True
    for statement in statements:
        if leading and sets_a_setting(statement):
            continue  # the runner runs the leading ones' SET TRANSACTION first
        leading = False
        if not _SAYS_TRANSACTION.search(statement.text):
            continue  # (most statements: no walk of their tree)
        if not any(_sets_snapshot_bound(node) for node in _nodes(statement)):
            continue
        top = sets_transaction(statement)
        raise PatchError(
            f"{patch.path}:{statement.line}:{statement.column}: "
            f"{' '.join(statement.text.split())[:60]} "
            + (
                "below the patch's first statement that is not a SET: "
                if top
                # (round 34, helper h34I: `SELECT set_config('transaction_isolation', …)`, a DO
                # block's SET TRANSACTION or PERFORM set_config: the same failure, every run)
                else "sets the transaction's isolation level or DEFERRABLE from a query or a DO "
                "block, which runs after the transaction's first snapshot: "
            )
            + "PostgreSQL takes a transaction's isolation level and DEFERRABLE only before "
            "any query of it ('must be called before any query'), and the runner applies "
            "the patch in one transaction. Write `SET TRANSACTION ISOLATION LEVEL …` at the top "
            "of the patch; nothing was applied"
        )


_SAYS_TRANSACTION = lazy_pattern(r"transaction|isolation|deferrable", re.IGNORECASE)
_SNAPSHOT_BOUND = frozenset({"transaction_isolation", "transaction_deferrable"})


def _sets_snapshot_bound(node: Any) -> bool:
    """A SET TRANSACTION of the isolation level or DEFERRABLE, or a set_config() of them."""
    if isinstance(node, ast.VariableSetStmt):
        return bool(_transaction_settings(node) & _SNAPSHOT_BOUND)
    if (
        isinstance(node, ast.FuncCall)
        and str((node.funcname or ())[-1].sval).lower() == "set_config"
    ):
        first = node.args[0] if node.args else None
        value = getattr(getattr(first, "val", None), "sval", None)
        return str(value).lower() in _SNAPSHOT_BOUND
    return False


def _transaction_settings(node: Any) -> set[str]:
    """The characteristics a `SET TRANSACTION …` / `SET [LOCAL] transaction_… = …` sets."""
    if not isinstance(node, ast.VariableSetStmt):
        return set()
    name = str(node.name or "").lower()
    if name == "transaction":
        return {str(getattr(a, "defname", "")) for a in node.args or ()}
    return {name} if name in _TRANSACTION_CHARACTERISTICS else set()


# what a text built at run time around one of them holds (its literals read): PostgreSQL refuses
# them in any function or DO block, so a built text is refused as a constant one is
_TOP_LEVEL_ONLY_TEXT = lazy_pattern(
    r"\b(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX)\s+CONCURRENTLY\b"
    r"|\bREINDEX\s*(?:\([^)]*\bCONCURRENTLY\b|\w+\s+CONCURRENTLY\b)"
    r"|\bDETACH\s+PARTITION\b[^;]*\bCONCURRENTLY\b"
    r"|\A\s*(?:VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|CREATE\s+TABLESPACE"
    r"|DROP\s+TABLESPACE)\b",
    re.IGNORECASE,
)


def top_level_only_in_do_block(statement: SqlStatement) -> str | None:
    """What a DO block runs that PostgreSQL refuses inside any function or DO block (`CREATE
    INDEX CONCURRENTLY`, `VACUUM`, …), written there or run by EXECUTE of a constant text —
    or of a text built around one (round 32, helper h32l: `DO $$ BEGIN EXECUTE 'CREATE INDEX
    CONCURRENTLY …'; END $$;` passed apply's checks and lint, and failed at run time after the
    patches before it were applied)."""
    node = statement.node
    if not isinstance(node, ast.DoStmt):
        return None
    body = _body_of(node.args)
    for inner in _do_block_statements(node):
        name = outside_transaction_only(inner)
        if name is not None:
            return name
    for text in _dynamic_texts(body):
        joined, _escaped = _read_dynamic(text)
        constant = re.fullmatch(r"'((?:[^']|'')*)'", joined)
        if constant is not None:
            try:
                tree = pglast.parse_sql(constant.group(1).replace("''", "'"))
            except Exception:  # pglast raises several types for text it cannot read
                tree = ()
            for raw in tree:
                name = outside_transaction_only(raw.stmt)
                if name is not None:
                    return f"EXECUTE of {name}"
        literals = " ".join(re.findall(r"'((?:[^']|'')*)'", joined))
        found = _TOP_LEVEL_ONLY_TEXT.search(literals)
        if found is not None:
            return f"EXECUTE of {' '.join(found.group().split()).upper()}"
    return None


def concurrent_index(statement: SqlStatement) -> tuple[str | None, str] | None:
    """(schema, name) of the index a `CREATE INDEX CONCURRENTLY name …` builds, else None."""
    node = statement.node
    if isinstance(node, ast.IndexStmt) and node.concurrent and node.idxname:
        schema = node.relation.schemaname if node.relation is not None else None
        return (str(schema) if schema else None, str(node.idxname))
    return None


def concurrent_detach(statement: SqlStatement) -> tuple[str, str] | None:
    """(parent, partition), quoted for SQL, of `ALTER TABLE parent DETACH PARTITION partition
    CONCURRENTLY`, else None."""
    node = statement.node
    if not isinstance(node, ast.AlterTableStmt) or node.relation is None:
        return None
    for command in node.cmds or ():
        partition = getattr(command, "def_", None)
        if isinstance(partition, ast.PartitionCmd) and partition.concurrent and partition.name:
            return (_qualified(node.relation), _qualified(partition.name))
    return None


def concurrent_reindex(statement: SqlStatement) -> str | None:
    """The index or table (quoted for SQL) a `REINDEX … CONCURRENTLY` rebuilds, else None."""
    node = statement.node
    if not isinstance(node, ast.ReindexStmt) or node.relation is None:
        return None
    for param in node.params or ():
        if isinstance(param, ast.DefElem) and param.defname == "concurrently":
            value = getattr(param.arg, "sval", None) or getattr(param.arg, "ival", None)
            if param.arg is None or str(value).lower() not in ("false", "off", "0"):
                return _qualified(node.relation)
    return None


def _qualified(relation: Any) -> str:
    names = [relation.schemaname, relation.relname] if relation.schemaname else [relation.relname]
    return ".".join('"' + str(name).replace('"', '""') + '"' for name in names)


def relations(statement: SqlStatement) -> list[str]:
    """Names of the tables a statement names (`schema.table` when qualified), DO bodies included."""
    found: list[str] = []
    for node in _nodes(statement):
        if isinstance(node, ast.RangeVar) and node.relname:
            name = f"{node.schemaname}.{node.relname}" if node.schemaname else str(node.relname)
            if name not in found:
                found.append(name)
    return found


def created_roles(statement: SqlStatement) -> list[tuple[str, str]]:
    """(name, `CREATE ROLE …` text) of each role a statement creates, DO bodies included."""
    from pglast.stream import RawStream

    return [
        (str(node.role), RawStream()(node))
        for node in _nodes(statement)
        if isinstance(node, ast.CreateRoleStmt) and node.role
    ]


# what `ALTER ROLE r …` changes in a role and `CREATE ROLE r …` sets (not its memberships)
_ROLE_MEMBERSHIP_OPTIONS = {"addroleto", "rolemembers", "adminmembers"}


def role_statements(statement: SqlStatement) -> Iterator[tuple[str, Any]]:
    """(role, node) of each `CREATE ROLE`, `ALTER ROLE r [WITH] attributes`, `ALTER ROLE r
    SET/RESET …` (not IN DATABASE) and ('', node) of each `GRANT/REVOKE role` of a statement,
    DO bodies included, in the order written."""
    for node in _nodes(statement):
        if isinstance(node, ast.CreateRoleStmt) and node.role:
            yield str(node.role), node
        elif (
            isinstance(node, ast.AlterRoleStmt)
            and node.role is not None
            and getattr(node.role, "rolename", None)
            and node.options
            and not any(o.defname in _ROLE_MEMBERSHIP_OPTIONS for o in node.options)
        ):
            yield str(node.role.rolename), node
        elif isinstance(node, ast.GrantRoleStmt):
            yield "", node
        elif (
            isinstance(node, ast.AlterRoleSetStmt)
            and node.database is None  # IN DATABASE: pg_dump --create shows it
            and node.role is not None
            and getattr(node.role, "rolename", None)
            and node.setstmt is not None
        ):
            yield str(node.role.rolename), node


def role_memberships(node: Any) -> list[tuple[str, str, bool | None]]:
    """(role, member, admin) of each membership a `CREATE ROLE … IN ROLE / ROLE / ADMIN` or a
    `GRANT/REVOKE role …` names (admin None: a REVOKE of the membership itself, False: of its
    ADMIN OPTION only). Roles named by a keyword (CURRENT_USER, …) are left out."""

    def names(specs: Any) -> list[str]:
        found = []
        for spec in specs or ():
            name = getattr(spec, "rolename", None) or getattr(spec, "priv_name", None)
            if name:
                found.append(str(name))
        return found

    if isinstance(node, ast.CreateRoleStmt):
        found: list[tuple[str, str, bool | None]] = []
        for option in node.options or ():
            if option.defname == "addroleto":
                found.extend((role, str(node.role), False) for role in names(option.arg))
            elif option.defname in ("rolemembers", "adminmembers"):
                with_admin = option.defname == "adminmembers"
                found.extend((str(node.role), member, with_admin) for member in names(option.arg))
        return found
    if isinstance(node, ast.GrantRoleStmt):
        admin_opt = any(
            getattr(o, "defname", "") == "admin" for o in getattr(node, "opt", None) or ()
        )
        if node.is_grant:
            admin: bool | None = admin_opt
        else:
            admin = False if admin_opt else None
        return [
            (role, member, admin)
            for role in names(node.granted_roles)
            for member in names(node.grantee_roles)
        ]
    return []


def without_memberships(node: Any) -> Any:
    """A `CREATE ROLE` node without its IN ROLE / ROLE / ADMIN options."""
    options = tuple(o for o in node.options or () if o.defname not in _ROLE_MEMBERSHIP_OPTIONS)
    return ast.CreateRoleStmt(stmt_type=node.stmt_type, role=node.role, options=options)


def altered_role(create: Any, alter: Any) -> Any:
    """A `CREATE ROLE` node with the attributes an `ALTER ROLE … WITH …` sets after it: the
    role as the two leave it (round 31, helper h31f: `CREATE ROLE app LOGIN BYPASSRLS`, then a
    hardening patch's `ALTER ROLE app NOBYPASSRLS` — the baseline created the role from the
    first alone, so a new install's application role bypassed row-level security, and verify,
    run where the patches had altered the server's role, saw nothing)."""
    set_now = {o.defname: o for o in alter.options or ()}
    options = [set_now.pop(o.defname, o) for o in create.options or ()]
    options.extend(set_now.values())
    return ast.CreateRoleStmt(stmt_type=create.stmt_type, role=create.role, options=tuple(options))


def role_attributes(node: Any) -> dict[str, str]:
    """A `CREATE ROLE` node's options by name, each printed: what two definitions compare by."""
    from pglast.stream import RawStream

    found: dict[str, str] = {}
    for option in node.options or ():
        if option.defname in _ROLE_MEMBERSHIP_OPTIONS:
            continue  # compared as memberships
        arg = option.arg
        if isinstance(arg, ast.Node):
            found[option.defname] = RawStream()(arg)
        else:
            found[option.defname] = repr(arg)
    return found


# the nodes of the statements read last, by id (the statement kept beside them: an id is
# reused only once its object is gone): the runner's checks walk each statement of a patch
# several times (relations, created_tables, sets_search_path, statement_calls…), a seed patch
# of 5 000 INSERTs ~0.4 s of walking (round 35, helper h35V)
_NODES_READ: dict[int, tuple[SqlStatement, tuple[Any, ...]]] = {}


def _nodes(statement: SqlStatement) -> Iterator[Any]:
    """Every node of the statement's tree, in the order written; DO bodies read as SQL."""
    known = _NODES_READ.get(id(statement))
    if known is None or known[0] is not statement:
        if len(_NODES_READ) >= 50_000:
            _NODES_READ.clear()
        known = (statement, tuple(_walk_nodes(statement)))
        _NODES_READ[id(statement)] = known
    return iter(known[1])


def statement_nodes(statement: SqlStatement) -> Iterator[Any]:
    """Every node of the statement's tree (DO bodies read as SQL), walked once per run."""
    return _nodes(statement)


def _walk_nodes(statement: SqlStatement) -> Iterator[Any]:
    stack: list[Any] = [statement.node]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(reversed(node))  # popped in the order they are written
            continue
        if isinstance(node, ast.DoStmt):
            stack.extend(reversed(_do_block_statements(node)))
            continue
        if not isinstance(node, ast.Node):
            continue
        yield node
        children = [getattr(node, slot, None) for slot in getattr(node, "__slots__", ())]
        stack.extend(c for c in reversed(children) if isinstance(c, (ast.Node, list, tuple)))


def _do_block_statements(node: ast.DoStmt, definition: str | None = None) -> list[Any]:
    """The SQL statements inside a DO block's PL/pgSQL body (parse trees), or a function's as
    its `definition` declares it; [] when unreadable."""
    body_arg = next((d for d in node.args or () if d.defname == "as"), None)
    body = body_arg.arg.sval if body_arg is not None else ""
    items = _plpgsql_items(body, definition)
    if items is None:
        return []
    queries = [
        str(value.get("query", ""))
        for key, value in items
        if key == "PLpgSQL_expr" and isinstance(value, dict)
    ]
    statements: list[Any] = []
    for query in queries:
        try:
            statements.extend(raw.stmt for raw in pglast.parse_sql(query))
        except pglast.parser.ParseError:
            continue  # an expression (`x > 0`), not a statement
    return statements


# Statements whose effect reaches past the database they run in: roles, the server's settings,
# tablespaces, other databases (round 22, helper 100: `patches verify` ran a pending patch's
# `ALTER ROLE app_rw NOLOGIN` on the live server, through its scratch database). Creating a
# role is not among them: the pipeline creates it where it runs, and verify checks the baseline
# creates it too.
_SERVER_WIDE_NODES = {
    "AlterRoleStmt": "ALTER ROLE",
    "AlterRoleSetStmt": "ALTER ROLE … SET",
    "DropRoleStmt": "DROP ROLE",
    "GrantRoleStmt": "GRANT/REVOKE of a role",
    "AlterSystemStmt": "ALTER SYSTEM",
    "CreateTableSpaceStmt": "CREATE TABLESPACE",
    "DropTableSpaceStmt": "DROP TABLESPACE",
    "AlterTableSpaceOptionsStmt": "ALTER TABLESPACE",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
    "AlterDatabaseStmt": "ALTER DATABASE",
    "AlterDatabaseSetStmt": "ALTER DATABASE … SET",
    "AlterDatabaseRefreshCollStmt": "ALTER DATABASE … REFRESH COLLATION VERSION",
    "ReassignOwnedStmt": "REASSIGN OWNED",
    "DropOwnedStmt": "DROP OWNED",
}
_ON_SHARED = {
    "GrantStmt": "GRANT/REVOKE",
    "CommentStmt": "COMMENT",
    "SecLabelStmt": "SECURITY LABEL",
    "AlterOwnerStmt": "ALTER … OWNER",
}
_SHARED_OBJECTS = {"OBJECT_ROLE", "OBJECT_DATABASE", "OBJECT_TABLESPACE", "OBJECT_PARAMETER_ACL"}
# the same in dynamic SQL of a DO block (`EXECUTE 'ALTER ROLE ' || r || ' NOLOGIN'`): read in its
# text (ALTER DATABASE of `current_database()`, as `patches sync` writes it, is the database's own)
_SERVER_WIDE_TEXT = lazy_pattern(
    # (`ALTER ROLE r IN DATABASE %I SET …` and `ALTER DATABASE %I …`, `… ON DATABASE %I …` of
    # `current_database()` — as `patches sync` writes them — are the database's own)
    r"\b(?:ALTER|DROP)\s+(?:ROLE|USER|GROUP)\b"
    r"(?![^;]*\bIN\s+DATABASE\s+%(?:1\$)?I\b.*?current_database\s*\(\))"
    r"|\bALTER\s+DATABASE\b(?!\s+%(?:1\$)?I\b.*?current_database\s*\(\))"
    r"|\b(?:ON|COMMENT\s+ON)\s+DATABASE\b(?!\s+%(?:1\$)?I\b.*?current_database\s*\(\))"
    r"|\bCOMMENT\s+ON\s+(?:ROLE|TABLESPACE)\b"
    r"|\b(?:ALTER|DROP)\s+TABLESPACE\b|\bALTER\s+SYSTEM\b"
    r"|\b(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE)\b|\b(?:REASSIGN|DROP)\s+OWNED\b"
    r"|\bGRANT\s+(?:(?!\bON\b)[^;])*\bTO\b|\bREVOKE\s+(?:(?!\bON\b)[^;])*\bFROM\b"
    r"|\bCOPY\b[^;]*\b(?:TO|FROM)\s+(?:PROGRAM\b|')"
    r"|\b(?:dblink\w*|pg_reload_conf|pg_terminate_backend|lo_export|pg_file_\w+)\s*\(",
    re.IGNORECASE | re.DOTALL,
)


# built-ins that act beyond the database a patch runs in: other connections, files, the
# server's configuration, replication (round 22, helper 105)
_SERVER_WIDE_CALLS = lazy_pattern(
    r"dblink\w*|pg_reload_conf|pg_terminate_backend|pg_cancel_backend|pg_rotate_logfile|"
    r"pg_promote|lo_export|lo_import|pg_file_\w+|pg_create_\w*replication_slot|"
    r"pg_drop_replication_slot|pg_replication_origin_\w+|pg_logical_emit_message"
)


def server_wide(statement: SqlStatement) -> list[str]:
    """What the statement changes outside its database (kinds, as written above): its own
    nodes, the statements of DO bodies and of the bodies of functions it creates (a patch may
    call them, or the application later), and their dynamic SQL by its text."""
    found: list[str] = []
    nodes = list(_nodes(statement))
    dynamic: list[str] = []
    if isinstance(statement.node, ast.DoStmt):
        dynamic.extend(_dynamic_texts(_body_of(statement.node.args)))
    index = 0
    while index < len(nodes):
        node = nodes[index]
        index += 1
        kind = type(node).__name__
        if kind in _SERVER_WIDE_NODES:
            found.append(_SERVER_WIDE_NODES[kind])
        elif kind == "RenameStmt" and _object(node, "renameType") in _SHARED_OBJECTS:
            found.append("RENAME of a role, database or tablespace")
        elif kind in _ON_SHARED:
            field = "objectType" if kind == "AlterOwnerStmt" else "objtype"
            if _object(node, field) in _SHARED_OBJECTS:
                found.append(f"{_ON_SHARED[kind]} of a role, database or tablespace")
        elif kind == "CreateRoleStmt" and any(
            getattr(o, "defname", "") in ("addroleto", "rolemembers", "adminmembers")
            for o in node.options or ()
        ):
            found.append("CREATE ROLE … IN ROLE / ROLE / ADMIN (a grant of roles)")
        elif kind == "CopyStmt" and (node.filename or getattr(node, "is_program", False)):
            found.append("COPY to or from a server file or program")
        elif kind == "FuncCall":
            name = str(node.funcname[-1].sval).lower() if node.funcname else ""
            if _SERVER_WIDE_CALLS.fullmatch(name):
                found.append(f"a call of {name}")
        elif kind == "CreateFunctionStmt":
            body = _body_of(node.options)
            language = next(
                (str(o.arg.sval).lower() for o in node.options or () if o.defname == "language"),
                "sql",
            )
            if language == "plpgsql":
                # read as the function it is: as a DO block's, `RETURN 1` made the body
                # unreadable, and its `ALTER ROLE` unseen (round 32, helper h32e)
                definition = _definition(node)
                inner = _plpgsql_statements(body, definition)
                dynamic.extend(_dynamic_texts(body, definition))
            else:
                try:
                    inner = [raw.stmt for raw in pglast.parse_sql(body)] if body else []
                except pglast.parser.ParseError:
                    inner = []
            for child in inner:
                nodes.extend(_walk(child))
    for text in dynamic:
        joined, escaped = _read_dynamic(text)
        if escaped:
            found.append("dynamic SQL with escape strings (E'…\\…'), which cannot be read")
        elif _SERVER_WIDE_TEXT.search(joined):
            found.append("dynamic SQL naming a role, the server's settings or another database")
    return sorted(set(found), key=found.index)


def _definition(node: Any) -> str | None:
    """A `CREATE FUNCTION` node printed back as SQL (for pglast's PL/pgSQL parser, which
    compiles the body as the function declares it); None when it cannot be printed."""
    from pglast.stream import RawStream

    try:
        return str(RawStream()(node))
    except Exception:  # pglast's printer raises several types for nodes it cannot print
        return None


def _body_of(options: Any) -> str:
    body = next((d for d in options or () if getattr(d, "defname", "") == "as"), None)
    if body is None:
        return ""
    value = body.arg
    if isinstance(value, (list, tuple)):  # `AS 'obj_file', 'link_symbol'`: C, not read
        value = value[0] if value else None
    return str(getattr(value, "sval", "") or "")


def _plpgsql_statements(body: str, definition: str | None = None) -> list[Any]:
    """The SQL statements of a PL/pgSQL body (as a DO block's, or a function's as its
    `definition` declares it)."""
    return _do_block_statements(
        ast.DoStmt(args=(ast.DefElem(defname="as", arg=ast.String(sval=body)),)), definition
    )


def _dynamic_texts(body: str, definition: str | None = None) -> list[str]:
    """The expressions a PL/pgSQL body runs as SQL (`EXECUTE expression`, `FOR … IN EXECUTE`,
    `OPEN … FOR EXECUTE`), as written."""
    if not body:
        return []
    items = _plpgsql_items(body, definition)
    if items is None:  # unreadable: its text, if it may run any
        return [body] if re.search(r"\bEXECUTE\b", body, re.IGNORECASE) else []
    found: list[str] = []
    for key, value in items:
        if not isinstance(value, dict):
            continue
        if key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"):
            query = (value.get("query") or {}).get("PLpgSQL_expr", {}).get("query")
        elif key == "PLpgSQL_stmt_open":
            query = (value.get("dynquery") or {}).get("PLpgSQL_expr", {}).get("query")
        else:
            continue
        if query:
            found.append(str(query))
    return found


def _plpgsql_items(body: str, definition: str | None = None) -> list[tuple[str, Any]] | None:
    """Every (key, value) of a PL/pgSQL body's parse (as a DO block's, or as the function
    `definition` — its `CREATE FUNCTION` — declares it: a DO block refuses `RETURN 1`), at any
    depth; None when pglast cannot read it. A PLpgSQL_expr's own contents are not walked."""
    try:
        tree = pglast.parse_plpgsql(definition or f"DO $tg_body$ {body} $tg_body$")
    except Exception:  # pglast raises several types for bodies it cannot read
        retry = _as_plain_parameters(definition) if definition else None
        if retry is None:
            return None
        try:
            tree = pglast.parse_plpgsql(retry)
        except Exception:  # (as above)
            return None
    # in the order written (a `CREATE ROLE r …; ALTER ROLE r …` in one DO block was read
    # backwards, the ALTER before the role existed; round 31, helper h31f): a depth-first walk
    # whose (key, value) pairs, pushed as tuples, come out in front of what they hold
    items: list[tuple[str, Any]] = []
    stack: list[Any] = [tree]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple):
            items.append(current)
        elif isinstance(current, list):
            stack.extend(reversed(current))
        elif isinstance(current, dict):
            for key, value in reversed(list(current.items())):
                if key != "PLpgSQL_expr":
                    stack.append(value)
                stack.append((key, value))
    return items


def _as_plain_parameters(definition: str) -> str | None:
    """A `CREATE FUNCTION` whose VARIADIC parameters are plain ones (the body reads the same):
    pglast's PL/pgSQL compiler, which knows no types, refuses `VARIADIC xs int[]` ('VARIADIC
    parameter must be an array'), and the body of such a function went unread — its `WHEN
    OTHERS` unseen (round 32, helper h32l). None when nothing changes or it cannot be printed."""
    from pglast.enums import FunctionParameterMode

    try:
        node = pglast.parse_sql(definition)[0].stmt
    except Exception:  # pglast raises several types for SQL it cannot read
        return None
    changed = False
    for parameter in getattr(node, "parameters", None) or ():
        if parameter.mode == FunctionParameterMode.FUNC_PARAM_VARIADIC:
            parameter.mode = FunctionParameterMode.FUNC_PARAM_IN
            changed = True
    return _definition(node) if changed else None


def _walk(node: Any, skipped: tuple[type, ...] = ()) -> Iterator[Any]:
    """The nodes of a pglast tree, those of the `skipped` kinds and below them left out."""
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (list, tuple)):
            stack.extend(current)
            continue
        if not isinstance(current, ast.Node) or isinstance(current, skipped):
            continue
        yield current
        stack.extend(getattr(current, slot, None) for slot in getattr(current, "__slots__", ()))


_SQL_COMMENT = lazy_pattern(r"/\*.*?\*/|--[^\n]*", re.DOTALL)


def _read_dynamic(text: str) -> tuple[str, bool]:
    """A dynamic statement's text as the schema reader joins its literals (`'ALTER' || ' ROLE'`,
    dollar quotes, `format` of literals), comments inside dropped (`'ALTER/**/ROLE'`), and
    whether it holds an escape string it does not decode (`E'…\\…'`)."""
    from tenantguard.sources.schema.texts import _normalized_dynamic  # pglast, as here

    joined, escaped = _normalized_dynamic(text)
    return " ".join(_SQL_COMMENT.sub(" ", joined).split()), escaped


def _object(node: Any, field: str) -> str:
    value = getattr(node, field, None)
    return str(getattr(value, "name", value))


def created_tables(statement: SqlStatement) -> list[str]:
    """The unqualified tables, views and sequences the statement creates (`CREATE TABLE [IF NOT
    EXISTS] t`, DO bodies included): where they land depends on the search path."""
    found: list[str] = []
    for node in _nodes(statement):
        kind = type(node).__name__
        relation = None
        if kind == "CreateStmt":
            relation = node.relation
        elif kind == "CreateTableAsStmt":
            relation = node.into.rel
        elif kind == "CreateSeqStmt":
            relation = node.sequence
        elif kind == "ViewStmt":
            relation = node.view
        if (
            relation is not None
            and not relation.schemaname
            and relation.relname
            and getattr(relation, "relpersistence", "p") != "t"  # not a temporary table
        ):
            found.append(str(relation.relname))
    return found


def search_paths_set(statement: SqlStatement) -> list[str] | None:
    """The constant search paths a statement that sets its search_path (`sets_search_path`)
    sets, in order; None when one is not a constant (or is set some other way: dynamic SQL).
    Whether one puts pg_temp first depends on which of its schemas exist (round 35, helper
    h35U: `SET LOCAL search_path = public, pg_temp;` then a function making an ON COMMIT DROP
    scratch table was refused as having put pg_temp first)."""
    if type(statement.node).__name__ in _OTHERS_SETTINGS:
        return []
    paths: list[str] = []
    found = False
    for node in _nodes(statement):
        kind = type(node).__name__
        if kind == "VariableSetStmt" and str(node.name or "").lower() == "search_path":
            found = True
            if getattr(node.kind, "name", "") in ("VAR_RESET", "VAR_SET_DEFAULT", "VAR_RESET_ALL"):
                continue  # the session's own path (pg_temp first is refused at the start)
            values = [getattr(getattr(arg, "val", None), "sval", None) for arg in node.args or ()]
            if not values or any(v is None for v in values):
                return None
            paths.append(", ".join(_quote_schema(str(v)) for v in values))
        elif kind == "FuncCall" and node.funcname and str(node.funcname[-1].sval) == "set_config":
            args: tuple[Any, ...] = tuple(node.args or ())
            name = getattr(getattr(args[0] if args else None, "val", None), "sval", None)
            if name is not None and str(name).lower() != "search_path":
                continue
            value = getattr(getattr(args[1] if len(args) > 1 else None, "val", None), "sval", None)
            if name is None or value is None:
                return None
            found = True
            paths.append(str(value))
    return paths if found else None


def _quote_schema(name: str) -> str:
    """A schema of a `SET search_path` list as set_config's text would spell it."""
    if name == name.lower() and (name.isidentifier() or name == "$user"):
        return name
    return '"' + name.replace('"', '""') + '"'


# statements whose SET clauses are another object's settings, not the session's
_OTHERS_SETTINGS = frozenset(
    {"CreateFunctionStmt", "AlterFunctionStmt", "AlterRoleSetStmt", "AlterDatabaseSetStmt"}
)


def sets_search_path(statement: SqlStatement) -> bool:
    """`SET search_path …` (or `set_config('search_path', …)`): the patch picks the schema its
    unqualified names go to. A function's `SET search_path` clause (CREATE / ALTER FUNCTION), a
    role's or a database's, is theirs, not the patch's (round 35, helper h35U: `CREATE FUNCTION
    … SET search_path = public, pg_temp`, then a call of it making its ON COMMIT DROP scratch
    table, was refused as having put pg_temp first)."""
    if type(statement.node).__name__ in _OTHERS_SETTINGS:
        return False
    for node in _nodes(statement):
        kind = type(node).__name__
        if kind == "VariableSetStmt" and str(node.name or "").lower() == "search_path":
            return True
        if kind == "FuncCall" and node.funcname and str(node.funcname[-1].sval) == "set_config":
            first = node.args[0] if node.args else None
            value = getattr(getattr(first, "val", None), "sval", None)
            if value is None or str(value).lower() == "search_path":
                return True
    return False


_TRANSACTION_CHARACTERISTICS = frozenset(
    {"transaction", "transaction_isolation", "transaction_read_only", "transaction_deferrable"}
)


def sets_transaction(statement: SqlStatement) -> bool:
    """`SET TRANSACTION …` or `SET [LOCAL] transaction_isolation = …` (…_read_only,
    …_deferrable): what PostgreSQL takes only before the transaction's first query."""
    node = statement.node
    return (
        type(node).__name__ == "VariableSetStmt"
        and str(node.name or "").lower() in _TRANSACTION_CHARACTERISTICS
    )


def sets_a_setting(statement: SqlStatement) -> bool:
    """A SET / RESET (no snapshot taken: a `SET TRANSACTION` after it is still the first)."""
    return type(statement.node).__name__ == "VariableSetStmt"


def creates_unqualified(statement: SqlStatement) -> bool:
    """Does the statement create a permanent object under an unqualified name (a table, view,
    sequence, materialized view, function, type, domain)? The first schema of the search path
    gets it — the session's temporary one when pg_temp comes first."""
    node = statement.node
    kind = type(node).__name__
    field = {
        "CreateStmt": "relation",
        "ViewStmt": "view",
        "CreateSeqStmt": "sequence",
        "CompositeTypeStmt": "typevar",
    }.get(kind)
    rel = getattr(node, field) if field is not None else None
    if kind == "CreateTableAsStmt":
        rel = node.into.rel if node.into else None
    if field is not None or kind == "CreateTableAsStmt":
        return rel is not None and not rel.schemaname and rel.relpersistence == "p"
    names = {
        "CreateFunctionStmt": "funcname",
        "CreateEnumStmt": "typeName",
        "CreateRangeStmt": "typeName",
        "CreateDomainStmt": "domainname",
        "DefineStmt": "defnames",
    }.get(kind)
    return names is not None and len(getattr(node, names) or ()) == 1


def temporary_names(statement: SqlStatement) -> set[str]:
    """The names the statement creates in the session's temporary schema on purpose: `CREATE
    TEMP TABLE / VIEW / SEQUENCE`, `SELECT … INTO TEMP`, `pg_temp.`-qualified ones (in a DO
    block too)."""
    out: set[str] = set()
    for node in _nodes(statement):
        if isinstance(node, ast.RangeVar) and (
            node.relpersistence == "t" or str(node.schemaname or "").startswith("pg_temp")
        ):
            out.add(str(node.relname))
        names = getattr(node, "funcname", None) or getattr(node, "typeName", None)
        names = getattr(node, "defnames", None) or getattr(node, "domainname", None) or names
        if isinstance(names, tuple) and len(names) == 2:
            first = getattr(names[0], "sval", "")
            if str(first).startswith("pg_temp"):
                out.add(str(getattr(names[1], "sval", "")))
    return out


# the settings the runner gives the session a patch runs in (`runner._runner_settings`)
RUNNER_SETTINGS = frozenset(
    {
        "lock_timeout",
        "client_connection_check_interval",
        "idle_session_timeout",
        "idle_in_transaction_session_timeout",
    }
)


def resets_runner_settings(statement: SqlStatement) -> bool:
    """`RESET ALL`, `RESET lock_timeout`, `SET lock_timeout TO DEFAULT` (or another of the
    runner's settings): the session's default again, the database's, not the runner's. In a
    DO block too."""
    if not _SAYS_RESET.search(statement.text):  # (most statements: no walk of their tree)
        return False
    for node in _nodes(statement):
        if not isinstance(node, ast.VariableSetStmt):
            continue
        kind = getattr(node.kind, "name", "")
        if kind == "VAR_RESET_ALL" or (
            kind in ("VAR_RESET", "VAR_SET_DEFAULT")
            and str(node.name or "").lower() in RUNNER_SETTINGS
        ):
            return True
    return False


_SAYS_RESET = lazy_pattern(r"\b(?:RESET|DEFAULT)\b", re.IGNORECASE)


_SAYS_LOCK_TIMEOUT = lazy_pattern(r"lock_timeout", re.IGNORECASE)


def sets_lock_timeout(statement: SqlStatement) -> bool:
    """Whether the statement itself sets lock_timeout: `SET [LOCAL] lock_timeout`, `RESET`,
    `SET … TO DEFAULT`, `set_config('lock_timeout', …)` (or of a name not written as a literal),
    in a DO block too, or an `EXECUTE` of its block whose text names it. Not a mere mention (a
    string, a comment, a `current_setting('lock_timeout')`): the value a trigger or a function
    leaves after such a statement is not the patch's own (round 36, helper h36U: an INSERT
    saying 'lock_timeout' in a literal kept a BEFORE INSERT trigger's '0' for the rest of the
    patch)."""
    if not _SAYS_LOCK_TIMEOUT.search(statement.text):  # (most statements: no walk of their tree)
        return False
    tops: list[Any] = [statement.node]
    if isinstance(statement.node, ast.DoStmt):
        body_arg = next((d for d in statement.node.args or () if d.defname == "as"), None)
        body = str(getattr(getattr(body_arg, "arg", None), "sval", "") or "")
        if any(_SAYS_LOCK_TIMEOUT.search(text) for text in _dynamic_texts(body)):
            return True
        tops += _do_block_statements(statement.node)
    if any(
        isinstance(node, ast.VariableSetStmt)
        and (
            getattr(node.kind, "name", "") == "VAR_RESET_ALL"
            or str(node.name or "").lower() == "lock_timeout"
        )
        for node in tops
    ):
        return True
    for node in _nodes(statement):
        if not isinstance(node, ast.FuncCall) or _call_name(node).lower() != "set_config":
            continue
        first = (node.args or [None])[0]
        value = getattr(getattr(first, "val", None), "sval", None)
        if not isinstance(first, ast.A_Const) or value is None:
            return True  # a name not written as a literal: maybe lock_timeout
        if str(value).lower() == "lock_timeout":
            return True
    return False
