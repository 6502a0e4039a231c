"""What a database is made of, as PostgreSQL's own `pg_dump --schema-only` sees it, and its rows.

Comparing schemas compares pg_dump's output: whatever pg_dump shows (tables and their
persistence, columns, collations, defaults, generated columns, constraints, indexes, triggers and
whether they are enabled, functions, views, materialized views, sequences, domains, types,
schemas, partitions, policies, grants, comments, extensions) is compared. The dump is cut into
objects at pg_dump's `-- Name: …; Type: …; Schema: …` headers, so that a difference is shown per
object, by name. An extension at another version than the server's default gets the `VERSION`
pg_dump leaves out (a baseline then installs the patches' version). The patch ledger is left out.
Table contents are compared by a count and a hash per table (the rows themselves when there are
few).
"""

# tenantguard: ignore-file[TG009] -- catalog queries and whole-table hashes on scratch databases

from __future__ import annotations

import asyncio
import difflib
import glob
import os
import re
import shutil
import subprocess
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg

from tenantguard._patterns import lazy_pattern
from tenantguard.patches.dsn import Dsn, connect
from tenantguard.patches.files import PatchUsageError
from tenantguard.patches.runner import LEDGER, quote_ident

__all__ = [
    "TableContents",
    "baseline_text",
    "contents_diff",
    "database_properties",
    "database_statements",
    "derived_diff",
    "derived_states",
    "dump_schema",
    "find_pg_dump",
    "refresh_statements",
    "refreshes",
    "schema_and_database",
    "schema_diff",
    "schema_objects",
    "table_contents",
    "without_owners",
]

_HEADER = lazy_pattern(r"^-- Name: (.*); Type: (.*); Schema: (.*); Owner: .*$")
_NOISE = lazy_pattern(
    r"^(?:\\(?:un)?restrict .*|-- Dumped (?:from|by) .*|-- PostgreSQL database dump(?: complete)?"
    r"|SELECT pg_catalog\.set_config\('search_path', '', false\);)$"
)
_OWNER = lazy_pattern(r"^ALTER .+ OWNER TO (.+);$")
_HEADER_OWNER = lazy_pattern(r"; Owner: .*$")
_VERSION = lazy_pattern(r"(\d+)(?:\.(\d+))?")
_FEW_ROWS = 20  # tables with at most this many rows are compared row by row in messages


@lru_cache(maxsize=32)
def _major_version(binary: str) -> int | None:
    try:
        result = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(result.stdout.rsplit(")", 1)[-1]) or _VERSION.search(result.stdout)
    return int(match.group(1)) if match and result.returncode == 0 else None


def find_pg_dump(server_major: int) -> str:
    """A pg_dump that can read a server of this major version (its own major or a newer one).

    Looked for in $PG_DUMP, $PG_BIN, PATH, then the usual install directories.
    """
    if os.environ.get("PG_DUMP"):
        candidates = [os.environ["PG_DUMP"]]
    else:
        candidates = [os.path.join(os.environ.get("PG_BIN", ""), "pg_dump")]
        candidates.append(shutil.which("pg_dump") or "")
        for pattern in ("/usr/lib/postgresql/*/bin/pg_dump", "/usr/pgsql-*/bin/pg_dump"):
            candidates += sorted(glob.glob(pattern), reverse=True)
    found: list[tuple[int, str]] = []
    for candidate in dict.fromkeys(c for c in candidates if c and os.path.isfile(c)):
        major = _major_version(candidate)
        if major is not None:
            found.append((major, candidate))
    usable = sorted((m, c) for m, c in found if m >= server_major)
    if usable:
        exact = [c for m, c in usable if m == server_major]
        return exact[0] if exact else usable[0][1]
    seen = ", ".join(f"{c} ({m})" for m, c in found) or "none"
    raise PatchUsageError(
        f"verify and sync read schemas with pg_dump {server_major} or newer (the server is "
        f"PostgreSQL {server_major}); found: {seen}. Install the PostgreSQL client "
        f"(Debian: apt-get install postgresql-client-{server_major}) or set PG_DUMP to its path"
    )


