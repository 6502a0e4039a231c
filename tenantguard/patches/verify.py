"""`patches verify` and `patches sync`: the pipeline against the baseline, on scratch databases.

verify proves, on databases it creates (and drops) on the given server:
  1. every index the pipeline builds is valid;
  2. the pipeline applied twice changes nothing the second time — neither the schema nor any
     table's contents nor where a sequence stands (every patch is idempotent);
  3. the pipeline's schema equals the baseline's (as `pg_dump --schema-only` shows them);
  4. the pipeline applied on top of the baseline changes nothing, and leaves the same rows and
     the same next value of every sequence and the same materialized views populated as the
     pipeline alone (new installs converge with upgraded ones; pg_dump --schema-only keeps no
     sequence's value and writes every materialized view WITH NO DATA);
  5. when the given database has a patch ledger: its schema equals what the patches its ledger
     records build (an object made by hand under a patch's name, of another shape, is skipped
     by the patch's `IF NOT EXISTS` and seen only here).
sync rewrites the baseline from `pg_dump` of what the pipeline builds, after checking that the
new baseline builds the same schema.

Scratch databases are named `tg_scratch_<epoch>_<label>_<random>` and held open by a connection
of their own while in use: a later run drops those that nobody holds and that are older than a
minute (left by a verify that was killed).
"""

# tenantguard: ignore-file[TG007,TG009] -- creates and drops scratch databases, runs patch files by design

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from pglast import ast
from pglast.stream import RawStream

from tenantguard._patterns import lazy_pattern
from tenantguard.patches.dsn import Dsn, connect
from tenantguard.patches.dump import (
    TableContents,
    baseline_text,
    contents_diff,
    database_properties,
    database_statements,
    derived_diff,
    derived_states,
    dump_schema,
    find_pg_dump,
    refresh_statements,
    schema_and_database,
    schema_diff,
    schema_objects,
    table_contents,
    without_owners,
)
from tenantguard.patches.files import (
    PatchError,
    PatchFile,
    PatchUsageError,
    decode_patch,
    read_patches,
)
from tenantguard.patches.runner import (
    LEDGER,
    apply_patches,
    invalid_indexes,
    ledger_of,
    plan_of,
    quote_ident,
)
from tenantguard.patches.statements import (
    SqlStatement,
    altered_role,
    created_roles,
    role_attributes,
    role_memberships,
    role_statements,
    server_wide,
    split_patch,
    without_memberships,
)

__all__ = [
    "SCRATCH_PREFIX",
    "VerifyReport",
    "sweep_scratch_databases",
    "sync_baseline",
    "verify_pipeline",
]

SCRATCH_PREFIX = "tg_scratch_"
LIVE_CHECK = "the database's schema equals what its applied patches build"
_SCRATCH_NAME = lazy_pattern(rf"^{SCRATCH_PREFIX}(\d+)_[a-z]+_[0-9a-f]+$")

BASELINE_HEADER = """-- Baseline schema for new installations.
-- Written by `tenantguard patches sync` (pg_dump --schema-only of what the patch pipeline builds);
-- do not edit by hand: add a patch, then sync. `tenantguard patches verify` proves the two equal.
"""

log = logging.getLogger("tenantguard.patches.verify")


@dataclass
class VerifyReport:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(passed for _, passed, _ in self.checks)

    def add(self, name: str, difference: str) -> None:
        self.checks.append((name, not difference, difference))


async def sweep_scratch_databases(dsn: Dsn, stale_after: float = 60.0) -> list[str]:
    """Drops scratch databases left by runs that died: no connection holds them, and they are
    older than `stale_after` seconds (by the server's clock). Returns their names."""
    dropped: list[str] = []
    admin = await connect(dsn)
    try:
        rows = await admin.fetch(
            """SELECT d.datname, extract(epoch FROM pg_catalog.now())::pg_catalog.float8 AS now
               FROM pg_catalog.pg_database d
               WHERE d.datname OPERATOR(pg_catalog.~~) ($1 OPERATOR(pg_catalog.||) '%')
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                                 WHERE a.datname OPERATOR(pg_catalog.=) d.datname)""",
            SCRATCH_PREFIX,
        )
        for row in rows:
            match = _SCRATCH_NAME.match(row["datname"])
            if match is None or row["now"] - int(match.group(1)) < stale_after:
                continue
            try:
                await admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(row['datname'])}")
            except asyncpg.ObjectInUseError:
                continue  # someone connected in the meantime: not stale
            log.info(
                "dropped stale scratch database %s (left by a run that did not finish)",
                row["datname"],
            )
            dropped.append(row["datname"])
    finally:
        await admin.close()
    return dropped


