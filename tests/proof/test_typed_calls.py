"""Every typed node sqlglot makes of a PostgreSQL built-in's name is read by TG013 as failing on
some argument's value (QUOTING_TYPES, FAILING_TYPED_CALLS) or as failing on none
(TOTAL_TYPED_CALLS): a node a later sqlglot makes of a name is caught here, not missed as an
error channel (round 23: `make_timestamp` was read as TimestampFromParts, which no list named,
and its errors quote a row's value)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS
from tenantguard.engine.proof.blocks import FAILING_TYPED_CALLS, QUOTING_TYPES, TOTAL_TYPED_CALLS


def _typed(name: str) -> type[exp.Expr] | None:
    for arguments in ("a", "a, b", "a, b, c"):
        try:
            tree = sqlglot.parse_one(f"SELECT {name}({arguments})", read="postgres")
        except sqlglot.errors.ParseError:
            continue
        node = tree.expressions[0]
        node = node.this if isinstance(node, exp.Alias) else node
        return None if isinstance(node, exp.Anonymous) else type(node)
    return None


def test_every_typed_built_in_is_read_as_failing_or_total() -> None:
    unread = {}
    for name in sorted(BUILTIN_FUNCTIONS):
        kind = _typed(name)
        if kind is None or issubclass(kind, QUOTING_TYPES):
            continue
        if kind not in FAILING_TYPED_CALLS and kind not in TOTAL_TYPED_CALLS:
            unread[name] = kind.__name__
    assert unread == {}


def test_the_lists_do_not_overlap() -> None:
    assert not FAILING_TYPED_CALLS & TOTAL_TYPED_CALLS
    assert not [k for k in TOTAL_TYPED_CALLS if issubclass(k, QUOTING_TYPES)]
