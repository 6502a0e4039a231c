"""TG006 unprovable-statement

## What it does
Finds a statement the proof cannot read: SQL that does not parse, a statement sqlglot keeps
opaque (`DO $$…$$`, `LOCK`, `EXPLAIN`, function bodies…; a `DECLARE … CURSOR … FOR query` whose
first words are not read as the server reads them — otherwise its query is proven; a command
sqlglot reads as an expression, `CLUSTER patients` as `CLUSTER AS patients`) while naming
a tenant table (or holding a `U&"…"` identifier, which can spell any table's name), a statement
of any kind spelling a name `U&"…"` (sqlglot reads it as `U & "…"`, undecoded:
`U&"\0061ll_rows"()` calls all_rows(), every tenant's rows, where the proof sees a call of a
function named `\0061ll_rows`), a tenant
table in a position the proof does not understand, a call of a function that hands out every
tenant's rows (a SQL or PL/pgSQL function of the schema sources whose body does not pin them)
anywhere but in FROM, where its tenant column can be pinned, or input nested too deeply to analyse.

So is a placeholder where a relation's name goes (`FROM %s`, `JOIN $1 u`, `UPDATE :t`): no
driver binds a value there (PostgreSQL refuses `FROM $1`), so the statement runs only once code
pastes text in its place, and the relation read is not in the statement.

So is what psql runs beyond a `.sql` script's text: `\\gexec` (each value its query returns
runs as a statement), `\\!` (a shell command), a variable pasted as a name (`:"var"`) or, in a
file with meta-commands, as text (`:var`, unless the script sets it to a number only, or never
sets it and has no `\\gset`: the caller's value, as a bind's); `:'var'` is a value.

SQL that runs inside the server, out of the proof's sight, is unprovable too: `CALL`, `DO`
(whatever it names: its body can build the table name), `PREPARE` and `EXECUTE name` (the
statement that runs is not the one sent), functions that run a query or a table given as text
(`query_to_xml` and the other `*_to_xml` functions, `ts_stat`, `ts_rewrite`, `dblink`,
`crosstab`, `xpath_table`; dblink's `dblink_build_sql_insert`/`_update`, which read a table's row
by the key values given and print every column of it), functions that read or write the server's files (`pg_read_binary_file`,
`lo_import`, `lo_export`), functions that read what the server wrote of every tenant's rows
outside any table — the change stream (logical decoding: `pg_logical_slot_get_changes`,
`pg_logical_slot_peek_changes`, and the replication slots that keep it), the write-ahead log
(`pg_walinspect`'s `pg_get_wal_block_info`…) and a table's raw pages (`pageinspect`'s
`get_raw_page`, `heap_page_items`…; pg_surgery's `heap_force_kill`, pgrowlocks) —, `COPY` to or from a program or a file of the server (a shell command
can run any SQL), `LOAD` of a library, and reads of the server's own storage of every tenant's data (`pg_largeobject`, the large
objects' pages; a TOAST table, `pg_toast.pg_toast_<oid>`: a table's long values), reads of
the planner's statistics (`pg_stats`, `pg_stats_ext`, `pg_statistic`…), which hold sample
values of every tenant's rows, of counters of whole tables (`pg_class.reltuples` or
pg_class's whole row, `pg_stat_user_tables.n_live_tup`, `pg_statio_*`, `pg_stat_database`,
`pg_sequences`, a sequence read as a relation (`SELECT last_value FROM patients_id_seq`, or
a sequence's column read from a relation the schema sources do not show), the transaction
counters of the catalogs (`age(relfrozenxid)`, `datfrozenxid`, `backend_xmin`), `pg_stat_get_*()`, relation and database sizes, an index page's items, an index's counters and
the pages its maintenance processed (`pgstatginindex()`, `gin_clean_pending_list()`,
`brin_summarize_new_values()`: the other tenants' recent writes), pg_visibility's and amcheck's
row-by-row checks,
`pg_stat_wal`, `pg_buffercache`, `pg_stat_bgwriter`, `pg_stat_archiver`, the replication
views — and the functions these views read (`pg_stat_get_wal()`, `pg_stat_get_slru()`,
`pg_lock_status()`, `pg_stat_get_progress_info()`, `pg_prepared_xact()`, a table's vacuum and
analyze counts), `pg_tablespace_size()`, `pg_replication_slots` —, the transaction counter and the WAL's position (`txid_current()`,
`pg_current_xact_id()`, `pg_current_wal_lsn()`), `pg_locks`, `pg_stat_progress_*`,
`pg_prepared_xacts`, the backend functions' times and waits (`pg_stat_get_backend_xact_start()`,
pg_stat_activity's `state`, `xact_start`, `wait_event`, `client_addr`…,
`pg_isolation_test_session_is_blocked()`,
`pg_stat_get_backend_wait_event()`, `pg_blocking_pids()`…) (other sessions at work): every tenant's rows or writes counted together), and reads of the statements other sessions sent
(`pg_stat_activity.query`, `pg_stat_statements`; read with a column list, which may rename
the text column, too), other tenants' requests with their values, or
that the session prepared or declared before (`pg_prepared_statements.statement`, `pg_cursors`,
`pg_backend_memory_contexts.ident`: on a pooled connection, earlier requests'), and the large-object functions (`lo_get`, `loread`,
`lo_put`, `lo_unlink`…): large objects have no tenant column, any request reaches any by number.
So are `pg_terminate_backend` and `pg_cancel_backend`: the application's role may signal every
session of its role, and another tenant's request in flight rolls back.

So is a value cast to a domain of the schema sources whose CHECK (or that of a domain it is
over, also added by `ALTER DOMAIN … ADD CONSTRAINT`) calls a function that reaches tenant rows
unpinned: the server runs it on the value, whatever pins the rows; and a call of an aggregate
whose support functions (`sfunc`, `finalfunc`…) do, on each row aggregated (also made inside a
`DO` block); and a call of a function whose text names such a domain (a parameter, the return,
a PL/pgSQL variable, a cast) or whose queries cast to one, write a table whose writes run such
a function (TG005) or call such an aggregate — read again to a fixed point (a trigger's
function naming such a domain makes its table's writes TG005).

So is a call of a schema function that sqlglot reads as one of its own built-ins, dropping the
name (`"Now"()` read as `now()`, `"Upper"(1)` as `upper(1)`): PostgreSQL calls the schema's
function, the proof would see the built-in. Calls are found on the statement's tokens, for the
names the schema sources create as functions.

So is, in the schema sources, an operator they define for a comparison the proof reads as a
pin (`CREATE OPERATOR =`, `<=`, `>=`, `<@`, `@>`, in any schema) and a cast they define
(`CREATE CAST`): the proof reads `=` and `::` as PostgreSQL's own and cannot tell where the
schema's is chosen — `CREATE OPERATOR = (LEFTARG = uuid, RIGHTARG = text, …)` decides
`workspace_id = $1::text`, `workspace_id = current_setting('app.tenant_id')`, a parameter typed
text elsewhere in the statement and a function's text parameter; `CREATE CAST (uuid AS text)`
decides `a.workspace_id::text = b.workspace_id::text`. Reported at the schema statement
whatever is checked (also inside a `DO` block; one in dynamic SQL there — `EXECUTE
format('CREATE TRIGGER … ON %I …', t)` — cannot be read, nor can a trigger or rule created so:
TG006 too); once no pin can reach it, leave TG006 out for that file
(`per_file_ignores`) or record the finding in a baseline.

So is a statement that sets a `search_path` naming pg_catalog after another schema (`SET
[LOCAL | SESSION] search_path = public, pg_catalog`, `set_config('search_path', 'public,
pg_catalog', …)`), or one the analyzer cannot read (a value that is not a plain string literal,
an escape string): the proof reads `lower()`, `now()` and `=` as PostgreSQL's own, which is
true only while pg_catalog is searched first. `SET search_path = public` (pg_catalog is then
searched first) and `SET search_path = pg_catalog, public` are fine. The runtime guard refuses
the same statements (one implementation: `tenantguard.engine.search_path`).
So is one that sets a search_path under which a name the proof reads as a global table (a
name the schema sources hold in several schemas, public's without the tenant column: see
TG001) is another schema's — `SET search_path = archive, public`, after which `SELECT … FROM
countries` read archive's tenant rows of every tenant on the server (round 35, h35P); a path
that keeps the name's schema first, or `DEFAULT`, is fine.

So is a statement that turns foreign keys off: `SET [LOCAL | SESSION] session_replication_role
= replica`, `set_config('session_replication_role', 'replica', …)` (or of a name that is not a
plain string literal), an UPDATE of pg_settings, `ALTER ROLE | DATABASE … SET` it (TG007 too), or
a value the analyzer cannot read (a parameter, an escape string). The server then skips every
key's check: a request stores tenant 1's row pointing at tenant 2's (`INSERT INTO invoices
VALUES (1, 999, 21, …)` with customer 21 tenant 2's), and each later pin through the composite
key reads tenant 2's row. `origin`, `local` (it skips only triggers made ENABLE REPLICA),
DEFAULT and RESET are fine (`tenantguard.engine.relied_settings`; the runtime guard refuses
any change of the setting).

So is a statement that sets another setting the proof relies on (`SET`, `set_config()`, an
UPDATE of pg_settings): `standard_conforming_strings` (off, `'\\' AND tenant_id = 1 AND body <> '
OR true --'` is one string to the server, so the pin the proof reads is not there),
`client_encoding` (`SET NAMES`; in SJIS a character swallows the `\\` after it) and the
planner's costs (`cpu_operator_cost` and the others TG013 orders conditions by). RESET goes
back to the server's value and is fine (`tenantguard.engine.relied_settings`; the runtime guard
refuses these too).

## Why is this bad?
What cannot be proven must not pass silently: the tool fails closed. An unparseable statement
that names no tenant table is reported as a warning (it cannot touch tenant rows, but it will not
run either).

## Example
```sql
SELECT * FROM patients WHERE tenant_id = $1 AND;   -- does not parse
DO $$ BEGIN DELETE FROM patients; END $$;          -- opaque body
```

## Use instead
Write the statement as plain SQL the analyzer can read, or move maintenance code into the patch
pipeline. When the statement is right and the tool is wrong, suppress it on that line with a
reason (`-- tenantguard: ignore[TG006] -- why`) and report the case.

## Options
`tenant_tables`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokenizer_core import TokenType

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.pgfunctions import RUNS_TEXT
from tenantguard.engine.policy import clip_name, fold_name
from tenantguard.engine.proof import function_name, identifier_name
from tenantguard.engine.relied_settings import (
    REPLICATION_ROLE,
    SETTING_WORDS,
    changed_relied_on,
    statement_turns_off_keys,
)
from tenantguard.engine.search_path import (
    SEARCH_PATH,
    set_search_paths,
    statement_sets_bad_search_path,
    without_comments,
)
from tenantguard.engine.sqltext import (
    declared_query,
    explained_statement,
    normalize_placeholders,
    operators_in,
    original_offset,
)

RULE = RuleInfo("TG006", "unprovable-statement", Severity.ERROR)

# `REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [WITH [NO] DATA]` (a nightly job's): it runs the
# view's query, which the schema sources define and reads of the view are pinned against, and
# sends no row back (round 22, helper 101: it was "opaque")
_IDENT = r'(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")'
_REFRESH = lazy_pattern(
    rf"\s*REFRESH\s+MATERIALIZED\s+VIEW\s+(?:CONCURRENTLY\s+)?{_IDENT}(?:\s*\.\s*{_IDENT})?"
    r"(?:\s+WITH\s+(?:NO\s+)?DATA)?\s*;?\s*",
    re.IGNORECASE,
)

_SERVER_COMMANDS = {
    "CALL": "a procedure's body",
    "DO": "an anonymous code block",
    "PREPARE": "a statement prepared here runs later under EXECUTE, for whoever calls it",
    "EXECUTE": "a prepared statement's text",
}
# functions that run SQL (or read a whole table) given as text
_RUNS_TEXT = RUNS_TEXT  # fmt: skip
# functions that read or write the server's files by name: a table's heap file holds every
# tenant's rows, and a file written can be a program the server runs
_SERVER_FILES = frozenset(
    {"pg_read_file", "pg_read_binary_file", "lo_import", "lo_export", "pg_file_write"}
)
# what the server wrote of every tenant's rows outside any table: the change stream of logical
# decoding (a slot, once made, keeps every change since for whoever reads it), the write-ahead
# log (pg_walinspect) and a table's raw pages (pageinspect)
_RAW_CHANGES = frozenset(
    {
        "pg_logical_slot_get_changes", "pg_logical_slot_peek_changes",
        "pg_logical_slot_get_binary_changes", "pg_logical_slot_peek_binary_changes",
        "pg_create_logical_replication_slot", "pg_create_physical_replication_slot",
        "pg_copy_logical_replication_slot", "pg_copy_physical_replication_slot",
        "pg_replication_slot_advance", "pg_get_wal_block_info", "pg_get_wal_records_info",
        "pg_get_wal_record_info", "pg_get_wal_records_info_till_end_of_wal", "get_raw_page",
        "heap_page_items", "heap_page_item_attrs", "tuple_data_split", "bt_page_items",
        "bt_multi_page_stats", "brin_page_items", "gin_leafpage_items", "gist_page_items",
        "gist_page_items_bytea", "hash_page_items", "heap_force_kill", "heap_force_freeze",
        "pgrowlocks",
        # a row's newest version from any version's place, whatever its tenant (outside review
        # h28b: `currtid2('patients', '(0,3)')` told that clinic 2's row there was updated)
        "currtid2", "currtid",
    }
)  # fmt: skip
# large objects: stored by number in pg_largeobject, with no tenant column and no pin — any
# request reads, overwrites or drops any clinic's object by its oid
_LARGE_OBJECTS = frozenset(
    {"lo_get", "lo_open", "loread", "lo_put", "lowrite", "lo_unlink", "lo_truncate",
     "lo_truncate64", "lo_from_bytea", "lo_create", "lo_creat"}
)  # fmt: skip
# functions that signal another session: the application's role may signal each session of
# its role, other tenants' requests included (round 26: a request ended every other backend
# of the pool, rolling back the other clinics' transactions)
_SIGNALS = frozenset({"pg_terminate_backend", "pg_cancel_backend"})
# the planner's statistics: sample values of every row
_STATISTICS = frozenset(
    {
        "pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic", "pg_statistic_ext",
        "pg_statistic_ext_data",
    }
)  # fmt: skip
# where the server stores data itself, for every tenant: the large objects' pages (the lo_*
# functions are refused for the same data), and each table's TOAST table (its long values, out
# of line: a schema `pg_toast` or `pg_toast_temp_N`, tables `pg_toast_<oid>`)
_LARGE_OBJECT_DATA = "pg_largeobject"
# counters of whole tables — every tenant's rows together — kept by the statistics collector
# (`pg_stat_user_tables.n_live_tup`, `pg_stat_get_live_tuples(oid)`, block reads) and by the
# planner (`pg_class.reltuples`, `relpages`): another tenant's activity, a row at a time
_COUNTER_VIEW = lazy_pattern(
    r"pg_stat(?:io)?_(?:xact_)?(?:all|user|sys)_(?:tables|indexes|sequences|functions)"
    r"|pg_stat_database(?:_conflicts)?|pg_sequences|pg_stat_wal|pg_stat_slru|pg_buffercache"
    r"|pg_locks|pg_stat_progress_\w+"
    # every session's buffer and checkpoint activity, WAL archived, the WAL's position sent to
    # a standby, the transactions a slot decoded (round 29)
    r"|pg_stat_bgwriter|pg_stat_archiver|pg_stat_replication(?:_slots)?|pg_stat_wal_receiver"
    r"|pg_replication_slots"
)
# functions of a relation's or a database's size, a sequence's last value, a table's pages
# (pgstattuple, pg_freespacemap, pg_visibility): every tenant's rows together
_SIZE_CALLS = frozenset(
    """pg_relation_size pg_total_relation_size pg_table_size pg_indexes_size pg_database_size
    pg_sequence_last_value pg_stat_file pgstattuple pgstattuple_approx pgstatindex
    pg_relpages pg_freespace pg_visibility pg_visibility_map pg_visibility_map_summary
    pg_stat_get_function_calls pg_stat_get_function_total_time pg_stat_get_function_self_time
    pg_stat_get_xact_function_calls pg_stat_get_xact_function_total_time
    pg_stat_get_xact_function_self_time bt_page_stats bt_metap bt_multi_page_stats
    brin_metapage_info gin_metapage_info hash_metapage_info hash_page_stats pg_prewarm
    pg_buffercache_pages pg_buffercache_summary pg_buffercache_usage_counts pg_ls_waldir
    txid_current txid_current_if_assigned txid_current_snapshot pg_current_xact_id
    pg_current_xact_id_if_assigned pg_current_snapshot pg_current_wal_lsn
    pg_current_wal_insert_lsn pg_current_wal_flush_lsn
    txid_status pg_xact_status mxid_age pg_control_checkpoint pg_get_multixact_members
    pg_xact_commit_timestamp pg_xact_commit_timestamp_origin pg_last_committed_xact
    pg_tablespace_size pg_stat_get_wal pg_stat_get_slru pg_stat_get_archiver pg_stat_get_wal_senders
    pg_stat_get_wal_receiver pg_stat_get_replication_slot pg_last_wal_receive_lsn
    pg_last_wal_replay_lsn
    pgstatginindex pgstathashindex gin_clean_pending_list brin_summarize_new_values
    brin_summarize_range pg_check_frozen pg_check_visible verify_heapam
    """.split()  # noqa: SIM905
)
# (round 31, h31b: pgstatginindex's pending_tuples read 0, then 2 after clinic 2 admitted two
# patients; gin_clean_pending_list returned the pages of their entries; the brin summaries
# count the page ranges written since; pg_check_frozen/pg_check_visible give row places of
# every tenant, verify_heapam a table's items)
_CATALOG_COUNTS = frozenset(
    {
        "reltuples", "relpages", "relallvisible",
        # transaction counters (`age(relfrozenxid)` counts every tenant's transactions since)
        "relfrozenxid", "relminmxid", "datfrozenxid", "datminmxid", "backend_xmin",
        "backend_xid",
    }
)  # fmt: skip
# a sequence's own columns, read from a relation the schema sources do not show as a table or
# view: a sequence whatever its name (`CREATE SEQUENCE invoice_numbers`, an identity's)
_SEQUENCE_COLUMNS = frozenset({"last_value", "log_cnt", "is_called"})
# the statistics functions of a table's or an index's rows and reads (not of backends or of
# the database: `pg_stat_get_backend_pid()`)
_COUNTER_CALL = lazy_pattern(
    r"pg_stat_get_(?:xact_)?(?:numscans|lastscan|tuples_\w+|live_tuples|dead_tuples"
    r"|mod_since_analyze|ins_since_vacuum|blocks_\w+"
    # the vacuums and analyzes of a table, which other tenants' writes set off (round 29)
    r"|(?:auto)?(?:vacuum|analyze)_count|last_(?:auto)?(?:vacuum|analyze)_time)"
    r"|pg_stat_get_db_(?!numbackends)\w+"
    # the functions of pg_stat_bgwriter: every session's buffers and checkpoints (round 29)
    r"|pg_stat_get_(?:bgwriter|buf|checkpoint)_\w+"
)
# what other sessions sent: the application's one role sees its own sessions' statements, so
# other tenants' requests with their values inlined (a count of connections reads none)
_ACTIVITY = frozenset({"pg_stat_activity", "pg_stat_statements"})
# pg_stat_activity's columns of when and on what other sessions work, which it reads from the
# `_BACKEND_TIMES` functions (round 29: clinic 2's session `idle in transaction`, and since when)
_ACTIVITY_TIMES = frozenset(
    """backend_start xact_start query_start state_change wait_event_type wait_event
    state client_addr client_hostname client_port""".split()  # noqa: SIM905
)
_ACTIVITY_CALLS = frozenset(
    {"pg_stat_get_activity", "pg_stat_get_backend_activity", "pg_stat_statements"}
)
# what this session prepared or declared before, with its text: on a pooled connection, the
# earlier requests' statements (asyncpg keeps one prepared statement per text it ran), other
# clinics' literals in them. The column that holds the text, by view. The session's memory
# contexts name each cached plan by its statement's text (`ident` of `CachedPlanSource` and
# `CachedPlan`, PostgreSQL 14+): the same texts, by another view (helper h42G)
_SESSION_HISTORY = {
    "pg_prepared_statements": "statement",
    "pg_cursors": "statement",
    "pg_backend_memory_contexts": "ident",
}
_SESSION_HISTORY_CALLS = frozenset(
    {"pg_prepared_statement", "pg_cursor", "pg_get_backend_memory_contexts"}
)
# a cheap test of the text before the walk: every name above holds one of these
_COMMAND_WORDS = lazy_pattern(r"\b(?:DO|CALL|PREPARE|EXECUTE)\b", re.IGNORECASE)
_HINTS = (
    "tablesample",
    # index and page counters and checks without another hint (round 31, h31b)
    "gin_clean_pending",
    "brin_summarize",
    "pg_check_",
    "verify_heapam",
    # `pg_xact_status('999999')` ("transaction ID 999999 is in the future"), a commit's time:
    # the transaction counter, with no other hint in the text (round 30)
    "pg_xact",
    "_backend",
    "_to_xml",
    "pg_prepared_statement",
    "pg_cursor",
    "lo_",
    "loread",
    "lowrite",
    "ts_stat",
    "ts_rewrite",
    "dblink",
    "crosstab",
    "connectby",
    "pg_stat",
    "pg_prepared_xact",
    "blocking_pids",
    "session_is_blocked",
    "ctid",
    "xmin",
    "xmax",
    "pg_sequence",
    "_size",
    "pgstat",
    "pg_relpages",
    "pg_freespace",
    "pg_visibility",
    "reltuples",
    "relpages",
    "pg_class",
    "relallvisible",
    "pg_read",
    "lo_import",
    "lo_export",
    "pg_file_write",
    "pg_largeobject",
    "pg_toast",
    "replication_slot",
    "pg_logical",
    "pg_get_wal",
    "page_item",
    "get_raw_page",
    "tuple_data_split",
    "bt_multi_page_stats",
    "xpath_table",
    "heap_force",
    "pgrowlocks",
    "currtid",
    "bt_",
    "_metapage_info",
    "hash_page_stats",
    "pg_prewarm",
    "pg_buffercache",
    "pg_ls_waldir",
    "txid_",
    "pg_current_",
    "pg_locks",
    # what pg_locks reads (round 29), and the WAL's position on a standby
    "pg_lock_status",
    "pg_last_wal",
    "_seq",
    "last_value",
    "log_cnt",
    "is_called",
    "frozenxid",
    "minmxid",
    "backend_x",
    # the transaction counter probed or read (outside review h28b): `age('700'::xid)`,
    # `pg_xact_status(n)` ("is in the future"), `pg_control_checkpoint()`'s next xid
    "xid",
    "pg_control_",
    "multixact",
    "committed_xact",
)


def _gated(
    hints: tuple[str, ...], gates: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The hints grouped under the first of `gates` each contains ("" for none): a text without
    a gate holds no hint of its group, ruled out by one substring test instead of one per hint.
    A hint containing another is left out: the text cannot hold it without the other."""
    kept = [h for h in hints if not any(o != h and o in h for o in hints)]
    groups: dict[str, list[str]] = {gate: [] for gate in (*gates, "")}
    for hint in kept:
        groups[next((g for g in gates if g in hint), "")].append(hint)
    return tuple((gate, tuple(found)) for gate, found in groups.items() if found)


