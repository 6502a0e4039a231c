"""The guard: the tenant proof plus the request's tenant, applied before SQL leaves the process.

Verdicts are cached per SQL text in a bounded LRU. The per-query path on a cache hit is a dict
lookup, one move in the LRU, and the value check: no parsing.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import Policy
from tenantguard.engine.sqltext import split_sql
from tenantguard.errors import TenantIsolationError
from tenantguard.runtime.context import Scope, current_scope, tenant_key

__all__ = ["Guard", "Mode", "RuntimeVerdict"]

log = logging.getLogger("tenantguard")


class Mode(enum.StrEnum):
    ENFORCE = "enforce"  # raise TenantIsolationError; nothing reaches the server
    REPORT = "report"  # log, count, let it run
    OFF = "off"


@dataclass(frozen=True, slots=True)
class RuntimeVerdict:
    """What the guard needs of a statement's proof, precomputed once per SQL text."""

    errors: tuple[Finding, ...]
    parameters: tuple[int, ...]  # 0-based indexes of bind parameters that pin a tenant column
    literals: tuple[str, ...]  # tenant keys of literal pins
    touches_tenant_tables: bool
    has_parameters: bool


def _verdict_of(sql: str, policy: Policy, several: bool) -> RuntimeVerdict:
    """The proof of `sql`; `several` when the simple protocol may carry several statements."""
    texts = [s.text for s in split_sql(sql)[0]] if several else [sql]
    errors: list[Finding] = []
    parameters: list[int] = []
    literals: list[str] = []
    touches = False
    for text in texts:
        verdict = analyze_statement(text, policy)
        # TG012 (two pin values in one statement): the guard checks each bound value against
        # the request's tenant instead, so one statement still sees one tenant
        errors.extend(
            f for f in verdict.findings if f.severity is Severity.ERROR and f.code != "TG012"
        )
        touches = touches or verdict.touches_tenant_tables
        for pin in verdict.pin_values:
            if pin.kind == "parameter" and isinstance(pin.key, int):
                parameters.append(pin.key - 1)
            elif pin.kind == "literal":
                key = tenant_key(str(pin.key))
                literals.append(key if key is not None else str(pin.key))
            elif pin.kind == "placeholder":
                errors.append(_placeholder_finding(text))
    return RuntimeVerdict(
        tuple(errors), tuple(sorted(set(parameters))), tuple(literals), touches, "$" in sql
    )


def _placeholder_finding(text: str) -> Finding:
    return Finding(
        "TG006",
        "unprovable-statement",
        Severity.ERROR,
        "the statement uses %s/:name placeholders, which asyncpg does not bind: its tenant value "
        "cannot be checked",
        "use $1, $2 … placeholders with asyncpg",
        statement=text,
    )