async def dump_schema(dsn: Dsn, pg_dump: str) -> str:
    """`pg_dump --schema-only` of the database, without the patch ledger.

    Owners are kept where they are not the connecting user: a patch's `ALTER … OWNER TO role`
    is part of the schema (an owner bypasses its table's row-level security unless forced),
    while what the connecting user owns is simply what a new install's user will own.
    """
    conn = await connect(dsn)
    try:
        user = str(await conn.fetchval("SELECT current_user"))
        pinned = {str(r["name"]): str(r["version"]) for r in await conn.fetch(_PINNED_VERSIONS)}
    finally:
        await conn.close()
    dump = await _pg_dump(dsn, pg_dump, "--schema-only", f"--exclude-table=*.{LEDGER}")
    return _with_extension_versions(_without_owner(dump, user), pinned)


# extensions at another version than the server installs by default (round 29, helper h29d)
_PINNED_VERSIONS = """
SELECT pg_catalog.quote_ident(e.extname) AS name, e.extversion AS version
FROM pg_catalog.pg_extension e
LEFT JOIN pg_catalog.pg_available_extensions x ON x.name OPERATOR(pg_catalog.=) e.extname
WHERE x.default_version IS NULL OR x.default_version OPERATOR(pg_catalog.<>) e.extversion
"""
_CREATE_EXTENSION = lazy_pattern(r"^(CREATE EXTENSION IF NOT EXISTS (.+) WITH SCHEMA .+);$")


def _with_extension_versions(dump: str, pinned: dict[str, str]) -> str:
    """pg_dump's `CREATE EXTENSION … WITH SCHEMA …;` with `VERSION '…'` where the database has
    the extension at another version than the server's default. pg_dump never writes one: a
    patch's `CREATE EXTENSION hstore VERSION '1.4'` built 1.4, the baseline the default 1.8, and
    the patch's IF NOT EXISTS skipped it on top — upgraded databases and new installs apart, and
    no check saw it (round 29, helper h29d). At the default version the line stays as pg_dump
    writes it, so a baseline follows the server's default as a patch without VERSION does."""
    if not pinned:
        return dump
    lines = []
    # pg_dump's own lines only (round 33, helper h33n: str.splitlines over the whole dump turned
    # a body's `\r\n` into `\n`, and a body's own `CREATE EXTENSION … WITH SCHEMA …;` line got
    # the VERSION too, in the baseline and in what verify compares alike)
    for line, free in _dump_lines(dump):
        found = _CREATE_EXTENSION.match(line) if free else None
        if found is not None and found.group(2) in pinned:
            version = pinned[found.group(2)].replace("'", "''")
            line = f"{found.group(1)} VERSION '{version}';"
        lines.append(line)
    return "\n".join(lines) + "\n"


DATABASE = "<database>"  # the database's name in what is compared: each check has its own
_DATABASE_TYPES = ("DATABASE PROPERTIES", "COMMENT", "ACL")


async def database_properties(dsn: Dsn, pg_dump: str) -> dict[str, list[str]]:
    """What a patch sets on the database itself, as pg_dump --create shows it: `ALTER DATABASE
    … SET`, `ALTER ROLE … IN DATABASE … SET`, `COMMENT ON DATABASE`, its grants — with the
    database's name replaced by `<database>` (scratch databases have names of their own)."""
    conn = await connect(dsn)
    try:
        name = str(await conn.fetchval("SELECT pg_catalog.current_database()"))
        spelled = str(
            await conn.fetchval("SELECT pg_catalog.quote_ident(pg_catalog.current_database())")
        )
    finally:
        await conn.close()
    dump = await _pg_dump(dsn, pg_dump, "--schema-only", "--create", "--no-owner")
    return _database_objects(schema_objects(dump), name, spelled)