# most statements hold none of the hints: the fewest substring tests that say so. Each gate
# is a substring of every hint of its group (`_gated`), so a text without it holds none of
# them: the answer is the same whatever the gates; rare ones only cost fewer scans of the
# text (29 scans of a text holding no hint with the first six alone, 18 with all: about 5 M
# instructions on the 400 statements of benchmarks/instructions.py)
_HINT_GROUPS = _gated(
    _HINTS,
    ("pg", "xm", "xid", "rel", "page", "lo", "_s", "_c", "tab", "tid", "heap", "xact", "backend"),
)


def _may_hint(lowered: str) -> bool:
    """Does the text (folded) hold one of `_HINTS`?"""
    for gate, hints in _HINT_GROUPS:
        if gate in lowered:  # ("" is in every text)
            for hint in hints:
                if hint in lowered:
                    return True
    return False


# (message after the function's name, help)
_RUNS_TEXT_SAYS = (
    "runs SQL (or reads a table) given as text: the analyzer cannot see what it reads",
    "query the rows directly, pinned to one tenant",
)
_LARGE_OBJECTS_SAY = (
    "reads or writes a large object by its number: large objects have no tenant column, so "
    "no pin restricts them to one tenant's",
    "keep a tenant's binary data in a tenant table's bytea column, read through pinned "
    "statements (or run large-object maintenance inside unscoped())",
)
_FILES_SAY = (
    "reads or writes the server's files: a table's files hold every tenant's rows, and a file "
    "written can be run by the server",
    "read and write rows through pinned statements; files belong to operations, not to "
    "application code",
)

