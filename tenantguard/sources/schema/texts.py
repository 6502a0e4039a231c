"""Reading schema text where no parser helps: the patterns that find DDL in strings and bodies,
undo scripts, psql meta-commands and variables, `format(...)` and concatenated dynamic SQL,
PL/pgSQL bodies (the queries they run, the rows and fields they write), and the setting
changes (`set_config`, `SET`) a statement makes.

Relies on nothing else of the reader (no state).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.pgfunctions import RUNS_TEXT
from tenantguard.engine.proof import identifier_name
from tenantguard.engine.sqltext import STRING_LITERAL

_TABLE_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+|FOREIGN\s+)?TABLE"
    r"|ALTER\s+TABLE|CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+TABLE|(?:CREATE|ALTER)\s+TYPE"
    r"|IMPORT\s+FOREIGN\s+SCHEMA)\b",
    re.IGNORECASE,
)

_VIEW_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:RECURSIVE\s+)?"
    r"(?:MATERIALIZED\s+)?VIEW|DROP\s+(?:MATERIALIZED\s+)?VIEW)\b",
    re.IGNORECASE,
)

_FUNCTION_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION|DROP\s+FUNCTION)\b", re.IGNORECASE
)

# type DDL in a DO body, an EXECUTE string or a function's body: what it does to a domain's
# name is read when it parses as a statement, and makes every domain inexact when not
_TYPE_DDL = lazy_pattern(r"\b(?:CREATE|ALTER|DROP)\s+(?:DOMAIN|TYPE)\b", re.IGNORECASE)

# the rest of what the reader follows, looked for in DO bodies too (an idempotent patch creates
# a trigger or rule there, as PostgreSQL 15 has no CREATE TRIGGER IF NOT EXISTS)
# DDL that drops or moves keys and relations (round 27f: DROP INDEX in a DO block)
_INDEX_DDL = lazy_pattern(
    r"\b(?:(?:DROP|ALTER)\s+INDEX|(?:CREATE|DROP|ALTER)\s+SCHEMA)\b", re.IGNORECASE
)

_SESSION_DEFAULTS = lazy_pattern(r"\bALTER\s+(?:ROLE|USER|DATABASE)\b", re.IGNORECASE)

_OTHER_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?(?:TRIGGER|RULE)"
    r"|DROP\s+(?:TRIGGER|RULE)|CREATE\s+(?:OR\s+REPLACE\s+)?PROCEDURE"
    r"|ALTER\s+(?:(?:MATERIALIZED\s+)?VIEW|FOREIGN\s+TABLE|FUNCTION|PROCEDURE|ROUTINE|DOMAIN)"
    r"|CREATE\s+(?:DOMAIN|COLLATION|OPERATOR|CAST)|CREATE\s+(?:OR\s+REPLACE\s+)?AGGREGATE)\b",
    re.IGNORECASE,
)

_HIDDEN_DDL = lazy_pattern(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?(?:TRIGGER|RULE)|CREATE\s+(?:OPERATOR|CAST)",
    re.IGNORECASE,
)

_CREATE_TABLE_NAME = lazy_pattern(
    r"\bCREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+|FOREIGN\s+)?TABLE\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?((?:\"(?:[^\"]|\"\")+\"|[\w$]+)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")+\"|[\w$]+))?)",
    re.IGNORECASE,
)

_ASSIGNED = lazy_pattern(r"^\s*[\w$\".]+(?:\[[^\]]*\])?\s*:?=\s*")

_SELECT_WORD = lazy_pattern(r"\bSELECT\b", re.IGNORECASE)

_WORD = lazy_pattern(r"[a-z_][a-z0-9_$]*")

_SET_CONFIG_CALL = lazy_pattern(
    r"\bset_config\s*\(\s*(?:E?'((?:[^']|'')*)'\s*[,)])?", re.IGNORECASE
)

_SET_STATEMENT = lazy_pattern(
    r"^\s*(?:set|reset)\s+(?:(?:local|session)\s+)?(\"(?:[^\"]|\"\")*\"|[\w.$]+)", re.IGNORECASE
)

_META_COMMAND = lazy_pattern(r"^[ \t]*\\[^\n]*", re.MULTILINE)

_PSQL_VARIABLE = lazy_pattern(r"(?<!:):(['\"])([A-Za-z_]\w*)\1")

_LONGEST_DDL = 100_000  # characters: a definition longer than this is not a definition

_ANY_DDL = lazy_pattern(r"\b(?:CREATE|ALTER|DROP)\s", re.IGNORECASE)

_UNDO_MARKER = lazy_pattern(
    r"^[ \t]*--[ \t]*(?:\+goose[ \t]+|\+migrate[ \t]+|migrate:)(up|down)\b",
    re.IGNORECASE | re.MULTILINE,
)

# undo scripts: diesel's and golang-migrate's `down.sql`, flyway's `U1__…`, sqitch's `revert/`
_UNDO_FILE = lazy_pattern(r"(?:^|\.)down\.sql$|^U\d[\w.]*__.*\.sql$", re.IGNORECASE)


def is_undo_script(path: Path) -> bool:
    """Whether a schema file undoes a migration (it describes no schema the app runs on)."""
    return bool(_UNDO_FILE.search(path.name)) or path.parent.name.lower() == "revert"


def _undo_free(text: str) -> str:
    """The text without the undo sections of a migration file (from a down marker to the next
    up marker or the end), kept as blank space: positions stay."""
    if "migrate" not in text.lower() and "goose" not in text.lower():
        return text
    out: list[str] = []
    position = 0
    down_from: int | None = None
    for marker in _UNDO_MARKER.finditer(text):
        down = marker.group(1).lower() == "down"
        if down and down_from is None:
            out.append(text[position : marker.start()])
            down_from = marker.start()
        elif not down and down_from is not None:
            out.append(re.sub(r"[^\n]", " ", text[down_from : marker.start()]))
            position, down_from = marker.start(), None
    if down_from is None:
        out.append(text[position:])
    else:
        out.append(re.sub(r"[^\n]", " ", text[down_from:]))
    return "".join(out)


def _psql_free(text: str) -> str:
    """The text without psql meta-commands (kept as blank space: positions stay), with
    `:'var'` read as a string and `:"var"` as a name."""
    if "\\" in text:
        text = _META_COMMAND.sub(lambda m: " " * len(m.group(0)), text)
    if ":'" in text or ':"' in text:
        text = _PSQL_VARIABLE.sub(lambda m: f" {m.group(1)}{m.group(2)}{m.group(1)}", text)
    return text


_FORMAT_CALL = lazy_pattern(r"\bformat\s*\(\s*'$", re.IGNORECASE)

_FORMAT_ARGUMENTS = lazy_pattern(r"\s*((?:,\s*'(?:[^']|'')*'\s*)*)\)")

_FORMAT_SPEC = lazy_pattern(r"%(?:(\d+)\$)?([sIL%])")


def _formatted(text: str, start: int, body: str) -> str | None:
    """The statement `format('…', 'a', …)` makes, when the DDL at `start` opens the string
    that is format()'s first argument and every other argument is a string constant:
    `%s` the argument, `%I` it quoted as an identifier, `%L` as a literal. None for anything
    else (a width, a flag, an argument that is not a constant)."""
    if not _FORMAT_CALL.search(text, max(0, start - 40), start):
        return None
    end = start + len(body) + body.count("'") + 1  # the closing quote (`''` read as `'`)
    if end > len(text) or text[end - 1] != "'":
        return None
    tail = _FORMAT_ARGUMENTS.match(text, end)
    if tail is None:
        return None
    arguments: list[str] = [
        a.replace("''", "'") for a in re.findall(r"'((?:[^']|'')*)'", tail.group(1))
    ]
    position = 0

    def spell(match: re.Match[str]) -> str:
        nonlocal position
        kind = match.group(2)
        if kind == "%":
            return "%"
        index = int(match.group(1)) - 1 if match.group(1) else position
        position = index + 1
        if not 0 <= index < len(arguments) or "\\" in arguments[index]:
            raise ValueError(match.group(0))
        value: str = arguments[index]
        if kind == "I":
            return '"' + value.replace('"', '""') + '"'
        if kind == "L":
            return "'" + value.replace("'", "''") + "'"
        return value

    if re.search(r"%(?!(?:\d+\$)?[sIL])", body.replace("%%", "")):
        return None  # a width or a flag: not followed
    try:
        return _FORMAT_SPEC.sub(spell, body)
    except ValueError:
        return None


def _string_body(text: str) -> str:
    """The rest of a '…' string literal that `text` starts inside of, `''` read as `'`."""
    out: list[str] = []
    position = 0
    while True:
        quote = text.find("'", position)
        if quote < 0:
            return ""  # never closes: not a statement
        out.append(text[position:quote])
        if text.startswith("''", quote):
            out.append("'")
            position = quote + 2
            continue
        return "".join(out)


def _output_columns(query: str) -> set[str] | None:
    """The names a query outputs, or None when a `*` or an expression hides them."""
    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except (SqlglotError, RecursionError):
        return None
    if not isinstance(tree, exp.Select):
        return None
    names: set[str] = set()
    for item in tree.expressions:
        if isinstance(item, exp.Alias):
            names.add(identifier_name(item.args.get("alias")))
        elif isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
            names.add(identifier_name(item.this))
        else:
            return None
    return names


_WORDS = lazy_pattern(r"[a-z_][a-z0-9_$]*")


def _qualified_parameters(statement: str, function: str, parameters: list[str]) -> str:
    """The statement of a function's body with each parameter it names qualified by the
    function's name (`notes_of.tenant_id`, as PostgreSQL allows where a column has the
    parameter's name) written as its position (`$1`): a pin by it is a pin by the argument
    (helper 109: read as a column, a false alarm). Left as it is when the function's name is
    also used otherwise there (a table's alias of that name, a recursive call)."""
    if function.lower() not in statement.lower():
        return statement
    name = re.escape(function)
    if re.search(rf'(?<![\w$."]){name}(?![\w$])(?!\s*\.)', statement, re.IGNORECASE):
        return statement
    positions = {p.lower(): i for i, p in reversed(list(enumerate(parameters))) if p}

    def position(match: re.Match[str]) -> str:
        index = positions.get(match.group(1).lower())
        return match.group(0) if index is None else f"${index + 1}"

    return re.sub(
        rf'(?<![\w$."]){name}\s*\.\s*([a-z_][\w$]*)(?![\w$])',
        position,
        statement,
        flags=re.IGNORECASE,
    )


def _block_labels(tree: Any) -> list[str]:
    """The labels of a PL/pgSQL body's blocks (`<<blk>> DECLARE … BEGIN … END`)."""
    found: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            label = node.get("label")
            if isinstance(label, str) and label and label not in found:
                found.append(label)
            stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return found


def _aliases_any(query: str, labels: list[str]) -> bool:
    """Whether a query names a table or alias like one of the labels (then `x.col` may be
    the table's column: left as it is)."""
    return any(
        re.search(rf"\b(?:from|join|as|,)\s+(?:\w+\s+)?{re.escape(label)}\b", query, re.IGNORECASE)
        for label in labels
    )


def _shadowed_trigger_names(tree: Any) -> set[str]:
    """The trigger's names (`tg_table_name`, `tg_argv`…) a PL/pgSQL function declares itself
    (a variable, a parameter) or reads outside a trigger function: there they hold any value,
    and dynamic SQL built from them names any table (helper 109)."""
    try:
        datums = tree[0]["PLpgSQL_function"]["datums"]
    except (LookupError, TypeError):
        return set()
    names = [(next(iter(d.values())), d) for d in datums if isinstance(d, dict) and d]
    trigger = any(v.get("refname") == "tg_op" and "lineno" not in v for v, _ in names)
    return {
        str(v.get("refname"))
        for v, _ in names
        if str(v.get("refname") or "").startswith("tg_") and ("lineno" in v or not trigger)
    }


@functools.lru_cache(maxsize=512)
def _plpgsql_tree(text: str) -> Any:
    """pglast's reading of a PL/pgSQL body (its JSON as Python lists and dicts), None when it
    rejects it. Read once per text: the readers below read one body several times, and the
    runtime guard reads the catalog's functions again at each connection's catalog read (the
    same texts). Shared: its readers walk it, never change it."""
    import pglast

    try:
        return pglast.parse_plpgsql(text)
    except Exception:  # pglast raises its own and PostgreSQL's errors
        return None


def _plpgsql_queries(text: str) -> tuple[list[str], str, tuple[tuple[str, str], ...]]:
    """The SQL a PL/pgSQL function runs: its statements and the queries inside its expressions
    (`n := (SELECT …)`, `IF EXISTS (SELECT …)`) as statements the proof can read, the text of
    its dynamic SQL (`EXECUTE …`), which it cannot, and its constants. A body pglast rejects is
    all opaque."""
    tree = _plpgsql_tree(text)
    if tree is None:
        return [], text, ()
    queries: list[str] = []
    dynamic: list[str] = []
    shadowed = _shadowed_trigger_names(tree)
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, is_dynamic = stack.pop()
        if isinstance(node, list):
            stack.extend((item, is_dynamic) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key == "PLpgSQL_expr" and isinstance(value, dict):
                query = str(value.get("query", ""))
                if is_dynamic:
                    # `'UPDATE pati' || 'ents …'`, `format('%s%s', 'no', 'tes')`: the literals
                    # read as the one text they make
                    text, escaped = _normalized_dynamic(query)
                    dynamic.append(text)
                    if escaped or _computed_sql(text):  # a table it names may come from anywhere
                        dynamic.append(COMPUTED_SQL)
                    elif shadowed and shadowed & set(_WORDS.findall(query.lower())):
                        # `TG_TABLE_NAME` declared as a variable, `tg_argv` a parameter: a
                        # value, not the trigger's name (helper 109)
                        dynamic.append(COMPUTED_SQL)
                elif value.get("parseMode", 0) == 0:
                    queries.append(query)
                elif "(" in query or _SELECT_WORD.search(query) or _OPERATOR_CHARS.search(query):
                    # a call reads and writes like a query (`IF purge(OLD.id) THEN`, `ok :=
                    # purge(p)`, `RETURN name_of(p)`: round 22), as does a subquery
                    queries.append("SELECT " + _ASSIGNED.sub("", query, count=1))
            elif key in _DYNAMIC_STATEMENTS and isinstance(value, dict):
                # the string they execute is built at run time
                stack.append((value.get("query"), True))
                stack.extend((v, is_dynamic) for k, v in value.items() if k != "query")
            else:
                stack.append((value, is_dynamic or key == "dynquery"))
    labels = _block_labels(tree)
    if labels:
        # `blk.t`: the variable t of the block labelled blk (helper 112: read as a column of
        # a table aliased blk, a false TG001)
        qualified = re.compile(
            r"(?<![\w$.\"])(?:" + "|".join(map(re.escape, labels)) + r")\s*\.\s*(?=[a-z_])",
            re.IGNORECASE,
        )
        queries = [q if _aliases_any(q, labels) else qualified.sub("", q) for q in queries]
    return queries, " ".join(dynamic), _constants(tree)


_JOINED_LITERALS = lazy_pattern(r"'\s*\|\|\s*'")

# a run of operator characters no built-in operator spells (`<<<`, `@@@`, `~>`): a call of
# the function a schema's CREATE OPERATOR names (helper 109: `IF p <<< 0 THEN`)
_OPERATOR_CHARS = lazy_pattern(r"[-+*/<>=~!@#%^&|`?]{3,}|[~!@#%^&|`?][-+*/<>=~!@#%^&|`?]")

# A word put in a function's dynamic-SQL text when that SQL is built at run time from more than
# literals (round 22, helper 98: `format('DELETE FROM %I …', r.tbl)` with the table read from
# data, `concat(…)`, a variable): the tables it reaches cannot be read from the text, so it
# counts as reaching tenant rows unpinned (`reaches_tenant_rows`). Literals, `format` with
# values only (`%L`), `quote_literal(…)`/`quote_nullable(…)` of a value, and the trigger's own
# relation or arguments (`TG_TABLE_NAME`, `TG_ARGV[n]`: read as the trigger's) are not.
COMPUTED_SQL = "tg_sql_built_at_run_time"

_SQL_LITERAL = STRING_LITERAL

_NAME_FORMAT = lazy_pattern(r"%(?:\d+\$)?-?(?:\d+|\*(?:\d+\$)?)?[Is]")

_VALUE_QUOTED = lazy_pattern(
    r"\bquote_(?:literal|nullable)\s*\((?:[^()]|\([^()]*\))*\)", re.IGNORECASE
)  # (one level of parentheses inside: `quote_literal(coalesce(v, ''))`, helper 114)

_TRIGGER_NAMES = lazy_pattern(
    r"\b(?:tg_table_name|tg_table_schema|tg_relname|tg_relid|tg_argv\s*\[\s*\d+\s*\])",
    re.IGNORECASE,
)

_SQL_BUILDING = lazy_pattern(r"'L'|\|\||[\s(),]|::\s*\w+|\b(?:format|quote_ident)\b", re.IGNORECASE)

# dynamic SQL that runs more dynamic SQL: its text is code that builds names at run time
_NESTED_DYNAMIC = lazy_pattern(r"\bEXECUTE\b|\bDO\s*\$|\bDO\s+'|^\s*DO\b", re.IGNORECASE)

# dynamic statements that read and write no table, whatever their values (`SET LOCAL
# app.tenant_id = ` || p, `NOTIFY %I, %L`)
_NO_TABLE_STATEMENT = lazy_pattern(
    r"\s*'\s*(?:SET|RESET|NOTIFY|LISTEN|UNLISTEN|SHOW)\b", re.IGNORECASE
)


def _no_table_statement(expression: str, first: str) -> bool:
    """A dynamic statement that reads and writes no table whatever its values: its text starts
    with a literal `SET …`, `NOTIFY …` (or is `format` of one), joined to nothing but values —
    literals, variables, parameters, `quote_literal(…)`, `quote_ident(…)`, casts. Any other
    call may make it another statement (helper 109: `replace('SET x', 'SET x', 'DELETE …')`,
    `'SHOW x' || chr(59) || 'DELETE …'`)."""
    if not _NO_TABLE_STATEMENT.match(first):
        return False
    text = _VALUE_QUOTED.sub("'L'", _SQL_LITERAL.sub("'L'", expression))
    text = _IDENT_QUOTED.sub("'L'", text).strip()
    formatted = _FORMAT_WHOLE.fullmatch(text)
    if formatted is not None:
        # `format('SET x = %L', v)`: each value quoted (%L, %I); `%s` pastes text (helper 112:
        # `format('SET LOCAL x = %s', v)` with v = '1; DELETE FROM notes'), in any spelling
        # (`%*s`, `%1$*2$s`: helper 114)
        if re.search(r"%[^%a-zA-Z]*s", first):
            return False
        text = formatted.group(1).strip()
        # the format string is the one literal (helper 114: `format('SET x = ' || v)`), then
        # its arguments: any value, each quoted by its specifier
        return re.match(r"'L'\s*(?:,|$)", text) is not None and "(" not in text and ")" not in text
    # `'SET LOCAL x = ' || quote_literal(v)`: literals and quoted values only — a variable
    # pasted in is SQL text (helper 112: it ran `1; DELETE FROM notes`)
    return text.startswith("'L'") and re.fullmatch(r"'L'(?:\s*\|\|\s*'L')*", text) is not None


_IDENT_QUOTED = lazy_pattern(r"\bquote_ident\s*\([^()]*\)", re.IGNORECASE)

_FORMAT_WHOLE = lazy_pattern(r"format\s*\((.*)\)", re.IGNORECASE | re.DOTALL)


def _computed_sql(expression: str) -> bool:
    """Is the text of a dynamic statement (`EXECUTE expression`) built from more than
    literals, values and the trigger's own names (see COMPUTED_SQL)? Fail closed: anything
    but a literal, `format` of a literal format string with values only, literals joined by
    `||` with `quote_literal(…)` values, or the trigger's names placed as whole words."""
    literals = [m.group() for m in _SQL_LITERAL.finditer(expression)]
    joined = " ".join(literals)
    if _NESTED_DYNAMIC.search(joined):
        return True  # `'DO $d$ BEGIN EXECUTE …'`: code that runs code (round 22, helper 102)
    if RUNS_TEXT & set(_WORDS.findall(joined.lower())):
        return True  # `'SELECT query_to_xml(%L, …)'`: it runs the text it is given (helper 109)
    if literals and ";" not in joined and _no_table_statement(expression, literals[0]):
        return False  # `SET LOCAL x = ` || v, `format('NOTIFY %I, %L', …)`: no table
    names = any(_NAME_FORMAT.search(literal) for literal in literals)
    text = _SQL_LITERAL.sub("'L'", expression)
    text = _VALUE_QUOTED.sub("'L'", text)
    if (
        not names
        and "||" not in text
        and re.fullmatch(
            r"\s*format\s*\(\s*'L'\s*(?:,[^()]*(?:\([^()]*\)[^()]*)*)?\)\s*", text, re.IGNORECASE
        )
    ):
        return False  # `format('… %L …', v)`: a literal format string, values only
    return bool(_SQL_BUILDING.sub("", _TRIGGER_NAMES.sub("", text)))


_LOOPS = frozenset(
    (
        "PLpgSQL_stmt_loop",
        "PLpgSQL_stmt_while",
        "PLpgSQL_stmt_fori",
        "PLpgSQL_stmt_fors",
        "PLpgSQL_stmt_forc",
        "PLpgSQL_stmt_foreach_a",
        "PLpgSQL_stmt_dynfors",
    )
)


def _returned_queries(text: str) -> tuple[str, ...]:
    """The queries of a PL/pgSQL body's RETURN QUERY statements outside any loop (a loop's
    may read its variables); () for a body pglast rejects (opaque anyway)."""
    tree = _plpgsql_tree(text)
    if tree is None:
        return ()
    found: list[str] = []
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, in_loop = stack.pop()
        if isinstance(node, list):
            stack.extend((item, in_loop) for item in node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "PLpgSQL_stmt_return_query" and isinstance(value, dict) and not in_loop:
                    expr = (value.get("query") or {}).get("PLpgSQL_expr") or {}
                    if expr.get("query"):
                        found.append(str(expr["query"]))
                stack.append((value, in_loop or key in _LOOPS))
    return tuple(found)


def _plpgsql_function(text: str) -> tuple[dict[str, Any], list[Any]] | None:
    """A PL/pgSQL body as pglast reads it: the function and its datums (variables, by number);
    None when pglast rejects it."""
    tree = _plpgsql_tree(text)
    if tree is None:
        return None
    function = tree[0].get("PLpgSQL_function", {}) if isinstance(tree, list) and tree else {}
    if not isinstance(function, dict):
        return {}, []
    return function, function.get("datums", [])


_ROW_FIELD_EXPR = lazy_pattern(
    r"\s*(?:(?:new|old)\s*\.\s*(\w+)|coalesce\s*\(\s*(?:new|old)\s*\.\s*(\w+)\s*,"
    r"\s*(?:new|old)\s*\.\s*(\w+)\s*\))\s*",
    re.IGNORECASE,
)


def _row_copies(text: str) -> tuple[tuple[str, str], ...]:
    """A trigger function's variables that only ever hold the row written — a record given
    NEW, OLD or `coalesce(NEW, OLD)` ("row") — or one column of it, `NEW.f`, `OLD.f` or
    `coalesce(NEW.f, OLD.f)` ("field:f"): where declared and in every assignment, never read
    INTO, looped over, or written field by field (round 22, helper 108: `r := coalesce(NEW,
    OLD)` then `WHERE tenant_id = r.tenant_id` was TG005 on every write)."""
    parsed = _plpgsql_function(text)
    if parsed is None:
        return ()
    function, datums = parsed
    names: dict[int, tuple[str, str]] = {}  # number -> (name, "var" | "rec")
    parents: dict[int, int] = {}  # a record field's number -> its record's
    values: dict[int, list[str]] = {}
    for index, datum in enumerate(datums):
        if not isinstance(datum, dict):
            continue
        for kind, key in (("PLpgSQL_var", "var"), ("PLpgSQL_rec", "rec")):
            item = datum.get(kind)
            if isinstance(item, dict):
                names[index] = (str(item.get("refname", "")).lower(), key)
                default = (item.get("default_val") or {}).get("PLpgSQL_expr", {}).get("query")
                if default:
                    values.setdefault(index, []).append(str(default))
        field_ = datum.get("PLpgSQL_recfield")
        if isinstance(field_, dict):
            parents[index] = int(field_.get("recparentno", 0))
    # every number the body mentions, against those its assignments mention as their target:
    # a number mentioned more often is written otherwise too (INTO, a loop, a field)
    mentioned: Counter[int] = Counter()
    assigned: Counter[int] = Counter()
    for key, value in _action_items(function):
        if key == "PLpgSQL_stmt_assign" and isinstance(value, dict):
            number = int(value.get("varno", 0))
            query = (value.get("expr") or {}).get("PLpgSQL_expr", {}).get("query", "")
            assigned[number] += "varno" in value
            if number in parents:
                assigned[number] -= 1  # `r.tenant_id := …`: a write of r, field by field
                mentioned[parents[number]] += 1
            else:
                values.setdefault(number, []).append(_ASSIGNED.sub("", str(query), count=1))
        elif key in ("varno", "dno") and isinstance(value, int) and not isinstance(value, bool):
            mentioned[parents.get(value, value)] += 1
    written = {n for n, count in mentioned.items() if count > assigned[n]}
    found: list[tuple[str, str]] = []
    for number, given in values.items():
        if number in written or number not in names or not given:
            continue
        name, kind = names[number]
        if name in ("new", "old"):
            continue
        if kind == "rec" and all(_ROW_ITSELF.fullmatch(v.strip()) for v in given):
            found.append((name, "row"))
        elif kind == "var":
            fields: set[str] = set()
            for value in given:
                match = _ROW_FIELD_EXPR.fullmatch(value)
                if match is None:
                    break
                parts = {p.lower() for p in match.groups() if p}
                fields |= parts
            else:
                if len(fields) == 1:
                    found.append((name, f"field:{fields.pop()}"))
    return tuple(sorted(found))


def _action_items(function: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of the function's statements, at any depth (each value is walked
    after it is handed out)."""
    stack: list[Any] = [function.get("action")]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                yield key, value
                stack.append(value)


def _assigned_new_fields(text: str) -> set[str]:
    """The fields of the trigger's NEW row a PL/pgSQL function assigns (`NEW.x := …`, `SELECT
    … INTO NEW.x`, `FOREACH NEW.x IN ARRAY …`, `GET DIAGNOSTICS NEW.x = …`), "*" for NEW whole
    (`NEW := …`, `INTO NEW`); "*" too when pglast rejects the body (what it assigns is not
    known) or when it CALLs a procedure (an INOUT argument)."""
    parsed = _plpgsql_function(text)
    if parsed is None:
        return {"*"}
    function, datums = parsed
    new = function.get("new_varno", 0)
    fields: dict[int, str] = {new: "*"}
    for index, datum in enumerate(datums):
        field_ = datum.get("PLpgSQL_recfield") if isinstance(datum, dict) else None
        if isinstance(field_, dict) and field_.get("recparentno", 0) == new:
            fields[index] = str(field_.get("fieldname", "*"))
    assigned: set[str] = set()
    for key, value in _action_items(function):
        if key in _WRITES_BY_NUMBER and isinstance(value, dict):
            # `NEW.x := …`, `FOREACH NEW.x IN ARRAY …`, `GET DIAGNOSTICS NEW.x = …`
            varno = value.get(_WRITES_BY_NUMBER[key], 0)
            if varno in fields:
                assigned.add(fields[varno])
        elif key == "PLpgSQL_stmt_call":
            assigned.add("*")  # an INOUT argument may be NEW or a field of it
        elif key == "fields" and isinstance(value, list):  # an INTO target's row
            for item in value:
                if isinstance(item, dict) and item.get("varno", -1) in fields:
                    assigned.add(fields[item["varno"]])
        elif (
            key == "PLpgSQL_rec"
            and isinstance(value, dict)
            and str(value.get("refname", "")).lower() == "new"
        ):
            assigned.add("*")  # `INTO NEW`
        elif key == "PLpgSQL_stmt_return" and isinstance(value, dict):
            query = (value.get("expr") or {}).get("PLpgSQL_expr", {}).get("query", "")
            if query and not _ROW_ITSELF.fullmatch(str(query).strip()):
                assigned.add("*")  # `RETURN jsonb_populate_record(NEW, …)`: another row
    # `RETURN r` of a record variable (pglast's JSON does not say which variable a RETURN
    # gives): a row built from NEW with other fields is written in NEW's stead (round 21)
    for returned in _RETURNED.findall(text):
        if not _ROW_ITSELF.fullmatch(returned.strip()):
            assigned.add("*")
    return assigned


_RETURNED = lazy_pattern(r"\bRETURN\s+(?!NEXT\b|QUERY\b)([^;]+?)\s*;", re.IGNORECASE)

# what returns the row written itself: NEW, OLD, NULL, or `coalesce(NEW, OLD)` (the same row:
# round 22, helper 106 — a shared INSERT OR DELETE trigger's usual return)
_ROW_ITSELF = lazy_pattern(
    r"\(?\s*(?:new|old|null|coalesce\s*\(\s*(?:new|old)\s*,\s*(?:new|old)\s*\))\s*\)?",
    re.IGNORECASE,
)

# PL/pgSQL statements that write a variable given by number (pglast's JSON leaves out a number
# that is 0: the function's first parameter)
_WRITES_BY_NUMBER = {
    "PLpgSQL_stmt_assign": "varno",
    "PLpgSQL_stmt_foreach_a": "varno",
    "PLpgSQL_diag_item": "target",
    "PLpgSQL_stmt_open": "curvar",
}


def _written_variables(text: str) -> set[str] | None:
    """The names of the variables (parameters among them; `$n` for one without a name) a
    PL/pgSQL body writes — assigns, selects or fetches INTO, loops over, gets diagnostics
    into, or declares again in an inner block (shadowing) — and every parameter when it CALLs
    a procedure (an INOUT argument is written). None when pglast rejects the body."""
    parsed = _plpgsql_function(text)
    if parsed is None:
        return None
    function, datums = parsed
    names = []
    for datum in datums:
        inner: Any = next(iter(datum.values()), {}) if isinstance(datum, dict) and datum else {}
        names.append(str(inner.get("refname", "")).lower() if isinstance(inner, dict) else "")
    written: set[int] = set()
    for key, value in _action_items(function):
        if key in _WRITES_BY_NUMBER and isinstance(value, dict):
            written.add(int(value.get(_WRITES_BY_NUMBER[key], 0)))
        elif key == "PLpgSQL_stmt_call":
            return {n for n in names if n} | {f"${i + 1}" for i in range(len(names))}
        elif key in ("target", "var") and isinstance(value, dict):
            row = value.get("PLpgSQL_row")
            if isinstance(row, dict):  # INTO a, b; FOR a, b IN …
                written.update(
                    int(f.get("varno", 0)) for f in row.get("fields", []) if isinstance(f, dict)
                )
            record = value.get("PLpgSQL_rec")
            if isinstance(record, dict):
                written.add(int(record.get("dno", 0)))
    found = {names[i] for i in written if 0 <= i < len(names)}
    # a name declared twice: an inner block's variable shadows the parameter in its queries
    found.update(n for n in names if n and names.count(n) > 1)
    return found


def _constants(tree: Any) -> tuple[tuple[str, str], ...]:
    """Variables given a value where declared and never written again — no assignment, no
    INTO, no loop over them — nor declared twice (shadowing): (name, the value's expression).

    Every variable number the body mentions anywhere counts as a write (conservative: reads are
    inside query texts, not numbers)."""
    function = tree[0].get("PLpgSQL_function", {}) if isinstance(tree, list) and tree else {}
    datums = function.get("datums", []) if isinstance(function, dict) else []
    mentioned: set[int] = set()
    stack: list[Any] = [function.get("action"), [d for d in datums if "PLpgSQL_var" not in d]]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                is_number = isinstance(value, int) and not isinstance(value, bool)
                if is_number and ("varno" in key or key in ("target", "dno")):
                    mentioned.add(value)
                else:
                    stack.append(value)
    declared: dict[str, int] = {}
    for datum in datums:
        variable = datum.get("PLpgSQL_var") if isinstance(datum, dict) else None
        if isinstance(variable, dict):
            name = str(variable.get("refname", "")).lower()
            declared[name] = declared.get(name, 0) + 1
    found: list[tuple[str, str]] = []
    for index, datum in enumerate(datums):
        variable = datum.get("PLpgSQL_var") if isinstance(datum, dict) else None
        if not isinstance(variable, dict) or index in mentioned:
            continue
        name = str(variable.get("refname", "")).lower()
        value = variable.get("default_val", {}).get("PLpgSQL_expr", {}).get("query")
        if value and declared.get(name) == 1:
            found.append((name, str(value)))
    return tuple(found)


_DYNAMIC_STATEMENTS = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors")

_DOLLAR_QUOTED = lazy_pattern(r"\$([A-Za-z_]\w*)?\$(.*?)\$\1\$", re.DOTALL)

_ESCAPE_STRING = lazy_pattern(r"\b[Ee]'((?:[^'\\]|''|\\.)*)'")

_LITERAL = r"'(?:[^']|'')*'"

_TEXT_CAST = lazy_pattern(
    rf"({_LITERAL})\s*::\s*(?:text|varchar|character\s+varying|name|bpchar)\b", re.IGNORECASE
)

_PAREN_LITERAL = lazy_pattern(rf"(?<![\w$])\(\s*({_LITERAL})\s*\)")  # not a call's

_ADJACENT = lazy_pattern(r"'[ \t\r\f]*\n\s*'")  # `'no'<newline>'tes'`: one literal to PostgreSQL


def _normalized_dynamic(text: str) -> tuple[str, bool]:
    """The text of dynamic SQL with its literals joined as PostgreSQL joins them — dollar
    quotes as plain literals, `::text` of a literal dropped, parentheses around one literal,
    adjacent literals, `'a' || 'b'`, `format` of literals evaluated — and whether it holds an
    escape string with a backslash (`E'no\\164es'`: not decoded here, so not read: round 22,
    helper 104)."""
    escaped = False

    def escape(match: re.Match[str]) -> str:
        nonlocal escaped
        if "\\" in match.group(1):
            escaped = True
        return "'" + match.group(1) + "'"

    text = _DOLLAR_QUOTED.sub(lambda m: "'" + m.group(2).replace("'", "''") + "'", text)
    text = _ESCAPE_STRING.sub(escape, text)
    for _ in range(20):
        before = text
        text = _TEXT_CAST.sub(r"\1", text)
        text = _PAREN_LITERAL.sub(r"\1", text)
        text = _ADJACENT.sub("", text)
        text = _JOINED_LITERALS.sub("", text)
        text = _formatted_literals(text)
        if text == before:
            break
    return text, escaped


_LITERAL_FORMAT_CALL = lazy_pattern(
    r"\bformat\s*\(\s*'((?:[^']|'')*)'((?:\s*,\s*'(?:[^']|'')*')*)\s*\)", re.IGNORECASE
)

_FORMAT_ARGUMENT = lazy_pattern(r"'((?:[^']|'')*)'")

_SPECIFIER = lazy_pattern(r"%(?:(\d+)\$)?-?\d*([sIL%])")


def _formatted_literals(text: str) -> str:
    """`format('…', 'a', 'b')` of literals only, as the literal PostgreSQL makes of it (`%s`
    and `%I` the argument's text, `%L` quoted); other calls as they are."""

    def call(match: re.Match[str]) -> str:
        pattern = match.group(1).replace("''", "'")
        arguments = [a.replace("''", "'") for a in _FORMAT_ARGUMENT.findall(match.group(2))]
        position = 0

        def specifier(spec: re.Match[str]) -> str:
            nonlocal position
            if spec.group(2) == "%":
                return "%"
            if spec.group(1):
                position = int(spec.group(1)) - 1
            value = arguments[position] if position < len(arguments) else ""
            position += 1
            return "'" + value.replace("'", "''") + "'" if spec.group(2) == "L" else value

        return "'" + _SPECIFIER.sub(specifier, pattern).replace("'", "''") + "'"

    return _LITERAL_FORMAT_CALL.sub(call, text)


def postgres_error(sql: str) -> tuple[str, int] | None:
    """Why PostgreSQL's parser rejects this text, and where (an offset in it); None when it
    reads it (psql meta-commands and `:'var'` interpolations aside)."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        parse_sql(_psql_free(sql))
    except ParseError as error:
        message = str(error.args[0]) if error.args else str(error)
        offset = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else 0
        return message, len(sql.encode()[:offset].decode("utf-8", "ignore"))
    except Exception as error:  # pglast's own errors: not read
        return f"PostgreSQL's parser failed ({type(error).__name__})", 0
    return None


def _changes_setting(text: str, settings: frozenset[str] | None) -> bool:
    """Does this statement text call `set_config` on, `SET` or `RESET` one of these settings
    (None: any setting)? A name that is not a plain string may be any."""
    for match in _SET_CONFIG_CALL.finditer(text):
        name = match.group(1)
        if name is None or settings is None or name.replace("''", "'").lower() in settings:
            return True
    statement = _SET_STATEMENT.match(text)
    if statement is not None:
        name = statement.group(1).strip('"').lower()
        if settings is None or name in settings or name == "all":  # RESET ALL
            return True
    return False
