"""The request's tenant: a context variable, set by `tenant()` and lifted by `unscoped()`.

Both are context managers usable in sync and async code (a contextvar follows asyncio tasks),
nest, and restore the previous scope on exit.

A generator runs in its consumer's context, so `with tenant(2): yield row` inside a generator
that is iterated would hand tenant 2 to the loop body of its consumer. Such a scope remembers
the generator frame that entered it; the guard refuses statements made under it while that frame
is suspended (see `Scope.outside_owner`), also when the generator entered it through a context
manager of its own (a `@contextmanager` helper, a wrapper class, an ExitStack). Generators
driven by `contextlib.contextmanager` / `asynccontextmanager` are context managers by design:
the block is where they are entered.

One block object may be entered again while it is open (inside itself, or by other tasks when it
is shared at module level): each entry restores, on exit, the scope it replaced in its own
context.
"""

from __future__ import annotations

import contextlib
import dis
import logging
import sys
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from inspect import CO_ASYNC_GENERATOR, CO_COROUTINE, CO_GENERATOR
from types import FrameType, TracebackType

from asyncpg.pgproto.pgproto import UUID as _PgUUID

from tenantguard.runtime.values import odd_tenant_text

__all__ = ["Scope", "current_scope", "tenant", "tenant_key", "unscoped"]

log = logging.getLogger("tenantguard")

# uuid.UUID and the UUID asyncpg returns for uuid columns (a C subclass that cannot lie)
UUID_TYPES: frozenset[type] = frozenset({uuid.UUID, _PgUUID})


@dataclass(frozen=True, slots=True)
class Scope:
    """`tenant(value)` or `unscoped(reason)`.

    `key` is the tenant as the guard compares it (None: not a tenant value); `number` is the
    tenant as an int when it is one, for the hot path's comparison of int parameters.
    `owner` is the frame of an iterated generator that entered the scope (else None).
    """

    value: object
    key: str | None
    unscoped_reason: str | None = None
    number: int | None = None
    owner: FrameType | None = field(default=None, compare=False)
    # the entry of a block that set this scope (see `_ScopeBlock`): the block, and the scope it
    # restores on exit in the context it was entered in (a stack per context, not per block)
    block: object = field(default=None, compare=False, repr=False)
    previous: Scope | None = field(default=None, compare=False, repr=False)
    # a tenant with a key, no owner: its statements' state is the tenant's (`keyed`); and whose
    # block has not ended: the hot path compares values with it (`checkable`)
    keyed: bool = field(init=False, compare=False)
    checkable: bool = field(init=False, compare=False)
    # a str tenant a column may store as another one ('abc ', '1.4': `values.odd_tenant_text`),
    # left to the full check (`Guard.check`, `values.stored_as_another`)
    odd: bool = field(init=False, compare=False)
    # the block that set this scope has exited: the scope lives on only in contexts copied while
    # it was open (a task started in the block, a `call_soon` callback, `copy_context()`), which
    # are no request's any more — a worker task a request started lazily serves later requests
    # under it (round 34). Set once, with `checkable` cleared (`_ScopeBlock.__exit__`)
    ended: bool = field(default=False, init=False, compare=False)
    # the key as asyncpg's UUID when it is a UUID's canonical text (else None): the hot path
    # compares a frozen uuid argument with it, byte for byte (the same as text to the key)
    frozen_key: _PgUUID | None = field(init=False, compare=False)
    # frozen_key's 128-bit number: the hot path compares a uuid.UUID argument's `int` slot
    # with it (an exact int, read once) and sends frozen_key in its place
    uuid_number: int | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        keyed = self.key is not None and self.unscoped_reason is None and self.owner is None
        object.__setattr__(self, "keyed", keyed)
        odd = odd_tenant_text(self.value)
        object.__setattr__(self, "odd", odd)
        object.__setattr__(self, "checkable", keyed and not odd)
        frozen = _canonical_uuid(self.key)
        object.__setattr__(self, "frozen_key", frozen)
        number = None if frozen is None else int.from_bytes(frozen.bytes, "big")
        object.__setattr__(self, "uuid_number", number)

    def over(self) -> bool:
        """True when this scope's block has ended and no block it was nested in is still open
        with the same scope (the same tenant, or unscoped() in unscoped()).

        A context copied in an inner block (`with tenant(1): with tenant(1): create_task(…)`,
        a helper re-entering the request's tenant) is still the enclosing block's work while
        that block is open: the request that started the task has not ended. Another tenant's
        or kind's enclosing block is not taken on (the task was written for the inner one)."""
        if not self.ended:
            return False
        unscoped = self.unscoped_reason is not None
        entry = self.previous
        while entry is not None and entry.ended:
            entry = entry.previous
        return (
            entry is None
            or entry.key != self.key
            or (entry.unscoped_reason is not None) != unscoped
            or entry.owner is not self.owner
        )

    def outside_owner(self) -> bool:
        """True when the generator that entered this scope is suspended at a `yield`:
        the code running now is its consumer, which did not ask for this tenant."""
        owner = self.owner
        if owner is None:
            return False
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame is owner:
                return False
            frame = frame.f_back
        return True