_RAW_CHANGES_SAY = (
    "reads what the server wrote of every tenant's rows outside any table (the change stream "
    "of logical decoding, the write-ahead log, a table's raw pages): no pin restricts it to "
    "one tenant's",
    "read rows through pinned statements; change data capture belongs to operations, on a "
    "connection of its own, not to application code",
)

_SIGNALS_SAY = (
    "signals another session (cancels its statement, or ends it): the application's role may "
    "signal every session of its role, other tenants' requests included, whose transactions "
    "then roll back",
    "leave other sessions to operations (a statement_timeout ends a request's own runaway "
    "statement); run such maintenance inside unscoped()",
)

# when and on what other sessions work (their statements' text is `_ACTIVITY_CALLS`'): other
# tenants' requests, all under the application's role — their timings, their waits (round 26,
# outside attack on the runtime), their locks and progress (what pg_locks and
# pg_stat_progress_* read, and pg_prepared_xacts: round 29)
_BACKEND_TIMES = frozenset(
    """pg_stat_get_backend_activity_start pg_stat_get_backend_xact_start
    pg_stat_get_backend_start pg_stat_get_backend_wait_event pg_stat_get_backend_wait_event_type
    pg_stat_get_backend_client_addr pg_stat_get_backend_client_port
    pg_stat_get_backend_subxact pg_blocking_pids pg_safe_snapshot_blocking_pids
    pg_lock_status pg_stat_get_progress_info pg_prepared_xact
    pg_isolation_test_session_is_blocked""".split()  # noqa: SIM905
)
_BACKEND_TIMES_SAY = (
    "tells when and on what other sessions work: other tenants' requests (every request runs "
    "as the application's role), their timings and waits",
    "leave other sessions to monitoring (a role of its own); a request reads its own session "
    "only (pg_backend_pid(), now())",
)
_CALLS_SAY = {
    **dict.fromkeys(_BACKEND_TIMES, _BACKEND_TIMES_SAY),
    **dict.fromkeys(_SIGNALS, _SIGNALS_SAY),
    **dict.fromkeys(_RAW_CHANGES, _RAW_CHANGES_SAY),
    **dict.fromkeys(_RUNS_TEXT, _RUNS_TEXT_SAYS),
    **dict.fromkeys(_SERVER_FILES, _FILES_SAY),
    **dict.fromkeys(_LARGE_OBJECTS, _LARGE_OBJECTS_SAY),
}


