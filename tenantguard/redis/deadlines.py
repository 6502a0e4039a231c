"""One time bound for many short commands, kept with one timer per event loop.

`asyncio.timeout()` schedules a timer for every command and cancels it when the command is
done: a few microseconds each, a tenth of a local `SET NX EX`. Every command here gets the same
bound, `timeout` seconds from its start, so deadlines come in the order commands start. One
timer is set for the oldest command still running; when it fires, it cancels the commands past
their deadline and is set again for the next one. A command done in time costs two dict
operations and no timer.

A command past its deadline ends as under `asyncio.timeout()`: its task is cancelled, and the
CancelledError becomes TimeoutError — unless the task was also cancelled by someone else, whose
cancellation then goes on (`Task.cancelling()`/`uncancel()`, as asyncio counts them).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import weakref
from asyncio import current_task, get_running_loop
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["Deadlines"]

T = TypeVar("T")


class _Running:
    """One command being awaited: its task, deadline, and where it is registered."""

    __slots__ = ("cancelling", "deadline", "expired", "number", "state", "task")

    def __init__(
        self, task: asyncio.Task[object], deadline: float, state: _Loop, number: int
    ) -> None:
        self.task = task
        self.deadline = deadline
        self.cancelling = task.cancelling()  # cancellations asked before this command began
        self.expired = False
        self.state = state  # the loop's table it is in, under `number`
        self.number = number


class _Loop:
    """The commands running on one event loop, oldest first, and whether a timer is set.

    The loop itself is held weakly (the table of loops is keyed by it, weakly): a loop that is
    dropped goes, with its timers, this state included."""

    __slots__ = ("armed", "loop", "running")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)
        self.running: dict[int, _Running] = {}  # by number, in start (= deadline) order
        self.armed = False  # a timer of this loop will call expire()

    def arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self.armed = True
        loop.call_at(deadline, self.expire)  # never cancelled: it finds nothing late, at worst

    def expire(self) -> None:
        self.armed = False
        loop = self.loop()
        if loop is None:
            return
        now = loop.time()
        for command in self.running.values():
            if command.deadline > now:  # the oldest one still in time: wake up for it
                self.arm(loop, command.deadline)
                return
            if not command.expired:
                command.expired = True
                command.task.cancel()


class Deadlines:
    """`await deadlines.run(operation)`: the operation's result, or TimeoutError once it has
    run `timeout` seconds. The timeout is fixed (the one timer relies on deadlines coming in
    start order): another timeout is another Deadlines."""

    def __init__(self, timeout: float) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be positive (seconds)")
        self._timeout = float(timeout)
        self._numbers = itertools.count()
        self._current: _Loop | None = None  # the last loop's (a loop is rarely replaced)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def timeout(self) -> float:
        return self._timeout

    def _of(self, loop: asyncio.AbstractEventLoop) -> _Loop:
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop(loop)
        self._current = state
        return state

    async def run(self, operation: Awaitable[T]) -> T:
        command = self.begin(operation)
        try:
            return await operation
        except asyncio.CancelledError as error:
            self.cancelled(command, error)
            raise
        finally:
            self.end(command)

    # `run` in three steps, for a caller that awaits the operation in its own frame (one
    # coroutine frame less on a hot path: every resumption of the command passes through each
    # frame awaiting it):
    #
    #     command = deadlines.begin(operation)
    #     try:
    #         result = await operation
    #     except asyncio.CancelledError as error:
    #         deadlines.cancelled(command, error)  # raises TimeoutError when the deadline did it
    #         raise
    #     finally:
    #         deadlines.end(command)

    def begin(self, operation: Awaitable[object]) -> _Running:
        """Registers a command about to be awaited by the current task (its deadline starts
        now). Without a task, the operation is closed (a coroutine) and RuntimeError raised."""
        loop = get_running_loop()
        state = self._current
        if state is None or state.loop() is not loop:
            state = self._of(loop)
        task = current_task(loop)
        if task is None:  # a coroutine driven by hand: there is no task to cancel at the deadline
            if inspect.iscoroutine(operation):
                operation.close()
            raise RuntimeError(
                "tenantguard.redis bounds a command by cancelling its task: run it in an asyncio "
                "task (asyncio.run, create_task, or any framework's request handler)"
            )
        command = _Running(task, loop.time() + self._timeout, state, next(self._numbers))
        state.running[command.number] = command
        if not state.armed:
            state.arm(loop, command.deadline)
        return command

    def cancelled(self, command: _Running, error: asyncio.CancelledError) -> None:
        """The command's await was cancelled: TimeoutError when its deadline did it (and no one
        else also cancelled the task), else nothing (the caller re-raises the cancellation)."""
        if command.expired:
            command.expired = False  # uncancelled here, not again in end()
            if command.task.uncancel() <= command.cancelling:
                raise TimeoutError(f"no answer within {self._timeout} s") from error

    @staticmethod
    def end(command: _Running) -> None:
        """The command is over (a result, an error, a cancellation)."""
        del command.state.running[command.number]
        # cut as it ended some other way (a result, another error): the cancellation asked
        # at the deadline is taken back, as asyncio.timeout does
        if command.expired:
            command.task.uncancel()