def _search_path_names(path: str) -> list[str]:
    """The entries of a `SHOW search_path` value, unquoted (`"$user", public` -> `$user`, `public`)."""
    names: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(path):
        char = path[i]
        if quoted:
            if char == '"' and path.startswith('""', i):
                current.append('"')
                i += 1
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"':
            quoted = True
        elif char == ",":
            names.append("".join(current))
            current = []
        elif not char.isspace():
            current.append(char)
        i += 1
    names.append("".join(current))
    return [name for name in names if name]


async def _path_schemas(conn: asyncpg.Connection) -> list[str]:
    """The schemas the session's search path names for the pipeline: each named one (not
    `pg_…`), and the user's own for `$user` when this database has it. They are where the
    database keeps what the patches build, made by whoever set the database up (as `public`
    comes with every database): a scratch database gets them too."""
    path = str(await conn.fetchval("SHOW search_path"))
    user = str(await conn.fetchval("SELECT current_user"))
    schemas: list[str] = []
    for name in _search_path_names(path):
        if name == "$user":
            if await conn.fetchval(
                "SELECT pg_catalog.to_regnamespace(pg_catalog.quote_ident($1)) IS NOT NULL", user
            ):
                schemas.append(user)
        elif not name.startswith("pg_") and name not in schemas:
            schemas.append(name)
    return schemas


@asynccontextmanager
async def scratch_database(dsn: Dsn, label: str) -> AsyncIterator[Dsn]:
    """A database created for the check on the given server, held open while in use, dropped
    after; with the schemas the search path names (round 29, helper h29d: a DSN saying
    `options=-csearch_path=app` for a database that keeps the application in `app` had verify
    and sync fail on their scratch databases, which lacked it — 'the session's search_path
    names no existing schema' — or, with `app,public`, build into `public`)."""
    admin = await connect(dsn)
    try:
        schemas = await _path_schemas(admin)
        now = int(await admin.fetchval("SELECT extract(epoch FROM pg_catalog.now())"))
        name = f"{SCRATCH_PREFIX}{now}_{label}_{secrets.token_hex(4)}"
        await admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    finally:
        await admin.close()
    scratch = dsn.with_database(name)
    keeper = None
    try:
        keeper = await connect(scratch)  # marks the database as in use for other runs' sweeps
        for schema in schemas:
            await keeper.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        yield scratch
    finally:
        if keeper is not None:
            await keeper.close()
        admin = await connect(dsn)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        finally:
            await admin.close()


