"""Schema code that PostgreSQL runs without the statement's text naming it, and that may change
the session.

The guard takes a statement as *plain* (`runtime.session`) when its text calls only built-in
functions that touch no session state: after it, the guard still trusts what it knows of the
session (the tenant setting's value, how strings are lexed) and the pool's reset has nothing to
undo. But PostgreSQL also runs the schema's own functions where the text does not name them:
a trigger, an operator or a cast, a domain's or a table's CHECK, a column default or a
generated column, a view's body, a row-level security policy, a type's input function, and an
overload of a built-in's name (`public.length(bigint)` is called by `length(1::bigint)`). If
such a function may change a setting (`set_config`, `SET`/`RESET`, dynamic SQL, a language
the guard cannot read), no statement is plain on that database.

This module reads the catalog once per connection (`QUERY`) and tells which functions those
are (`implicit_changers`). Pure but for the query text: rows in, names out.

What it cannot see: code created after the connection read the catalog (a migration run while
the application runs: connections made after it see it; with the catalog watch installed,
`CATALOG_WATCH`, a pool's connection reads it again before the next lease's first statement,
and any guarded connection before its next statement once the watch's notification, sent at
the DDL's commit, has reached it: `WATCH_CHANNEL`), and a setting's name assembled at run
time inside a function that neither calls `set_config` nor runs dynamic SQL (there is no other
way to change a setting from SQL).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.policy import ForeignKey, Policy
from tenantguard.engine.search_path import set_search_paths

__all__ = [
    "CODE_QUERY",
    "DANGER",
    "QUERY",
    "QUERY_BEFORE_14",
    "STATEFUL_CODE_QUERY",
    "implicit_changers",
    "run_unnamed",
    "setting_code",
    "stateful_code",
    "stateful_implicit",
    "unnamed_calls",
    "view_writes",
]

# Every function of the database outside pg_catalog and information_schema that no extension
# owns, with its text (the SQL-standard body deparsed; an aggregate's support functions named),
# whether some object other than a function depends on it (pg_depend: triggers, operators,
# casts, column defaults, constraints, views and rules, policies, types, indexes), and whether
# pg_catalog has a function of its name, and whether an object that a read runs unnamed depends
# on it: an operator, a cast, a domain's CHECK, a policy, a type (not a trigger, a column default
# or a rule, which run on writes, nor a view, whose functions `stateful_code` follows by name).
# And whether an operator, a cast, a type or a domain's CHECK depends on it: what any statement
# may run unnamed (a policy runs only where a statement reads its table).
# Extensions' functions are trusted like built-ins; so are event trigger functions, which no
# statement can call (they run on DDL, which is never plain: the catalog watch's own, h33d).
QUERY = """
SELECT p.proname::text, n.nspname::text, l.lanname::text,
       CASE
         WHEN p.prokind = 'a' THEN (
           SELECT concat_ws(' ', a.aggtransfn::text, a.aggfinalfn::text, a.aggcombinefn::text,
                            a.aggserialfn::text, a.aggdeserialfn::text, a.aggmtransfn::text,
                            a.aggminvtransfn::text, a.aggmfinalfn::text)
           FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid)
         WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid)
         ELSE p.prosrc
       END,
       EXISTS (
         SELECT 1 FROM pg_catalog.pg_depend d
         WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = p.oid
           AND d.classid <> 'pg_catalog.pg_proc'::regclass AND d.deptype IN ('n', 'a')),
       EXISTS (
         SELECT 1 FROM pg_catalog.pg_proc b
         WHERE b.pronamespace = 'pg_catalog'::regnamespace AND b.proname = p.proname),
       EXISTS (
         SELECT 1 FROM pg_catalog.pg_depend d
         WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = p.oid
           AND d.classid NOT IN ('pg_catalog.pg_proc'::regclass,
                                 'pg_catalog.pg_trigger'::regclass,
                                 'pg_catalog.pg_attrdef'::regclass,
                                 'pg_catalog.pg_rewrite'::regclass)
           AND d.deptype IN ('n', 'a')),
       EXISTS (
         SELECT 1 FROM pg_catalog.pg_depend d
         WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = p.oid
           AND d.deptype IN ('n', 'a')
           AND (d.classid IN ('pg_catalog.pg_operator'::regclass, 'pg_catalog.pg_cast'::regclass,
                              'pg_catalog.pg_type'::regclass)
                OR d.classid = 'pg_catalog.pg_constraint'::regclass AND EXISTS (
                  SELECT 1 FROM pg_catalog.pg_constraint k
                  WHERE k.oid = d.objid AND k.contypid <> 0)))
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND p.prorettype <> 'pg_catalog.event_trigger'::pg_catalog.regtype
  AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend e
    WHERE e.classid = 'pg_catalog.pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
"""

# the built-ins that change a setting or run text as SQL (`audit.model.SETTING_BUILTINS`), as
# constants: a scan of pg_proc for them, in each row's subquery, costs seconds
BUILTINS = (
    "set_config(text, text, boolean)",
    "query_to_xml(text, boolean, boolean, text)",
    "query_to_xmlschema(text, boolean, boolean, text)",
    "query_to_xml_and_xmlschema(text, boolean, boolean, text)",
    "ts_stat(text)",
    "ts_stat(text, text)",
    "ts_rewrite(tsquery, text)",
)
# (what a stored node tree holds where it calls one, its name): `{FUNCEXPR :funcid 2078 …`, and
# `:relid N ` where it reads or writes pg_settings
DANGER = (
    "VALUES "
    + ", ".join(
        f"(':funcid ' || 'pg_catalog.{f}'::regprocedure::oid || ' ', '{f.partition('(')[0]}')"
        for f in BUILTINS
    )
    + ", (':relid ' || 'pg_catalog.pg_settings'::regclass::oid || ' ', 'pg_settings')"
)
_BUILTIN_OIDS = ", ".join(f"'pg_catalog.{f}'::regprocedure" for f in BUILTINS)

# Schema code that is no function and calls one of those built-ins itself, where no statement
# names it: a view or rule, a column's or a domain's default, a CHECK, a policy, a trigger's
# WHEN, a function's argument defaults (found in their node trees); an operator, aggregate or
# cast built on one. Objects made after initdb only (oid 16384 and up). One row each: a name.
CODE_QUERY = f"""
SELECT s.kind || ' ' || s.name || ' calls ' || b.name
FROM (
  SELECT 'view or rule of' AS kind, r.ev_class::regclass::text AS name, r.ev_action::text AS tree
  FROM pg_catalog.pg_rewrite r WHERE r.oid >= 16384
  UNION ALL
  SELECT 'default of', d.adrelid::regclass::text, d.adbin::text
  FROM pg_catalog.pg_attrdef d WHERE d.oid >= 16384
  UNION ALL
  SELECT 'constraint', c.conname::text, c.conbin::text
  FROM pg_catalog.pg_constraint c WHERE c.oid >= 16384 AND c.conbin IS NOT NULL
  UNION ALL
  SELECT 'policy', p.polname::text, concat(p.polqual::text, ' ', p.polwithcheck::text)
  FROM pg_catalog.pg_policy p
  UNION ALL
  SELECT 'trigger', t.tgname::text, t.tgqual::text
  FROM pg_catalog.pg_trigger t WHERE t.oid >= 16384 AND t.tgqual IS NOT NULL
  UNION ALL
  SELECT 'default of domain', t.typname::text, t.typdefaultbin::text
  FROM pg_catalog.pg_type t WHERE t.oid >= 16384 AND t.typdefaultbin IS NOT NULL
  UNION ALL
  SELECT 'argument defaults of', p.proname::text, p.proargdefaults::text
  FROM pg_catalog.pg_proc p WHERE p.oid >= 16384 AND p.proargdefaults IS NOT NULL
) s
JOIN ({DANGER}) AS b(pattern, name) ON strpos(s.tree, b.pattern) > 0
UNION ALL
SELECT 'operator ' || o.oprname::text || ' is ' || o.oprcode::text
FROM pg_catalog.pg_operator o WHERE o.oid >= 16384 AND o.oprcode::oid IN ({_BUILTIN_OIDS})
UNION ALL
SELECT 'aggregate ' || a.aggfnoid::text || ' is built on a built-in changing a setting'
FROM pg_catalog.pg_aggregate a
WHERE a.aggfnoid >= 16384
  AND (a.aggtransfn::oid IN ({_BUILTIN_OIDS}) OR a.aggfinalfn::oid IN ({_BUILTIN_OIDS})
       OR a.aggmtransfn::oid IN ({_BUILTIN_OIDS}) OR a.aggmfinalfn::oid IN ({_BUILTIN_OIDS}))
UNION ALL
SELECT 'cast ' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL)
       || ' is ' || c.castfunc::regproc::text
FROM pg_catalog.pg_cast c WHERE c.oid >= 16384 AND c.castfunc IN ({_BUILTIN_OIDS})
"""

# Schema code that is no function and that a read runs without naming it — a policy, a domain's
# CHECK, an operator, a cast, an aggregate — calling a built-in that leaves session state the
# pool's reset undoes (a sequence's currval, an advisory lock, a large object's descriptor) or
# changes a setting: on such a database the pool's reset is never skipped (round 30). Views are
# read by `stateful_code`; triggers, column defaults and tables' CHECKs run on writes, which
# keep the reset anyway. The built-ins are found once, by name, in pg_catalog.
STATEFUL_CODE_QUERY = """
WITH b(oid, pattern, name) AS (
  SELECT p.oid, ':funcid ' || p.oid || ' ', p.proname::text
  FROM pg_catalog.pg_proc p
  WHERE p.pronamespace = 'pg_catalog'::regnamespace
    AND (p.proname IN ('nextval', 'setval', 'set_config', 'query_to_xml', 'query_to_xmlschema',
                       'query_to_xml_and_xmlschema', 'ts_stat', 'ts_rewrite')
         OR p.proname ~ '^(pg_(try_)?advisory_|lo_)')
)
SELECT s.kind || ' ' || s.name || ' calls ' || b.name
FROM (
  SELECT 'policy' AS kind, p.polname::text AS name,
         concat(p.polqual::text, ' ', p.polwithcheck::text) AS tree
  FROM pg_catalog.pg_policy p
  UNION ALL
  SELECT 'constraint of domain', c.conname::text, c.conbin::text
  FROM pg_catalog.pg_constraint c
  WHERE c.oid >= 16384 AND c.contypid <> 0 AND c.conbin IS NOT NULL
) s
JOIN b ON strpos(s.tree, b.pattern) > 0
UNION ALL
SELECT 'operator ' || o.oprname::text || ' is ' || o.oprcode::text
FROM pg_catalog.pg_operator o JOIN b ON b.oid = o.oprcode::oid WHERE o.oid >= 16384
UNION ALL
SELECT 'aggregate ' || a.aggfnoid::text || ' is built on ' || b.name
FROM pg_catalog.pg_aggregate a
JOIN b ON b.oid IN (a.aggtransfn::oid, a.aggfinalfn::oid, a.aggmtransfn::oid, a.aggmfinalfn::oid)
WHERE a.aggfnoid >= 16384
UNION ALL
SELECT 'cast ' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL)
       || ' is ' || b.name
