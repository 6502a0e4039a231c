"""TG215 function-changes-session-setting

## What it does
Finds a function or procedure (of the schema's own: not an extension's, not one of
PostgreSQL's built-ins, but one created in `pg_catalog` is) that can change the tenant setting
(`app.tenant_id`: every setting the tenant expressions read) or a setting the runtime guard
relies on (`standard_conforming_strings`, `client_encoding`, `session_replication_role`):

- in SQL and PL/pgSQL, read as PostgreSQL lexes it (comments skipped, strings apart, names
  unquoted and in any case): `set_config(…)` whose first argument is such a setting, or is not
  a plain string literal naming another one (a variable, `E'…'`, a concatenation); the setting
  named outside a string (`SET`, `SET LOCAL`, `RESET`); `RESET ALL`; `SET NAMES`; an UPDATE
  of `pg_settings`; SQL built or run from text (`EXECUTE`, `query_to_xml(…)` and its
  siblings, `ts_stat(…)`, `ts_rewrite(query, 'SELECT …')`);
- in PL/Python, PL/Perl, PL/Tcl, PL/v8: a mention of such a setting, `set_config` or
  `pg_settings` anywhere, or SQL run through the language's SPI (`plpy.execute`,
  `spi_exec_query`…), whose text is built at run time;
- an `internal` function that is `set_config` or one of the functions running text as SQL
  under another name; a function in C, or in another language, which cannot be read;
- a function whose own settings (`ALTER FUNCTION … SET app.tenant_id = …`) set the tenant
  setting, or `session_replication_role = replica`;
- schema code that calls the built-in `set_config` (or `query_to_xml` and its siblings,
  `ts_stat`, `ts_rewrite(query, text)`, or writes `pg_settings`) itself, with no function of
  the schema between: a view, a rule, a column default, a CHECK constraint, a policy, a
  trigger's WHEN, a domain's default or CHECK, a function's argument defaults (with the
  function); found by the built-in's oid in the stored expression, then read as PostgreSQL
  prints it, with the checks above (a `set_config` of another setting's name is fine); an
  aggregate or operator built on one of these built-ins, whose arguments no text shows.

Not reported: reading a setting (`current_setting('app.tenant_id')`), setting another one
(`set_config('statement_timeout', …)`, `SET LOCAL lock_timeout`), a setting's name in a string
no code runs (`RAISE EXCEPTION 'app.tenant_id is not set'`), `DISCARD ALL` (PostgreSQL refuses
it in a function), `dblink` (its SQL runs in another session), a function's own `search_path`,
`client_encoding` or `standard_conforming_strings` (restored when it returns, after the guard
has read the statement). A function, view or default calling a function that changes the
setting is not reported: the function it calls is. Nor is a materialized view: REFRESH restores
the settings its query changes. Index and partition-key expressions, generated columns and casts
cannot call these built-ins (PostgreSQL refuses a volatile function there, or their signature).

## Why is this bad?
The runtime guard sets the tenant setting and keeps trusting its value across the statements it
reads as plain (with `set_tenant_setting`, it skips the pool's reset after them). It reads every
function a statement names, but PostgreSQL also runs schema code the text does not name: a
trigger, a view, a column default, an overload of a built-in's name (`public.length(bigint)`),
an operator, a cast, a domain's CHECK. When such code changes the setting, the next statement
of a clinic-1 request reads clinic 2's rows. A function whose own settings pin the tenant
setting reads and writes that one tenant's rows for every caller, whatever the caller's
tenant (PostgreSQL restores the setting when it returns, so nothing outlives the call).

## Example
```sql
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant_id', NEW.tenant_id::text, false);
    RETURN NEW;
END $$;
```

## Use instead
```sql
-- read the session's tenant; let the application (the guard's tenant()) set it
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.tenant_id := current_setting('app.tenant_id')::bigint;
    RETURN NEW;
END $$;
```

## Options
`tenant_expressions`: the settings they read with `current_setting('…')` are the tenant
settings (`app.tenant_id` when none does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tenantguard._patterns import lazy_pattern
from tenantguard.audit.model import (
    SETTING_BUILTINS,
    Function,
    Relation,
    RewriteRule,
    RowPolicy,
    SchemaCode,
)
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.runtime.session import RELIED_ON_SETTINGS

RULE = RuleInfo("TG215", "function-changes-session-setting", Severity.ERROR)

_DEFAULT_SETTING = "app.tenant_id"
_SQL = ("sql", "plpgsql")
# scripting languages: their SQL is text handed to the SPI, under these names
_SCRIPTS = frozenset(
    {"plpython3u", "plpythonu", "plpython2u", "plperl", "plperlu", "pltcl", "pltclu", "plv8"}
)
_SPI = lazy_pattern(
    r"(?<![\w$])((?:\w+\.)?(?:execute|prepare|cursor|spi_\w+|find_function))(?![\w$])"
)
_EXPRESSION_SETTING = lazy_pattern(r"current_setting\s*\(\s*'([^']+)'", re.I)

# the lexer: what may open a comment, a string, a quoted name or a dollar-quoted string
_SPECIAL = lazy_pattern(r"--|/\*|[Ee]'|[Uu]&'|'|\"|\$(?!\d)")
_SINGLE = lazy_pattern(r"'[^']*(?:''[^']*)*'")
_ESCAPED = lazy_pattern(r"[Ee]'[^'\\]*(?:(?:''|\\.)[^'\\]*)*'", re.DOTALL)
_DOUBLE = lazy_pattern(r'"[^"]*(?:""[^"]*)*"')
_DOLLAR_TAG = lazy_pattern(r"\$(?:[^\W\d$][\w]*)?\$")
_NESTED = lazy_pattern(r"/\*|\*/")
_IDENT_CHAR = lazy_pattern(r"[\w$]")
_LINE_END = lazy_pattern(r"[\n\r]")

# in the lexed code (lower case, strings as `'#N'`)
_LITERAL = r"'#(\d+)'"
_SET_CONFIG = lazy_pattern(r"(?<![\w$])set_config\s*\(")
_FIRST_LITERAL = lazy_pattern(rf"\s*{_LITERAL}\s*(?:::\s*text\s*)?,")
_RUNS_TEXT = lazy_pattern(
    r"(?<![\w$])(query_to_xml_and_xmlschema|query_to_xmlschema|query_to_xml|ts_stat|"
    r"ts_rewrite)\s*\("
)
_EXECUTE = lazy_pattern(r"(?<![\w$])execute(?![\w$])(?!\s+(?:function|procedure|on)(?![\w$]))")
_RESET_ALL = lazy_pattern(r"(?<![\w$])reset\s+all(?![\w$])")
_SET_NAMES = lazy_pattern(r"(?<![\w$])set\s+(?:(?:local|session)\s+)?names(?![\w$])")
_UPDATE_SETTINGS = lazy_pattern(
    r"(?<![\w$])update\s+(?:only\s+)?(?:pg_catalog\s*\.\s*)?pg_settings(?![\w$])"
)
_VERB = lazy_pattern(r"(?:(?<![\w$])(set|reset)\s+(?:(?:local|session)\s+)?)?$")
_PLAIN_NAME = lazy_pattern(r"[a-z_][a-z0-9_.]*")
# what EXECUTE runs: a literal, or format() of one, then the end of the expression
_EXECUTE_LITERAL = lazy_pattern(rf"\s*{_LITERAL}")
_EXECUTE_FORMAT = lazy_pattern(rf"\s*(?:pg_catalog\s*\.\s*)?format\s*\(\s*{_LITERAL}")
_EXECUTE_END = lazy_pattern(r"\s*(?:;|$|(?:into|using|loop)(?![\w$]))")
_QUERY_LITERAL = lazy_pattern(rf"\s*{_LITERAL}\s*(?:::\s*text\s*)?[,)]")
# format(): %[position$][flags][width]type
_FORMAT_SPEC = lazy_pattern(r"%(?:\d+\$)?-?(?:\d+|\*(?:\d+\$)?)?(.)", re.DOTALL)
_FORMATTED_NAME = "tg215_formatted_name"
_SET_FORMATTED = lazy_pattern(
    rf"(?<![\w$])(?:set|reset)\s+(?:(?:local|session)\s+)?{_FORMATTED_NAME}(?![\w$])"
)


_HELP = (
    "leave the tenant setting to the application (the guard's tenant()) and read it with "
    "current_setting(); run session maintenance from the application, in unscoped()"
)
# when PostgreSQL runs each kind of schema code, for a statement whose text does not show it
_RUN_BY = {
    "view": "for a statement reading the view",
    "rule": "for a statement on the table the rule rewrites",
    "default of column": "for an INSERT leaving the column out",
    "check constraint": "for each value it checks",
    "policy": "for a statement on the table",
    "trigger": "for the trigger's event",
    "default of domain": "for an INSERT leaving a column of the domain out",
    "aggregate": "for a call of it (by a built-in's name, when it overloads one)",
    "operator": "for an expression using it",
}


def check(ctx: AuditContext) -> Iterator[Finding]:
    guarded = _guarded_settings(ctx)
    code_reasons = [
        (code, list(dict.fromkeys(code_changes(code, guarded)))) for code in ctx.catalog.schema_code
    ]
    # a function's argument defaults are read with its body, into its own finding
    defaults: dict[int, list[str]] = {}
    for code, reasons in code_reasons:
        if code.function is not None:
            defaults.setdefault(code.function, []).extend(
                f"{r} in its argument defaults" for r in reasons
            )
    for function in ctx.catalog.functions:
        body = list(
            dict.fromkeys([*_body_changes(function, guarded), *defaults.pop(function.oid, [])])
        )
        reasons = [*_own_settings(function, guarded), *body]
        if not reasons:
            continue
        consequence = (
            ": run by schema code a statement does not name (a trigger, view, default, "
            "operator, cast, CHECK), it changes the session the runtime guard keeps trusting"
            if body
            else ""
        )
        yield from ctx.report(
            RULE,
            function,
            f"function {function.signature} {'; '.join(reasons)}{consequence}",
            _HELP,
        )
    for code, reasons in code_reasons:
        if not reasons or (code.function is not None and code.function not in defaults):
            continue  # nothing found, or reported with its function
        yield from _report_code(ctx, code, reasons)


def _report_code(ctx: AuditContext, code: SchemaCode, reasons: list[str]) -> Iterator[Finding]:
    relation = ctx.catalog.relation(code.relation) if code.relation is not None else None
    subject: Relation | SchemaCode = relation or code
    on: SchemaCode | RowPolicy | RewriteRule = code
    if relation is None:
        what = code.describe()
    elif code.kind == "view":
        what = f"view {relation.qualified}"
    else:
        what = f"{code.describe()} on {relation.qualified}"
        if code.kind == "policy":  # its comment is read with the table's policies
            on = next((p for p in relation.policies if p.name == code.name), code)
        elif code.kind == "rule":  # and a rule's with its rules
            on = next((r for r in relation.rules if r.name == code.name), code)
    yield from ctx.report(
        RULE,
        subject,
        f"{what} {'; '.join(reasons)}: PostgreSQL runs it {_RUN_BY.get(code.kind, '')}, in a "
        "statement whose text does not show it, and changes the session the runtime guard "
        "keeps trusting",
        _HELP,
        on=on,
    )


def code_changes(code: SchemaCode, guarded: dict[str, str]) -> Iterator[str]:
    """How schema code calling a built-in that changes a setting or runs text as SQL (found in
    its stored expression) can change a guarded setting, read in its definition as PostgreSQL
    prints it; without one (an aggregate, an operator), or when the definition does not show
    the call, it is reported as a call the audit cannot read."""
    if code.definition is None:
        for called in code.calls:
            yield f"is built on the built-in {called}(), {_UNREAD.get(called, _RUNS_UNREAD)}"
        return
    yield from sql_changes(code.definition, guarded)
    lexed, _ = lex(code.definition)
    for called in code.calls:
        shown = (
            rf"(?<![\w$]){called}\s*\("
            if called != "pg_settings"
            else r"(?<![\w$])pg_settings(?![\w$])"
        )
        if not re.search(shown, lexed):
            what = "reads pg_settings" if called == "pg_settings" else f"calls {called}()"
            yield f"{what}, which its definition as PostgreSQL prints it does not show"


_RUNS_UNREAD = "which runs text as SQL the audit cannot read"
_UNREAD = {
    "set_config": "which can change any setting (the audit cannot read which)",
    "pg_settings": "whose UPDATE changes any setting",
}


def _guarded_settings(ctx: AuditContext) -> dict[str, str]:
    """Each setting whose change breaks the guard, with what it is to it."""
    tenant = {
        m.group(1).lower()
        for expression in ctx.policy.tenant_expressions
        for m in _EXPRESSION_SETTING.finditer(expression)
    } or {_DEFAULT_SETTING}
    guarded = {name: "the tenant setting" for name in sorted(tenant)}
    for name in RELIED_ON_SETTINGS:
        guarded.setdefault(name, "a setting the runtime guard relies on")
    return guarded


def _own_settings(function: Function, guarded: dict[str, str]) -> Iterator[str]:
    """What the function's own settings (proconfig) change while it runs."""
    for entry in function.config:
        name, _, value = entry.partition("=")
        name = name.strip().lower()
        if guarded.get(name) == "the tenant setting":
            yield (
                f"sets {name} = '{value}' while it runs (ALTER FUNCTION … SET): it reads and "
                "writes that tenant's rows whatever the caller's tenant"
            )
        elif name == "session_replication_role" and value.strip().lower() == "replica":
            yield (
                "sets session_replication_role = replica while it runs: its writes skip "
                "foreign keys and triggers"
            )


