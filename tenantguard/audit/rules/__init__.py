"""Catalog rules (TG2xx): what a live database lets through, whatever the code sends.

Each rule is a module with its documentation and a `check(ctx)` over an `AuditContext`: the
catalog as read, the engine's policy, and the tenant tables. Findings are located at
`db:<schema>.<relation>` (a table, view or materialized view), `db:<schema>.<function>(<args>)`,
`db:<schema>.<domain>`, `db:<schema>.<operator>(<left>, <right>)`, or `db:<database>` for the
audited role; always line 1, column 1.

A finding can be accepted where the object is defined, as a suppression comment in the
database: `COMMENT ON INDEX integration_tokens_provider_page_key IS 'tenantguard:
ignore[TG208] -- a page routes to one clinic'`. The comment of the object the finding is about
(the index, policy, constraint, rule, trigger, column, function, domain, operator, role) or of
its table counts. As in source files, a suppression needs a reason (TG010) and must suppress
something (TG011).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from tenantguard.audit.model import Catalog, Function, Relation, Role, SchemaCode
from tenantguard.audit.rowpolicy import PolicyReader
from tenantguard.engine.context import Rule, RuleInfo, rule_of
from tenantguard.engine.findings import Finding
from tenantguard.engine.policy import Policy
from tenantguard.engine.rules import tg010_suppression_without_reason, tg011_unused_suppression
from tenantguard.sources.schema.records import FunctionInfo
from tenantguard.sources.suppressions import Suppression, sql_suppressions

__all__ = ["CATALOG_RULES", "AuditContext", "check_catalog"]

Subject = Relation | Function | Role | SchemaCode


class _Commented(Protocol):
    """Anything with a `comment` (a key, a foreign key, a policy)."""

    @property
    def comment(self) -> str | None: ...


@dataclass
class AuditContext:
    """What every catalog rule sees, and the suppressions they have used."""

    catalog: Catalog
    policy: Policy
    tenant_tables: tuple[Relation, ...]
    policies: PolicyReader
    # what the schema reader makes of each SQL or PL/pgSQL function (not of triggers)
    function_bodies: Mapping[int, FunctionInfo] = field(default_factory=dict)
    suppressed: int = 0  # findings a suppression comment hid
    _suppressions: dict[int, list[Suppression]] = field(default_factory=dict, repr=False)
    _tenant_oids: frozenset[int] = field(init=False, repr=False)
    # names that hand out tenant rows: tenant tables, the policy's tenant views and functions,
    # and every view that reads a tenant table
    tenant_relation_names: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tenant_oids = frozenset(t.oid for t in self.tenant_tables)
        views = {v.name for v in self.catalog.relations if v.is_view and self.tenant_tables_read(v)}
        self.tenant_relation_names = self.policy.tenant_tables | views

    def path(self, subject: Subject) -> str:
        if isinstance(subject, Relation):
            return f"db:{subject.qualified}"
        if isinstance(subject, Function):
            return f"db:{subject.signature}"
        if isinstance(subject, SchemaCode):
            return f"db:{subject.path}"
        return f"db:{self.catalog.database}"

    def is_tenant_table(self, relation: Relation) -> bool:
        return relation.oid in self._tenant_oids

    def tenant_tables_read(self, view: Relation) -> list[Relation]:
        """The tenant tables `view` reads, directly or through other views."""
        found: dict[int, Relation] = {}
        seen = {view.oid}
        stack = list(view.reads)
        while stack:
            oid = stack.pop()
            if oid in seen:
                continue
            seen.add(oid)
            relation = self.catalog.relation(oid)
            if relation is None:
                continue
            if self.is_tenant_table(relation):
                found[oid] = relation
            elif relation.is_view:
                stack.extend(relation.reads)
        return sorted(found.values(), key=lambda r: r.qualified)

    def report(
        self,
        rule: RuleInfo,
        subject: Subject,
        message: str,
        help: str,
        on: _Commented | None = None,
    ) -> Iterator[Finding]:
        """The finding, unless a suppression comment on `on` or on `subject` names its rule."""
        covering = [
            s
            for owner in (on, subject)
            if owner is not None
            for s in self.suppressions_of(owner)
            if rule.code in s.codes
        ]
        if covering:
            for suppression in covering:
                suppression.used = True
            self.suppressed += 1
            return
        yield Finding(
            rule.code, rule.name, rule.severity, message, help, 1, 1, 1, 2, self.path(subject)
        )

    def suppressions_of(self, owner: object) -> list[Suppression]:
        comment = getattr(owner, "comment", None)
        if not comment or "tenantguard" not in comment:
            return []
        found = self._suppressions.get(id(owner))  # the catalog keeps every owner alive
        if found is None:
            lines = comment.splitlines()
            found = self._suppressions[id(owner)] = sql_suppressions(
                (text, number, 1) for number, text in enumerate(lines, 1)
            )
        return found


def _commented(catalog: Catalog) -> Iterator[tuple[Subject, object]]:
    """Every object whose comment may hold a suppression, with the subject its findings name."""
    yield catalog.role, catalog.role
    for relation in catalog.relations:
        yield relation, relation
        for owner in (
            *relation.keys,
            *relation.foreign_keys,
            *relation.policies,
            *relation.rules,
        ):
            yield relation, owner
    for function in catalog.functions:
        yield function, function
    for code in catalog.schema_code:
        if code.comment is not None:  # a relation's, or its own (a domain's, an operator's)
            table = catalog.relation(code.relation) if code.relation is not None else None
            yield table or code, code


def suppression_findings(ctx: AuditContext) -> Iterator[Finding]:
    """TG010 for a suppression comment without a reason or a code, TG011 for one that
    suppressed nothing."""
    missing, unused = tg010_suppression_without_reason.RULE, tg011_unused_suppression.RULE
    for subject, owner in _commented(ctx.catalog):
        for suppression in ctx.suppressions_of(owner):
            if not suppression.codes or not suppression.reason:
                what = "names no rule code" if not suppression.codes else "gives no reason"
                yield Finding(
                    missing.code,
                    missing.name,
                    missing.severity,
                    f"suppression in the comment of {_describe(owner)} {what}",
                    f"write `tenantguard: ignore[{min(suppression.codes, default='TG2NN')}] -- "
                    "why this is safe` in the comment",
                    1,
                    1,
                    1,
                    2,
                    ctx.path(subject),
                )
            elif not suppression.used:
                yield Finding(
                    unused.code,
                    unused.name,
                    unused.severity,
                    f"suppression of {', '.join(sorted(suppression.codes))} in the comment of "
                    f"{_describe(owner)} suppresses nothing",
                    "remove it from the comment (COMMENT ON … IS NULL)",
                    1,
                    1,
                    1,
                    2,
                    ctx.path(subject),
                )


def _describe(owner: object) -> str:
    describe = getattr(owner, "describe", None)
    if callable(describe):
        return str(describe())
    if isinstance(owner, Relation):
        return owner.qualified
    if isinstance(owner, Function):
        return f"function {owner.signature}"
    if isinstance(owner, Role):
        return f"role {owner.name}"
    return f"constraint {getattr(owner, 'name', '?')}"


from tenantguard.audit.rules import (  # noqa: E402  (the modules import AuditContext above)
    tg201_rls_disabled,
    tg202_rls_not_forced,
    tg203_tenant_policy_missing,
    tg204_permissive_policy_widens,
    tg205_role_owns_tenant_table,
    tg206_role_bypasses_rls,
    tg207_foreign_key_without_tenant,
    tg208_unique_key_without_tenant,
    tg209_nullable_tenant_column,
    tg210_no_tenant_leading_index,
    tg211_view_without_security_invoker,
    tg212_security_definer_reads_tenant_rows,
    tg213_security_definer_search_path,
    tg214_public_grant_on_tenant_table,
    tg215_function_changes_session_setting,
    tg216_rule_rewrites_writes,
)

CATALOG_RULES: tuple[Rule[AuditContext], ...] = tuple(
    rule_of(m)
    for m in (
        tg201_rls_disabled,
        tg202_rls_not_forced,
        tg203_tenant_policy_missing,
        tg204_permissive_policy_widens,
        tg205_role_owns_tenant_table,
        tg206_role_bypasses_rls,
        tg207_foreign_key_without_tenant,
        tg208_unique_key_without_tenant,
        tg209_nullable_tenant_column,
        tg210_no_tenant_leading_index,
        tg211_view_without_security_invoker,
        tg212_security_definer_reads_tenant_rows,
        tg213_security_definer_search_path,
        tg214_public_grant_on_tenant_table,
        tg215_function_changes_session_setting,
        tg216_rule_rewrites_writes,
    )
)


def check_catalog(ctx: AuditContext) -> list[Finding]:
    """Every catalog rule's findings, then those about the suppression comments."""
    findings: list[Finding] = []
    for rule in CATALOG_RULES:
        assert rule.check is not None
        findings.extend(rule.check(ctx))
    findings.extend(suppression_findings(ctx))
    return findings