FROM pg_catalog.pg_cast c JOIN b ON b.oid = c.castfunc WHERE c.oid >= 16384
"""

# before PostgreSQL 14 there are no SQL-standard bodies: the source is the text
QUERY_BEFORE_14 = QUERY.replace(
    "WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid)\n", ""
)

# the languages whose text the screen below reads; any other may do anything
_READ_LANGUAGES = frozenset({"sql", "plpgsql"})

# what may change a setting in SQL or PL/pgSQL text (lower case): set_config(), a SET or RESET
# of a setting (a dotted custom one, the ones the guard relies on, SESSION/LOCAL, ROLE), and
# dynamic SQL (EXECUTE), which may run any of them. Wider than needed: an UPDATE's `SET
# col.field =` matches too, which only costs the guard its hot path on that database.
_CHANGES = lazy_pattern(
    r"set_config"
    r"|\breset\b"
    r"|\bexecute\b"
    r"|\bset\s+(?:session|local|role|search_path|standard_conforming_strings"
    r"|client_encoding|session_replication_role|\"?[a-z_][\w$]*\"?\s*\.\s*\"?[a-z_][\w$]*\"?\s*"
    r"(?:=|to\b))",
    re.DOTALL,
)
_WORD = lazy_pattern(r"[a-z_][\w$]*")
# comments: a word in one calls nothing (a string may: it is kept)
_COMMENT = lazy_pattern(r"--[^\n]*|/\*.*?\*/", re.DOTALL)

Row = Sequence[object]  # (name, schema, language, text, depended on, named like a built-in)


def implicit_changers(rows: Iterable[Row]) -> list[str]:
    """The functions (`schema.name`, sorted) that may change a setting and that PostgreSQL may
    run without the statement naming them: depended on by a trigger, operator, cast, default,
    constraint, view, policy or type, or named like a built-in. A function calling one that
    changes a setting changes it too (by name, to a fixed point)."""
    functions: list[tuple[str, str, bool, set[str]]] = []
    changers: set[str] = set()  # folded names
    for row in rows:
        name, schema, language, text, depended, builtin = row[:6]
        folded = str(name).lower()
        body = str(text or "").lower()
        if str(language) not in _READ_LANGUAGES or _CHANGES.search(body) or _ESCAPED.search(body):
            changers.add(folded)
        implicit = bool(depended) or bool(builtin)
        words = set(_WORD.findall(_COMMENT.sub(" ", body)))
        functions.append((f"{schema}.{name}", folded, implicit, words))
    grown = True
    while grown:  # a function calling one that changes a setting
        grown = False
        for _, folded, _, words in functions:
            if folded not in changers and words & changers:
                changers.add(folded)
                grown = True
    return sorted({qualified for qualified, folded, implicit, _ in functions
                   if implicit and folded in changers})  # fmt: skip


# Functions whose own settings (`ALTER FUNCTION f SET app.tenant_id = …`) name a custom setting:
# they run under that value, whatever the session's is. A SECURITY DEFINER function runs as its
# owner as one configured with `role = owner` does: told so (`role=`) when the owner is out of
# Row-Level Security — a superuser, a BYPASSRLS role, or the owner of a table whose RLS is not
# forced (helper h33l: `SELECT peek2(1, 1)`, owned by the superuser, read every clinic's names)
CONFIG_QUERY = """
SELECT p.proname::text,
       concat_ws(',', array_to_string(p.proconfig, ','),
                 CASE WHEN p.prosecdef AND (r.rolsuper OR r.rolbypassrls OR EXISTS (
                   SELECT 1 FROM pg_catalog.pg_class c
                   WHERE c.relowner = p.proowner AND c.relrowsecurity
                     AND NOT c.relforcerowsecurity))
                 THEN 'role=' || pg_catalog.quote_ident(r.rolname) END)
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
WHERE (p.proconfig IS NOT NULL OR p.prosecdef)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