def _age_of_xid(call: exp.Expression) -> bool:
    """`age(x)` of a transaction id (a cast to xid): the transaction counter, every tenant's
    writes, minus x (`age(timestamp)` is a date's age; `age('…')` is ambiguous, an error)."""
    if function_name(call) != "age":
        return False
    arguments = list(call.iter_expressions())
    if len(arguments) != 1:
        return False
    argument = arguments[0]
    return any(
        isinstance(cast, exp.Cast) and "xid" in cast.to.sql("postgres").lower()
        for cast in argument.find_all(exp.Cast)
    )


def _own_session(call: exp.Expression) -> bool:
    """A signal's target is this very session: its one argument `pg_backend_pid()`."""
    arguments = list(call.iter_expressions())
    if len(arguments) != 1:
        return False
    target = arguments[0]
    return (
        isinstance(target, exp.Anonymous)
        and str(target.name).lower() == "pg_backend_pid"
        and not target.expressions
    )


def _runs_text(sql: str) -> str:
    """A function that runs SQL given as text, or a command running server-side SQL, named in
    unparsed text: the first one found, or ""."""
    lowered = sql.lower()
    if not _may_hint(lowered) and not _COMMAND_WORDS.search(sql):
        return ""
    words = set(re.findall(r"[a-z_][a-z0-9_]*", lowered))
    found = sorted(
        words
        & (
            _RUNS_TEXT
            | _SERVER_FILES
            | _LARGE_OBJECTS
            | _RAW_CHANGES
            | {"do", "call", "prepare", "execute"}
        )
    )
    return found[0] if found else ""


def _server_side(ctx: Context) -> Iterator[Finding]:
    """Calls that run SQL given as text, reads of the server's storage tables and of planner
    statistics."""
    if ctx.tree is None:
        return
    if not _may_hint(ctx.lowered):  # a few substring tests, not a regex
        return
    for node in ctx.tree.walk():
        if isinstance(node, exp.Expression) and isinstance(node, exp.Func):
            name = function_name(node)
            said = _CALLS_SAY.get(name)
            if said is not None and name in _SIGNALS and _own_session(node):
                continue  # `pg_terminate_backend(pg_backend_pid())`: the session ends itself
            if said is not None:
                yield ctx.finding(RULE, node, f"{name}() {said[0]}", said[1])
            elif name in _ACTIVITY_CALLS:
                yield _activity(ctx, node, f"{name}()")
            elif name in _SESSION_HISTORY_CALLS:
                yield _history(ctx, node, f"{name}()")
            elif _COUNTER_CALL.fullmatch(name) or name in _SIZE_CALLS or _age_of_xid(node):
                yield _counters(ctx, node, f"{name}()")
        elif isinstance(node, exp.Column) and identifier_name(node.this) in _CATALOG_COUNTS:
            yield _counters(ctx, node, f"pg_class.{identifier_name(node.this)}")
        elif (
            isinstance(node, exp.Column)
            and identifier_name(node.this) in _SEQUENCE_COLUMNS
            and _from_unknown_relation(ctx, node)
        ):
            yield _counters(ctx, node, f"a sequence's {identifier_name(node.this)}")
        elif (
            isinstance(node, exp.Column)
            and identifier_name(node.this) in _ROW_PLACES
            and (_in_output(node) or _probed(node))
            and not _compared_with_zero(node)
            and not _compared_places_only(node)
        ):
            name = identifier_name(node.this)
            if name == "ctid":
                yield ctx.finding(
                    RULE,
                    node,
                    "ctid shows where a row lies in the table's pages, which every tenant's rows "
                    "share: the gaps between a tenant's own rows count other tenants' writes",
                    _BATCH_HELP
                    if _passed_on(node)
                    else "return the row's key, not its physical place",
                )
            else:
                yield ctx.finding(
                    RULE,
                    node,
                    f"{name} is a transaction id, counted across every tenant's transactions: "
                    "the gaps between the ids of a tenant's own rows count other tenants' writes",
                    f"return the row's key, or a version column of the table's own; to tell an "
                    f"upsert's insert from its update, compare it with 0: ({name} = 0) AS "
                    "inserted",
                )
        elif not isinstance(node, exp.Table):
            continue
        elif (
            node.args.get("sample") is not None
            and _sampled_rows_shared(ctx, node)
            and not _whole_sample(node.args["sample"])
        ):
            # round 30: `TABLESAMPLE BERNOULLI (50) REPEATABLE (s)` keeps a row by its place
            # (block, offset) and the seed alone, SYSTEM by its block: run under several seeds,
            # the rows kept tell each row's place — its ctid, refused above
            yield ctx.finding(
                RULE,
                node,
                f"TABLESAMPLE of {identifier_name(node.this)} keeps rows by where they lie in "
                "the table's pages, which every tenant's rows share: the rows kept under "
                "several seeds tell each row's place (its ctid), and the gaps between a "
                "tenant's own rows count other tenants' writes",
                "sample the tenant's own rows in a pinned query (`ORDER BY random() LIMIT n`)",
            )
        elif _COUNTER_VIEW.fullmatch(identifier_name(node.this)):
            yield _counters(ctx, node, identifier_name(node.this))
        elif identifier_name(node.this) == "pg_prepared_xacts":
            yield ctx.finding(
                RULE,
                node,
                "pg_prepared_xacts lists other sessions' prepared transactions (their names, "
                "owners and times): other tenants' requests, under the application's role",
                "keep two-phase commit's bookkeeping out of requests (a role of its own)",
            )
        elif _a_sequence(ctx, node):
            # `SELECT last_value FROM patients_id_seq`: the counter every tenant's inserts draw
            # from (pg_sequences and pg_sequence_last_value() are refused alike)
            yield _counters(ctx, node, f"sequence {identifier_name(node.this)}")
        elif identifier_name(node.this) == "pg_class" and _all_columns_of(node):
            yield _counters(ctx, node, "pg_class.*")
        elif identifier_name(node.this) in _ACTIVITY:
            if _renames_columns(node) or _reads_statements(
                ctx.tree, identifier_name(node.args.get("alias") or node.this)
            ):
                yield _activity(ctx, node, identifier_name(node.this))
            elif identifier_name(node.this) == "pg_stat_activity" and _reads_statements(
                ctx.tree, "", _ACTIVITY_TIMES
            ):
                yield ctx.finding(
                    RULE, node, f"pg_stat_activity {_BACKEND_TIMES_SAY[0]}", _BACKEND_TIMES_SAY[1]
                )
        elif identifier_name(node.this) in _SESSION_HISTORY:
            name = identifier_name(node.this)
            row = identifier_name(node.args.get("alias") or node.this)
            if _renames_columns(node) or _reads_statements(ctx.tree, row, _SESSION_HISTORY[name]):
                yield _history(ctx, node, name)
        elif _storage(node):
            yield ctx.finding(
                RULE,
                node,
                f"{identifier_name(node.this)} holds stored data of every tenant's rows "
                "(large objects' pages, or a table's long values kept out of line)",
                "read rows through their tables, pinned to one tenant",
            )
        elif identifier_name(node.this) in _STATISTICS:
            yield ctx.finding(
                RULE,
                node,
                f"{identifier_name(node.this)} holds sample values of every tenant's rows "
                "(planner statistics)",
                "do not read planner statistics from application code",
            )