def _body_changes(function: Function, guarded: dict[str, str]) -> Iterator[str]:
    language = function.language
    source = function.source or _sql_standard_body(function.definition)
    if language in _SQL:
        yield from sql_changes(source, guarded)
    elif language == "internal":
        called = SETTING_BUILTINS.get(source.strip())
        if called is not None:
            yield f"is the built-in {called}() under another name"
    elif language in _SCRIPTS:
        yield from _script_changes(source.lower(), language, guarded)
    else:  # C, or a language whose text is not code the audit can read
        yield f"is written in {language}, which the audit cannot read"


def _sql_standard_body(definition: str) -> str:
    """The body of a SQL-standard function (`BEGIN ATOMIC … END`, `RETURN …`), whose source is
    empty: pg_get_functiondef prints the header's lines indented, then the body."""
    lines = definition.split("\n")
    for number, line in enumerate(lines[1:], 1):
        if line and not line.startswith(" "):
            return "\n".join(lines[number:])
    return definition


def _script_changes(text: str, language: str, guarded: dict[str, str]) -> Iterator[str]:
    """A script's SQL is in its strings: any mention counts, and SQL handed to the SPI is text
    built at run time."""
    for name, what in guarded.items():
        if name in text:
            yield f"names {name} ({what})"
    for word in ("set_config", "pg_settings"):
        if word in text:
            yield f"names {word}"
    spi = _SPI.search(text)
    if spi is not None:
        yield f"runs SQL through {spi.group(1)} in {language}, SQL the audit cannot read"