_SCOPE: ContextVar[Scope | None] = ContextVar("tenantguard_scope", default=None)


def _canonical_uuid(key: str | None) -> _PgUUID | None:
    """asyncpg's UUID whose canonical text is exactly `key`, or None (any other spelling)."""
    if key is None or len(key) != 36:
        return None
    try:
        value = _PgUUID(key)
    except (ValueError, TypeError):
        return None
    return value if str(value) == key else None


def tenant_key(value: object) -> str | None:
    """A tenant value as the guard compares it, or None when it cannot be one.

    Only exact types count, so that what is compared is what asyncpg sends: an `int` (its
    decimal text), a `uuid.UUID` (its canonical text), a non-empty `str` (itself, exactly: a
    text column tells `'d41d8cd98f00…'` from `'d41d8cd9-8f00-…'`, so a string that spells a
    UUID is not rewritten). Subclasses (an int whose `__str__` lies), booleans, floats, None
    and containers are not tenant values.
    """
    kind = type(value)
    if kind is int or kind in UUID_TYPES:
        return str(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        return text if text.strip() else None
    return None


def matches(value: object, scope: Scope) -> bool:
    """True when `value`, bound as a parameter, is the scope's tenant as the column sees it.

    Strings compare exactly (a text column tells `'01'` from `'1'`): a str tenant's own text,
    a UUID tenant's canonical text. Anything but int, str and UUID is refused: it cannot be compared safely.
    """
    kind = type(value)
    if kind is int:
        return value == scope.number
    if kind is str:
        return value == scope.key or value == scope.value
    if kind in UUID_TYPES:
        return str(value) == scope.key
    return False


def current_scope() -> Scope | None:
    return _SCOPE.get()


_CONTEXT_MANAGER_CODES = frozenset(
    {
        contextlib._GeneratorContextManager.__enter__.__code__,
        contextlib._AsyncGeneratorContextManager.__aenter__.__code__,
    }
)


# the instructions that call a context manager's entry for a `with` / `async with` statement
# (CPython 3.11-3.13; elsewhere no entry is taken as a `with`: the walk goes on, which only
# refuses more)
_CACHE = dis.opmap.get("CACHE", -1)
_BEFORE_WITH = dis.opmap.get("BEFORE_WITH", -1)
_SEND = dis.opmap.get("SEND", -1)
_LOAD_CONST = dis.opmap.get("LOAD_CONST", -1)
_GET_AWAITABLE = dis.opmap.get("GET_AWAITABLE", -1)
_WALKED = CO_GENERATOR | CO_ASYNC_GENERATOR | CO_COROUTINE


def _entered_by_with(frame: FrameType) -> bool:
    """True when `frame` is making the call of a `with` (or `async with`) statement's entry:
    the block it opens ends before the frame returns. False for an explicit `__enter__()` call,
    whose scope outlives the call."""
    code = frame.f_code.co_code
    i = frame.f_lasti
    while i > 0 and code[i] == _CACHE:
        i -= 2
    op = code[i]
    if op == _BEFORE_WITH:
        return True
    # `async with`: BEFORE_ASYNC_WITH, GET_AWAITABLE 1, LOAD_CONST None, SEND (awaiting __aenter__)
    return (
        op == _SEND
        and i >= 4
        and code[i - 2] == _LOAD_CONST
        and code[i - 4] == _GET_AWAITABLE
        and code[i - 3] == 1
    )


def _owning_generator(frame: FrameType | None) -> FrameType | None:
    """The generator that holds the block entered from `frame` across its yields, when it is
    iterated by its consumer (else None).

    A block opened by a `with` statement ends in the frame that opened it: if that frame is an
    iterated generator, it may yield inside the block. A block entered by an explicit call
    (`tenant(2).__enter__()` in a project's helper, a wrapper class's `__enter__`, an ExitStack's
    `enter_context`) outlives the call: it is held by the callers above it, up to the first one
    whose `with` statement opened it — a generator among them yields it to its consumer, and
    to the tasks the consumer starts. A helper's own generator, resumed by contextlib, is a
    context manager by design and is looked through. The walk ends at the root of the task's
    await chain (a coroutine called by no coroutine or generator)."""
    while frame is not None:
        flags = frame.f_code.co_flags
        if flags & (CO_GENERATOR | CO_ASYNC_GENERATOR):
            caller = frame.f_back
            if caller is None or caller.f_code not in _CONTEXT_MANAGER_CODES:
                return frame  # iterated: its consumer runs while it is suspended
            frame = caller.f_back  # contextlib's __enter__: on to where the helper was entered
            continue
        if _entered_by_with(frame):
            return None  # the block ends in this frame, which is no generator
        caller = frame.f_back
        if flags & CO_COROUTINE and (caller is None or not caller.f_code.co_flags & _WALKED):
            return None  # the task's own coroutine: the scope stays in the task's context
        frame = caller
    return None


class _ScopeBlock:
    """Sets a scope for a `with` block; exits must nest like the blocks do.

    What an exit restores is kept with the scope each entry sets (`Scope.previous`), in the
    context it was entered in, not on the block: one block may be entered again inside itself
    (a helper using the same module-level `unscoped()`), or by several tasks at once (requests
    sharing it), and each exit restores what its own entry replaced in its own context.
    """

    __slots__ = ("_scope",)

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def _enter(self, frame: FrameType) -> None:
        base = self._scope
        _SCOPE.set(
            Scope(
                base.value,
                base.key,
                base.unscoped_reason,
                base.number,
                _owning_generator(frame),
                self,
                _SCOPE.get(),
            )
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        current = _SCOPE.get()
        entry = current
        while entry is not None and entry.block is not self:
            entry = entry.previous
        if entry is None:
            # not entered in this context: a generator's scope closed after its consumer moved
            # on, or by a finalizer in another task: leave this context's scope alone
            return
        _SCOPE.set(entry.previous)
        ended: Scope | None = current
        while ended is not None:  # this entry, and any left open above it (out of order)
            object.__setattr__(ended, "ended", True)
            object.__setattr__(ended, "checkable", False)
            if ended is entry:
                break
            ended = ended.previous
        if entry is not current and kind is None:
            raise RuntimeError(
                "tenantguard: tenant()/unscoped() blocks exited out of order: a tenant() entered "
                "in a generator was held across a yield. Enter tenant() in the code that "
                "consumes the rows, or make the generator a context manager"
            )


class tenant(_ScopeBlock):
    """Runs the block for one tenant: the guard checks every pinning value against `value`.

    A value that cannot be a tenant (None, a float, a list…) is accepted here and blocks every
    statement on a tenant table inside the block, with a clear error.
    """

    __slots__ = ()

    def __init__(self, value: object) -> None:
        key = tenant_key(value)
        number = int(key) if type(value) is int and key is not None else None
        digits = key.lstrip("-") if key is not None and type(value) is str else ""
        # ASCII digits only: `"²".isdigit()` is True, and `int("²")` raises (helper 99)
        if number is None and digits.isascii() and digits.isdigit():
            number = int(key) if str(int(key)) == key else None  # type: ignore[arg-type]
        super().__init__(Scope(value, key, None, number))

    def __enter__(self) -> object:
        self._enter(sys._getframe(1))
        return self._scope.value


class unscoped(_ScopeBlock):
    """An explicit, logged escape hatch for maintenance and cross-tenant admin work."""

    __slots__ = ()

    def __init__(self, reason: str) -> None:
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("unscoped() needs a reason: say why this code may span tenants")
        super().__init__(Scope(None, None, reason.strip()))

    def __enter__(self) -> None:
        reason = self._scope.unscoped_reason
        log.warning(
            "tenantguard: entering unscoped block: %s",
            reason,
            extra={"tenantguard": {"event": "unscoped", "reason": reason}},
        )
        self._enter(sys._getframe(1))