# The views and materialized views of the database's own schemas, with their definitions: one
# filtered by `current_setting('app.tenant_id')` reads the setting (round 22)
VIEW_QUERY = """
SELECT c.relname::text, pg_catalog.pg_get_viewdef(c.oid), c.relkind::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_'
UNION ALL
SELECT c.relname::text, pg_catalog.pg_get_ruledef(r.oid), 'rule'::text
FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_'
UNION ALL
SELECT c.relname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid), 'default'::text
FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_class c ON c.oid = d.adrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""
# (with the views: the tables' rules and column defaults, each under its table's name — a
# write of the table runs them: helper 112, a rule reading the setting; the third column says
# which: a relkind, 'rule' or 'default')


def setting_code(
    functions: Iterable[Row], views: Iterable[Sequence[object]], setting: str
) -> tuple[frozenset[str], frozenset[str], frozenset[str], bool]:
    """(readers, changers) of the tenant setting, folded names: the views and functions whose
    text names it (a statement reading one reads the setting: the guard sets it first), and the
    functions that set it (`set_config('app.tenant_id', …)`, `SET app.tenant_id`), or call one
    that does (round 22, helper 106: `SELECT set_workspace($1)` then a view pinned by the
    setting read another workspace's rows through the guard)."""
    name = setting.lower()
    sets = re.compile(
        r"set_config\s*\(\s*'" + re.escape(name) + r"'"
        r"|\bset\s+(?:local\s+|session\s+)?" + re.escape(name) + r"\b"
    )
    readers: set[str] = set()
    changers: set[str] = set()
    words: dict[str, set[str]] = {}
    mentions = False  # any code of the database naming the setting, or building setting names
    for row in functions:
        folded, body = str(row[0]).lower(), _COMMENT.sub(" ", str(row[3] or "").lower())
        dynamic = _DYNAMIC_SETTING.search(body)  # `EXECUTE format('SHOW %I.%I', …)` (helper 112)
        escaped = _ESCAPED.search(body)  # `U&"\0073et_config"(…)`: names the text does not show
        if name in body or _BUILT_SETTING.search(body) or dynamic or escaped:
            readers.add(folded)
            mentions = True
            if (
                sets.search(body)
                or _BUILT_SETTING.search(body)
                or escaped
                or (dynamic and dynamic.group(1) != "show")
            ):
                changers.add(folded)
        words[folded] = set(_WORD.findall(body))
    _close(changers, words)  # a function calling one that sets it sets it too
    for row in views:
        view, definition = row[0], row[1]
        text = str(definition or "").lower()
        if name in text or "current_setting" in text:
            readers.add(str(view).lower())
            mentions = True
        words.setdefault(str(view).lower(), set()).update(_WORD.findall(text))
    # a view or function naming one that reads it reads it too (helper 110: a view filtered
    # by `tenant_id = current_clinic()`, a view of such a view)
    _close(readers, words)
    # a function that sets the setting and reads it (or anything reading it) reads a tenant
    # its arguments name: each call of it is refused
    pure = readers - changers
    reading = {
        f
        for f in changers
        if "current_setting" in words.get(f, set()) or words.get(f, set()) & pure
    }
    # a function that sets it reads what it set: its calls are judged as setting it
    return frozenset(readers - changers), frozenset(changers), frozenset(reading), mentions


# a Unicode-escaped name or string (`U&"\0073et\005fconfig"`, `U&'app.tenant\005fid'`): a call or
# a setting the text does not spell (helper 114: set_config so hidden set the tenant setting
# for the session, and the next request of the pooled connection read another tenant's rows)
_ESCAPED = lazy_pattern(r"\bu&\s*['\"]")


# dynamic SQL that shows, sets or resets a setting: its name may be built from pieces
# (`EXECUTE 'SET app.tenant' || '_id = ' || …`, `format('SHOW %I.%I', 'app', key)`)
_DYNAMIC_SETTING = lazy_pattern(r"\bexecute\b[^;]*?\b(show|set|reset)\b")


def role_changers(
    functions: Iterable[Row],
    views: Iterable[Sequence[object]] = (),
    configs: Iterable[Sequence[object]] = (),
) -> frozenset[str]:
    """The functions (folded names) that change the session's role or session user (`RESET
    ROLE`, `SET ROLE`, set_config('role', …): `runtime.session.changes_role`), or call one
    that does: with a role a pool's `init=` set, a request calling one is refused (helper
    h32d: `SELECT escalate()` ran the request's later statements as the login role). And the
    views (`views`: rows of `VIEW_QUERY`) whose definition calls one (helper h32h: `SELECT
    done FROM escalation` ran it). And the functions whose configuration (`configs`: rows of
    `CONFIG_QUERY`) sets the role or the session user (`ALTER FUNCTION peek() SET role =
    postgres`): the call runs as that role, whatever role the caller has — PostgreSQL checks no
    membership (helper h33d: `SELECT peek()` under the init's RLS role returned every clinic's
    names)."""
    from tenantguard.runtime.session import changes_role

    found: set[str] = {
        str(row[0]).lower()
        for row in configs
        if _CONFIGURED_ROLE.search(str(row[1] or "").lower()) is not None
    }
    words: dict[str, set[str]] = {}
    for row in functions:
        folded, body = str(row[0]).lower(), _COMMENT.sub(" ", str(row[3] or "").lower())
        if changes_role(body) or _may_change_role(str(row[2]), body):
            found.add(folded)
        words[folded] = set(_WORD.findall(body))
    for row in views:
        if len(row) < 3 or row[2] == "v":
            text = _COMMENT.sub(" ", str(row[1] or "").lower())
            words.setdefault(str(row[0]).lower(), set()).update(_WORD.findall(text))
    _close(found, words)
    return frozenset(found)


# a trigger's DDL (`pg_get_triggerdef`): the relation (group 1, its last name part) and the
# function it runs (group 2, its last name part)
_TRIGGER_DEF = lazy_pattern(
    r"(?is)create\s+(?:constraint\s+)?trigger\s.*?\son\s+(?:(?:\"(?:[^\"]|\"\")*\"|[^\s.\"]+)\.)?"
    r"(\"(?:[^\"]|\"\")*\"|[^\s.\"]+)\s.*?\sexecute\s+(?:function|procedure)\s+"
    r"(?:(?:\"(?:[^\"]|\"\")*\"|[^\s.\"(]+)\.)?(\"(?:[^\"]|\"\")*\"|[^\s.\"(]+)\s*\("
)


# a function's configuration (`array_to_string(proconfig, ',')`) setting the role or the session
# user (a value may itself hold a comma: the name is looked for at the start or after one)
_CONFIGURED_ROLE = lazy_pattern(r'(?:^|,)\s*"?(?:role|session_authorization)"?\s*=')


def role_changing_writes(
    triggers: Iterable[Sequence[object]], changers: frozenset[str]
) -> set[str]:
    """The relations (folded names) a trigger of which runs one of `changers` (helper h32h:
    an INSERT INTO visits whose BEFORE trigger ran RESET ROLE). `triggers`: rows of
    `TRIGGER_QUERY`."""
    found: set[str] = set()
    for row in triggers:
        for relation, function in _TRIGGER_DEF.findall(str(row[0] or "")):
            if _unquoted(function) in changers:
                found.add(_unquoted(relation))
    return found


def _unquoted(name: str) -> str:
    """A name lower-cased, a quoted one unquoted, as `role_changers` and the guard's read
    names fold them (more names match than PostgreSQL would match, never fewer)."""
    if name.startswith('"'):
        name = name[1:-1].replace('""', '"')
    return name.lower()


_EXECUTE = lazy_pattern(r"\bexecute\b")
_COMPILED = frozenset({"c", "internal"})
# a set_config() whose setting name is a plain literal that is neither role nor
# session_authorization (`changes_role` finds those)
_NAMED_SET_CONFIG = lazy_pattern(
    r"set_config\s*\(\s*'(?!(?:role|session_authorization)')[a-z_][a-z0-9_.]*'\s*,"
)


def _may_change_role(language: str, body: str) -> bool:
    """Code whose role change its text may hide (helper h32h: `EXECUTE format('RESET %s',
    'role')`, `set_config('ro' || 'le', 'none', false)` ran the request's later statements as
    the login role): dynamic SQL, a set_config() of a name that is not a plain literal, a U&
    escape, a procedural language the guard does not read (PL/Python's `plpy.execute`…;
    compiled code, an extension's such as pgcrypto's, is trusted as the built-ins are)."""
    return (
        language not in _READ_LANGUAGES | _COMPILED
        or _EXECUTE.search(body) is not None
        or _ESCAPED.search(body) is not None
        or body.count("set_config") > len(_NAMED_SET_CONFIG.findall(body))
    )


def stateful_code(functions: Iterable[Row], views: Iterable[Sequence[object]]) -> frozenset[str]:
    """The views and functions (folded names) whose code leaves state in the session that the
    pool's reset undoes — a row written (a sequence advanced: currval/lastval), a temporary
    table, an advisory lock, a listen, a prepared statement, a cursor, a setting changed
    (`set_config`, `SET`, dynamic SQL, a language the guard cannot read) — or that call one: a
    statement naming one keeps the pool's reset (helper 112: a view of a function inserting
    into a serial table, another creating a temp table). A view whose own definition calls a
    built-in that is not a safe one (`nextval`, `pg_try_advisory_lock`: round 30, the reset
    skipped without the tenant setting handed clinic 1's sequence value and lock to clinic 2)
    is one too, as a statement calling it in its own text is not plain."""
    from tenantguard.runtime.session import unsafe_calls

    words: dict[str, set[str]] = {}
    found: set[str] = set()
    for row in functions:
        folded, body = str(row[0]).lower(), _COMMENT.sub(" ", str(row[3] or "").lower())
        if (
            str(row[2]) not in _READ_LANGUAGES
            or _STATEFUL.search(body)
            or _CHANGES.search(body)
            or _ESCAPED.search(body)
        ):
            found.add(folded)
        # (the names it calls as PostgreSQL reads them too: `"Lock It"()`)
        words[folded] = set(_WORD.findall(body)) | unsafe_calls(body)
    schema_functions = set(words)
    for row in views:
        view, text = str(row[0]).lower(), str(row[1] or "").lower()
        calls = unsafe_calls(text)
        words.setdefault(view, set()).update(_WORD.findall(text), calls)
        # a view's body runs where a statement reads it (a materialized view's, a rule's and a
        # column default's only on a refresh or a write, never plain): the schema's functions
        # it calls are followed by name below
        if (len(row) < 3 or row[2] == "v") and calls - schema_functions:
            found.add(view)
    _close(found, words)
    return frozenset(found)


def stateful_implicit(rows: Iterable[Row], stateful: frozenset[str]) -> list[str]:
    """The functions (`schema.name`, sorted) among `stateful` that a read may run without its
    text naming them: an operator's, a cast's, a domain CHECK's, a policy's, a type's, or one
    named like a built-in (round 30: `SELECT 1::counted`, a domain whose CHECK
    advanced a sequence, handed its value to the next request on the pooled connection).
    Triggers and column defaults run on writes, which keep the pool's reset anyway. Rows of
    `QUERY` (its seventh column: depended on by such an object)."""
    return sorted(
        f"{row[1]}.{row[0]}"
        for row in rows
        if str(row[0]).lower() in stateful and (bool(row[5]) or (len(row) > 6 and bool(row[6])))
    )


def run_unnamed(
    rows: Iterable[Row], names: frozenset[str], *, policies: bool = True
) -> tuple[str, ...]:
    """The functions (`schema.name`, sorted) among `names` (folded) that a read may run where
    no statement names them: an operator's, a cast's, a domain CHECK's, a type's, and a
    policy's unless `policies` is false (`QUERY`'s seventh column, or its eighth)."""
    column = 6 if policies else 7
    return tuple(
        sorted(
            f"{row[1]}.{row[0]}"
            for row in rows
            if len(row) > column and row[column] and str(row[0]).lower() in names
        )
    )


def unnamed_calls(rows: Iterable[Row]) -> frozenset[str] | None:
    """The names under which a statement's text calls a schema function it seems not to: those
    named like a built-in (`public.upper(integer)`, run by `upper(42)`); None when any statement
    may run one unnamed (an operator's, a cast's, a type's, a domain CHECK's: `QUERY`'s eighth
    column — not a policy's, run only where a statement reads its table). Helper h33l:
    `set_config('my.stash', upper(42), false)` outside any block stashed every clinic's names,
    taken as a built-in's call. Rows of `QUERY`."""
    named: set[str] = set()
    for row in rows:
        if bool(row[7] if len(row) > 7 else len(row) > 6 and row[6]):
            return None
        if bool(row[5]):
            named.add(str(row[0]).lower())
    return frozenset(named)


# DDL in a function's code, run as it is or as dynamic SQL (a DO block, not an upsert's DO);
# UNLISTEN and DISCARD too: they end the session's LISTEN of the catalog watch's channel
# (h37V: `SELECT quiet()` over `UNLISTEN *` in SQL or PL/pgSQL left the session deaf to DDL)
_DDL = lazy_pattern(
    r"\b(?:create|alter|drop|execute|unlisten|discard"
    r"|do(?!\s+(?:nothing|update|instead|also)\b))\b"
)


def ddl_code(functions: Iterable[Row]) -> frozenset[str]:
    """The functions (folded names) whose code may change the schema — DDL in its text, dynamic
    SQL, a language the guard does not read — or end the session's LISTEN (UNLISTEN,
    DISCARD), or that call one: a statement calling one makes
    the guard's connections read the catalog again, as a statement holding DDL does (helper
    h33k: `SELECT setup_ws()` in clinic 1's block ran `EXECUTE 'CREATE TRIGGER s AFTER INSERT
    ON patients … stash()'`, and clinic 1's next INSERT ran that trigger unread, stashing
    every clinic's names). Rows of `QUERY` (name, schema, language, body)."""
    words: dict[str, set[str]] = {}
    found: set[str] = set()
    for row in functions:
        folded, body = str(row[0]).lower(), _COMMENT.sub(" ", str(row[3] or "").lower())
        if str(row[2]) not in _READ_LANGUAGES | _COMPILED or _DDL.search(body):
            found.add(folded)
        words[folded] = set(_WORD.findall(body))
    _close(found, words)
    return frozenset(found)


def _close(found: set[str], words: dict[str, set[str]]) -> None:
    """Adds to `found` each view or function whose code names one of `found`, to a fixed
    point (a caller of a caller…)."""
    grown = True
    while grown:
        grown = False
        for folded, called in words.items():
            if folded not in found and called & found:
                found.add(folded)
                grown = True


_STATEFUL = lazy_pattern(
    r"\b(?:insert|update|delete|merge|copy|create|nextval|setval|pg_(?:try_)?advisory_\w+|"
    r"listen|unlisten|discard|prepare|execute|set|reset|lo_\w+|dblink_connect\w*|with\s+hold)\b"
)

# UNLISTEN or DISCARD in a function's code: it ends the session's LISTEN of the catalog
# watch's channel
_UNLISTEN = lazy_pattern(r"\b(?:unlisten|discard)\b")


def unlistens_unnamed(functions: Iterable[Row]) -> tuple[str, ...]:
    """The functions (`schema.name`, sorted) whose code runs UNLISTEN or DISCARD, or calls
    one, that an object runs where no statement names them (a trigger, a column default, a
    rule, a view, a policy, an operator…: `QUERY`'s fifth column). h37V: a BEFORE INSERT
    trigger running `UNLISTEN *` left clinic 1's connection deaf to the watch; a view replaced
    after it by another session was read as before (every clinic's names). Dynamic SQL is not
    followed (an audit trigger's EXECUTE would cost each write a round trip)."""
    words: dict[str, set[str]] = {}
    found: set[str] = set()
    rows = list(functions)
    for row in rows:
        folded, body = str(row[0]).lower(), _COMMENT.sub(" ", str(row[3] or "").lower())
        if _UNLISTEN.search(body):
            found.add(folded)
        words[folded] = set(_WORD.findall(body))
    _close(found, words)
    return tuple(
        sorted(f"{row[1]}.{row[0]}" for row in rows if str(row[0]).lower() in found and row[4])
    )


# a setting name built at run time (`set_config('app.' || x, …)`, `current_setting(name)`):
# it may be the tenant setting
_BUILT_SETTING = lazy_pattern(r"(?:set_config|current_setting)\s*\(\s*(?!'[^']*'\s*[,)])")


# the views among the names given ($1), with their definitions: which of them an INSERT or
# UPDATE writes through to a tenant table, and under which names they show its tenant column
WRITE_VIEW_QUERY = """
SELECT c.relname::text, pg_catalog.pg_get_viewdef(c.oid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'v' AND lower(c.relname) = ANY($1::text[])
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""


def view_writes(
    rows: Iterable[Sequence[object]], is_tenant_table: Callable[[str], bool], column: str
) -> dict[str, tuple[str, ...]]:
    """Views that a write goes through to a tenant table (views of views followed), each with
    the names it shows the table's tenant column under (`()`: none; `("?",)`: unknown, its
    definition unread) — `Policy.write_views`, read from the catalog's definitions of the views
    filtered by the tenant setting (round 26: PostgreSQL filters neither an INSERT's values nor
    an UPDATE's new values by the view's WHERE, and a request moved its clinic's patients into
    another clinic with `UPDATE clinic_patients SET tenant_id = tenant_id + 1`). A view that
    is no single-table SELECT is not written through (PostgreSQL refuses it)."""
    import sqlglot
    from sqlglot import exp

    bases: dict[str, tuple[str, dict[str, set[str]]] | None] = {}
    for name, definition in rows:
        view = str(name)
        try:
            tree = sqlglot.parse_one(str(definition or ""), read="postgres")
        except Exception:
            bases[view] = None
            continue
        sources = list(tree.find_all(exp.Table)) if isinstance(tree, exp.Select) else []
        if (
            not isinstance(tree, exp.Select)
            or len(sources) != 1
            or tree.args.get("joins")
            or any(tree.args.get(k) for k in ("group", "having", "distinct", "limit", "with"))
        ):
            bases[view] = ("", {})  # no single-table SELECT: not written through
            continue
        shown: dict[str, set[str]] = {}  # base column -> the names the view shows it under
        for projection in tree.expressions:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner, exp.Star) or (
                isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star)
            ):
                shown.setdefault("*", set()).add("*")
            elif isinstance(inner, exp.Column):
                shown.setdefault(inner.name, set()).add(projection.alias_or_name)
        bases[view] = (sources[0].name, shown)
    found: dict[str, tuple[str, ...]] = {}
    for view in bases:
        wanted: set[str] | None = None  # the names the tenant column goes by, level by level
        current, seen = view, set()
        chain: list[dict[str, set[str]]] = []
        while current in bases and current not in seen:
            seen.add(current)
            based = bases[current]
            if based is None:
                wanted = {"?"}  # unread
                break
            if not based[0]:
                chain = []
                break  # not written through
            current, shown = based[0], based[1]
            chain.append(shown)
        if wanted is None:
            if not chain or current in bases or not is_tenant_table(current):
                continue
            wanted = {column}
            for shown in reversed(chain):
                wanted = set().union(*(shown.get(c, set()) for c in wanted)) | (
                    wanted if "*" in shown else set()
                )
        found[view] = tuple(sorted(wanted))
    return found


# The column sets PostgreSQL checks against a whole table when a write gives them a value
# (round 30): unique indexes and exclusion constraints but the primary key, with their columns,
# those of their expressions and predicate (the index's dependencies on its table), and those a
# generated column among them is computed from (`email_key text GENERATED ALWAYS AS
# (lower(email)) STORED UNIQUE`: a write of email is checked). `spanning_keys` keeps those of
# tenant tables that do not hold the tenant column.
SPANNING_QUERY = """
WITH RECURSIVE keyed AS (
    -- the columns of the key (in_key): its plain columns and those its expressions name,
    -- not its INCLUDE columns; and those of its WHERE, whose write may bring a row under the
    -- key, but which do not make it a key per tenant (h32d: `UNIQUE (code) INCLUDE (org_id)`
    -- and `UNIQUE (code) WHERE org_id IS NOT NULL` check a code against every tenant's rows)
    -- (the relations of initdb, pg_catalog's and information_schema's, have oids below
    -- FirstNormalObjectId, 16384, and are left out here: over their indexes, the planner's
    -- estimate passed jit_above_cost and JIT compiling the query took ~45 ms of each connect;
    -- unnest's estimate of 10 items, not generate_series's 1 000, keeps it low too)
    SELECT i.indexrelid, i.indrelid, a.attnum, true AS in_key
    FROM pg_catalog.pg_index i
    CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS ik(attnum, k)
    JOIN pg_catalog.pg_attribute a
      ON a.attrelid = i.indrelid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE (i.indisunique OR i.indisexclusion) AND NOT i.indisprimary AND i.indrelid >= 16384
      AND ik.k <= i.indnkeyatts
      AND CASE WHEN ik.attnum <> 0 THEN ik.attnum = a.attnum
          ELSE quote_ident(a.attname) = ANY (regexp_split_to_array(
                 pg_catalog.pg_get_indexdef(i.indexrelid, ik.k::int, true), '[^[:alnum:]_$]+'))
               OR (quote_ident(a.attname) <> a.attname::text
                   AND strpos(pg_catalog.pg_get_indexdef(i.indexrelid, ik.k::int, true),
                              quote_ident(a.attname)) > 0)
          END
    UNION
    SELECT i.indexrelid, i.indrelid, d.refobjsubid, false
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_depend d
      ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = i.indrelid
     AND d.refobjsubid > 0
    WHERE (i.indisunique OR i.indisexclusion) AND NOT i.indisprimary AND i.indrelid >= 16384
      AND i.indpred IS NOT NULL AND d.refobjsubid <> ALL (i.indkey::int2[])
), sources AS (
    SELECT k.indexrelid, k.indrelid, k.attnum, k.in_key FROM keyed k
    UNION
    SELECT k.indexrelid, k.indrelid, d.refobjsubid, k.in_key
    FROM keyed k
    JOIN pg_catalog.pg_attribute g
      ON g.attrelid = k.indrelid AND g.attnum = k.attnum AND g.attgenerated <> ''
    JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = k.indrelid AND ad.adnum = k.attnum
    JOIN pg_catalog.pg_depend d
      ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = k.indrelid
     AND d.refobjsubid > 0
), owners AS (
    -- a key of a partition or an inheriting table checks the writes of its ancestors too
    SELECT DISTINCT indrelid AS relid, indrelid AS owner FROM keyed
    UNION
    SELECT o.relid, h.inhparent
    FROM owners o JOIN pg_catalog.pg_inherits h ON h.inhrelid = o.owner
)
SELECT c.relname::text, array_agg(DISTINCT a.attname::text),
       array_agg(DISTINCT a.attname::text) FILTER (WHERE s.in_key)
FROM sources s
JOIN owners o ON o.relid = s.indrelid
JOIN pg_catalog.pg_attribute a ON a.attrelid = s.indrelid AND a.attnum = s.attnum
JOIN pg_catalog.pg_class c ON c.oid = o.owner
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
GROUP BY s.indexrelid, c.relname
"""


K = TypeVar("K")


def merged_by_table(
    into: Mapping[str, tuple[K, ...]], found: Mapping[str, Iterable[K]]
) -> dict[str, tuple[K, ...]]:
    """`into` with the items `found` gives each table added after its own, those it holds
    already left out (keys read from the catalog, merged with those known)."""
    merged = dict(into)
    for table, items in found.items():
        known = merged.get(table, ())
        merged[table] = known + tuple(k for k in items if k not in known)
    return merged


def spanning_keys(
    rows: Iterable[tuple[Any, ...]], is_tenant_table: Callable[[str], bool], tenant_column: str
) -> dict[str, tuple[frozenset[str], ...]]:
    """From the rows of `SPANNING_QUERY`: per tenant table, the keys a write's value is checked
    against every tenant's rows by (`Policy.spanning_keys`): those without the tenant column."""
    found: dict[str, list[frozenset[str]]] = {}
    for table, columns, *keyed in rows:
        key = frozenset(str(c) for c in columns or ())
        # (the tenant column in a partial key's WHERE only makes no key per tenant: h32d)
        proper = frozenset(str(c) for c in keyed[0] or ()) if keyed else key
        if not key or tenant_column in proper or not is_tenant_table(str(table)):
            continue
        if key not in found.setdefault(str(table), []):
            found[str(table)].append(key)
    return {t: tuple(k) for t, k in found.items() if k}


# The C functions of the database outside pg_catalog (an extension's: pgcrypto, pg_trgm…), with
# the least procost of their overloads (round 30): PostgreSQL costs one 1 by default, not the
# 100 of a SQL or PL/pgSQL function, and its error may show its argument (`digest('x', name)`:
# "Cannot use "carla": No such hash algorithm"): `Policy.extension_functions` (TG013).
EXTENSION_FUNCTIONS_QUERY = """
SELECT p.proname::text, min(p.procost)::float8
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE l.lanname IN ('c', 'internal')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
GROUP BY p.proname
"""


# The functions of the database outside pg_catalog written in SQL or a procedural language
# (round 30), for a policy without schema sources: a SQL function of one expression PostgreSQL
# inlines into the condition that calls it, at its body's cost (`as_int(t) … RETURN t::int`
# fails on a row's text before the tenant pin), and one declared cheaper than the default (COST
# 1) runs among the cheap conditions. `inlined_functions` makes the bodies TG013 reads
# (`Policy.inlined_functions`).
SQL_FUNCTIONS_QUERY = """
SELECT p.proname::text, l.lanname::text, p.procost::float8,
       coalesce(pg_catalog.pg_get_function_sqlbody(p.oid), p.prosrc)
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE l.lanname NOT IN ('c', 'internal') AND p.prokind = 'f' AND NOT p.proretset
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""
SQL_FUNCTIONS_QUERY_BEFORE_14 = SQL_FUNCTIONS_QUERY.replace(
    "coalesce(pg_catalog.pg_get_function_sqlbody(p.oid), p.prosrc)", "p.prosrc"
)


# The definitions of the database's functions outside pg_catalog written in SQL or a procedural
# language (not an extension's, not a trigger's), for a policy without schema sources: sorted as
# schema sources sort them (`sources.schema.tenant_relations`, `Guard.learn_function_definitions`)
# — one whose body reads tenant rows unpinned cannot be called inside tenant() (h34C: clinic 1's
# `SELECT every_name()` returned every clinic's names), one pinned by a parameter is pinned by
# the argument the call passes it (`names_of(2)` returned clinic 2's)
FUNCTION_DEFINITIONS_QUERY = """
SELECT pg_catalog.pg_get_functiondef(p.oid)
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE l.lanname NOT IN ('c', 'internal') AND p.prokind = 'f'
  AND p.prorettype NOT IN ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
  AND n.nspname <> 'tenantguard'
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"""


def inlined_functions(rows: Iterable[tuple[Any, ...]]) -> dict[str, str]:
    """From the rows of `SQL_FUNCTIONS_QUERY`: name -> the body TG013 reads for a call of it —
    `CHEAP_FUNCTION` for one declared cheaper than PostgreSQL's default of 100 (its body not
    read: it may fail on anything), a SQL function's one statement (its overloads' joined)."""
    from tenantguard.engine.policy import CHEAP_FUNCTION, sql_name
    from tenantguard.engine.sqltext import split_sql

    bodies: dict[str, list[str]] = {}
    cheap: set[str] = set()
    for name, language, cost, body in rows:
        name = str(name)
        if float(cost) < 100:
            cheap.add(name)
        elif language == "sql" and body:
            statements = split_sql(str(body))[0]
            if len(statements) == 1:
                bodies.setdefault(name, []).append(statements[0].text.strip())
    found = {sql_name(n): ";\n".join(b) for n, b in bodies.items()}
    found.update({sql_name(n): CHEAP_FUNCTION for n in cheap})
    return found


# The foreign keys on the tenant column alone ($1), with the table and column each references
# (round 30): when they all reference one, it is the tenant registry (`Policy.tenant_root`),
# as schema sources infer it — for a policy written by hand, which names none.
REGISTRY_QUERY = """
SELECT DISTINCT r.relname::text, ra.attname::text
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
JOIN pg_catalog.pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
WHERE k.contype = 'f' AND cardinality(k.conkey) = 1 AND a.attname = $1
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""