async def _server_pg_dump(dsn: Dsn) -> str:
    conn = await connect(dsn)
    try:
        version = int(await conn.fetchval("SHOW server_version_num"))
    finally:
        await conn.close()
    return find_pg_dump(version // 10000)


async def _schema(dsn: Dsn, pg_dump: str) -> dict[str, list[str]]:
    """The schema's objects, and what is set on the database itself (pg_dump --create): one
    pg_dump run, in one snapshot of the catalogs."""
    return await schema_and_database(dsn, pg_dump)


async def _state(dsn: Dsn, pg_dump: str) -> tuple[dict[str, list[str]], dict[str, TableContents]]:
    objects = await _schema(dsn, pg_dump)
    conn = await connect(dsn)
    try:
        contents = await table_contents(conn)
    finally:
        await conn.close()
    return objects, contents


async def _derived(dsn: Dsn) -> dict[str, str]:
    conn = await connect(dsn)
    try:
        return await derived_states(conn)
    finally:
        await conn.close()


async def _forget_ledger(dsn: Dsn) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(f"DELETE FROM {LEDGER}")
    finally:
        await conn.close()


def _roles_created(statements: list[SqlStatement]) -> dict[str, str]:
    return {name: sql for statement in statements for name, sql in created_roles(statement)}


Memberships = dict[tuple[str, str], bool]  # (role, member) -> with ADMIN OPTION


Settings = dict[str, dict[str, str]]  # role -> setting -> `ALTER ROLE r SET …`


def _role_nodes(
    statements: list[SqlStatement],
    roles: dict[str, Any] | None = None,
    members: Memberships | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Each role the statements create, as a `CREATE ROLE` node (without memberships) with the
    attributes the `ALTER ROLE`s after it set (onto `roles`, the earlier patches' roles, when
    given); the memberships the statements leave go to `members`, the role-wide settings of
    the roles they create (`ALTER ROLE r SET …`, which pg_dump does not dump) to `settings`."""
    roles = {} if roles is None else roles
    members = {} if members is None else members
    settings = {} if settings is None else settings
    for statement in statements:
        for name, node in role_statements(statement):
            if isinstance(node, ast.CreateRoleStmt):
                if name in roles:
                    continue  # (guarded by IF to_regrole(…) IS NULL: the first one makes it)
                roles[name] = without_memberships(node)
            elif isinstance(node, ast.AlterRoleStmt):
                if name in roles:
                    roles[name] = altered_role(roles[name], node)
                continue
            elif isinstance(node, ast.AlterRoleSetStmt):
                if name in roles:
                    _set_role_setting(settings.setdefault(name, {}), node)
                continue
            for role, member, admin in role_memberships(node):
                if admin is None:
                    members.pop((role, member), None)
                elif isinstance(node, ast.GrantRoleStmt) and not node.is_grant:
                    if (role, member) in members:
                        members[(role, member)] = False  # REVOKE ADMIN OPTION FOR
                else:
                    members[(role, member)] = members.get((role, member), False) or admin
    return roles


def _set_role_setting(settings: dict[str, str], node: Any) -> None:
    """`ALTER ROLE r SET/RESET …` onto a role's settings."""
    kind = getattr(node.setstmt.kind, "name", "")
    name = str(node.setstmt.name or "").lower()
    if kind == "VAR_RESET_ALL":
        settings.clear()
    elif kind == "VAR_RESET" or kind == "VAR_SET_DEFAULT":
        settings.pop(name, None)
    else:
        settings[name] = RawStream()(node)


def _patch_roles(
    patches: list[PatchFile], members: Memberships | None = None
) -> dict[str, tuple[str, str]]:
    """Roles the patches create: name -> (the patch, its `CREATE ROLE …` with the attributes
    the later patches' `ALTER ROLE … WITH …` give it); into `members`, the memberships the
    patches leave that name one of them (round 31, helper h31f: a `REVOKE admin FROM app` of a
    later patch was lost as a later `ALTER ROLE` was: the baseline's `CREATE ROLE app IN ROLE
    admin` made every new install's application role an admin)."""
    nodes: dict[str, Any] = {}
    creators: dict[str, str] = {}
    granted: Memberships = {}
    settings: Settings = {}
    for patch in patches:
        try:
            statements = patch.statements
        except PatchError:
            continue  # apply reports it
        _role_nodes(statements, nodes, granted, settings)
        for name in nodes:
            creators.setdefault(name, patch.name)
    if members is not None:
        members.update(_of_roles(granted, set(nodes)))
    # the role's settings go with its creation (`ALTER ROLE reporting SET
    # default_transaction_read_only = on` was lost: a new install's reporting role could write)
    return {
        name: (
            creators[name],
            "; ".join(
                [RawStream()(node), *(v for _k, v in sorted(settings.get(name, {}).items()))]
            ),
        )
        for name, node in nodes.items()
    }


def _roles_and_members(patches: list[PatchFile]) -> tuple[dict[str, tuple[str, str]], Memberships]:
    members: Memberships = {}
    return _patch_roles(patches, members), members


def _of_roles(members: Memberships, roles: set[str]) -> Memberships:
    return {pair: admin for pair, admin in members.items() if pair[0] in roles or pair[1] in roles}


def _literal(name: str) -> str:
    return "'" + quote_ident(name).replace("'", "''") + "'"


def _role_preamble(roles: dict[str, tuple[str, str]], members: Memberships | None = None) -> str:
    """The baseline's first statements: the patches' roles, created when missing (pg_dump
    dumps grants and owners, never the roles they name, which belong to the server), then the
    memberships the patches leave, granted when missing."""
    if not roles:
        return ""
    lines = ["", "-- Roles the patches create: pg_dump dumps what they are granted, not the roles."]
    for name, (_patch, sql) in roles.items():
        lines.append(
            f"DO $tg_role$ BEGIN IF to_regrole({_literal(name)}) IS NULL THEN {sql}; END IF; "
            "END $tg_role$;"
        )
    for (role, member), admin in sorted((members or {}).items()):
        option = " WITH ADMIN OPTION" if admin else ""
        lines.append(
            "DO $tg_role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members WHERE "
            f"roleid = to_regrole({_literal(role)}) AND member = to_regrole({_literal(member)})"
            f"{' AND admin_option' if admin else ''}) THEN GRANT {quote_ident(role)} TO "
            f"{quote_ident(member)}{option}; END IF; END $tg_role$;"
        )
    return "\n".join(lines) + "\n"


def _roles_missing(
    roles: dict[str, tuple[str, str]],
    baseline_sql: str,
    baseline: Path,
    members: Memberships | None = None,
) -> str:
    """The roles the patches create that the baseline does not, or creates with other
    attributes or memberships than the patches leave them with ('' when none, or unreadable).
    verify runs where the patches have created and altered them: only the text tells."""
    given_members: Memberships = {}
    given_settings: Settings = {}
    try:
        made = _role_nodes(
            split_patch(baseline_sql, str(baseline)),
            members=given_members,
            settings=given_settings,
        )
    except PatchError:
        return ""  # the check that loads the baseline says what is wrong with it
    said = []
    for name, (patch, sql) in roles.items():
        if name not in made:
            said.append(
                f"role {name}: created by {patch}, not by {baseline}: a new install from the "
                "baseline fails where it does not exist yet (run sync)"
            )
            continue
        wanted_settings: Settings = {}
        wanted_node = _role_nodes(split_patch(sql, "role"), settings=wanted_settings)[name]
        given = role_attributes(made[name])
        if role_attributes(wanted_node) != given:
            said.append(
                f"role {name}: the patches leave it as `{RawStream()(wanted_node)}`, {baseline} "
                f"creates it as `{RawStream()(made[name])}`: a new server gets the baseline's "
                "(run sync)"
            )
        wanted_set, given_set = wanted_settings.get(name, {}), given_settings.get(name, {})
        for setting in sorted(set(wanted_set) | set(given_set)):
            if wanted_set.get(setting) != given_set.get(setting):
                said.append(
                    f"role {name}: setting {setting}: the patches leave "
                    f"`{wanted_set.get(setting, 'none')}`, {baseline} gives "
                    f"`{given_set.get(setting, 'none')}`: a new server gets the baseline's "
                    "(run sync)"
                )
    wanted_members = members or {}
    given_members = _of_roles(given_members, set(roles))
    for pair in sorted(set(wanted_members) | set(given_members)):
        role, member = pair
        want, give = wanted_members.get(pair), given_members.get(pair)
        if want == give:
            continue
        shown = {None: "no membership", False: "a member", True: "a member WITH ADMIN OPTION"}
        said.append(
            f"role {member} in role {role}: the patches leave {shown[want]}, {baseline} "
            f"grants {shown[give]}: a new server gets the baseline's (run sync)"
        )
    return "\n".join(said)


SERVER_WIDE_CHECK = "the patches and the baseline change nothing outside their database"


def server_wide_changes(
    patches: list[PatchFile], baseline_sql: str | None = None, baseline: Path | None = None
) -> str:
    """The statements of the patches (and the baseline) that change the server beyond the
    database they run in — roles, its settings, tablespaces, other databases: one line each,
    `file:line: what` ('' when none). verify and sync run them on scratch databases of the
    server they are given: there they would change the live server's roles now, a pending
    patch's before it is applied (round 22, helper 100)."""
    lines: list[str] = []
    sources: list[tuple[str, list[SqlStatement]]] = []
    for patch in patches:
        try:
            sources.append((str(patch.path), patch.statements))
        except PatchError:
            continue  # apply reports it
    if baseline_sql is not None and baseline is not None:
        # (one that does not parse: the check that loads the baseline says what is wrong)
        with contextlib.suppress(PatchError):
            sources.append((str(baseline), split_patch(baseline_sql, str(baseline))))
    for path, statements in sources:
        for statement in statements:
            for what in server_wide(statement):
                lines.append(f"{path}:{statement.line}: {what}")
    return "\n".join(lines)


_SERVER_WIDE_HINT = (
    "verify and sync run the patches on scratch databases of the server they are given, and "
    "these statements act on that whole server (a role, its settings, another database): run "
    "them against a throwaway server with --throwaway-server (a local initdb), or keep role "
    "and server management out of the patches"
)


async def verify_pipeline(
    dsn: str | Dsn,
    directory: Path,
    baseline: Path,
    *,
    stale_after: float = 60.0,
    throwaway_server: bool = False,
) -> VerifyReport:
    """The four proofs of the module docstring; each a named check with a readable difference.
    `throwaway_server`: the server may have its roles and settings changed by the patches."""
    server = dsn if isinstance(dsn, Dsn) else Dsn.parse(dsn)
    patches = read_patches(directory)
    # its bytes as the server gets them from psql (round 33, helper h33n: read_text's universal
    # newlines turned a function body's `\r\n` into `\n`: verify failed on the baseline sync had
    # just written, and passed one checked out with CRLF line ends, `\r` in every new install's
    # bodies)
    try:
        baseline_sql = decode_patch(baseline.read_bytes(), baseline)
    except OSError as error:
        raise PatchError(f"cannot read the baseline {baseline}: {error}") from error
    if not throwaway_server:
        changes = server_wide_changes(patches, baseline_sql, baseline)
        if changes:  # nothing has run: the server is as it was
            report = VerifyReport()
            report.add(SERVER_WIDE_CHECK, f"{changes}\n{_SERVER_WIDE_HINT}")
            return report
    log.info("sweeping stale scratch databases on %s", server)
    await sweep_scratch_databases(server, stale_after)
    pg_dump = await _server_pg_dump(server)
    report = VerifyReport()
    members: Memberships = {}
    roles = _patch_roles(patches, members)
    if roles:  # verify runs where the pipeline has created them: a new server has not
        report.add(
            "the baseline creates the roles the patches create",
            _roles_missing(roles, baseline_sql, baseline, members),
        )
    async with scratch_database(server, "pipeline") as pipeline:
        log.info("applying the %d patches of %s to a scratch database", len(patches), directory)
        await apply_patches(pipeline, directory)
        conn = await connect(pipeline)
        try:
            invalid = await invalid_indexes(conn, patches)
        finally:
            await conn.close()
        report.add(
            "every index the pipeline builds is valid",
            "\n".join(f"index {i.qualified} on {i.table} is INVALID" for i in invalid),
        )
        built, built_rows = await _state(pipeline, pg_dump)
        built_derived = await _derived(pipeline)
        log.info("applying every patch a second time, as if the ledger had forgotten it")
        await _forget_ledger(pipeline)
        try:
            await apply_patches(pipeline, directory)
        except PatchError as error:
            report.add(
                "the pipeline applied twice changes nothing the second time",
                f"a patch fails when run a second time: it is not idempotent\n{error}",
            )
            return report
        again, again_rows = await _state(pipeline, pg_dump)
        report.add(
            "the pipeline applied twice changes nothing the second time (schema)",
            schema_diff(built, again, "after one run", "after two runs"),
        )
        report.add(
            "the pipeline applied twice changes nothing the second time (table contents)",
            contents_diff(built_rows, again_rows, "after one run", "after two runs"),
        )
        # where sequences stand too (round 33, helper h33f: `SELECT setval('invoice_no',
        # nextval('invoice_no') + 50000)` skipped another 50001 numbers at each run, and this
        # check compared the schema and the rows only)
        report.add(
            "the pipeline applied twice changes nothing the second time (sequences, "
            "materialized views)",
            derived_diff(
                built_derived, await _derived(pipeline), "first run", "second run", hints=False
            ),
        )
    await _check_live_database(server, patches, built, pg_dump, report)
    async with scratch_database(server, "baseline") as base:
        log.info("loading the baseline %s into a scratch database", baseline)
        conn = await connect(base)
        try:
            await conn.execute(baseline_sql)
        except asyncpg.PostgresError as error:
            report.add(
                f"the baseline {baseline} runs on an empty database",
                _located(error, baseline_sql, baseline),
            )
            return report
        finally:
            await conn.close()
        from_baseline, _ = await _state(base, pg_dump)
        report.add(
            "the pipeline's schema equals the baseline's",
            schema_diff(built, from_baseline, "pipeline", str(baseline)),
        )
        log.info("applying the pipeline on top of the baseline")
        try:
            await apply_patches(base, directory)
        except PatchError as error:
            report.add("the pipeline applied on top of the baseline changes nothing", str(error))
            return report
        over, over_rows = await _state(base, pg_dump)
        report.add(
            "the pipeline applied on top of the baseline changes nothing",
            schema_diff(from_baseline, over, "baseline", "baseline + pipeline"),
        )
        report.add(
            "the baseline + pipeline has the same table contents as the pipeline alone",
            contents_diff(built_rows, over_rows, "pipeline", "baseline + pipeline"),
        )
        report.add(
            "the baseline + pipeline has the same sequences and materialized views as the "
            "pipeline alone",
            derived_diff(built_derived, await _derived(base), "pipeline", "baseline + pipeline"),
        )
    return report


async def _check_live_database(
    server: Dsn,
    patches: list[PatchFile],
    built: dict[str, list[str]],
    pg_dump: str,
    report: VerifyReport,
) -> None:
    """Check 5: the given database against what its applied patches build on a scratch one.

    A database without a ledger (the server's maintenance database, a new one) is not compared.
    Ownership by the user that applied the patches (the ledger's owner) or by the one verifying
    is not a difference: a migration role owning what it created is not drift.
    """
    conn = await connect(server)
    try:
        try:
            found = await ledger_of(conn)
        except PatchUsageError as error:
            report.add(LIVE_CHECK, str(error))
            return
        if found is None:
            log.info("%s has no patch ledger: its schema is not compared", server)
            return
        ledger, owner = found
        user = str(await conn.fetchval("SELECT current_user"))
    finally:
        await conn.close()
    plan = plan_of(patches, ledger)
    unknown = [f"{p.name}: its file changed since it was applied" for p, _ in plan.changed]
    unknown += [f"{row.name}: applied, but its file is gone" for row in plan.missing]
    name = LIVE_CHECK
    if plan.pending:
        name += f" (pending: {', '.join(p.name for p in plan.pending)})"
    if unknown:
        report.add(
            name,
            "what the database's ledger records cannot be rebuilt from the patch directory "
            "(see `tenantguard patches status`):\n" + "\n".join(unknown),
        )
        return
    log.info(
        "comparing the schema of %s with what its %d applied patches build", server, len(ledger)
    )
    expected = built
    if plan.pending:
        applied = plan.skipped + [patch for _row, patch in plan.renamed]
        with tempfile.TemporaryDirectory(prefix="tg-applied-") as copy:
            for patch in applied:
                shutil.copyfile(patch.path, Path(copy) / patch.name)
            async with scratch_database(server, "applied") as scratch:
                await apply_patches(scratch, Path(copy))
                expected = await _schema(scratch, pg_dump)
    live = await _schema(server, pg_dump)
    owners = {user, owner}
    report.add(
        name,
        schema_diff(
            without_owners(expected, owners),
            without_owners(live, owners),
            "its patches",
            f"database {dict(server.params).get('dbname', '?')}",
        ),
    )


_ONE_TRANSACTION = (
    "-- One transaction: a load cut short (a killed installer, psql going on after an error)\n"
    "-- leaves nothing, not tables without the keys, triggers and policies pg_dump writes last,\n"
    "-- which the patches' IF NOT EXISTS would then never add.\n"
    "BEGIN;\n"
)


def _one_transaction(text: str) -> str:
    """The baseline as one transaction, after its header comment (round 28, helper h28d: a
    load of pg_dump's text cut short left tables without their foreign keys, and apply and
    status then said all was applied)."""
    lines = text.splitlines(keepends=True)
    head = 0
    while head < len(lines) and lines[head].startswith("--"):
        head += 1
    return (
        "".join(lines[:head])
        + "\n"
        + _ONE_TRANSACTION
        + "".join(lines[head:]).rstrip("\n")
        + "\n\nCOMMIT;\n"
    )


def _located(error: asyncpg.PostgresError, text: str, path: Path) -> str:
    from tenantguard.engine.sqltext import LineIndex

    position = getattr(error, "position", None)
    where = str(path)
    if position and str(position).isdigit():
        line, column = LineIndex(text).position(int(position) - 1)
        where = f"{path}:{line}:{column}"
    return f"{where}: {type(error).__name__}: {error}"


async def sync_baseline(
    dsn: str | Dsn,
    directory: Path,
    baseline: Path,
    *,
    stale_after: float = 60.0,
    throwaway_server: bool = False,
) -> int:
    """Rewrites the baseline from the pipeline; returns its number of lines.

    The new baseline is loaded into a scratch database first: when it does not build the
    pipeline's schema, nothing is written and a PatchError shows the difference.
    """
    server = dsn if isinstance(dsn, Dsn) else Dsn.parse(dsn)
    patches = read_patches(directory)
    if baseline.is_dir():  # said before the work, not as the server's error after it
        raise PatchUsageError(
            f"the baseline {baseline} is a directory: --baseline names the file sync writes"
        )
    if not throwaway_server:
        changes = server_wide_changes(patches)
        if changes:
            raise PatchUsageError(
                f"the patches change the server beyond their database:\n{changes}\n"
                f"{_SERVER_WIDE_HINT}"
            )
    await sweep_scratch_databases(server, stale_after)
    pg_dump = await _server_pg_dump(server)
    async with scratch_database(server, "sync") as pipeline:
        log.info("applying the %d patches of %s to a scratch database", len(patches), directory)
        await apply_patches(pipeline, directory)
        dump = await dump_schema(pipeline, pg_dump)
        database = await database_properties(pipeline, pg_dump)
        refreshed = await refresh_statements(pipeline, pg_dump)
        conn = await connect(pipeline)
        try:
            given = [
                str(await conn.fetchval("SELECT pg_catalog.quote_ident($1)", schema))
                for schema in await _path_schemas(conn)
            ]
        finally:
            await conn.close()
    text = baseline_text(
        dump, BASELINE_HEADER + _role_preamble(*_roles_and_members(patches)), given=given
    )
    if refreshed:  # pg_dump --schema-only writes every materialized view WITH NO DATA
        text += (
            "\n-- The materialized views the patches populate (pg_dump's data section).\n"
            + "\n".join(refreshed)
            + "\n"
        )
    if database:  # pg_dump without --create leaves them out; they name no database here
        text += (
            "\n-- Set on the database itself (pg_dump --create), for whichever database loads "
            f"this file.\n{database_statements(database)}\n"
        )
    text = _one_transaction(text)
    async with scratch_database(server, "check") as check:
        log.info("checking that the new baseline builds the same schema")
        conn = await connect(check)
        try:
            await conn.execute(text)
        except asyncpg.PostgresError as error:
            raise PatchError(
                f"the baseline pg_dump wrote does not load ({_located(error, text, baseline)}); "
                f"{baseline} was left as it was"
            ) from error
        finally:
            await conn.close()
        difference = schema_diff(
            schema_objects(dump) | database,
            await _schema(check, pg_dump),
            "pipeline",
            "new baseline",
        )
    if difference:
        raise PatchError(
            f"the new baseline would not build the pipeline's schema; {baseline} was left as "
            f"it was:\n{difference}"
        )
    baseline.parent.mkdir(parents=True, exist_ok=True)
    # whole or not at all: a sync killed while writing left half a baseline
    partial = baseline.with_name(f".{baseline.name}.{secrets.token_hex(4)}.tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(baseline)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise PatchUsageError(f"cannot write the baseline {baseline}: {error}") from error
    return text.count("\n")
