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
import itertools
import weakref
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["Deadlines"]

T = TypeVar("T")


class _Running:
    __slots__ = ("cancelling", "deadline", "expired", "task")

    def __init__(self, task: asyncio.Task[object], deadline: float) -> None:
        self.task = task
        self.deadline = deadline
        self.cancelling = task.cancelling()  # cancellations asked before this command began
        self.expired = False


class _Loop:
    """The commands running on one event loop, oldest first, and the timer for the oldest."""

    __slots__ = ("loop", "running", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.running: dict[int, _Running] = {}  # by number, in start (= deadline) order
        self.timer: asyncio.TimerHandle | None = None

    def expire(self) -> None:
        self.timer = None
        now = self.loop.time()
        for command in self.running.values():
            if command.deadline > now:  # the oldest one still in time: wake up for it
                self.timer = self.loop.call_at(command.deadline, self.expire)
                return
            if not command.expired:
                command.expired = True
                command.task.cancel()


class Deadlines:
    """`await deadlines.run(operation)`: the operation's result, or TimeoutError once it has
    run `timeout` seconds."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._numbers = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._current: _Loop | None = None
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = (
            weakref.WeakKeyDictionary()
        )

    def _of(self, loop: asyncio.AbstractEventLoop) -> _Loop:
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop(loop)
        self._loop, self._current = loop, state
        return state

    async def run(self, operation: Awaitable[T]) -> T:
        loop = asyncio.get_running_loop()
        state = self._current if loop is self._loop else None
        if state is None:
            state = self._of(loop)
        task = asyncio.current_task(loop)
        if task is None:  # a coroutine driven by hand, outside any task: nothing to cancel
            async with asyncio.timeout(self.timeout):
                return await operation
        command = _Running(task, loop.time() + self.timeout)
        number = next(self._numbers)
        state.running[number] = command
        if state.timer is None:
            state.timer = loop.call_at(command.deadline, state.expire)
        try:
            result = await operation
        except asyncio.CancelledError as error:
            if command.expired and task.uncancel() <= command.cancelling:
                raise TimeoutError(f"no answer within {self.timeout} s") from error
            raise
        finally:
            del state.running[number]
        if command.expired:  # it expired as it finished: the cancellation was ours, not theirs
            task.uncancel()
        return result