def tenant_registry(rows: Iterable[tuple[Any, ...]]) -> tuple[str, str] | None:
    """From the rows of `REGISTRY_QUERY`: the one (table, key column) every foreign key on the
    tenant column references, or None (none, or several)."""
    targets = {(str(table), str(key)) for table, key in rows}
    return next(iter(targets)) if len(targets) == 1 else None


# The foreign keys, for a policy without schema sources (NOT VALID and DEFERRABLE ones too: the
# server checks new rows by each). Those with an action (ON DELETE / ON UPDATE CASCADE, SET NULL,
# SET DEFAULT, round 30): a DELETE or UPDATE of the table a key references reaches every
# tenant's rows that reference the rows it writes (`DELETE FROM plans WHERE id = 7` deleted
# clinic 2's subscriptions): `cascades` makes `Policy.cascades` of them. And every one but those
# referencing a primary key (round 31, helper h31a): `checked_foreign_keys` makes
# `Policy.checked_foreign_keys` of them, whose checks read every tenant's rows
# (`engine.referencing_keys`), as the schema sources would.
CASCADES_QUERY = """
SELECT r.relname::text, c.relname::text, k.confdeltype::text, k.confupdtype::text,
       array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, o)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
             ORDER BY u.o),
       array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, o)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum
             ORDER BY u.o),
       coalesce((SELECT i.indisprimary FROM pg_catalog.pg_index i
                 WHERE i.indexrelid = k.conindid), false)
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'f'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""


def cascades(
    rows: Iterable[tuple[Any, ...]],
    is_tenant_table: Callable[[str], bool],
    tenant_column: str,
    runs: Callable[[str, str], bool] | None = None,
    root: tuple[str, str] | None = None,
) -> dict[str, dict[str, frozenset[str]]]:
    """From the rows of `CASCADES_QUERY`: table -> {"DELETE": …, "UPDATE": the referenced
    columns whose change reaches tenant rows} (`Policy.cascades`). A key that carries the
    tenant column to the tenant column of a tenant table reaches the written row's tenant's
    rows only: left out. A key whose child holds no tenant rows counts when the child's own
    keys pass the write on (to a fixed point). A child whose triggers or rules run an unpinned
    write (`runs`: the hidden writes read from the catalog) counts whatever its key carries:
    the action fires them (h35C: clinic 1's pinned DELETE of a patient cascaded to `kids`,
    whose AFTER DELETE trigger stashed clinic 2's names). `root`: the tenant registry and its
    key, which a tenant table's tenant column references: such a key carries the tenant too,
    and the registry's row pinned to one tenant reaches that tenant's rows by it; any other
    key referencing the registry with an action (`visits.referred_by`) reaches other tenants'
    rows, and the registry is listed for it (h42G)."""
    keys = []
    for parent, child, on_delete, on_update, columns, ref_columns, *_ in rows:
        pairs = list(zip(columns or (), ref_columns or (), strict=False))
        carries = is_tenant_table(str(child)) and (
            (is_tenant_table(str(parent)) and (tenant_column, tenant_column) in pairs)
            or (root is not None and str(parent) == root[0] and (tenant_column, root[1]) in pairs)
        )
        keys.append(
            (
                str(parent),
                str(child),
                {"DELETE": on_delete, "UPDATE": on_update},
                frozenset(map(str, ref_columns or ())),
                frozenset(map(str, columns or ())),
                carries,
            )
        )
    # a write of the parent reaches when its action writes the child's rows (a DELETE of them
    # for a DELETE's CASCADE, an UPDATE of the key's columns else) and that write of the child
    # reaches every tenant's rows, fires an unpinned trigger or rule of the child (`runs`), or
    # reaches in turn: down a chain of keys, each of them carrying the tenant column or not,
    # the DELETE turned into an UPDATE by SET NULL / SET DEFAULT (helper h35R: patients ->
    # kids -> gkids, gkids' trigger stashed clinic 2's names on clinic 1's DELETE of a patient)
    deleting: set[str] = set()
    updating: dict[str, frozenset[str]] = {}  # table -> its columns whose UPDATE reaches
    while True:
        grown = False
        for parent, child, actions, referenced, own, carries in keys:
            for verb, action in actions.items():
                if action not in ("c", "n", "d"):
                    continue
                then = "DELETE" if verb == "DELETE" and action == "c" else "UPDATE"
                if verb == "DELETE" and parent in deleting:
                    continue
                if verb == "UPDATE" and referenced <= updating.get(parent, frozenset()):
                    continue
                if not (
                    (not carries and is_tenant_table(child))
                    or (runs is not None and runs(child, then))
                    or (
                        child in deleting
                        if then == "DELETE"
                        else bool(own & updating.get(child, frozenset()))
                    )
                ):
                    continue
                grown = True
                if verb == "DELETE":
                    deleting.add(parent)
                else:
                    updating[parent] = updating.get(parent, frozenset()) | referenced
        if not grown:
            break
    found: dict[str, dict[str, frozenset[str]]] = {}
    for table in deleting:
        found.setdefault(table, {})["DELETE"] = frozenset()
    for table, columns in updating.items():
        found.setdefault(table, {})["UPDATE"] = columns
    return found


# the columns of the database's tables (and the attributes of composite types) declared of a
# relation's row type (an array of one, a domain over one, one level each): (holder, held). A
# table holding a tenant table's rows whole (`patient_history (at date, old patients)`) hands
# them out to any read of it (h34K for schema sources; h42R for the guard)
ROW_HOLDERS_QUERY = """
SELECT DISTINCT h.relname::text, r.relname::text
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class h ON h.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = h.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
JOIN pg_catalog.pg_type e ON e.oid IN (t.oid, t.typelem, b.oid, b.typelem)
JOIN pg_catalog.pg_class r ON r.oid = e.typrelid
WHERE a.attnum > 0 AND NOT a.attisdropped AND h.relkind IN ('r', 'p', 'c', 'm', 'f')
  AND r.oid <> h.oid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""


def row_holders(
    rows: Iterable[Sequence[object]],
    is_tenant_table: Callable[[str], bool],
    is_global_table: Callable[[str], bool],
    tenant_column: str,
) -> dict[str, str]:
    """From the rows of `ROW_HOLDERS_QUERY`: the tables (and composite types) whose columns hold
    the rows of a tenant table, or of another of them, to a fixed point, but those
    `is_tenant_table` or `is_global_table` names: table -> why (`HELD_ROWS`). Under a policy
    written by hand, clinic 1's `SELECT (old).first_name FROM patient_history` returned
    clinic 2's 'Carla' through the guard (h42R)."""
    from tenantguard.engine.policy import HELD_ROWS

    pairs = [(str(row[0]), str(row[1])) for row in rows]
    found: dict[str, str] = {}
    grown = True
    while grown:
        grown = False
        for holder, held in pairs:
            if holder in found or is_tenant_table(holder) or is_global_table(holder):
                continue
            if held in found or is_tenant_table(held):
                found[holder] = (
                    f"{HELD_ROWS} (of the row type of {held}): a read hands out those rows of "
                    f"every tenant, and it has no {tenant_column} to pin"
                )
                grown = True
    return found


def renamed_tenant_tables(
    rows: Iterable[tuple[Any, ...]],
    inherits: Iterable[Sequence[object]],
    is_tenant_table: Callable[[str], bool],
    is_global_table: Callable[[str], bool],
    tenant_column: str,
) -> dict[str, str]:
    """From the rows of `CASCADES_QUERY` (and `INHERITS_QUERY`): the tables whose foreign key
    takes a column of theirs to a tenant table's tenant column (`FOREIGN KEY (note_clinic,
    patient_id) REFERENCES patients (tenant_id, id)`), or to such a column of another of them,
    and their descendants (INHERITS, partitions: keys are not inherited): the tenant column
    under another name, so their rows are tenant rows nothing pins (`RENAMED_TENANT`, as
    `sources.schema` finds them, h42A). A key `NOT VALID` counts (its rows are checked from
    then on). Table -> why. The tables `is_tenant_table` or `is_global_table` already name are
    left out (global: the configuration's word that the rows are shared; h42R: clinic 1's
    `SELECT body FROM patient_notes` returned clinic 2's note through the guard)."""
    from tenantguard.engine.policy import RENAMED_TENANT

    keys = [
        (str(parent), str(child), tuple(map(str, columns or ())), tuple(map(str, refs or ())))
        for parent, child, _, _, columns, refs, *_ in rows
    ]
    found: dict[str, str] = {}
    renamed: dict[str, str] = {}  # table -> its column standing for the tenant column
    grown = True
    while grown:
        grown = False
        for parent, child, columns, refs in keys:
            if child in renamed or is_tenant_table(child) or is_global_table(child):
                continue
            if len(columns) != len(refs):
                continue
            if parent in renamed:
                tenant = renamed[parent]
            elif is_tenant_table(parent):
                tenant = tenant_column
            else:
                continue
            if tenant not in refs:
                continue
            local = columns[refs.index(tenant)]
            renamed[child] = local
            found[child] = (
                f"{RENAMED_TENANT} ({child} ({local}) references {parent} ({tenant}) by a "
                f"foreign key): its rows are tenant rows, and it has no {tenant_column} to pin"
            )
            grown = True
    # the descendants (INHERITS, partitions) hold the rows of their ancestors
    parents: dict[str, set[str]] = {}
    for row in inherits:
        parents.setdefault(str(row[1]), set()).add(str(row[0]))
    lowered = {name.lower(): name for name in found}
    todo = list(lowered)
    while todo:
        for child in parents.get(todo.pop(), ()):
            if child in lowered or is_tenant_table(child) or is_global_table(child):
                continue
            lowered[child] = child
            found[child] = (
                f"{RENAMED_TENANT} (it inherits the rows of a table whose column references "
                f"{tenant_column} by a foreign key): its rows are tenant rows, and it has no "
                f"{tenant_column} to pin"
            )
            todo.append(child)
    return found


def checked_foreign_keys(rows: Iterable[tuple[Any, ...]]) -> dict[str, tuple[ForeignKey, ...]]:
    """From the rows of `CASCADES_QUERY`: per referencing table, its foreign keys but those
    referencing a primary key (`Policy.checked_foreign_keys`; `engine.referencing_keys` keeps
    those a write's check reads every tenant's rows by)."""
    found: dict[str, list[ForeignKey]] = {}
    for parent, child, _, _, columns, ref_columns, primary in rows:
        if primary or not columns or len(columns) != len(ref_columns or ()):
            continue
        key = ForeignKey(tuple(str(c) for c in columns), str(parent), tuple(map(str, ref_columns)))
        if key not in found.setdefault(str(child), []):
            found[str(child)].append(key)
    return {table: tuple(keys) for table, keys in found.items()}


# the triggers of the database's relations (not the internal ones of foreign keys), each as
# its function's and its own DDL: what a write of the relation runs beside itself
TRIGGER_QUERY = """
SELECT pg_catalog.pg_get_functiondef(t.tgfoid) || E';\n' || pg_catalog.pg_get_triggerdef(t.oid)
  || ';'
  -- `UPDATE OF g`, g a stored generated column: PostgreSQL 15 fires it on any UPDATE of the
  -- table (measured, h35C: `SET first_name` with g computed from phone_number), which this
  -- text does not show: read as a trigger of any UPDATE too
  || CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute g WHERE g.attrelid = t.tgrelid
      AND g.attnum = ANY (t.tgattr) AND g.attgenerated <> '')
    THEN E'\nCREATE TRIGGER tenantguard_generated_' || t.oid || ' AFTER UPDATE ON '
      || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
      || ' FOR EACH ROW EXECUTE FUNCTION ' || t.tgfoid::pg_catalog.regproc::text || '();'
    ELSE '' END
FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_'
UNION
-- a column's default or stored generated expression, or its domain's default (a column without
-- one of its own), that calls a function of the database: as a row trigger running it, on an
-- INSERT and an UPDATE of the column (any UPDATE for a generated one; helper h33r: clinic 1's
-- pinned INSERT ran `DEFAULT stash_default()`, which stashed every clinic's names)
SELECT 'CREATE FUNCTION ' || quote_ident(n.nspname) || '.tenantguard_default_' || c.oid || '_'
  || a.attnum || '() RETURNS trigger LANGUAGE plpgsql AS $tenantguard_default$BEGIN PERFORM '
  || pg_catalog.pg_get_expr(coalesce(d.adbin, t.typdefaultbin), coalesce(d.adrelid, 0))
  || '; RETURN NEW; END$tenantguard_default$;' || E'\n' || 'CREATE TRIGGER tenantguard_default'
  || ' BEFORE INSERT OR UPDATE' || CASE WHEN a.attgenerated = 's' THEN ''
  ELSE ' OF ' || quote_ident(a.attname) END || ' ON ' || quote_ident(n.nspname) || '.'
  || quote_ident(c.relname) || ' FOR EACH ROW EXECUTE FUNCTION ' || quote_ident(n.nspname)
  || '.tenantguard_default_' || c.oid || '_' || a.attnum || '();'
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND d.oid IS NULL AND t.typtype = 'd'
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
  AND EXISTS (SELECT FROM pg_catalog.pg_depend x
    WHERE x.refclassid = 'pg_catalog.pg_proc'::regclass AND x.refobjid >= 16384
      AND (x.classid = 'pg_catalog.pg_attrdef'::regclass AND x.objid = d.oid
        OR x.classid = 'pg_catalog.pg_type'::regclass AND x.objid = t.oid))
UNION
-- a table's CHECK constraint that calls a function of the database: as a row trigger running
-- it on an INSERT and any UPDATE (helper h35R: clinic 1's UPDATE, or a foreign key's ON UPDATE
-- CASCADE / ON DELETE SET NULL writing a child, ran `CHECK (stash_check(pid))`, which stashed
-- every clinic's names)
SELECT 'CREATE FUNCTION ' || quote_ident(n.nspname) || '.tenantguard_check_' || k.oid
  || '() RETURNS trigger LANGUAGE plpgsql AS $tenantguard_check$BEGIN PERFORM '
  || pg_catalog.pg_get_expr(k.conbin, k.conrelid) || '; RETURN NEW; END$tenantguard_check$;'
  || E'\n' || 'CREATE TRIGGER tenantguard_check BEFORE INSERT OR UPDATE ON '
  || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' FOR EACH ROW EXECUTE FUNCTION '
  || quote_ident(n.nspname) || '.tenantguard_check_' || k.oid || '();'
FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'c' AND c.relkind IN ('r', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
  AND EXISTS (SELECT FROM pg_catalog.pg_depend x
    WHERE x.classid = 'pg_catalog.pg_constraint'::regclass AND x.objid = k.oid
      AND x.refclassid = 'pg_catalog.pg_proc'::regclass AND x.refobjid >= 16384)
UNION
-- a domain's CHECK constraint (of the column's type or of a domain under it) that calls a
-- function of the database: as a row trigger running it on an INSERT and an UPDATE of the
-- column (helper h35R: `CREATE DOMAIN checked_note AS text CHECK (stash_check(VALUE))`)
SELECT 'CREATE FUNCTION ' || quote_ident(n.nspname) || '.tenantguard_domain_' || k.oid || '_'
  || c.oid || '_' || d.attnum
  || '() RETURNS trigger LANGUAGE plpgsql AS $tenantguard_check$BEGIN PERFORM '
  || pg_catalog.pg_get_expr(k.conbin, 0) || '; RETURN NEW; END$tenantguard_check$;'
  || E'\n' || 'CREATE TRIGGER tenantguard_domain BEFORE INSERT OR UPDATE OF '
  || quote_ident(d.attname) || ' ON ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
  || ' FOR EACH ROW EXECUTE FUNCTION ' || quote_ident(n.nspname) || '.tenantguard_domain_'
  || k.oid || '_' || c.oid || '_' || d.attnum || '();'
FROM (
  WITH RECURSIVE typed(attrelid, attnum, attname, typid, depth) AS (
    SELECT a.attrelid, a.attnum, a.attname, a.atttypid, 1 FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND t.typtype = 'd'
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT y.attrelid, y.attnum, y.attname, t.typbasetype, y.depth + 1 FROM typed y
    JOIN pg_catalog.pg_type t ON t.oid = y.typid AND t.typtype = 'd' WHERE y.depth < 8
  ) SELECT attrelid, attnum, attname, typid FROM typed  -- no `*`: audit reads it as pg_class.*
) d
JOIN pg_catalog.pg_constraint k ON k.contypid = d.typid AND k.contype = 'c'
JOIN pg_catalog.pg_class c ON c.oid = d.attrelid AND c.relkind IN ('r', 'p', 'f')
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
  AND EXISTS (SELECT FROM pg_catalog.pg_depend x
    WHERE x.classid = 'pg_catalog.pg_constraint'::regclass AND x.objid = k.oid
      AND x.refclassid = 'pg_catalog.pg_proc'::regclass AND x.refobjid >= 16384)
UNION
-- the functions of the database a trigger's function (or such a default or CHECK) names (and
-- those they name, 4 deep): what its `PERFORM bump_all()` runs (helper h32h)
SELECT pg_catalog.pg_get_functiondef(c.oid) || ';' FROM (
  WITH RECURSIVE called(oid, depth) AS (
    SELECT f.oid, 1 FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_trigger t ON NOT t.tgisinternal
      JOIN pg_catalog.pg_proc tf ON tf.oid = t.tgfoid
    WHERE f.oid >= 16384 AND f.prokind = 'f' AND f.prorettype <> 'pg_catalog.trigger'::regtype
      AND position(lower(f.proname::text) in lower(tf.prosrc)) > 0
    UNION
    SELECT x.refobjid, 1 FROM pg_catalog.pg_depend x
    WHERE x.classid IN ('pg_catalog.pg_attrdef'::regclass, 'pg_catalog.pg_type'::regclass,
        'pg_catalog.pg_constraint'::regclass)
      AND x.refclassid = 'pg_catalog.pg_proc'::regclass AND x.refobjid >= 16384
    UNION
    SELECT f.oid, c.depth + 1 FROM called c JOIN pg_catalog.pg_proc g ON g.oid = c.oid
      JOIN pg_catalog.pg_proc f ON f.oid >= 16384 AND f.prokind = 'f'
        AND f.prorettype <> 'pg_catalog.trigger'::regtype
        AND position(lower(f.proname::text) in lower(g.prosrc)) > 0
    WHERE c.depth < 4
  ) SELECT DISTINCT oid FROM called
) c
ORDER BY 1
"""


_SETTING_CALL = lazy_pattern(r"(?i)current_setting\s*\(\s*('[^']*')\s*(?:,\s*(?:true|false)\s*)?\)")


# each relation that inherits from another (a partition, a child of INHERITS), with that parent
# (folded names) and, for a partitioned parent, its partition key's columns ('' for an
# expression): a write of the parent runs the child's row triggers on the rows it puts or finds
# there
INHERITS_QUERY = """
SELECT lower(c.relname::text), lower(p.relname::text),
       (SELECT array_agg(coalesce(lower(a.attname::text), '') ORDER BY k.n)
        FROM pg_catalog.pg_partitioned_table pt
        CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) WITH ORDINALITY AS k(attnum, n)
        LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = k.attnum
        WHERE pt.partrelid = p.oid)
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
"""


def trigger_writes(
    triggers: Iterable[Sequence[object]],
    views: Iterable[Sequence[object]],
    policy: Any,
    inherits: Iterable[Sequence[object]] = (),
) -> dict[str, dict[str, str]]:
    """What a write of a relation runs beside itself that reaches tenant rows unpinned, read
    from the catalog for a policy written by hand (helper h32d: a view's INSTEAD OF trigger
    wrote invites, whose e-mail a key checks against every workspace's members, and workspace
    1's INSERT INTO invite_form told whether workspace 2 had a member of that e-mail): the
    triggers' functions and the rules (`DO INSTEAD` or `ALSO`) are read as schema sources read
    them (`sources.schema.hidden_writes`: relation -> kind of write -> why), a write of a view
    running what the relations under it run (`sources.schema.through_views`). `triggers`:
    rows of `TRIGGER_QUERY`; `views`: rows of `VIEW_QUERY` (views and rules). A write of a
    partitioned table (or of a parent of INHERITS) runs what its partitions' triggers run
    (`inherits`: rows of `INHERITS_QUERY`; helper h33d: workspace 1's note written through the
    parent moved every workspace's count in a partition's BEFORE trigger)."""
    texts = [str(row[0]) for row in triggers if row[0]]
    view_rows = [tuple(row) for row in views]
    rules = [str(row[1]) for row in view_rows if row[2] == "rule" and row[1]]
    if not texts and not rules:
        return {}
    inherit_rows = [tuple(row) for row in inherits]
    # the same catalog read again with the same policy (each connection of a pool, each
    # connection's catalog read after DDL that changed something else): read once, ~40-90 ms
    # of PL/pgSQL read each time (keyed by the policy's whole content, `Policy.content_key`)
    with _CACHED:  # (event loops in several threads share these)
        key = json.dumps([texts, view_rows, inherit_rows, policy.content_key()], default=str)
        found = _TRIGGER_WRITES.pop(key, None)
    if found is None:
        found = _trigger_writes(texts, rules, view_rows, policy, inherit_rows)
    with _CACHED:
        _TRIGGER_WRITES[key] = found
        while len(_TRIGGER_WRITES) > 8:
            del _TRIGGER_WRITES[next(iter(_TRIGGER_WRITES))]
    return {relation: dict(kinds) for relation, kinds in found.items()}


_CACHED = threading.Lock()
_TRIGGER_WRITES: dict[str, dict[str, dict[str, str]]] = {}  # the last few, oldest first


def _trigger_writes(
    texts: list[str],
    rules: list[str],
    views: list[tuple[object, ...]],
    policy: Any,
    inherits: list[tuple[object, ...]],
) -> dict[str, dict[str, str]]:
    """`trigger_writes`, read."""
    from tenantguard.sources.schema.checks import hidden_writes, through_views
    from tenantguard.sources.schema.reading import SchemaInfo

    # the catalog prints `current_setting('app.tenant_id')` as `current_setting('app.tenant_id'
    # ::text)`: the tenant expressions are read in that spelling too
    deparsed = []
    for expression in policy.tenant_expressions:
        call = _SETTING_CALL.fullmatch(expression.strip())
        if call:
            deparsed += [
                f"current_setting({call[1]}::text)",
                f"current_setting({call[1]}::text, true)",
                f"current_setting({call[1]}::text, false)",
            ]
    if deparsed:
        policy = policy.replace(tenant_expressions=(*policy.tenant_expressions, *deparsed))
    schema = SchemaInfo()
    for row in views:
        if row[2] == "v" and row[1]:
            name = '"' + str(row[0]).replace('"', '""') + '"'
            schema.add_sql(f"CREATE VIEW {name} AS {str(row[1]).strip().rstrip(';')};")
    for text in (*texts, *rules):
        schema.add_sql(text)
    found = _inherited(hidden_writes(schema, policy), inherits)
    return through_views(schema, found) if found and schema.views else found


def _inherited(
    found: dict[str, dict[str, str]], inherits: Iterable[Sequence[object]]
) -> dict[str, dict[str, str]]:
    """`found` with each relation's writes given to every ancestor of it too. An UPDATE of a
    partitioned ancestor that sets a column of the partition key of a table between it and the
    relation moves the row: a DELETE from one partition and an INSERT into another, whose
    DELETE and INSERT triggers it runs (`UPDATE OF column`, `cascades._fired`; any UPDATE for
    a key expression). Helper h33l: workspace 1's `UPDATE knotes SET kind = 'b' WHERE ws_id =
    $1` ran knotes_b's BEFORE INSERT trigger, which moved every workspace's count."""
    parents: dict[str, set[str]] = {}
    keys: dict[str, tuple[str, ...]] = {}
    for row in inherits:
        parents.setdefault(str(row[0]), set()).add(str(row[1]))
        if len(row) > 2 and row[2] is not None:
            keys[str(row[1])] = tuple(str(column) for column in row[2])  # type: ignore[attr-defined]
    if not found or not parents:
        return found
    merged = {relation: dict(kinds) for relation, kinds in found.items()}
    for relation, kinds in found.items():
        moving = {kind: why for kind, why in kinds.items() if kind in ("INSERT", "DELETE")}
        seen: set[str] = set()
        # (an ancestor, the partition keys from it down to the relation's parent)
        waiting: list[tuple[str, tuple[str, ...]]] = [
            (parent, ()) for parent in parents.get(relation.lower(), ())
        ]
        while waiting:
            ancestor, below = waiting.pop()
            if ancestor in seen:
                continue
            seen.add(ancestor)
            mine = merged.setdefault(ancestor, {})
            said = f" (on {relation}, which inherits from {ancestor})"
            for kind, why in kinds.items():
                mine.setdefault(kind, why + said)
            path = (*below, *keys.get(ancestor, ()))
            for why in moving.values():
                for column in path:
                    kind = "UPDATE" if column == "" else f"UPDATE OF {column}"
                    mine.setdefault(kind, f"{why}{said}, run by an UPDATE moving a row there")
            waiting.extend((parent, path) for parent in parents.get(ancestor, ()))
    return merged


# each relation's tenant column ($1): its type as the proof names one (`int8`, `domain:d`),
# whether its collation is the type's own, and how it converts a value it stores (`stored_kinds`)
TENANT_TYPES_QUERY = """
SELECT c.relname::text,
       CASE WHEN t.typtype = 'd' THEN 'domain:' || t.typname ELSE t.typname END::text,
       a.attcollation = t.typcollation,
       -- a domain over a built-in type, of its collation: its schema and that type
       CASE WHEN t.typtype = 'd' AND b.typtype = 'b' AND t.typndims = 0
                 AND t.typcollation = b.typcollation
            THEN ARRAY[tn.nspname::text, b.typname::text] END,
       -- values.STORED_*: trailing blanks dropped, bytes cut (name, "char"), a numeric rounded
       -- to an integer or a scale
       -- (numeric's typmod: precision << 16 | scale as 11 bits, + 4)
       CASE WHEN coalesce(b.typname, t.typname) = 'bpchar'
                 OR (coalesce(b.typname, t.typname) = 'varchar'
                     AND greatest(a.atttypmod, t.typtypmod) >= 0) THEN 'blanks'
            WHEN coalesce(b.typname, t.typname) = 'name' THEN 'bytes:63'
            WHEN coalesce(b.typname, t.typname) = 'char' THEN 'bytes:1'
            WHEN coalesce(b.typname, t.typname) IN ('int2', 'int4', 'int8') THEN 'integer'
            WHEN coalesce(b.typname, t.typname) = 'numeric'
                 AND greatest(a.atttypmod, t.typtypmod) >= 4
            -- (pg_catalog.concat: a schema's `||` (integer, integer) would be chosen for an
            -- unknown literal and an integer, h33l's stash)
            THEN pg_catalog.concat('scale:',
                 (((greatest(a.atttypmod, t.typtypmod) - 4) & 2047) # 1024) - 1024)
       END
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
WHERE a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""


def tenant_column_types(rows: Iterable[Sequence[object]]) -> dict[str, str]:
    """`Policy.tenant_column_types` read from the catalog for a policy written by hand (helper
    h32d: without them no filter on a UNION ALL view's tenant column was taken as pushed into
    its branches, and `SELECT email FROM people WHERE ws_id = $1` was refused): a relation's
    type where every relation of its name holds the column under one type and its type's own
    collation (PostgreSQL pushes a filter into a set operation's branches only when each
    branch's column has the output's very type and collation)."""
    found: dict[str, str | None] = {}
    for name, kind, own_collation, *_ in rows:
        key = str(name)
        shown = str(kind) if own_collation else None
        found[key] = shown if found.get(key, shown) == shown else None
    return {name: kind for name, kind in found.items() if kind is not None}


FUNCTION_PATHS_QUERY = """
SELECT p.proname::text, c.setting
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace,
     LATERAL (SELECT substr(e, 13) AS setting FROM pg_catalog.unnest(p.proconfig) e
              WHERE e LIKE 'search\\_path=%') c
WHERE p.proconfig IS NOT NULL
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


GLOBAL_HOMES_QUERY = """
SELECT c.relname::text, n.nspname::text,
       EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = n.nspname),
       EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = n.nspname
               AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')),
       EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid
               AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND n.nspname !~ '^pg_(temp|toast)'
"""

# in `catalog_homes`, beside a schema's name: it is named like a role ("$role:"), one the
# session user may SET ROLE to ("$member:"): what a "$user" entry of a path may read; its
# relation of the name holds the tenant column ("$tenant:", `tenant_shadow`)
_ROLE, _MEMBER, _TENANT = "$role:", "$member:", "$tenant:"


def catalog_homes(rows: Iterable[Sequence[object]]) -> dict[str, frozenset[str]]:
    """The schemas holding a relation of each name (rows of `GLOBAL_HOMES_QUERY`: the policy's
    global names), as the catalog says — the schema sources may miss one; each also marked
    when it is named like a role, or like one the session user may become."""
    found: dict[str, set[str]] = {}
    for row in rows:
        name, schema, role, member = row[:4]
        tenant = len(row) > 4 and bool(row[4])
        held = found.setdefault(str(name), set())
        held.add(str(schema))
        held.update(
            mark + str(schema)
            for mark, on in ((_ROLE, role), (_MEMBER, member), (_TENANT, tenant))
            if on
        )
    return {name: frozenset(schemas) for name, schemas in found.items()}


def tenant_homes(held: frozenset[str]) -> set[str]:
    """The schemas whose relation of a global name holds the tenant column (`catalog_homes`)."""
    return {h[len(_TENANT) :] for h in held if h.startswith(_TENANT)}


def tenant_shadow(held: frozenset[str], home: str) -> bool:
    """Whether the relation of a global name that a path reads, in schema `home`, holds the
    tenant column while another schema holds a relation of the name too (`catalog_homes`):
    the name reads a table of tenant rows in place of the global one (h37R: another session's
    `CREATE TABLE "$user".tenants AS SELECT tenant_id, … FROM patients`, first on the path)."""
    return _TENANT + home in held and len({h for h in held if not h.startswith("$")}) > 1


def _resolved(
    held: frozenset[str], path: Sequence[str], user: str | None, roles: bool = False
) -> str | None:
    """The schema of `path` (pg_catalog first, as PostgreSQL searches it) whose relations,
    `held`, an unqualified name reads. A "$user" entry reads the schema named like the
    current role: `user`'s; with `roles`, "?" when the schema of another role the session user
    may SET ROLE to holds the name; with no user known (a function's path: its caller's role,
    or a SECURITY DEFINER owner's), "?" when a schema named like any role holds it."""
    for entry in ("pg_catalog", *path):
        entry = entry.strip().strip('"')
        if entry == "$user":
            mark = _ROLE if user is None else _MEMBER
            others = {h[len(mark) :] for h in held if h.startswith(mark)} - {user}
            if others and (user is None or roles):
                return "?"
            if user is not None and user in held:
                return user
        elif entry in held:
            return entry
    return None


def catalog_resolved(held: frozenset[str], path: Sequence[str], user: str | None) -> str | None:
    """`_resolved` for the guard (`Guard._with_catalog_homes`)."""
    return _resolved(held, path, user)


def read_elsewhere(
    path: Sequence[str],
    policy: Policy,
    homes: Mapping[str, frozenset[str]],
    user: str | None,
    configured_user: str,
    roles: bool = False,
) -> list[str]:
    """The policy's global names (`catalog_homes`: the schemas holding each) that `path` (a
    "$user" entry read as `user`) reads in another relation than config `search_path` does
    (as `configured_user`; `roles`: the current role may become another, `_resolved`),
    outside the name's global homes — a read the proof takes for the
    global table reads another schema's (h36R: a schema the sources do not know, or a policy
    written by hand, whose `Policy.read_otherwise` knows no home)."""
    found = []
    for name, held in sorted(homes.items()):
        here = _resolved(held, path, user, roles)
        if (
            here is not None
            and here != _resolved(held, policy.search_path, configured_user)
            and here not in policy.global_homes.get(name, ())
        ):
            found.append(name)
    return found


def path_functions(
    rows: Iterable[Sequence[object]],
    policy: Policy,
    homes: Mapping[str, frozenset[str]] | None = None,
    user: str = "",
) -> dict[str, str]:
    """The functions whose own search path (`SET search_path = …` of CREATE FUNCTION, rows of
    `FUNCTION_PATHS_QUERY`) reads a name the policy holds global in another schema
    (`Policy.read_otherwise`, and `read_elsewhere` by the catalog's `homes`; a path that
    cannot be read does), each with why: its body reads that name's tenant rows where the
    proof, reading the body by the configured path, sees the global table (h36C: `SET
    search_path = archive, public AS $$ SELECT code FROM countries $$`, a SECURITY DEFINER one
    too, returned every clinic's archive rows; h36R: the same with a policy written by hand,
    or a schema the sources do not know; `user`: the session's role, the configured path's
    "$user")."""
    if not policy.global_homes and not homes:
        return {}
    found: dict[str, str] = {}
    for name, setting in rows:
        paths = set_search_paths(f"SET search_path = {setting}")
        read = sorted(
            {n for p in paths or [None] for n in policy.read_otherwise(p)}
            | {
                n
                for p in paths or [None]
                for n in (
                    read_elsewhere(p, policy, homes or {}, None, user)
                    if p is not None
                    else homes or ()
                )
            }
        )
        if read:
            found[str(name)] = (
                f"its own search_path ({setting}) reads {', '.join(read[:5])} in another "
                "schema than the global table the policy holds"
            )
    return found


TENANT_PLACES_QUERY = """
SELECT c.relname::text, c.relkind::text,
       array_agg(a.attname::text ORDER BY a.attnum)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND c.relname IN (
    SELECT h.relname FROM pg_catalog.pg_attribute t
    JOIN pg_catalog.pg_class h ON h.oid = t.attrelid
    WHERE t.attname = $1 AND t.attnum > 0 AND NOT t.attisdropped)
GROUP BY c.oid, c.relname, c.relkind
"""


def tenant_places(rows: Iterable[Sequence[object]], column: str) -> dict[str, int | None]:
    """`Policy.tenant_places` read from the catalog (rows of `TENANT_PLACES_QUERY`): each
    name's tenant column's place among its columns in attnum order, dropped columns skipped —
    the order PostgreSQL matches an INSERT's values (or a `*`) by. None for a name whose
    relations disagree (two schemas with other orders, a view or one without the column, a
    temporary table of some session): no place, the proof refuses what it cannot match (h36C:
    a policy written by hand had none, and `INSERT INTO patients SELECT * FROM patients WHERE
    tenant_id = $1` was refused though the static proof, with schema sources, passed it)."""
    found: dict[str, int | None] = {}
    for name, kind, names in rows:
        columns = [str(n) for n in (names or ())]  # type: ignore[attr-defined]
        place = (
            columns.index(column)
            if str(kind) in ("r", "p", "f") and columns.count(column) == 1
            else None
        )
        key = str(name)
        found[key] = place if found.get(key, place) == place else None
    return found


_EXACT_BASES = frozenset({"int2", "int4", "int8", "numeric", "text", "varchar", "uuid"})


def stored_kinds(rows: Iterable[Sequence[object]]) -> dict[str, str]:
    """How each relation's tenant column converts a value it stores (rows of
    `TENANT_TYPES_QUERY`, `values.STORED_*`): the relations whose column may store a tenant id
    as another one, an integer column among them (a numeric parameter is rounded into it)."""
    return {str(row[0]): str(row[4]) for row in rows if len(row) > 4 and row[4] is not None}


def exact_domains(rows: Iterable[Sequence[object]]) -> dict[str, tuple[str, str]]:
    """`Policy.exact_domains` of the tenant columns' domains (rows of `TENANT_TYPES_QUERY`):
    a domain over a built-in type that keeps `=` exact, of that type's collation — compared
    as that type (`docs.workspace text = dom_notes.workspace slug` chains a pin). A name two
    schemas define differently is left out."""
    found: dict[str, tuple[str, str] | None] = {}
    for row in rows:
        kind = str(row[1])
        where: Any = row[3] if len(row) > 3 else None
        if not kind.startswith("domain:"):
            continue
        name = kind[len("domain:") :]
        shown = (str(where[0]), str(where[1])) if where and str(where[1]) in _EXACT_BASES else None
        found[name] = shown if found.get(name, shown) == shown else None
    return {name: kept for name, kept in found.items() if kept is not None}


# -- the catalog watch: DDL from other sessions, seen before a lease's first statement -----
#
# Reading the catalog costs 20-40 ms; a scan of it for a mark of every row's version costs some
# 3 ms of the server's a check, too much for each pool lease. Two event triggers (run as a
# superuser, as a patch of the pipeline: `CATALOG_WATCH`) count, in one row, the committed DDL
# of every session — in the DDL's own transaction, so that the count and the change are seen
# together. The guard reads the count with the catalog and checks it (`catalog_check`) in the
# round trip that starts each pool lease; a different count, or a watch disabled or dropped,
# makes it read the catalog again before the lease's first statement.
WATCH_SCHEMA = "tenantguard"
WATCH_TRIGGERS = ("tenantguard_catalog_end", "tenantguard_catalog_drop")
# the channel the watch notifies at each counted DDL's commit (`GuardedConnection` LISTENs)
WATCH_CHANNEL = "tenantguard_catalog"
CATALOG_WATCH = f"""
CREATE SCHEMA IF NOT EXISTS {WATCH_SCHEMA};
CREATE TABLE IF NOT EXISTS {WATCH_SCHEMA}.catalog_version (version bigint NOT NULL);
INSERT INTO {WATCH_SCHEMA}.catalog_version
  SELECT 0 WHERE NOT EXISTS (SELECT FROM {WATCH_SCHEMA}.catalog_version);
CREATE OR REPLACE FUNCTION {WATCH_SCHEMA}.catalog_changed() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_EVENT = 'sql_drop' THEN
    IF NOT EXISTS (SELECT FROM pg_event_trigger_dropped_objects()
                   WHERE NOT is_temporary AND NOT (schema_name IS NULL
                     AND object_identity ~ ' on pg_temp\\.("([^"]|"")*"|[^ ."]+)$')) THEN
      RETURN;  -- temporary objects, and a temporary view's rule or table's trigger
    END IF;
  ELSIF TG_TAG LIKE 'DROP %' THEN
    RETURN;  -- told by sql_drop
  ELSIF TG_TAG = 'REFRESH MATERIALIZED VIEW' THEN
    RETURN;  -- its rows, not its definition
  ELSIF TG_TAG IN ('CREATE TABLE', 'CREATE INDEX', 'CREATE SEQUENCE', 'CREATE SCHEMA',
                   'CREATE MATERIALIZED VIEW')
    AND NOT EXISTS (SELECT FROM pg_event_trigger_ddl_commands()) THEN
    RETURN;  -- IF NOT EXISTS of one there: nothing created (h35R: a worker's loop of them
             -- moved the count each time, and every lease was refused)
  ELSIF EXISTS (SELECT FROM pg_event_trigger_ddl_commands())
    AND NOT EXISTS (SELECT FROM pg_event_trigger_ddl_commands()
                    WHERE schema_name IS DISTINCT FROM 'pg_temp') THEN
    RETURN;  -- temporary objects only
  END IF;
  UPDATE {WATCH_SCHEMA}.catalog_version SET version = version + 1;
  -- told at commit to every session LISTENing (h37R: a connection of connect() that is
  -- never reset, or a pool's lease, sees the DDL before its next statement)
  PERFORM pg_catalog.pg_notify('{WATCH_CHANNEL}', '');
END $$;
GRANT USAGE ON SCHEMA {WATCH_SCHEMA} TO PUBLIC;
GRANT SELECT ON {WATCH_SCHEMA}.catalog_version TO PUBLIC;
DROP EVENT TRIGGER IF EXISTS {WATCH_TRIGGERS[0]};
DROP EVENT TRIGGER IF EXISTS {WATCH_TRIGGERS[1]};
CREATE EVENT TRIGGER {WATCH_TRIGGERS[0]} ON ddl_command_end
  EXECUTE FUNCTION {WATCH_SCHEMA}.catalog_changed();
CREATE EVENT TRIGGER {WATCH_TRIGGERS[1]} ON sql_drop
  EXECUTE FUNCTION {WATCH_SCHEMA}.catalog_changed();
ALTER EVENT TRIGGER {WATCH_TRIGGERS[0]} ENABLE ALWAYS;
ALTER EVENT TRIGGER {WATCH_TRIGGERS[1]} ENABLE ALWAYS;
"""
# both event triggers there, firing always (ALTER EVENT TRIGGER runs no event trigger)
_WATCHING = (
    "(SELECT count(*) FROM pg_catalog.pg_event_trigger WHERE evtname IN "
    f"('{WATCH_TRIGGERS[0]}', '{WATCH_TRIGGERS[1]}') AND evtenabled = 'A') = 2"
)
WATCH_INSTALLED_QUERY = (
    f"SELECT pg_catalog.to_regclass('{WATCH_SCHEMA}.catalog_version') IS NOT NULL AND {_WATCHING}"
)
# both event triggers run a function that notifies the watch's channel (a watch installed
# before h37R counts DDL but notifies nothing: `Guard.watch_outdated_found`)
WATCH_NOTIFIES_QUERY = (
    "SELECT count(*) = 2 FROM pg_catalog.pg_event_trigger e"
    " JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid"
    f" WHERE e.evtname IN ('{WATCH_TRIGGERS[0]}', '{WATCH_TRIGGERS[1]}')"
    f" AND pg_catalog.strpos(p.prosrc, 'pg_notify(''{WATCH_CHANNEL}''') > 0"
)
# the watch's table there without both triggers firing (`Guard.watch_broken_found`)
WATCH_TABLE_QUERY = f"SELECT pg_catalog.to_regclass('{WATCH_SCHEMA}.catalog_version') IS NOT NULL"
# The mark: the count, and the row versions (xmin) of the event triggers that fire always. A
# migration that turns a trigger off, makes its DDL and turns it on again in one transaction
# (ALTER EVENT TRIGGER … DISABLE / ENABLE REPLICA, or DROP and CREATE EVENT TRIGGER) left the
# count and both triggers firing: the rows it rewrote are new versions, so the mark moves
# (h33k). A trigger that does not fire always drops out (NULL with neither).
WATCH_VERSION_QUERY = (
    f"SELECT (SELECT version FROM {WATCH_SCHEMA}.catalog_version)::text || ' '"
    " || (SELECT pg_catalog.string_agg(xmin::text, ',' ORDER BY evtname)"
    " FROM pg_catalog.pg_event_trigger"
    f" WHERE evtname IN ('{WATCH_TRIGGERS[0]}', '{WATCH_TRIGGERS[1]}') AND evtenabled = 'A')"
)
CATALOG_CHANGED = "tenantguard: the catalog changed"


# The check is prepared once per connection, in the script of its first check (`PREPARE`,
# then `EXECUTE` with the count read with the catalog): a simple-protocol statement is parsed,
# analysed and planned each time, which cost the server more than the lease's query (some
# 60-120 us of a loaded 2-core machine's time per lease, h33k); a prepared one is planned
# once. The name is one of asyncpg's prefix, which the guard refuses to an application's
# `prepare(name=)`; SQL-level `PREPARE`, `DEALLOCATE` and `DISCARD ALL` are refused too, so no
# other statement can take its place. Gone anyway (a report-mode `DISCARD ALL`): the script
# fails and the connection prepares it again.
CHECK_NAME = "__asyncpg_tenantguard_catalog_check__"
CHECK_PREPARE = (
    f"PREPARE {CHECK_NAME}(text) AS"
    f" SELECT CASE WHEN ({WATCH_VERSION_QUERY}) = $1 THEN 0"
    f" ELSE ('{CATALOG_CHANGED} ' || coalesce(({WATCH_VERSION_QUERY}), 'none'))::int END"
)


def catalog_check(version: str) -> str:
    """A statement that fails (`CATALOG_CHANGED` in its error: invalid input for an integer)
    unless the watch's mark is still `version` (the count, and its triggers' row versions, both
    firing: `WATCH_VERSION_QUERY`): sent first in a
    script, it stops the statements after it. A dropped watch fails it too (no such table).
    It runs `CHECK_PREPARE`'s statement: the script prepares it first on a connection that has
    not (`GuardedConnection._tg_check_prepared`)."""
    return f"EXECUTE {CHECK_NAME}('" + version.replace("'", "''") + "')"


# The operators and functions of a schema other than pg_catalog that PostgreSQL would call in
# place of its own in the guard's catalog queries (helper h42G; h33l's `||` was one case). An
# unqualified operator or function is resolved among every one of its name visible in the
# session's path: pg_catalog's wins only where it takes the same argument types, and where it
# does not — `n.nspname !~ '^pg_'` is `name !~ unknown`, for which pg_catalog has `!~(name,
# text)` only — a schema's `!~(name, name)` is the exact match and is called. One such operator
# returning false blinds every query filtering on it: no unlisted tenant table, no view over
# patients, no trigger writing them was read (clinic 1 read clinic 2's invoices and wrote its
# patient). Found here, with no pg_catalog twin of the same argument types: an operator of a
# name the queries use over a type only the catalog's columns have (`_CATALOG_TYPES`: name, oid,
# the reg* types, "char", pg_node_tree…); a function of a built-in's name over built-in types,
# one of them such a type, or of a polymorphic built-in the queries call (`unnest(text[])` is a
# closer match than `unnest(anyarray)`). An application's overloads over its own kinds of
# values (`upper(integer)`, `||(integer, integer)`: schema code the guard reads, h33l) and the
# contrib extensions' (pg_trgm's `%(text, text)`, intarray's, citext's) are none of these. This
# query is proof against them itself: every operator and function in it is pg_catalog's, named.
_CATALOG_TYPES = (
    "{name,oid,char,regproc,regprocedure,regoper,regoperator,regclass,regtype,regrole,"
    "regnamespace,regconfig,regdictionary,regcollation,pg_node_tree,oidvector,int2vector,"
    "aclitem,xid,xid8,cid,tid,_name,_oid,_char,_aclitem,_regtype,_regclass}"
)
_POLYMORPHIC_CALLS = (
    "{array_agg,array_to_string,cardinality,concat,concat_ws,format,unnest,count,"
    "array_length,array_position,array_remove,array_cat,array_append}"
)
CATALOG_SHADOWS_QUERY = f"""
WITH catalog_types AS (
  SELECT t.oid FROM pg_catalog.pg_type t
  WHERE t.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace::pg_catalog.oid
    AND t.typname OPERATOR(pg_catalog.=) ANY ('{_CATALOG_TYPES}'::pg_catalog.name[])
)
SELECT pg_catalog.format('operator %s.%s(%s, %s)', n.nspname, o.oprname,
           pg_catalog.format_type(o.oprleft, NULL::pg_catalog.int4),
           pg_catalog.format_type(o.oprright, NULL::pg_catalog.int4))
FROM pg_catalog.pg_operator o
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
WHERE o.oprnamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace::pg_catalog.oid
  AND o.oprname OPERATOR(pg_catalog.=) ANY
      ('{{=,<>,<,>,<=,>=,~,!~,~~,!~~,~*,!~*,~~*,!~~*,||,+,-,*,/,&,|,#}}'::pg_catalog.name[])
  AND o.oprleft OPERATOR(pg_catalog.<) 16384::pg_catalog.oid
  AND o.oprright OPERATOR(pg_catalog.<) 16384::pg_catalog.oid
  AND EXISTS (
    SELECT FROM catalog_types c
    WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[o.oprleft, o.oprright]))
  AND NOT EXISTS (
    SELECT FROM pg_catalog.pg_operator b
    WHERE b.oprnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace::pg_catalog.oid
      AND b.oprname OPERATOR(pg_catalog.=) o.oprname
      AND b.oprleft OPERATOR(pg_catalog.=) o.oprleft
      AND b.oprright OPERATOR(pg_catalog.=) o.oprright)
UNION ALL
SELECT pg_catalog.format('function %s.%s(%s)', n.nspname, p.proname,
           pg_catalog.oidvectortypes(p.proargtypes))
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
WHERE p.pronamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace::pg_catalog.oid
  AND NOT EXISTS (
    SELECT FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) AS a(t)
    WHERE a.t OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid)
  AND (p.proname OPERATOR(pg_catalog.=) ANY ('{_POLYMORPHIC_CALLS}'::pg_catalog.name[])
       OR EXISTS (
         SELECT FROM catalog_types c
         WHERE c.oid OPERATOR(pg_catalog.=) ANY (p.proargtypes::pg_catalog.oid[])))
  AND EXISTS (
    SELECT FROM pg_catalog.pg_proc b
    WHERE b.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace::pg_catalog.oid
      AND b.proname OPERATOR(pg_catalog.=) p.proname)
  AND NOT EXISTS (
    SELECT FROM pg_catalog.pg_proc b
    WHERE b.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace::pg_catalog.oid
      AND b.proname OPERATOR(pg_catalog.=) p.proname
      AND b.proargtypes OPERATOR(pg_catalog.=) p.proargtypes)
ORDER BY 1
"""


# The catalogs whose rows the catalog read's queries read (and those whose names or texts the
# deparsing functions print: pg_get_functiondef, pg_get_viewdef, pg_get_expr, pg_get_indexdef,
# regclass/regproc output), each fingerprinted by its visible row versions: how many, and the
# sum of a hash of each one's place and creating transaction (ctid, xmin). Any committed change
# of such a catalog (an INSERT, UPDATE or DELETE: CREATE, ALTER, DROP, GRANT …) adds row
# versions made by a transaction the earlier fingerprint did not see, or removes some: the
# fingerprint of one statement's snapshot never returns to an earlier value once a change
# committed (VACUUM FULL or FREEZE of a catalog change it too: a read more, never a stale one).
# Not xmin-tracked, so hashed by content: the roles (pg_authid is unreadable), and the
# session's settings as the server gives them (postgresql.conf reloaded, ALTER DATABASE / ROLE
# … SET: what the deparsing prints may depend on them). With the server's start time and the
# database's oid: two servers or databases copied from one (a template, a copied data
# directory) hold the same row versions. `GuardedConnection._tg_catalog_read` reuses a read's
# rows only where this row is equal, read in the same session just before (`CATALOG_READ_ROWS`).
FINGERPRINTED_CATALOGS = (
    "pg_proc", "pg_namespace", "pg_language", "pg_aggregate", "pg_depend", "pg_class",
    "pg_attribute", "pg_attrdef", "pg_type", "pg_constraint", "pg_trigger", "pg_rewrite",
    "pg_index", "pg_inherits", "pg_partitioned_table", "pg_policy", "pg_operator", "pg_cast",
    "pg_collation", "pg_enum", "pg_opclass", "pg_opfamily", "pg_am", "pg_extension",
    "pg_range", "pg_auth_members", "pg_db_role_setting", "pg_database", "pg_event_trigger",
    "pg_transform", "pg_ts_config", "pg_ts_dict",
)  # fmt: skip
CATALOG_FINGERPRINT_QUERY = (
    "SELECT ARRAY["
    + ", ".join(
        [
            "pg_catalog.pg_postmaster_start_time()::pg_catalog.text",
            "(SELECT d.oid::pg_catalog.text FROM pg_catalog.pg_database d"
            " WHERE d.datname = pg_catalog.current_database())",
            *(
                f"(SELECT pg_catalog.count(*)::pg_catalog.text || ':' || coalesce("
                "pg_catalog.sum(pg_catalog.hashtextextended(c.ctid::pg_catalog.text || ':' || "
                "c.xmin::pg_catalog.text, 0)), 0)::pg_catalog.text "
                f"FROM pg_catalog.{catalog} c)"
                for catalog in FINGERPRINTED_CATALOGS
            ),
            "(SELECT pg_catalog.count(*)::pg_catalog.text || ':' || coalesce("
            "pg_catalog.sum(pg_catalog.hashtextextended(r::pg_catalog.text, 0)), 0)::pg_catalog.text"
            " FROM pg_catalog.pg_roles r)",
            "(SELECT pg_catalog.count(*)::pg_catalog.text || ':' || coalesce("
            "pg_catalog.sum(pg_catalog.hashtextextended(s.name || '=' || coalesce("
            "s.setting, ''), 0)), 0)::pg_catalog.text FROM pg_catalog.pg_settings s)",
        ]
    )
    + "]"
)
