"""What the proof says of one statement (`Verdict`), and the `Analyzer` that remembers it.

Neither needs sqlglot: the Analyzer asks `analyze` (which loads it) only for a statement whose
verdict it holds neither in memory nor in its store, so a check whose statements all come from
the store never loads the parser.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from tenantguard._records import frozen_record
from tenantguard.engine.findings import Finding

if TYPE_CHECKING:
    from tenantguard.engine.policy import Policy

__all__ = ["Analyzer", "PinValue", "Verdict", "VerdictStore"]


class PinValue(NamedTuple):
    """A value a tenant column is pinned to: `$2`, `%(tenant)s`, `42`, a tenant expression.

    Two pins name the same tenant when their values are equal; an unnamed placeholder (`%s`,
    `?`) is a parameter of its own at each occurrence, so its key is the occurrence's position.
    A named tuple: the proof hashes and compares them often, and a tuple does both in C (a
    frozen dataclass's generated `__hash__` and `__eq__` are interpreted, even when the proof
    is compiled).
    """

    kind: str  # "parameter" | "placeholder" | "literal" | "expression"
    key: int | str | None  # parameter number, placeholder name or position, literal text,
    # or the index of the tenant expression in the policy

    def describe(self) -> str:
        if self.kind == "parameter":
            return f"${self.key}"
        if self.kind == "placeholder":
            return f"%({self.key})s" if isinstance(self.key, str) else "a positional placeholder"
        if self.kind == "literal":
            return repr(self.key) if not str(self.key).lstrip("-").isdigit() else str(self.key)
        return "the tenant expression"


@frozen_record
class Verdict:
    """What the proof says about one statement."""

    findings: tuple[Finding, ...]
    pin_values: tuple[PinValue, ...]
    touches_tenant_tables: bool
    parsed: bool  # default True

    __slots__ = __match_args__ = ("findings", "pin_values", "touches_tenant_tables", "parsed")

    def __init__(
        self,
        findings: tuple[Finding, ...],
        pin_values: tuple[PinValue, ...],
        touches_tenant_tables: bool,
        parsed: bool = True,
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "findings", findings)
        set_field(self, "pin_values", pin_values)
        set_field(self, "touches_tenant_tables", touches_tenant_tables)
        set_field(self, "parsed", parsed)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")


class VerdictStore(Protocol):
    """Verdicts kept beyond one process (the check cache's `StoredVerdicts`), by statement text,
    for one policy: whoever gives an Analyzer a store vouches that it was kept under the
    Analyzer's policy. `in_patch` is part of the key."""

    def findings(self, text: str, in_patch: bool) -> tuple[Finding, ...] | None:
        """The stored verdict's findings alone (cheaper: no pin values to rebuild)."""

    def findings_touching(
        self, text: str, in_patch: bool
    ) -> tuple[tuple[Finding, ...], bool] | None:
        """The stored verdict's findings, and whether its statement touches tenant tables."""

    def verdict(self, text: str, in_patch: bool) -> Verdict | None: ...

    def put(self, text: str, in_patch: bool, verdict: Verdict) -> None: ...

    def save(self) -> None:
        """Keeps what was put (each process what it put itself)."""


class Analyzer:
    """Analyses statements under one policy, remembering verdicts per statement text: in memory
    (LRU, `maxsize`), and in `store` when given one.

    `policy` may be a function that builds it: it is called when a statement must first be
    analysed (a run whose verdicts all come from the store never builds the policy).
    `tenant_tables`, when given, are the policy's tenant tables (whoever gives them vouches for
    it), for screens of text that need no more of the policy.
    """

    __slots__ = (
        "_build",
        "_cache",
        "_policy",
        "_tenant_tables",
        "hits",
        "in_patch",
        "maxsize",
        "misses",
        "store",
        "stored",
        "touching",
    )

    def __init__(
        self,
        policy: Policy | Callable[[], Policy],
        *,
        maxsize: int = 4096,
        in_patch: bool = False,
        store: VerdictStore | None = None,
        tenant_tables: Iterable[str] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._policy: Policy | None = None
        self._build: Callable[[], Policy] | None = None
        if callable(policy):
            self._build = policy
        else:
            self._policy = policy
        self._tenant_tables = None if tenant_tables is None else frozenset(tenant_tables)
        self.maxsize = maxsize
        self.in_patch = in_patch
        self.store = store
        self._cache: OrderedDict[str, Verdict] = OrderedDict()
        self.hits = 0  # verdicts found in memory
        self.stored = 0  # found in the store
        self.misses = 0  # analysed
        # statements given to `statement_findings` that touch tenant tables: a run where none
        # does proved nothing (a tenant table misnamed in the configuration, say)
        self.touching = 0

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            assert self._build is not None
            self._policy = self._build()
        return self._policy

    @property
    def tenant_tables(self) -> frozenset[str]:
        """The policy's tenant tables (without building it when they were given)."""
        if self._policy is None and self._tenant_tables is not None:
            return self._tenant_tables
        return self.policy.tenant_tables

    def prepare(self) -> None:
        """Builds the policy and loads the parser now (before forking workers, which would
        otherwise each do it)."""
        import tenantguard.engine.analyze  # noqa: F401

        if self._policy is None and self._build is not None:
            self._policy = self._build()

    def __len__(self) -> int:
        return len(self._cache)

    def verdict(self, sql: str) -> Verdict:
        cached = self._cache.get(sql)
        if cached is not None:
            self._cache.move_to_end(sql)
            self.hits += 1
            return cached
        found = self.store.verdict(sql, self.in_patch) if self.store is not None else None
        if found is None:
            return self._analysed(sql)
        self.stored += 1
        self._remember(sql, found)
        return found

    def statement_findings(self, text: str, lex_error: str | None = None) -> tuple[Finding, ...]:
        if lex_error is not None:
            return self._unsplittable(text, lex_error)
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            self.hits += 1
            self.touching += cached.touches_tenant_tables
            return cached.findings
        store = self.store
        found = store.findings_touching(text, self.in_patch) if store is not None else None
        if found is None:
            verdict = self._analysed(text)
            self.touching += verdict.touches_tenant_tables
            return verdict.findings
        self.stored += 1
        self.touching += found[1]
        return found[0]

    def _analysed(self, sql: str) -> Verdict:
        # loads sqlglot: only for a statement neither memory nor the store holds
        from tenantguard.engine.analyze import analyze_statement

        self.misses += 1
        result = analyze_statement(sql, self.policy, in_patch=self.in_patch)
        if self.store is not None:
            self.store.put(sql, self.in_patch, result)
        self._remember(sql, result)
        return result

    def _remember(self, sql: str, verdict: Verdict) -> None:
        self._cache[sql] = verdict
        if len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)

    def _unsplittable(self, text: str, lex_error: str) -> tuple[Finding, ...]:
        """TG006 for text the splitter could not cut into statements (an unclosed quote)."""
        from tenantguard.engine.context import Context
        from tenantguard.engine.rules import tg006_unprovable_statement

        ctx = Context(text, self.policy, None, (), lex_error, None, self.in_patch)
        return tuple(tg006_unprovable_statement.check(ctx))
