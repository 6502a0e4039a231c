"""The traffic a database serves, through the same proof as the code: statements recorded by
pg_stat_statements (already normalised to `$n`) or by the server's log (`log_statement = all`).

Each distinct text is analysed once, with the engine's verdict cache, on several processes when
there are many (as `check` shares files out: forked workers claim batches from a shared
counter). Findings are those `check` would report for the same text in a `.sql` file —
suppression comments in the statement's text included — except that schema changes are not
reported as DDL (TG007) or as opaque (TG006): the traffic of a live database includes its
migrations; what they build is audited in the catalog, where they are written by `check`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantguard._collect import collecting_less  # shared GC tuning
from tenantguard._patterns import lazy_pattern
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.findings import Finding
from tenantguard.engine.sqltext import split_sql
from tenantguard.sources.suppressions import apply_suppressions, sql_suppressions

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized

__all__ = ["RecordedStatement", "analyse_texts", "traffic_findings"]

# schema changes and maintenance: what they build is audited in the catalog (TG2xx), where they
# are written by `check` and `patches lint`; their opacity (TG006) and being DDL (TG007) are not
# findings about traffic. What they read still is (`CREATE TABLE … AS SELECT` copies rows),
# unless what they build is audited itself (a view).
_SCHEMA_CHANGE = lazy_pattern(
    r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*"
    r"(?:CREATE|ALTER|DROP|COMMENT|GRANT|REVOKE|SECURITY\s+LABEL|REINDEX|CLUSTER|VACUUM|"
    r"ANALY[SZ]E|REFRESH|IMPORT)\b",
    re.IGNORECASE | re.DOTALL,
)
_NOT_ABOUT_SCHEMA_CHANGES = frozenset({"TG006", "TG007"})
# a view that stays is audited as a view (TG211); a temporary one, only here
_LASTING_VIEW = lazy_pattern(
    r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*CREATE\s+(?:OR\s+REPLACE\s+)?(?:RECURSIVE\s+)?"
    r"(?:MATERIALIZED\s+)?VIEW\b",
    re.IGNORECASE | re.DOTALL,
)
_EXCERPT = 100  # characters of the statement a message quotes


@dataclass(frozen=True, slots=True)
class RecordedStatement:
    """A statement the server ran, with how often and how long. `path` and `line` locate it
    in a log file; a statement of pg_stat_statements has its `queryid` instead."""

    text: str
    calls: int
    total_ms: float | None = None  # None: not recorded (a log without durations)
    queryid: int | None = None
    roles: tuple[str, ...] = ()
    path: str = ""
    line: int = 1


def _verdict(text: str, analyzer: Analyzer) -> tuple[Finding, ...]:
    """What `check` says of this text as a `.sql` script (positions relative to the text), its
    suppression comments applied, schema changes aside."""
    statements, comments = split_sql(text)
    findings: list[Finding] = []
    anchors: list[tuple[int, ...]] = []
    for statement in statements:
        found = analyzer.statement_findings(statement.text, statement.error)
        if _LASTING_VIEW.match(statement.text):
            found = ()
        elif _SCHEMA_CHANGE.match(statement.text):
            found = tuple(f for f in found if f.code not in _NOT_ABOUT_SCHEMA_CHANGES)
        for finding in found:
            moved = finding.shifted(statement.line, statement.column)
            findings.append(moved)
            anchors.append((statement.line - 1, statement.line, moved.line - 1, moved.line))
    suppressions = sql_suppressions(((c.text, c.line, c.column) for c in comments), text)
    return tuple(apply_suppressions(findings, anchors, suppressions))


_PARALLEL_MIN_TEXTS = 2_000  # below this, forking costs more than it saves
_BATCH = 256  # texts a process claims at a time


@dataclass(frozen=True, slots=True)
class _Work:
    """What forked workers inherit: the texts, the analyzer, and the shared counter of the
    next batch to claim."""

    texts: Sequence[str]
    claimed: Synchronized[int]
    analyzer: Analyzer

    def drain(self) -> list[tuple[int, tuple[Finding, ...]]]:
        done: list[tuple[int, tuple[Finding, ...]]] = []
        while True:
            with self.claimed.get_lock():
                start = self.claimed.value
                self.claimed.value = start + _BATCH
            if start >= len(self.texts):
                return done
            for index in range(start, min(start + _BATCH, len(self.texts))):
                done.append((index, _verdict(self.texts[index], self.analyzer)))


_WORK: _Work | None = None


def _drain_in_worker() -> list[tuple[int, tuple[Finding, ...]]]:
    assert _WORK is not None
    return _WORK.drain()


def analyse_texts(
    texts: Sequence[str], analyzer: Analyzer, *, jobs: int | None = None
) -> list[tuple[Finding, ...]]:
    """The findings of each text, in order, on `jobs` processes (this one included) when there
    are enough texts; the texts of a worker that dies are analysed here."""
    global _WORK
    # no more processes than texts (`--jobs 999`: as many idle forks, h35H)
    processes = min(jobs if jobs is not None else (os.cpu_count() or 1), len(texts))
    results: dict[int, tuple[Finding, ...]] = {}
    with collecting_less():
        claimed = None
        if processes > 1 and len(texts) >= _PARALLEL_MIN_TEXTS:
            import multiprocessing

            context = multiprocessing.get_context("fork")  # workers inherit sqlglot, the policy
            with suppress(OSError):  # no POSIX semaphores (some sandboxes): one process
                claimed = context.Value("l", 0)
        if claimed is not None:
            from concurrent.futures import ProcessPoolExecutor
            from concurrent.futures.process import BrokenProcessPool

            _WORK = _Work(texts, claimed, analyzer)
            try:
                with ProcessPoolExecutor(processes - 1, mp_context=context) as pool:
                    futures = []
                    with suppress(OSError, BrokenProcessPool):  # cannot fork: this one does all
                        for _ in range(processes - 1):
                            futures.append(pool.submit(_drain_in_worker))
                    results.update(_WORK.drain())
                    for future in futures:
                        with suppress(BrokenProcessPool):  # a worker died: see below
                            results.update(future.result())
            finally:
                _WORK = None
        return [
            results[i] if i in results else _verdict(text, analyzer) for i, text in enumerate(texts)
        ]


def _merged(statements: Iterable[RecordedStatement]) -> list[RecordedStatement]:
    """One record per (origin, queryid, text): calls and times added, roles joined, the first
    line kept."""
    merged: dict[tuple[str, int | None, str], RecordedStatement] = {}
    for s in statements:
        key = (s.path, s.queryid, s.text)
        seen = merged.get(key)
        if seen is None:
            merged[key] = s
            continue
        total = (
            None
            if seen.total_ms is None and s.total_ms is None
            else (seen.total_ms or 0.0) + (s.total_ms or 0.0)
        )
        merged[key] = RecordedStatement(
            s.text,
            seen.calls + s.calls,
            total,
            s.queryid,
            tuple(sorted({*seen.roles, *s.roles})),
            s.path,
            min(seen.line, s.line),
        )
    return list(merged.values())


def traffic_findings(
    statements: Iterable[RecordedStatement], analyzer: Analyzer, *, jobs: int | None = None
) -> tuple[list[Finding], int]:
    """(findings ranked by calls then total time, number of distinct statements analysed)."""
    records = _merged(statements)
    texts = list(dict.fromkeys(r.text for r in records))
    verdicts = dict(zip(texts, analyse_texts(texts, analyzer, jobs=jobs), strict=True))
    ranked = sorted(records, key=lambda r: (-r.calls, -(r.total_ms or 0.0), r.path, r.line))
    findings: list[Finding] = []
    for record in ranked:
        for finding in verdicts[record.text]:
            findings.append(_located(finding, record))
    return findings, len(texts)


# a setting read by a name pg_stat_statements replaced (h36H: `tenant_id =
# current_setting('app.tenant_id')::bigint` recorded as `current_setting($1)`, TG001 unexplained)
_SETTING_AS_PARAMETER = re.compile(r"\bcurrent_setting\s*\(\s*\$\d", re.IGNORECASE)


def _located(finding: Finding, record: RecordedStatement) -> Finding:
    """The proof's finding on a recorded statement: where to find it again, and how much it
    runs. A pg_stat_statements statement is at `db:pg_stat_statements/<queryid>`, the finding's
    line and column inside its text; a logged one at the log's line where it first appears."""
    excerpt = " ".join(record.text.split())
    if len(excerpt) > _EXCERPT:
        excerpt = excerpt[: _EXCERPT - 1] + "…"
    calls = f"{record.calls} call{'s' * (record.calls != 1)}"
    time = f", {record.total_ms:.1f} ms in total" if record.total_ms is not None else ""
    roles = f", by {', '.join(record.roles)}" if record.roles else ""
    if record.path:
        where = f"{calls} in the log{time}{roles}; first at line {record.line}"
        if record.queryid:
            where += f", queryid {record.queryid}"
        located = finding.at(record.line, 1, record.line, 2, record.path)
    else:
        where = (
            f"queryid {record.queryid}: {calls}{time}{roles}; SELECT query FROM "
            f"pg_stat_statements WHERE queryid = {record.queryid}"
        )
        located = finding.in_file(f"db:pg_stat_statements/{record.queryid}")
    advice = located.help
    if not record.path and _SETTING_AS_PARAMETER.search(record.text):
        advice += (
            "; pg_stat_statements records the setting's name as a parameter "
            "(`current_setting($n)`, every constant is one), so a pin by the tenant setting "
            "cannot be read here: audit the server's log instead (`--statements FILE`, "
            "log_statement = 'all'), where the name is kept"
        )
    return Finding(
        located.code,
        located.name,
        located.severity,
        f"{finding.message}: `{excerpt}` ({where})",
        advice,
        located.line,
        located.column,
        located.end_line,
        located.end_column,
        located.path,
        record.text,
    )
