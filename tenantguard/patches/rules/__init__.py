"""Patch rules (TG1xx): idempotency, guarded DO blocks, seed data, tenant columns and indexes,
transactions.

Query rules do not apply inside patches (maintenance spans tenants); these do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tenantguard.engine.context import Rule, RuleInfo, rule_of
from tenantguard.engine.findings import Finding
from tenantguard.engine.policy import Policy
from tenantguard.patches.lint import PatchSource, TableShape

__all__ = ["PATCH_RULES", "PatchContext", "check_patch"]


@dataclass(frozen=True)
class PatchContext:
    source: PatchSource
    tables: dict[str, TableShape]  # the whole patch set's tables
    policy: Policy

    def finding(self, rule: RuleInfo, line: int, column: int, message: str, help: str) -> Finding:
        return Finding(
            rule.code, rule.name, rule.severity, message, help, line, column, line, column + 1
        )


from tenantguard.patches.rules import (  # noqa: E402  (the modules import PatchContext above)
    tg101_non_idempotent_ddl,
    tg102_unguarded_ddl_in_do_block,
    tg103_dynamic_execute,
    tg104_seed_insert_without_on_conflict,
    tg105_tenant_column_missing,
    tg106_tenant_index_missing,
    tg107_transaction_control_in_patch,
    tg108_non_transactional_statement_in_transactional_patch,
    tg109_refused_by_apply,
)

PATCH_RULES: tuple[Rule[PatchContext], ...] = tuple(
    rule_of(m)
    for m in (
        tg101_non_idempotent_ddl,
        tg102_unguarded_ddl_in_do_block,
        tg103_dynamic_execute,
        tg104_seed_insert_without_on_conflict,
        tg105_tenant_column_missing,
        tg106_tenant_index_missing,
        tg107_transaction_control_in_patch,
        tg108_non_transactional_statement_in_transactional_patch,
        tg109_refused_by_apply,
    )
)


def check_patch(ctx: PatchContext) -> Iterator[Finding]:
    from tenantguard.engine.findings import Severity

    for line, column, message in ctx.source.errors:
        yield Finding(
            "TG006",
            "unprovable-statement",
            Severity.ERROR,
            message,
            "fix the SQL so that PostgreSQL can parse it",
            line,
            column,
            line,
            column + 1,
        )
    # TG109 says what `patches apply` refuses when none of the rules that mirror its refusals
    # (a parse error, TG107, TG108) said it already: the first refusal, as apply stops there
    said = bool(ctx.source.errors)
    for rule in PATCH_RULES:
        if rule.check is None or (rule.info is tg109_refused_by_apply.RULE and said):
            continue
        for finding in rule.check(ctx):
            said = said or finding.code in ("TG107", "TG108")
            yield finding