def _sampled_rows_shared(ctx: Context, table: exp.Table) -> bool:
    """Whether a sampled relation may hold several tenants' rows: any but a global table and
    the tenant registry (a materialized view, a table the policy does not know)."""
    name = identifier_name(table.this)
    policy = ctx.policy
    return name not in policy.global_tables and name != policy.tenant_root


def _whole_sample(sample: exp.Expression) -> bool:
    """A TABLESAMPLE BERNOULLI or SYSTEM of a literal 100 percent or 0: every row kept or none,
    whatever the seed — which of a tenant's rows are kept does not depend on where the other
    tenants' rows lie (helper h33m, shown on the server). Any other percentage, a parameter,
    another method (`SYSTEM_ROWS`: the first rows of random blocks): rows kept by place."""
    method = sample.args.get("method")
    percent = sample.args.get("percent")
    if (
        not isinstance(method, exp.Var | exp.Identifier | exp.Column)
        or method.name.lower() not in ("bernoulli", "system")
        or not isinstance(percent, exp.Literal)
        or percent.is_string
        or any(sample.args.get(k) is not None for k in ("size", "rows", "bucket_numerator"))
    ):
        return False
    try:
        return float(percent.this) in (0.0, 100.0)
    except ValueError:
        return False


# a CTE or derived table of ctids (a batch joined back by them): its rows may reach the client,
# which the proof does not follow; the same batch written so that they cannot (round 34)
_BATCH_HELP = (
    "compare the places in the condition itself, where none is read out: `WHERE ctid IN (SELECT "
    "ctid FROM t WHERE tenant_id = $1 LIMIT n)`, or pass the row's key through the CTE and join "
    "on it"
)


def _compared_places_only(node: exp.Expression) -> bool:
    """`WITH batch AS (SELECT ctid FROM t WHERE tenant_id = $1 LIMIT n) DELETE FROM t USING batch
    WHERE t.ctid = batch.ctid` (a derived table alike, round 34): a row's place in the select
    list of a CTE or derived table (no column list) that no part of the statement reads out —
    every reference to that column of it compares it with another row's place (not output,
    not probed), and nothing reads its rows whole: no `*` (but `count(*)`) anywhere, no
    whole-row reference (`batch`, `row_to_json(batch)`), no unqualified reference of that name
    that is output or probed (it might be its)."""
    item: exp.Expression = node
    parent = node.parent
    name = "ctid"
    if isinstance(parent, exp.Alias):
        name = identifier_name(parent.args.get("alias"))
        item, parent = parent, parent.parent
    if not isinstance(parent, exp.Select) or item.arg_key != "expressions":
        return False
    holder = parent.parent
    if isinstance(holder, exp.CTE):
        cte = True
    elif isinstance(holder, exp.Subquery) and (
        isinstance(holder.parent, exp.From | exp.Join) or holder.arg_key == "using"
    ):
        cte = False
    else:
        return False
    alias = holder.args.get("alias")
    if not isinstance(alias, exp.TableAlias) or alias.columns or not alias.name:
        return False
    aliases = {identifier_name(alias.this)}
    root = node.root()
    if cte:  # its readers, under their aliases
        for table in root.find_all(exp.Table):
            if identifier_name(table.this) in aliases and table.alias:
                aliases.add(identifier_name(table.args["alias"].this))
    for star in root.find_all(exp.Star):
        if not isinstance(star.parent, exp.Func):
            return False  # `*`, `t.*`, `RETURNING *`: rows read whole
    for column in root.find_all(exp.Column):
        if column is node or isinstance(column.this, exp.Star):
            continue
        qualifier = identifier_name(column.args["table"]) if column.args.get("table") else ""
        named = identifier_name(column.this)
        if not qualifier and named in aliases:
            return False  # a whole-row reference
        if (
            named == name
            and (not qualifier or qualifier in aliases)
            and (_in_output(column) or _probed(column))
        ):
            return False
    return True


def _passed_on(node: exp.Expression) -> bool:
    """Is the row's place an item of a CTE's or derived table's select list?"""
    select = node.parent
    while isinstance(select, exp.Alias | exp.Paren | exp.Cast):
        select = select.parent
    if not isinstance(select, exp.Select):
        return False
    holder = select.parent
    return isinstance(holder, exp.CTE) or (
        isinstance(holder, exp.Subquery) and isinstance(holder.parent, exp.From | exp.Join)
    )


# system columns of a row's physical place (and the transaction that wrote it)
_ROW_PLACES = frozenset({"ctid", "xmin", "xmax"})


def _probed(node: exp.Expression) -> bool:
    """A row's place in a condition, compared with a value (`ctid = '(0,3)'`, `xmin > $2`,
    `ctid::text LIKE '(0,%'`, `ctid IN ('(0,1)')`): probing values one by one tells the place
    of each of the tenant's rows as a select list would (outside review h28b) — and so the
    gaps between them. Compared with another row's place (`a.ctid < b.ctid`, `ctid NOT IN
    (SELECT min(ctid) …)`: the order of the tenant's own rows) or with 0
    (`_compared_with_zero`), it is not."""
    current: exp.Expression = node
    parent = current.parent
    while True:
        while isinstance(parent, exp.Cast | exp.Paren | exp.Collate | exp.Min | exp.Max):
            current, parent = parent, parent.parent
        if isinstance(parent, exp.Any) and isinstance(current, exp.Subquery):
            current, parent = parent, parent.parent  # `= ANY (SELECT ctid …)`: as IN (round 34)
        if not isinstance(parent, exp.Select):
            break
        # `(SELECT min(ctid) …)`: judged where the subquery is used
        if current.arg_key != "expressions" or not isinstance(parent.parent, exp.Subquery):
            return False
        current = parent.parent
        parent = current.parent
    if isinstance(parent, exp.In):
        query = parent.args.get("query")
        if current is parent.this:
            return query is None or not _row_place_value(query)
        return current is not query or not _row_place_value(parent.this)
    if isinstance(parent, exp.Binary) and not isinstance(parent, exp.Connector):
        other = parent.expression if parent.this is current else parent.this
        return not _row_place_value(other)
    # anything else reading it (a function, BETWEEN, ANY): a value of it
    return isinstance(parent, exp.Expression) and not isinstance(
        parent, exp.Connector | exp.Where | exp.Ordered | exp.Group | exp.Not
    )


def _row_place_value(node: object) -> bool:
    """A row's place (`b.ctid`, `min(ctid)`), or a subquery of one, casts aside; `ANY (ARRAY(
    SELECT ctid …))` holds the same places as `IN (SELECT ctid …)` (a batch's delete, round
    34)."""
    while True:
        if isinstance(node, exp.Cast | exp.Paren | exp.Min | exp.Max | exp.Subquery | exp.Any):
            node = node.this
        elif type(node) is exp.Array and len(node.expressions) == 1:
            node = node.expressions[0]
        else:
            break
    if isinstance(node, exp.Select):
        items = node.expressions
        return len(items) == 1 and _row_place_value(items[0])
    return isinstance(node, exp.Column) and identifier_name(node.this) in _ROW_PLACES