async def schema_and_database(dsn: Dsn, pg_dump: str) -> dict[str, list[str]]:
    """`schema_objects(dump_schema(…)) | database_properties(…)` from one pg_dump run instead
    of two (`--create` with the owners: the database's own entries, then the schema as
    `dump_schema` has it). Each pg_dump reads every catalog: verify compares five schemas, and
    one run less each takes about a tenth of a second of CPU off every one."""
    conn = await connect(dsn)
    try:
        user = str(await conn.fetchval("SELECT current_user"))
        pinned = {str(r["name"]): str(r["version"]) for r in await conn.fetch(_PINNED_VERSIONS)}
        name = str(await conn.fetchval("SELECT pg_catalog.current_database()"))
        spelled = str(
            await conn.fetchval("SELECT pg_catalog.quote_ident(pg_catalog.current_database())")
        )
    finally:
        await conn.close()
    dump = await _pg_dump(dsn, pg_dump, "--schema-only", "--create", f"--exclude-table=*.{LEDGER}")
    properties = _database_objects(schema_objects(dump), name, spelled)
    # the database's own entries (its CREATE DATABASE, then psql's `\connect` and pg_dump's
    # session SETs, kept in the entry before them) are not in dump_schema's dump
    own = {f"DATABASE {spelled}", f"DATABASE {name}"}
    objects = {
        key: lines
        for key, lines in schema_objects(
            _with_extension_versions(_without_owner(dump, user), pinned)
        ).items()
        if not (
            key.split(" #", 1)[0] in own
            or key.startswith("DATABASE PROPERTIES ")
            or (key.partition(" ")[0] in ("COMMENT", "ACL") and key.partition(" ")[2] in own)
        )
    }
    return objects | properties


def _database_objects(
    dumped: dict[str, list[str]], name: str, spelled: str
) -> dict[str, list[str]]:
    """The database's own properties among a `--create` dump's objects (`database_properties`)."""
    objects: dict[str, list[str]] = {}
    for key, lines in dumped.items():
        kind, _, rest = key.partition(" ")
        if key.startswith("DATABASE PROPERTIES "):
            kind, rest = "DATABASE PROPERTIES", key.removeprefix("DATABASE PROPERTIES ")
        if kind not in _DATABASE_TYPES:
            continue
        if kind != "DATABASE PROPERTIES" and rest not in (
            f"DATABASE {spelled}",
            f"DATABASE {name}",
        ):
            continue  # a comment or grants of another object: in the schema dump
        # psql's `\connect` lines and pg_dump's session SETs after them (`SET default_tablespace
        # = ''` before the first table, the ledger on one side only) out, not a literal's lines
        # (round 33, helper h33n: every line beginning with a backslash went, a comment's
        # `\i fix.sql';` too, and the baseline did not load)
        objects[f"{kind} DATABASE {DATABASE}"] = [
            _rename_database(line, spelled)
            for line, free in _dump_lines("\n".join(lines))
            if not (free and line.startswith(("\\", "SET ")))
        ]
    return objects


def _rename_database(line: str, spelled: str) -> str:
    """`ALTER DATABASE x SET …` -> `ALTER DATABASE <database> SET …` (x as pg_dump quotes it)."""
    return re.sub(
        rf"(\bDATABASE ){re.escape(spelled)}(?=[ ;])", lambda m: m.group(1) + DATABASE, line
    )


def database_statements(objects: dict[str, list[str]]) -> str:
    """`database_properties` as SQL that sets them on whatever database runs it."""
    out = []
    for key in sorted(objects):
        sql = _named_database("\n".join(objects[key]).replace("%", "%%"))
        # tags the text does not hold (round 33, helper h33n: a comment holding `$tg_sql$`
        # ended the quote early, and the baseline did not load)
        inner, outer = _free_tag("tg_sql", sql), _free_tag("tg_database", sql)
        out.append(
            f"DO ${outer}$ BEGIN EXECUTE format(${inner}${sql}${inner}$, current_database()); "
            f"END ${outer}$;"
        )
    return "\n".join(out)


def _free_tag(tag: str, text: str) -> str:
    """A dollar-quote tag `tag`, `tag_1`, … whose `$tag$` the text does not hold."""
    found, n = tag, 0
    while f"${found}$" in text:
        n += 1
        found = f"{tag}_{n}"
    return found


