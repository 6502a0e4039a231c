"""Does a Row-Level Security expression keep a row to the session's tenant?

The engine's proof answers, asked about `SELECT 1 FROM <the table> WHERE <the expression>`: the
table's reference must be pinned, and pinned by a tenant expression only (a literal is a fixed
tenant, the same for every session). The expression is analysed as PostgreSQL prints it back
(`pg_get_expr`), never re-printed; the configured tenant expressions are matched in that form too:
string constants there carry `::text`, and `NULLIF(…, '')` around the setting (what
`tenantguard.runtime.rls_policy_sql` writes: an empty setting matches no row) counts as the
setting itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.findings import Severity
from tenantguard.engine.policy import Policy, sql_name

__all__ = ["ExpressionVerdict", "PolicyReader", "printed_forms"]

# the table a policy protects, under a name no schema has, given the table's own name as alias
# (so that `patients.id` in the expression's subqueries still means it)
_TARGET = '"tenantguard policy target"'


@dataclass(frozen=True, slots=True)
class ExpressionVerdict:
    pins: bool
    reason: str = ""  # why not, for a message: "is `true`: every row passes"


def printed_forms(expressions: tuple[str, ...]) -> tuple[str, ...]:
    """Each tenant expression as configured, as PostgreSQL prints it in a policy, and inside
    `NULLIF(…, '')`; `current_setting(name)` also with `missing_ok` (`, true`)."""
    forms: list[str] = []
    for text in expressions:
        tree = sqlglot.parse_one(text, read="postgres")
        printed = tree.copy()
        for literal in list(printed.find_all(exp.Literal)):
            if literal.is_string:
                literal.replace(exp.Cast(this=literal.copy(), to=exp.DataType.build("text")))
        for form in (tree, printed):
            variants = [form]
            if (
                isinstance(form, exp.Anonymous)
                and str(form.this).lower() == "current_setting"
                and len(form.expressions) == 1
            ):
                variants.append(
                    exp.Anonymous(
                        this=form.this, expressions=[form.expressions[0].copy(), exp.true()]
                    )
                )
            for variant in variants:
                forms.append(variant.sql("postgres"))
                for empty in ("''", "''::text"):
                    forms.append(f"NULLIF({variant.sql('postgres')}, {empty})")
    return tuple(dict.fromkeys(forms))


class PolicyReader:
    """Reads policy expressions under one policy; verdicts are remembered per expression."""

    __slots__ = ("_cache", "_column", "_policy", "_setting")

    def __init__(self, policy: Policy) -> None:
        self._column = policy.tenant_column
        self._setting = policy.tenant_expressions[0] if policy.tenant_expressions else "?"
        self._policy = Policy(
            sql_name(policy.tenant_column),
            {_TARGET},
            tenant_expressions=printed_forms(policy.tenant_expressions),
            allow_multi_tenant=policy.allow_multi_tenant,
            shared_rows=policy.shared_rows,
        )
        self._cache: dict[tuple[str, str], ExpressionVerdict] = {}

    def verdict(self, table: str, expression: str) -> ExpressionVerdict:
        """Whether `expression`, a policy's USING or WITH CHECK on `table` (its unqualified
        name), keeps every row it admits to the tenant of the session."""
        # the table's name matters only when the expression names it
        key = (table if table.lower() in expression.lower() else "", expression)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._read(table, expression)
        return found

    def _read(self, table: str, expression: str) -> ExpressionVerdict:
        wanted = f"does not compare {sql_name(self._column)} with {self._setting}"
        if expression.strip().strip("()").strip().lower() == "true":
            return ExpressionVerdict(False, "is `true`: every row passes")
        sql = f"SELECT 1 FROM {_TARGET} AS {sql_name(table)} WHERE {expression}"
        verdict = analyze_statement(sql, self._policy)
        if not verdict.parsed:
            reason = next((f.message for f in verdict.findings), "")
            return ExpressionVerdict(False, f"cannot be read ({reason}): {wanted}")
        errors = [f for f in verdict.findings if f.severity is Severity.ERROR]
        if any(f.code == "TG008" for f in errors):
            return ExpressionVerdict(False, "admits several tenants at once")
        if errors or not verdict.pin_values:
            return ExpressionVerdict(False, wanted)
        fixed = [p for p in verdict.pin_values if p.kind != "expression"]
        if fixed:
            return ExpressionVerdict(
                False, f"pins a fixed tenant ({fixed[0].describe()}), the same for every session"
            )
        return ExpressionVerdict(True)


# pg_policy.polcmd of the four commands, in the order findings name them
COMMANDS = ("r", "a", "w", "d")


def covers(command: str, policy_command: str) -> bool:
    return policy_command in ("*", command)


def checked_expressions(
    command: str, using: str | None, check: str | None
) -> tuple[str | None, ...]:
    """What a policy holds a command to: SELECT and DELETE the rows they see (USING), INSERT
    the rows it writes (WITH CHECK, or USING when there is none), UPDATE both. None: this
    policy lets no row through for it."""
    written = check if check is not None else using
    if command in ("r", "d"):
        return (using,)
    if command == "a":
        return (written,)
    return (using, written)