def sql_changes(source: str, guarded: dict[str, str]) -> Iterator[str]:
    """How SQL or PL/pgSQL text can change a guarded setting. The text a string literal holds
    that EXECUTE or query_to_xml runs is read too (a worklist: nesting is the author's)."""
    texts = [source]
    while texts:
        code, strings = lex(texts.pop())
        yield from _changes(code, strings, guarded)
        for runs in _RUNS_TEXT.finditer(code):
            if runs.group(1) == "ts_rewrite":
                if _arguments(code, runs.end()) == 2:  # ts_rewrite(query, 'SELECT …')
                    yield "runs text as SQL (ts_rewrite), SQL the audit cannot read"
                continue
            query = _QUERY_LITERAL.match(code, runs.end())
            text = strings[int(query.group(1))] if query is not None else None
            if text is None:
                yield f"runs text as SQL ({runs.group(1)}), SQL the audit cannot read"
            else:
                texts.append(text)
        for execute in _EXECUTE.finditer(code):
            text = _executed(code, execute.end(), strings)
            if text is None:
                yield "runs SQL built at run time (EXECUTE), SQL the audit cannot read"
            else:
                texts.append(text)


def _changes(code: str, strings: list[str | None], guarded: dict[str, str]) -> Iterator[str]:
    for call in _SET_CONFIG.finditer(code):
        first = _FIRST_LITERAL.match(code, call.end())
        name = strings[int(first.group(1))] if first is not None else None
        if name is None or not _PLAIN_NAME.fullmatch(name):
            yield "calls set_config() with a setting name the audit cannot read"
        elif name in guarded:
            yield f"calls set_config('{name}', …) ({guarded[name]})"
    for name, what in guarded.items():
        spelled = r"\s*\.\s*".join(re.escape(part) for part in name.split("."))
        for mention in re.finditer(rf"(?<![\w$.]){spelled}(?![\w$.])", code):
            verb = _VERB.search(code, 0, mention.start())
            said = (verb.group(1) or "").upper() if verb is not None else ""
            if said or not re.search(r"(?<![\w$])show\s+$", code[: mention.start()]):
                yield f"{said or 'names'} {name} ({what})"
    if _SET_FORMATTED.search(code):
        yield "runs SET or RESET of a setting named at run time (format's %I)"
    if _RESET_ALL.search(code):
        yield "runs RESET ALL"
    if _SET_NAMES.search(code):
        yield f"runs SET NAMES ({guarded['client_encoding']}: client_encoding)"
    if _UPDATE_SETTINGS.search(code):
        yield "updates pg_settings (each row updated calls set_config())"