def _compared_with_zero(node: exp.Expression) -> bool:
    """`xmax = 0` (`<>`, either way round): whether the row was inserted or updated by this
    statement — one bit of the tenant's own row, no count of anyone's transactions."""
    parent = node.parent
    if type(parent) not in (exp.EQ, exp.NEQ) or identifier_name(node.this) == "ctid":
        return False
    assert isinstance(parent, exp.Binary)
    other = parent.expression if parent.this is node else parent.this
    return type(other) is exp.Literal and other.name == "0"


def _in_output(node: exp.Expression) -> bool:
    """Is it in a select list or a RETURNING (not a condition)?"""
    current: exp.Expr = node
    while current.parent is not None:
        parent = current.parent
        if isinstance(parent, exp.Returning):
            return True
        if isinstance(parent, exp.Select | exp.Update | exp.Delete | exp.Insert):
            if not (isinstance(parent, exp.Select) and current.arg_key == "expressions"):
                return False
            # a select list that reaches the client: not a condition's subquery
            return parent.find_ancestor(exp.Where, exp.Having, exp.Join, exp.In, exp.Exists) is None
        current = parent
    return False


def _all_columns_of(table: exp.Table) -> bool:
    """Does the statement read pg_class's row whole, or its counters by another path: a `*`
    anywhere but in `count(*)` (`c.*`, `SELECT * FROM (SELECT …) s`), the row by its alias
    (`c::text`, `row_to_json(c)`), `(c).reltuples`, or columns renamed by a list?"""
    root = table.root()
    names = {identifier_name(table.this), identifier_name(table.args.get("alias"))} - {""}
    aliases = [table.args.get("alias")]
    for above in _join_aliases(table):
        # `(pg_class c JOIN pg_namespace n ON …) AS j`: j's row holds pg_class's (h36P)
        names.add(identifier_name(above.args.get("alias")))
        aliases.append(above.args.get("alias"))
    names.discard("")
    if any(isinstance(a, exp.TableAlias) and a.columns for a in aliases):
        return True
    for star in root.find_all(exp.Star):
        parent = star.parent
        if isinstance(parent, exp.Count):
            continue
        if (
            isinstance(parent, exp.Column)
            and parent.this is star
            and parent.args.get("table")
            and not parent.args.get("db")
            and identifier_name(parent.args.get("table")) not in names
        ):
            continue  # `t.*` of another source (`SELECT c.relname, t.* FROM pg_class c JOIN t`)
        return True
    for column in root.find_all(exp.Column):
        if not column.args.get("table") and identifier_name(column.this) in names:
            return True  # the whole row, by its alias
    return any(  # `(c).reltuples` (a column of that name is reported by itself)
        isinstance(d.expression, exp.Identifier)
        and identifier_name(d.expression) in _CATALOG_COUNTS
        for d in root.find_all(exp.Dot)
    )


def _join_aliases(table: exp.Table) -> list[exp.Subquery]:
    """The parenthesized joins holding `table` under an alias of their own (`(pg_class c JOIN
    pg_namespace n ON …) AS j`): sqlglot reads each as a Subquery of no query. A real subquery
    (`(SELECT …) s`) stops the walk: its columns are its select list's."""
    found = []
    node: exp.Expr | None = table.parent
    while node is not None and not isinstance(node, exp.Select | exp.SetOperation):
        if isinstance(node, exp.Subquery) and not isinstance(
            node.this, exp.Select | exp.SetOperation | exp.Subquery
        ):
            found.append(node)
        node = node.parent
    return found


def _counters(ctx: Context, node: exp.Expression, what: str) -> Finding:
    return ctx.finding(
        RULE,
        node,
        f"{what} counts every tenant's rows together (the statistics collector's or the "
        "planner's estimate of a whole table)",
        "count a tenant's rows with a pinned count(*); leave table statistics to monitoring",
    )


def _storage(table: exp.Table) -> bool:
    """A table where the server keeps data for every tenant: `pg_largeobject`, or a TOAST
    table (in a `pg_toast…` schema, or named `pg_toast_…` — the search path may reach one)."""
    name = identifier_name(table.this)
    schema = identifier_name(table.args.get("db"))
    if schema.startswith("pg_toast") or name.startswith("pg_toast_"):
        return True
    return name == _LARGE_OBJECT_DATA and schema in ("", "pg_catalog")


# a placeholder where a relation's name goes (round 12): after the words that introduce one, or
# after a comma of a FROM or USING list; blanks, comments and an opening parenthesis between
_PLACEHOLDER = r"(?:\$\d|%s|%\(|:[a-z_\"]|\?)"
_BETWEEN = r"(?:\s|/\*.*?\*/|--[^\n]*)*\(?\s*(?:[\w$\"]+\s*\.\s*)*"
_PASTED_RELATION = lazy_pattern(
    rf"\b(from|join|update|into|only|using|lateral){_BETWEEN}{_PLACEHOLDER}"
    rf"|,{_BETWEEN}{_PLACEHOLDER}",
    re.IGNORECASE | re.DOTALL,
)


_PLACEHOLDER_AT = lazy_pattern(_PLACEHOLDER, re.IGNORECASE)


def _may_paste(sql: str) -> bool:
    """Whether `_PASTED_RELATION` may match (it is tried at every comma: dear on long texts).
    Without comments, a placeholder it matches is preceded, spaces and one `(` aside, by a
    keyword, a comma or a qualifier (`name.`): a letter, digit, `_`, `$`, `"`, `.` or `,`."""
    if "--" in sql or "/*" in sql:
        return True
    for match in _PLACEHOLDER_AT.finditer(sql):
        at = match.start() - 1  # back over blanks and one `(`, without copying the text
        while at >= 0 and sql[at].isspace():
            at -= 1
        if at >= 0 and sql[at] == "(":
            at -= 1
            while at >= 0 and sql[at].isspace():
                at -= 1
        if at >= 0 and (sql[at].isalnum() or sql[at] in '_$".,'):
            return True
    return False


def _pasted_relations(ctx: Context) -> Iterator[Finding]:
    """A placeholder that sqlglot reads as a relation's name (`FROM %s`, `JOIN $1 u`, `UPDATE
    :t`): no driver binds a value there — PostgreSQL refuses `FROM $1` — so the statement runs
    only once some code has pasted text in its place, and what relation that is (a tenant
    table, a subquery) the statement does not say. Found by a screen of the text, then on the
    tree's tables."""
    tree = ctx.tree
    if tree is None:
        return
    built = ctx.builder  # its walk found them already: nothing more to screen
    if built is not None:
        tables: Iterable[exp.Table] = built.model.pasted
    else:
        found = _PASTED_RELATION.search(ctx.sql) if _may_paste(ctx.sql) else None
        if found is None:
            return
        lowered = ctx.lowered
        if found.group(1) is None and "from" not in lowered and "using" not in lowered:
            return  # `VALUES ($1, $2)`: a comma of no FROM or USING list
        tables = tree.find_all(exp.Table)
    for table in tables:
        if isinstance(table.this, exp.Placeholder | exp.Parameter):
            yield ctx.finding(
                RULE,
                table,
                "a placeholder stands where PostgreSQL takes a relation's name: no driver binds "
                "a value there, so the relation is text pasted in before the server sees it, "
                "and which one it is (a tenant table?) the statement does not say",
                "name the relation in the statement (one statement per relation), pinned to one "
                "tenant",
                offset=None if ctx.span_of(table) else 0,
            )


def _activity(ctx: Context, node: exp.Expression, what: str) -> Finding:
    return ctx.finding(
        RULE,
        node,
        f"{what} shows the statements other sessions sent, with their values: other tenants' "
        "requests (every request runs as the application's role)",
        "read activity from an operator's role, not from application code",
    )


def _history(ctx: Context, node: exp.Expression, what: str) -> Finding:
    return ctx.finding(
        RULE,
        node,
        f"{what} shows the statements this session prepared or declared before, with their "
        "text: on a pooled connection, earlier requests' — other tenants' values in them",
        "do not read the session's prepared statements or cursors from application code",
    )


def _from_unknown_relation(ctx: Context, column: exp.Column) -> bool:
    """Whether the query the column is read in names a relation the schema sources do not show
    (nor a CTE of the statement): a sequence, perhaps."""
    select = column.find_ancestor(exp.Select)
    if select is None:
        return False
    known = ctx.policy.table_columns
    ctes = (
        {identifier_name(c.args.get("alias")) for c in ctx.tree.find_all(exp.CTE)}
        if ctx.tree
        else set()
    )
    for table in select.find_all(exp.Table):
        name = identifier_name(table.this)
        if (
            name
            and name not in known
            and name not in ctes
            and not ctx.policy.is_tenant_table(name)
            and not _a_sequence(ctx, table)  # reported as a sequence already
            and not name.startswith("pg_")  # a catalog: its own rules
        ):
            return True
    return False