def _named_database(sql: str) -> str:
    """`<database>` as format's `%1$I` where a statement names the database: before its first
    literal (round 33, helper h33n: a comment's own `psql -d <database>` became the name of
    whichever database loaded the baseline, and sync refused a baseline that differed)."""
    from tenantguard.engine.sqltext import split_sql

    statements, _ = split_sql(sql)
    out, at = [], 0
    for statement in statements:
        text = statement.text
        quote = text.find("'")
        head = text if quote < 0 else text[:quote]
        out += [sql[at : statement.start], head.replace(DATABASE, "%1$I"), text[len(head) :]]
        at = statement.start + len(text)
    return "".join(out) + sql[at:]


async def _pg_dump(dsn: Dsn, pg_dump: str, *options: str) -> str:
    env = dict(os.environ)
    if dsn.password:
        env["PGPASSWORD"] = dsn.password  # not on the command line, where ps would show it
    process = await asyncio.create_subprocess_exec(
        pg_dump,
        *options,
        f"--dbname={dsn.without_password().keywords()}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        message = dsn.redact(err.decode("utf-8", "replace").strip())
        raise PatchUsageError(f"pg_dump of {dsn} failed: {message}")
    return out.decode("utf-8")


def _spelled(users: set[str]) -> set[str]:
    """The names as pg_dump spells them, quoted or not."""
    return users | {'"' + user.replace('"', '""') + '"' for user in users}


def _owned_by(line: str, free: bool, names: set[str]) -> bool:
    """Whether the line is pg_dump's own `ALTER … OWNER TO one of names;` (not a line of a
    statement that spans lines: a function body's `ALTER TABLE t OWNER TO app;`)."""
    owned = _OWNER.match(line) if free else None
    return owned is not None and owned.group(1) in names


def _without_owner(dump: str, user: str) -> str:
    """The dump without `ALTER … OWNER TO user;` lines and with `Owner: -` in its headers."""
    names = _spelled({user})
    lines = []
    for line, free in _dump_lines(dump):
        if _owned_by(line, free, names):
            continue
        lines.append(
            _HEADER_OWNER.sub("; Owner: -", line) if free and _HEADER.match(line) else line
        )
    return "\n".join(lines) + "\n"


def without_owners(objects: dict[str, list[str]], owners: set[str]) -> dict[str, list[str]]:
    """`schema_objects` without pg_dump's `ALTER … OWNER TO` lines naming one of `owners`, and
    without the objects left with no statement (pg_dump's `SCHEMA public` entry holds only its
    owner). An object's lines are read through the lexer again (round 33, helper h33n: every
    line reading so was dropped, a function body's own too: a body edited to hand a table to
    the migration role was no difference)."""
    names = _spelled(owners)
    kept: dict[str, list[str]] = {}
    for key, lines in objects.items():
        rest = [
            (line, free)
            for line, free in _dump_lines("\n".join(lines))
            if not _owned_by(line, free, names)
        ]
        if any(not free or not line.startswith(("--", "SET ")) for line, free in rest):
            kept[key] = [line for line, _ in rest]
    return kept


_PSQL_COMMAND = lazy_pattern(r"^\\(?:(?:un)?restrict \S+|connect .*)$", re.MULTILINE)


def _masked(dump: str) -> str:
    """psql's `\\restrict KEY`, `\\unrestrict KEY` and (pg_dump --create) `\\connect …` lines
    are no SQL: masked (same length) so that the SQL lexer does not take them into a
    statement."""
    return _PSQL_COMMAND.sub(lambda found: " " * len(found.group()), dump)


def _dump_lines(dump: str) -> list[tuple[str, bool]]:
    """The dump's lines, each with whether it is pg_dump's own framing to normalise ("free": no
    string, dollar-quoted body or statement runs across its start or its end) or part of a
    statement that spans lines, kept byte for byte (round 33, helper h33f: every line was
    stripped of trailing blanks, blank lines squeezed or dropped and a line reading like
    pg_dump's preamble dropped — inside function bodies, view and comment literals too: a
    Markdown template lost its hard line break `'Dear patient,  '`, an SQL function its `SELECT
    pg_catalog.set_config('search_path', '', false);`, in the baseline sync wrote, and verify
    dropped the same before comparing)."""
    from tenantguard.engine.sqltext import split_sql

    statements, _ = split_sql(_masked(dump))
    spans = [(st.start, st.start + len(st.text)) for st in statements if "\n" in st.text]
    starts = [start for start, _ in spans]

    def inside(offset: int) -> bool:
        at = bisect_right(starts, offset - 1) - 1  # the last span starting before offset
        return at >= 0 and spans[at][0] < offset < spans[at][1]

    out: list[tuple[str, bool]] = []
    offset = 0
    for line in dump.split("\n"):
        end = offset + len(line)
        out.append((line, not inside(offset) and not inside(end)))
        offset = end + 1
    if out and out[-1] == ("", True):
        out.pop()  # the text's final newline
    return out


def baseline_text(dump: str, header: str, given: Sequence[str] = ()) -> str:
    """The dump as a baseline file: a header, and pg_dump's output without the lines that change
    from one run or version to the next (\\restrict keys, versions). The search_path reset is
    left out too: every name in the dump is schema-qualified, and the session that loads the
    baseline keeps its own search_path. Only pg_dump's framing is tidied (trailing blanks, runs
    of blank lines): what a statement holds across lines stays byte for byte.

    `given`: the schemas of the search path (spelled as pg_dump does), whose `CREATE SCHEMA x;`
    becomes `CREATE SCHEMA IF NOT EXISTS x;` — a new install's administrator may have made them
    already, as the runner needs them before the ledger. pg_dump's own line only (round 33,
    helper h33n: a function body's `CREATE SCHEMA public;` line was rewritten too, and sync
    refused the baseline it wrote)."""
    creates = {
        f"CREATE SCHEMA {schema};": f"CREATE SCHEMA IF NOT EXISTS {schema};" for schema in given
    }
    lines: list[tuple[str, bool]] = []
    for line, free in _dump_lines(dump):
        if free:
            line = creates.get(line.rstrip(), line.rstrip())
            if _NOISE.match(line) or (not line and lines and lines[-1] == ("", True)):
                continue
        lines.append((line, free))
    while lines and lines[0][1] and lines[0][0] in ("", "--"):  # the banners' comment frames
        lines.pop(0)
    while lines and lines[-1][1] and lines[-1][0] in ("", "--"):
        lines.pop()
    return header.rstrip() + "\n\n" + "\n".join(line for line, _ in lines) + "\n"


def schema_objects(dump: str) -> dict[str, list[str]]:
    """The dump cut into objects: `TYPE schema.name` -> its statements (pg_dump's blank lines
    and frames dropped; a statement's own lines, blank ones in a body too, as they are)."""
    objects: dict[str, list[str]] = {}
    key: str | None = None
    for raw, free in _dump_lines(dump):
        line = raw.rstrip() if free else raw
        header = _HEADER.match(line) if free else None
        if header is not None:
            name, kind, schema = header.groups()
            key = f"{kind} {name}" if schema == "-" else f"{kind} {schema}.{name}"
            base, n = key, 2
            while key in objects:  # pg_dump names are unique per type; stay safe if not
                key, n = f"{base} #{n}", n + 1
            objects[key] = []
            continue
        if key is None or (free and (not line or line == "--" or _NOISE.match(line))):
            continue  # the preamble of SET lines, separators
        objects[key].append(line)
    for key, lines in objects.items():
        if key.startswith(("FUNCTION ", "PROCEDURE ")) and any(
            line.strip() == "BEGIN ATOMIC" for line in lines
        ):
            objects[key] = [_without_cast_aliases(line) for line in lines]
    return objects


def _without_cast_aliases(line: str) -> str:
    """The line with every `::type AS type` read as `::type`, nested ones too: `( SELECT
    'a'::text AS text) AS text` is `( SELECT 'a'::text)` once the inner alias is gone."""
    for _ in range(8):
        read = _CAST_ALIAS.sub(_without_cast_alias, line)
        if read == line:
            break
        line = read
    return line


# `expression::type AS type` in a BEGIN ATOMIC body: PostgreSQL stores the body parsed and pg_dump
# prints it back — `SELECT $q$hello$q$` as `SELECT 'hello'::text`, which a new install names
# after its cast and prints `SELECT 'hello'::text AS text` (a scalar subquery's `( SELECT
# 'a'::text) AS text`): the same function. Read as one
# (round 34, helper h34G: sync refused to write any baseline of such a function, 'would not
# build the pipeline's schema', and verify failed on a hand-written one)
_CAST_ALIAS = lazy_pattern(
    r"::((?:\"[^\"]+\"|[A-Za-z_][\w$]*)(?:\.(?:\"[^\"]+\"|[A-Za-z_][\w$]*))?(?: [a-z]+)*?"
    r"(?:\([0-9, ]+\))?(?:\[\])*)(\)*) AS (\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$]*)"
)


def _without_cast_alias(found: re.Match[str]) -> str:
    """`::type` when the alias is the column name PostgreSQL gives the cast — also the cast
    ending a scalar subquery, `( SELECT 'a'::text) AS text` — else as found."""
    alias = found.group(3)
    name = alias[1:-1].replace('""', '"') if alias.startswith('"') else alias.lower()
    if _cast_column_name(found.group(1)) != name:
        return found.group()
    return f"::{found.group(1)}{found.group(2)}"


@lru_cache(maxsize=256)
def _cast_column_name(type_text: str) -> str | None:
    """The column name PostgreSQL gives `x::type_text` (its type's last name as the parser
    reads it: `integer` is int4, `character varying` varchar)."""
    import pglast

    try:
        statement: Any = pglast.parse_sql(f"SELECT NULL::{type_text}")[0].stmt
        return str(statement.targetList[0].val.typeName.names[-1].sval)
    except Exception:  # pglast raises several types for text it cannot read
        return None


def schema_diff(
    left: dict[str, list[str]], right: dict[str, list[str]], left_name: str, right_name: str
) -> str:
    """A readable difference, object by object; empty when both are equal."""
    out: list[str] = []
    for key in sorted(set(left) | set(right)):
        if key not in right:
            out.append(f"{key}: only in {left_name}")
            out += [f"  - {line}" for line in left[key]]
        elif key not in left:
            out.append(f"{key}: only in {right_name}")
            out += [f"  + {line}" for line in right[key]]
        elif left[key] != right[key]:
            out.append(f"{key}: differs (- {left_name}, + {right_name})")
            for line in difflib.unified_diff(left[key], right[key], lineterm="", n=0):
                if not line.startswith(("---", "+++", "@@")):
                    out.append(f"  {line[0]} {line[1:]}")
    return "\n".join(out)


@dataclass(frozen=True)
class TableContents:
    rows: int
    digest: str
    sample: tuple[str, ...] | None  # every row as text, when there are few


async def table_contents(conn: asyncpg.Connection) -> dict[str, TableContents]:
    """A count and a hash of every table's rows (the patch ledger left out)."""
    tables = await conn.fetch(
        """SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
           WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND c.relname OPERATOR(pg_catalog.<>) $1
             AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema'
             AND n.nspname OPERATOR(pg_catalog.!~) '^pg_'
           ORDER BY 1, 2""",
        LEDGER,
    )
    contents: dict[str, TableContents] = {}
    for table in tables:
        name = f"{quote_ident(table['nspname'])}.{quote_ident(table['relname'])}"
        row = await conn.fetchrow(
            f"SELECT pg_catalog.count(*) AS n, pg_catalog.md5(coalesce(pg_catalog.string_agg("
            f"\"tg row\"::pg_catalog.text, E'\\n' ORDER BY \"tg row\"::pg_catalog.text), ''))"
            f' AS digest FROM ONLY {name} AS "tg row"'
        )
        if row is None:  # an aggregate always returns a row
            continue
        sample = None
        if row["n"] <= _FEW_ROWS:
            rows = await conn.fetch(
                f'SELECT "tg row"::pg_catalog.text AS r FROM ONLY {name} AS "tg row" ORDER BY 1'
            )
            sample = tuple(r["r"] for r in rows)
        contents[f"{table['nspname']}.{table['relname']}"] = TableContents(
            row["n"], row["digest"], sample
        )
    return contents


def _rows(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


def contents_diff(
    left: dict[str, TableContents],
    right: dict[str, TableContents],
    left_name: str,
    right_name: str,
) -> str:
    """Tables whose rows differ, with their counts (and the rows, when there are few)."""
    out: list[str] = []
    for table in sorted(set(left) | set(right)):
        a, b = left.get(table), right.get(table)
        if a is None or b is None or a.digest == b.digest:
            continue  # a table on one side only is a schema difference, reported there
        if a.rows != b.rows:
            out.append(f"table {table}: {_rows(a.rows)} {left_name}, {_rows(b.rows)} {right_name}")
        else:
            out.append(
                f"table {table}: {_rows(a.rows)} on both, but different contents "
                f"({left_name} md5 {a.digest[:12]}, {right_name} md5 {b.digest[:12]})"
            )
        if a.sample is not None and b.sample is not None:
            only_a = [r for r in a.sample if r not in b.sample]
            only_b = [r for r in b.sample if r not in a.sample]
            out += [f"  - {r}" for r in only_a[:5]] + [f"  + {r}" for r in only_b[:5]]
            if len(only_a) == len(only_b) == 0:  # the same rows, some of them more often
                extra = sorted(set(b.sample), key=b.sample.index)
                out += [f"  {r} ({a.sample.count(r)} -> {b.sample.count(r)})" for r in extra[:5]]
    return "\n".join(out)


async def derived_states(conn: asyncpg.Connection) -> dict[str, str]:
    """What pg_dump --schema-only leaves out but a new install depends on (round 28, helper
    h28d): the value each sequence gives next — it keeps START WITH, not where a patch's
    `setval` or `ALTER SEQUENCE … RESTART` moved it — and whether a materialized view is
    populated — it writes each `WITH NO DATA`, its REFRESH being data."""
    states: dict[str, str] = {}
    # the sequence's own `last_value, is_called`: pg_sequences' last_value is NULL until a
    # nextval — also after `setval(s, 1000, false)` or `ALTER SEQUENCE s RESTART WITH 1000`,
    # which were read as START WITH (round 33, helper h33f)
    for seq in await conn.fetch(
        """-- tenantguard: ignore[TG006] -- the scratch database's sequences, not a tenant's rows
           SELECT schemaname, sequencename, increment_by, min_value, max_value, cycle,
                  last_value, start_value,
                  pg_catalog.has_sequence_privilege(
                      pg_catalog.quote_ident(schemaname) OPERATOR(pg_catalog.||) '.'
                      OPERATOR(pg_catalog.||) pg_catalog.quote_ident(sequencename),
                      'SELECT') AS readable
           FROM pg_catalog.pg_sequences
           WHERE schemaname OPERATOR(pg_catalog.<>) 'information_schema'
             AND schemaname OPERATOR(pg_catalog.!~) '^pg_'"""
    ):
        name = f"{quote_ident(seq['schemaname'])}.{quote_ident(seq['sequencename'])}"
        # (a sequence a patch's role keeps to itself: what pg_sequences shows)
        last, called = seq["last_value"], seq["last_value"] is not None
        if seq["readable"]:
            at = await conn.fetchrow(f"SELECT last_value, is_called FROM {name}")
            if at is not None:
                last, called = at["last_value"], at["is_called"]
        states[f"sequence {seq['schemaname']}.{seq['sequencename']}"] = _next_value(
            seq, seq["start_value"] if last is None else last, called
        )
    rows = await conn.fetch(
        """SELECT 'materialized view ' OPERATOR(pg_catalog.||) n.nspname
                    OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) c.relname AS key,
                  CASE WHEN c.relispopulated THEN 'populated' ELSE 'not populated' END AS state
           FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
           WHERE c.relkind OPERATOR(pg_catalog.=) 'm'
             AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema'
             AND n.nspname OPERATOR(pg_catalog.!~) '^pg_'
           ORDER BY 1"""
    )
    states.update((str(row["key"]), str(row["state"])) for row in rows)
    return dict(sorted(states.items()))


def _next_value(seq: asyncpg.Record, last: int, called: bool) -> str:
    """What the sequence's next nextval gives: past its end, a CYCLE sequence starts over at
    its MINVALUE (MAXVALUE going down) — round 33, helper h33n: one a patch left at its end
    was read as giving `MAXVALUE + 1`, not what a new install gives too — and one without
    CYCLE gives none."""
    if not called:
        return f"next value {last}"
    step, low, high = seq["increment_by"], seq["min_value"], seq["max_value"]
    value = last + step
    if low <= value <= high:
        return f"next value {value}"
    if seq["cycle"]:
        return f"next value {low if step > 0 else high}"
    return f"no next value (at its {'MAXVALUE' if step > 0 else 'MINVALUE'} {last})"


_DERIVED_HINTS = {
    "sequence": (
        "pg_dump --schema-only keeps a sequence's START WITH, not a setval or ALTER SEQUENCE … "
        "RESTART of a patch: a new install from the baseline numbers from elsewhere. Give the "
        "sequence START WITH where the patch creates it (or move it outside the patch's guard)"
    ),
    "materialized view": (
        "pg_dump --schema-only writes a materialized view WITH NO DATA (its REFRESH is data): "
        "a new install's queries of it fail ('has not been populated'). `tenantguard patches "
        "sync` writes the REFRESH into the baseline"
    ),
}


_RUN_AGAIN_HINT = (
    "a patch run again moves it (a nextval, a setval or RESTART from where it stands): a "
    "database whose ledger is lost, or a new install running the patches on the baseline, "
    "gets other numbers. Guard it (only where the patch creates the sequence: START WITH)"
)


def derived_diff(
    left: dict[str, str],
    right: dict[str, str],
    left_name: str,
    right_name: str,
    *,
    hints: bool = True,
) -> str:
    """Sequences and materialized views (on both sides) in another state, one line each; with
    `hints`, what the baseline lacks of them and what to do."""
    out: list[str] = []
    kinds: list[str] = []
    for key in sorted(set(left) & set(right)):
        if left[key] != right[key]:
            out.append(
                f"{key}: {left[key]} after the {left_name}, {right[key]} after the {right_name}"
            )
            kind = key.rsplit(" ", 1)[0]
            if kind not in kinds:
                kinds.append(kind)
    if not hints and out:
        kinds, out = [], [*out, _RUN_AGAIN_HINT]
    return "\n".join(out + [_DERIVED_HINTS[kind] for kind in kinds])


def refreshes(data_dump: str) -> list[str]:
    """The `REFRESH MATERIALIZED VIEW …;` statements of a pg_dump (its post-data section), in its
    order (a view that reads another is refreshed after it). Statements, as the SQL lexer reads
    them (round 33, helper h33n: lines beginning so were taken — one in a comment on an index,
    a runbook, refreshed in the baseline a view the patches leave WITH NO DATA; a view named
    with a newline lost the rest of its name, and the baseline did not load)."""
    from tenantguard.engine.sqltext import split_sql

    statements, _ = split_sql(_masked(data_dump))
    return [
        st.text.strip() + ";"
        for st in statements
        if st.text.strip().startswith("REFRESH MATERIALIZED VIEW ")
    ]


async def refresh_statements(dsn: Dsn, pg_dump: str) -> list[str]:
    """What refreshes the database's populated materialized views, as pg_dump orders it."""
    return refreshes(await _pg_dump(dsn, pg_dump, "--section=post-data"))