def _executed(code: str, start: int, strings: list[str | None]) -> str | None:
    """The SQL an EXECUTE runs when it is a string literal, or format() of one whose values
    are only quoted (`%I`, `%L`); None when it is built otherwise."""
    literal = _EXECUTE_LITERAL.match(code, start)
    if literal is not None:
        text, end = strings[int(literal.group(1))], literal.end()
    else:
        call = _EXECUTE_FORMAT.match(code, start)
        if call is None:
            return None
        template = strings[int(call.group(1))]
        end = _closing(code, call.end())
        if template is None or end < 0:
            return None
        text = _formatted(template)
    if text is None or not _EXECUTE_END.match(code, end):
        return None
    return text


def _formatted(template: str) -> str | None:
    """format()'s template with `%I` a name the checks know and `%L` a string they cannot read
    (None when it has `%s`, which inserts text as it is)."""
    parts: list[str] = []
    last = 0
    for spec in _FORMAT_SPEC.finditer(template):
        parts.append(template[last : spec.start()])
        kind = spec.group(1)
        if kind == "%":
            parts.append("%")
        elif kind.lower() == "i":
            parts.append(f" {_FORMATTED_NAME} ")
        elif kind.lower() == "l":
            parts.append(" E'\\x' ")  # a string the lexer does not read
        else:
            return None
        last = spec.end()
    parts.append(template[last:])
    return "".join(parts)