def _a_sequence(ctx: Context, table: exp.Table) -> bool:
    """A relation read by a name PostgreSQL gives the sequences of serial and identity columns
    (`<table>_<column>_seq`), that the schema sources do not show as a table or view."""
    name = identifier_name(table.this)
    return (
        name.endswith("_seq")
        and name not in ctx.policy.table_columns
        and not ctx.policy.is_tenant_table(name)
        and name not in ctx.policy.global_tables
        and not isinstance(table.parent, exp.Schema | exp.Insert | exp.Update | exp.Delete)
        and table.find_ancestor(exp.Create, exp.Drop, exp.Alter) is None
    )


def _renames_columns(table: exp.Table) -> bool:
    """`pg_stat_activity AS a(datid, …, q)`: a column list renames the text column (round 21)."""
    alias = table.args.get("alias")
    return isinstance(alias, exp.TableAlias) and bool(alias.columns)


def _reads_statements(
    tree: exp.Expression, row: str, columns: str | frozenset[str] = "query"
) -> bool:
    """Does a statement reading an activity view read its `query` column (or one of
    `columns`), or every column (`*`, the whole row by the name `row`)?"""
    names = frozenset((columns,)) if isinstance(columns, str) else columns
    for node in tree.walk():
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            return True  # `count(*)` reads no column
        if isinstance(node, exp.Column) and (
            isinstance(node.this, exp.Star)
            or identifier_name(node.this) in names
            or (row and not node.args.get("table") and identifier_name(node.this) == row)
        ):
            return True
    return False


def _explained(ctx: Context) -> Iterator[Finding]:
    """An EXPLAIN naming no tenant table of a statement that reads tenant rows through a
    function or view (`EXPLAIN ANALYZE SELECT * FROM names_of($1)`, `names_of` pinned by its
    argument): its plan's `Rows Removed by Filter` is the other tenants' count (h40R; the
    runtime guard refused it, this check passed it)."""
    from tenantguard.engine.analyze import analyze_statement  # (it runs this rule)

    statement = explained_statement(without_comments(ctx.sql))
    if statement is None or not analyze_statement(statement, ctx.policy).touches_tenant_tables:
        return
    yield ctx.finding(
        RULE,
        None,
        "EXPLAIN of a statement that reads tenant rows (through a function or view it calls): "
        "the plan shows the rows its filters removed and the planner's estimates, computed "
        "over every tenant's rows",
        "run EXPLAIN in a maintenance session, not in the application's requests",
    )


def _outside_the_database(ctx: Context) -> Iterator[Finding]:
    """COPY to or from a program or a file of the server, and LOAD: the server runs a shell
    command (psql against the same database is one), reads or writes its own files (a table's
    files hold every tenant's rows), or loads code — none of which the proof can see."""
    tree = ctx.tree
    if isinstance(tree, exp.Copy):
        for target in tree.args.get("files") or ():
            if isinstance(target, exp.Identifier) and not target.quoted:
                if target.name.upper() in ("STDIN", "STDOUT"):
                    continue  # the client's end of the connection
                if target.name.upper() == "PROGRAM":
                    what = "a shell command the server runs (it can run any SQL, psql among them)"
                else:  # `COPY BINARY t …` (the old syntax) reads as table BINARY, file t
                    what = f"{target.name} (a form the analyzer reads wrong)"
            elif isinstance(target, exp.Literal) and target.is_string:
                what = f"a file of the server ({target.name!r})"
            else:
                what = "something other than the client's end of the connection"
            yield ctx.finding(
                RULE,
                target,
                f"COPY to or from {what}: the analyzer cannot see what it reads or writes",
                "COPY … TO STDOUT / FROM STDIN (asyncpg's copy_* methods), pinned to one tenant",
            )
    elif isinstance(tree, exp.Command) and str(tree.this).upper() == "LOAD":
        yield ctx.finding(
            RULE,
            None,
            "LOAD loads a shared library into the server: code the analyzer cannot see",
            "load libraries in the server's configuration (shared_preload_libraries)",
        )


# tokens that end a string or number: never a function's name, whatever their text
_NOT_NAMES = frozenset(
    {
        TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.RAW_STRING,
        TokenType.HEREDOC_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING,
        TokenType.BYTE_STRING, TokenType.UNICODE_STRING, TokenType.NUMBER,
    }
)  # fmt: skip
# a name after these, then `(`, is a table's column list or a definition, not a call
_NOT_CALLED_AFTER = frozenset(
    {TokenType.INTO, TokenType.TABLE, TokenType.REFERENCES, TokenType.FUNCTION}
)
_TOKENIZER = Dialect.get_or_raise("postgres").tokenizer


def _spelled_calls(sql: str, names: frozenset[str]) -> list[tuple[str, int]]:
    """Calls of these functions the text spells, read on sqlglot's tokens (a regex is
    defeated by a quote in a string or a comment): (name, offset in the parsed text)."""
    try:
        tokens = _TOKENIZER().tokenize(sql)
    except Exception:  # the parser read this text: it cannot fail here, but fail closed
        return [(name, 0) for name in sorted(names)]
    found = []
    for i, token in enumerate(tokens[:-1]):
        if tokens[i + 1].token_type is not TokenType.L_PAREN or token.token_type in _NOT_NAMES:
            continue
        quoted = token.token_type is TokenType.IDENTIFIER
        name = clip_name(token.text) if quoted else fold_name(token.text)
        if name not in names:
            continue
        before = i - 1  # skip the qualifiers: `INTO public.patients (…)`
        while before >= 1 and tokens[before].token_type is TokenType.DOT:
            before -= 2
        if before >= 0 and tokens[before].token_type in _NOT_CALLED_AFTER:
            continue
        found.append((name, token.start))
    return found


def _parsed_text(sql: str) -> tuple[str, tuple[int, ...]]:
    """The text the parser read, as `normalize_placeholders` gives it: a cursor's query with
    the words declaring it blanked (sqlglot's tokenizer keeps what follows DECLARE whole)."""
    text, inserted = normalize_placeholders(sql)
    return declared_query(text) or text, inserted


def _unicode_name(sql: str) -> int | None:
    """Where the statement spells a name `U&"…"` (as PostgreSQL's scanner reads one: `U&"`
    written together, outside strings and comments), or None. sqlglot reads it as a column U,
    the operator `&` and the quoted name undecoded: `U&"\\0061ll_rows"()` is a call of
    all_rows() to the server, of a function named `\\0061ll_rows` to the proof."""
    text, inserted = _parsed_text(sql)
    try:
        tokens = _TOKENIZER().tokenize(text)
    except Exception:  # the parser read this text: it cannot fail here, but fail closed
        return 0
    for first, second, third in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if (
            first.token_type is TokenType.VAR
            and first.text in ("U", "u")
            and second.token_type is TokenType.AMP
            and third.token_type is TokenType.IDENTIFIER
            and second.start == first.end + 1
            and third.start == second.end + 1
        ):
            return original_offset(first.start, inserted)
    return None


def _hidden_calls(ctx: Context) -> Iterator[Finding]:
    """A call of a tenant or pinning function that sqlglot parsed as one of its own functions
    (`"Now"()` as CURRENT_TIMESTAMP, `"Upper"(1)` as UPPER): the proof reads calls by name and
    would not see it. PostgreSQL calls the schema's function (a quoted name keeps its case; an
    unquoted one resolves by argument types)."""
    policy = ctx.policy
    if ctx.tree is None or not any(n in ctx.lowered for n in policy.spelled_call_needles):
        return
    text, inserted = _parsed_text(ctx.sql)
    spelled = _spelled_calls(text, policy.spelled_calls)
    if not spelled:
        return
    seen: dict[str, int] = {}
    for node in ctx.tree.find_all(exp.Anonymous):  # sqlglot's walk is iterative
        name = identifier_name(node.this)
        seen[name] = seen.get(name, 0) + 1
    for name, offset in spelled:
        if seen.get(name, 0) > 0:
            seen[name] -= 1
            continue
        yield ctx.finding(
            RULE,
            None,
            f"the call of {name}() is parsed as one of the parser's own functions: the analyzer "
            f"cannot see that it calls the schema's {name}, which "
            + (
                "is pinned by its arguments"
                if name in policy.pinning_functions
                else "hands out rows of every tenant"
            ),
            "rename the function so that it does not share its name with a built-in SQL "
            "function, or suppress this line with a reason",
            offset=original_offset(offset, inserted),
        )