class Guard:
    """One policy, one mode, one verdict cache and its counters, shared by a pool's connections."""

    __slots__ = (
        "_cache", "blocked", "cache_hits", "cache_misses", "cache_size", "checked", "mode",
        "policy", "reported", "require_tenant", "set_tenant_setting", "tenant_setting",
        "unscoped_statements",
    )  # fmt: skip

    def __init__(
        self,
        policy: Policy,
        *,
        mode: Mode | str = Mode.ENFORCE,
        cache_size: int = 4096,
        require_tenant: bool = False,
        set_tenant_setting: bool = False,
        tenant_setting: str = "app.tenant_id",
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.policy = policy
        self.mode = Mode(mode)
        self.cache_size = cache_size
        self.require_tenant = require_tenant
        self.set_tenant_setting = set_tenant_setting
        self.tenant_setting = tenant_setting
        self._cache: OrderedDict[tuple[str, bool], RuntimeVerdict] = OrderedDict()
        self.checked = self.blocked = self.reported = 0
        self.cache_hits = self.cache_misses = self.unscoped_statements = 0

    @property
    def counters(self) -> dict[str, int]:
        return {
            "checked": self.checked, "blocked": self.blocked, "reported": self.reported,
            "cache_hits": self.cache_hits, "cache_misses": self.cache_misses,
            "cache_entries": len(self._cache), "unscoped": self.unscoped_statements,
        }  # fmt: skip

    def verdict(self, sql: str, several: bool = False) -> RuntimeVerdict:
        key = (sql, several)
        cached = self._cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            self._cache.move_to_end(key)
            return cached
        self.cache_misses += 1
        try:
            verdict = _verdict_of(sql, self.policy, several)
        except Exception as error:  # the guard must fail closed, never crash differently
            verdict = RuntimeVerdict(
                (
                    Finding(
                        "TG006",
                        "unprovable-statement",
                        Severity.ERROR,
                        f"the guard could not analyse the statement ({type(error).__name__})",
                        "report this statement to the tenantguard maintainers",
                        statement=sql,
                    ),
                ),
                (),
                (),
                True,
                False,
            )
        self._cache[key] = verdict
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return verdict

    def check(
        self, query: object, rows: Iterable[Sequence[object]] = ((),), *, several: bool = False
    ) -> None:
        """Raises TenantIsolationError (enforce) or logs (report) when `query` may leak."""
        if self.mode is Mode.OFF:
            return
        self.checked += 1
        scope = current_scope()
        if scope is not None and scope.unscoped_reason is not None:
            self.unscoped_statements += 1
            return
        if not isinstance(query, str):
            self._violation(
                f"the query is a {type(query).__name__}, not SQL text: it cannot be proven",
                "TG006",
                repr(query)[:200],
                "",
                "pass the SQL as a str",
            )
            return
        verdict = self.verdict(query, several)
        if verdict.errors:
            first = verdict.errors[0]
            self._violation(
                first.message, first.code, query, first.message.split(" in ")[0], first.help
            )
            return
        if scope is None:
            if self.require_tenant and verdict.touches_tenant_tables:
                self._violation(
                    "a statement on a tenant table ran outside any tenant() or unscoped() block",
                    "TG-RUNTIME",
                    query,
                    "",
                    "wrap the request in `with tenant(tenant_id):`",
                )
            return
        if not verdict.touches_tenant_tables:
            return
        expected = scope.key
        if expected is None:
            self._violation(
                f"the request's tenant {scope.value!r} ({type(scope.value).__name__}) is not a "
                "valid tenant value",
                "TG-RUNTIME",
                query,
                "",
                "call tenant() with the tenant's id (int, str or UUID)",
            )
            return
        for literal in verdict.literals:
            if literal != expected:
                self._mismatch(query, scope, literal, "a literal")
                return
        if not verdict.parameters:
            return
        for row in rows:
            for index in verdict.parameters:
                if index >= len(row):
                    self._violation(
                        f"parameter ${index + 1} pins the tenant but was not given",
                        "TG-RUNTIME",
                        query,
                        "",
                        "pass the tenant id as that parameter",
                    )
                    return
                value = row[index]
                if value is not scope.value and tenant_key(value) != expected:
                    self._mismatch(query, scope, value, f"${index + 1}")
                    return

    def _mismatch(self, query: str, scope: Scope, value: object, where: str) -> None:
        self._violation(
            f"{where} = {value!r} pins another tenant than the request's ({scope.value!r})",
            "TG-RUNTIME",
            query,
            where,
            "pass the current tenant's id; never a tenant from input",
        )

    def _violation(
        self, message: str, rule: str, statement: str, reference: str, hint: str
    ) -> None:
        fields = {
            "rule": rule,
            "statement": statement[:2000],
            "reference": reference,
            "hint": hint,
            "mode": str(self.mode),
        }
        if self.mode is Mode.ENFORCE:
            self.blocked += 1
            log.error("tenantguard: blocked: %s", message, extra={"tenantguard": fields})
            raise TenantIsolationError(
                f"{rule}: {message} — {hint}",
                rule=rule,
                statement=statement,
                reference=reference,
                hint=hint,
            )
        self.reported += 1
        log.warning("tenantguard: would block: %s", message, extra={"tenantguard": fields})