def _closing(code: str, start: int) -> int:
    """The offset after the `)` closing the call whose `(` ends at `start`, or -1."""
    depth = 0
    for at in range(start, len(code)):
        if code[at] == "(":
            depth += 1
        elif code[at] == ")":
            if depth == 0:
                return at + 1
            depth -= 1
    return -1


def _arguments(code: str, start: int) -> int:
    """How many arguments the call whose `(` ends at `start` has."""
    depth, count = 0, 1
    for at in range(start, len(code)):
        char = code[at]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return count
            depth -= 1
        elif char == "," and depth == 0:
            count += 1
    return count


@dataclass
class _Lexed:
    parts: list[str]
    strings: list[str | None]

    def string(self, value: str | None) -> None:
        self.parts.append(f" '#{len(self.strings)}' ")
        self.strings.append(value)


def lex(text: str) -> tuple[str, list[str | None]]:
    """The text as code, lower-cased: comments a space, quoted names unquoted, each string
    `'#N'`; and the strings' values (None for one whose value is not read: `E'…'` with a
    backslash, `U&'…'`). A string or comment that never closes ends the code."""
    lexed = _Lexed([], [])
    pos, length = 0, len(text)
    while pos < length:
        match = _SPECIAL.search(text, pos)
        if match is None:
            break
        token, at = match.group(), match.start()
        lexed.parts.append(text[pos:at].lower())
        if token == "--":
            newline = _LINE_END.search(text, at)
            pos = length if newline is None else newline.end()
            lexed.parts.append(" ")
            continue
        if token == "/*":
            depth, pos = 0, length
            for mark in _NESTED.finditer(text, at):
                depth += 1 if mark.group() == "/*" else -1
                if depth == 0:
                    pos = mark.end()
                    break
            lexed.parts.append(" ")
            continue
        if token[0] in "EeUu$" and at > 0 and _IDENT_CHAR.match(text, at - 1):
            lexed.parts.append(text[at].lower())  # inside a name (`name$`, `type'…'`)
            pos = at + 1
            continue
        if token == '"':
            quoted = _DOUBLE.match(text, at)
            end = quoted.end() if quoted is not None else length
            lexed.parts.append(text[at + 1 : end - 1].replace('""', '"').lower())
            pos = end
            continue
        if token == "$":
            tag = _DOLLAR_TAG.match(text, at)
            if tag is None:
                lexed.parts.append("$")
                pos = at + 1
                continue
            closing = text.find(tag.group(), tag.end())
            end = length if closing < 0 else closing
            lexed.string(text[tag.end() : end].lower())
            pos = end + len(tag.group())
            continue
        if token[0] in "Ee":
            quoted = _ESCAPED.match(text, at)
            end = quoted.end() if quoted is not None else length
            value = text[at + 2 : end - 1]
            lexed.string(None if "\\" in value else value.replace("''", "'").lower())
            pos = end
            continue
        start = at + len(token) - 1  # the quote of `'…'` or `U&'…'`
        quoted = _SINGLE.match(text, start)
        end = quoted.end() if quoted is not None else length
        plain = token == "'"
        lexed.string(text[start + 1 : end - 1].replace("''", "'").lower() if plain else None)
        pos = end
    lexed.parts.append(text[pos:].lower())
    return "".join(lexed.parts), lexed.strings
