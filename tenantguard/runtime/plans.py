"""What a guarded call's check asks before its statement runs (its *plan*), and whose state a
statement leaves on the session (its *owner*).

A plan is the tenant setting's value to set first, a value then forgotten (`Forget`), the
frozen arguments to send instead of the given ones (`Frozen`), a check still to make (`Later`),
the driver's exemption (`Driver`), a write told again when it runs (`Wrote`), or None: nothing.
`GuardedConnection` makes them (`_tg_admit_*`) and carries them out (`_tg_ensure`, `_tg_then`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeAlias

from tenantguard.runtime.context import Scope

# what a check asks before its statement runs: the tenant setting's value (to forget after it),
# a check still to make (`Later`), the driver's exemption (`Driver`), or nothing
Plan: TypeAlias = "str | Forget | Frozen | Later | Driver | Wrote | None"

# `GuardedConnection._tg_owner` of state an `unscoped()` block's statements left (or several
# blocks': `GuardedConnection._tg_left`)
UNSCOPED_OWNER = object()

# `GuardedConnection._tg_owner` of state statements outside any block left from tenant tables'
# rows (`set_config('my.x', (SELECT … WHERE tenant_id = 1))`, an INSERT's `lastval()`)
OUTSIDE_OWNER = object()
# `GuardedConnection._tg_owner` of state several blocks left (no block's to adopt)
MIXED_OWNER = object()


def combine(first: Plan, second: Plan) -> Plan:
    """One plan for two checks of one call: the later value, forgotten if either says so.

    Never a `Later`: the copy methods that combine checks wait for the driver first; a
    `Driver` is theirs to run at once, in the driver's run."""
    assert not isinstance(first, Later | Frozen)
    assert not isinstance(second, Later | Frozen)
    # the copies admit their statements as they run: the state a write leaves is told already
    first = first.value if isinstance(first, Wrote) else first
    second = second.value if isinstance(second, Wrote) else second
    first = None if isinstance(first, Driver) else first
    second = None if isinstance(second, Driver) else second
    if first is None or second is None:
        return first if second is None else second
    value = second.value if isinstance(second, Forget) else second
    if value is None:
        value = first.value if isinstance(first, Forget) else first
    if isinstance(first, Forget) or isinstance(second, Forget):
        plain = all(p.plain for p in (first, second) if isinstance(p, Forget))
        return Forget(value, plain)
    return value


class Later:
    """The check of a call made while the driver's statements ran, to make when it runs; or
    (`reset`) of a tenant's first call on a connection another left state on
    (`GuardedConnection._tg_switch`): made after the connection's reset."""

    __slots__ = ("catch_up", "query", "reset", "rows")

    def __init__(
        self,
        query: object,
        rows: tuple[Sequence[object], ...],
        *,
        reset: bool = False,
        catch_up: bool = False,
    ) -> None:
        self.query = query
        self.rows = rows
        self.reset = reset
        # the first call since the pool's release: `GuardedConnection._tg_catch_up` first
        self.catch_up = catch_up


class Driver:
    """A call made by the task running the driver's statements (`run`): its own, if it runs
    in that run; the application's, checked, if it is kept and run after."""

    __slots__ = ("query", "rows", "run")

    def __init__(
        self, run: asyncio.Event, query: object, rows: tuple[Sequence[object], ...]
    ) -> None:
        self.run = run
        self.query = query
        self.rows = rows


class Frozen:
    """The plan of a call whose arguments are sent as `args` (`_frozen`), not as given."""

    __slots__ = ("args", "plan")

    def __init__(self, args: tuple[Any, ...], plan: Plan) -> None:
        self.args = args
        self.plan = plan


class Wrote:
    """The plan of a write (`verdict.writes`: a sequence it advances leaves `lastval()` and
    `currval()` in the session) taken as plain: the setting `value` first, and the state told
    again, as the block's that made the call (`owner`), when it runs (helper h33c: a write made
    in clinic 1's block and awaited in clinic 2's, after the reset clinic 2's first statement
    made, left clinic 1's new patient id to clinic 2's `SELECT lastval()`)."""

    __slots__ = ("owner", "value")

    def __init__(self, value: str | None, owner: object) -> None:
        self.value = value
        self.owner = owner


class Forget:
    """A statement after which the setting's value is unknown: the setting `value` (None:
    leave it) before it runs, then forgotten; `plain`: it leaves nothing a reset would undo;
    `ending`: it ends a transaction, forgotten only if the value was set inside it; `closing`:
    it is one statement ending the transaction or going back to a savepoint (COMMIT, ROLLBACK,
    ROLLBACK TO…), sent even where the setting cannot be set first (a failed transaction)."""

    __slots__ = ("closing", "ending", "owner", "plain", "value")

    def __init__(
        self,
        value: str | None,
        plain: bool,
        *,
        ending: bool = False,
        owner: object = None,
        closing: bool = False,
    ) -> None:
        self.value = value
        self.plain = plain
        self.ending = ending
        self.closing = closing
        # the `_tg_owner` of the state it leaves, decided when it was called (None: the
        # block that awaits it)
        self.owner = owner


# the plan of a statement the guard did not look at (`GuardedConnection._tg_unseen`)
UNSEEN = Forget(None, False)


def owner_of(scope: Scope | None, tenant_rows: bool) -> object:
    """The `GuardedConnection._tg_owner` of state a statement of `scope` leaves: a tenant's
    key, `UNSCOPED_OWNER`, `OUTSIDE_OWNER` (no block's, from tenant tables' rows) or None."""
    if scope is not None:
        return scope.key if scope.keyed else UNSCOPED_OWNER
    return OUTSIDE_OWNER if tenant_rows else None