def _leaky_operators(ctx: Context) -> Iterator[Finding]:
    """An operator of the schema whose function reaches tenant rows (`policy.leaky_operators`):
    `$1 <<< 0` runs the function, whatever pins the statement's rows (helper 109)."""
    leaky = ctx.policy.leaky_operators
    if not leaky:
        return
    for offset, symbol in operators_in(ctx.sql, leaky):
        yield ctx.finding(
            RULE,
            None,
            f"operator {symbol} calls function {leaky[symbol]}, which reads or writes rows of "
            "every tenant (or is pinned by arguments an operator's operands do not give)",
            f"call a function pinned to one tenant instead, or pin the rows inside "
            f"{leaky[symbol]} (a parameter, or the tenant expression)",
            offset=offset,
        )


def _named_leaky_type(ctx: Context) -> str:
    """A domain of `policy.leaky_types` the text of an unparsed statement names (as a word):
    `checked_ref '5'` casts to it."""
    for name in ctx.policy.leaky_types:
        if name.lower() in ctx.lowered and re.search(
            rf"(?<![\w$]){re.escape(name)}(?![\w$])", ctx.sql, re.IGNORECASE
        ):
            return f"a cast to domain {name}, whose CHECK reaches tenant rows unpinned"
    return ""


def _leaky_casts(ctx: Context) -> Iterator[Finding]:
    """A value cast to a domain whose CHECK calls a function that reaches tenant rows
    unpinned (`policy.leaky_types`): the server runs it on the value, whatever pins the rows."""
    leaky = ctx.policy.leaky_types
    if not leaky or ctx.tree is None or not any(n.lower() in ctx.lowered for n in leaky):
        return
    for node in ctx.tree.find_all(exp.DataType):
        kind = node.args.get("kind")
        if node.this is not exp.DataType.Type.USERDEFINED or kind is None:
            continue
        name = identifier_name(kind.expression if isinstance(kind, exp.Dot) else kind)
        if name in leaky:
            yield ctx.finding(
                RULE,
                None,
                f"a cast to domain {name}: {leaky[name]}; the server runs it on the value cast",
                "cast to the domain's base type, or make the domain's CHECK a function of the "
                "value only",
            )
            return


def check(ctx: Context) -> Iterator[Finding]:
    yield from _leaky_operators(ctx)
    # most statements hold none of the words the three settings checks look for first: one
    # pass of substring tests here, not three calls each lowering the text again
    settings = not ctx.in_patch and any(word in ctx.lowered for word in SETTING_WORDS)
    bad_path = settings and statement_sets_bad_search_path(ctx.sql)
    if bad_path:
        name, why, hint = SEARCH_PATH
        yield ctx.finding(
            RULE,
            None,
            f"the statement sets a {name} naming pg_catalog after another schema, or one the "
            f"analyzer cannot read: {name} {why}, and {name} stays for the session's later "
            "statements (the runtime guard refuses it too)",
            hint,
        )
    if not ctx.in_patch and not bad_path and ctx.policy.global_homes:
        elsewhere = sorted(
            {n for path in set_search_paths(ctx.sql) for n in ctx.policy.read_otherwise(path)}
        )
        if elsewhere:
            yield ctx.finding(
                RULE,
                None,
                f"the statement sets a search_path under which {', '.join(elsewhere)} may be "
                "another schema's table than the global one the proof reads for the configured "
                "search_path (config `search_path`), and it stays for the session's later "
                "statements: their reads of it are not proven",
                "set the search_path in config `search_path` (or leave it as configured), or "
                "name the schema of each table in the statements",
            )
    if settings and statement_turns_off_keys(ctx.sql):
        name, why, hint = REPLICATION_ROLE
        yield ctx.finding(
            RULE,
            None,
            f"the statement sets {name} to turn foreign keys off (or to a value the analyzer "
            f"cannot read): {name} {why}, and it stays for the session's later statements",
            hint,
        )
    changed = changed_relied_on(ctx.sql) if settings else None
    if changed is not None:
        name, why, hint = changed
        yield ctx.finding(
            RULE,
            None,
            f"the statement changes {name}, {why}; it stays changed for the session's later "
            "statements (the runtime guard refuses it too)",
            hint,
        )
    if ctx.tree is None:
        named = ctx.named_tenant_tables
        reason = ctx.parse_error or "the statement could not be parsed"
        # SQL that runs other SQL given as text reads tenant rows without naming them
        runs_text = _runs_text(ctx.sql) or _named_leaky_type(ctx)
        if named or ctx.may_spell_names or runs_text:
            said = ", ".join(named) or ("(spelled with escapes?)" if ctx.may_spell_names else "")
            message = f"cannot prove tenant isolation: {reason} " + (
                f"(names tenant table {said})" if said else f"(calls {runs_text})"
            )
        else:
            message = f"cannot parse the statement: {reason}"
        yield ctx.finding(
            RULE,
            None,
            message,
            "fix the SQL so that PostgreSQL (and the analyzer) can parse it",
            offset=ctx.parse_error_offset,
            severity=Severity.ERROR
            if named or ctx.may_spell_names or runs_text
            else Severity.WARNING,
        )
        return
    if ctx.in_patch:
        return
    if isinstance(ctx.tree, exp.Command) and str(ctx.tree.this).upper() in _SERVER_COMMANDS:
        keyword = str(ctx.tree.this).upper()
        yield ctx.finding(
            RULE,
            None,
            f"{keyword} runs SQL inside the server that the analyzer cannot see "
            f"({_SERVER_COMMANDS[keyword]})",
            "send the statements themselves, pinned to one tenant; maintenance belongs in the "
            "patch pipeline",
        )
        return
    yield from _outside_the_database(ctx)
    yield from _server_side(ctx)
    yield from _pasted_relations(ctx)
    yield from _hidden_calls(ctx)
    yield from _leaky_casts(ctx)
    named = ctx.named_tenant_tables if isinstance(ctx.tree, exp.Command) else []
    if isinstance(ctx.tree, exp.Command) and not named and ctx.may_spell_names:
        named = ["(spelled with escapes?)"]  # `U&"\0070atients"` in a DECLARE or an EXPLAIN
    elif not named and ctx.may_spell_names:
        offset = _unicode_name(ctx.sql)
        if offset is not None:
            yield ctx.finding(
                RULE,
                None,
                'a name spelled with Unicode escapes (U&"…"): PostgreSQL decodes it, the '
                'analyzer reads `U & "…"` — it may name any table, or a function that hands '
                "out every tenant's rows",
                "write the name plainly",
                offset=offset,
            )
            return
    if named and _REFRESH.fullmatch(without_comments(ctx.sql)):
        named = []  # it runs the view's own query (read with the schema) and returns no row
    if isinstance(ctx.tree, exp.Command) and not named and str(ctx.tree.this).upper() == "EXPLAIN":
        yield from _explained(ctx)
    if named:
        keyword = str(ctx.tree.this).upper()
        yield ctx.finding(
            RULE,
            None,
            f"{keyword} statement is opaque to the analyzer and names tenant table "
            f"{', '.join(named)}",
            "express it as plain SELECT/INSERT/UPDATE/DELETE pinned to one tenant, or move it "
            "to the patch pipeline",
        )
        return
    proof = ctx.proof
    for table in proof.unplaced if proof else []:
        if isinstance(table, exp.Anonymous):
            yield ctx.finding(
                RULE,
                table,
                f"function {identifier_name(table.this)} reads or writes rows of every tenant "
                f"(its body does not pin them, or builds its SQL at run time) and is called "
                f"where its rows cannot be pinned "
                f"({table.parent.key.upper() if table.parent else 'statement'})",
                "call it in FROM and pin its tenant column, or pin the rows inside the function "
                "(a parameter, or the tenant expression); maintenance that spans tenants "
                "belongs in a suppression with its reason, or `unscoped()` at run time",
            )
            continue
        yield ctx.finding(
            RULE,
            table,
            f"tenant table {identifier_name(table.this)} is used where the proof cannot follow "
            f"it ({table.parent.key.upper() if table.parent else 'statement'})",
            "rewrite the reference as a FROM/JOIN source with a tenant filter",
        )
